/**
 * The SQL of the SQLite store, prepared once per connection, and the row → record mappers.
 * Shared by the store's reading connection (`sqlite.ts`, the event loop) and its writing
 * connection (`sqlite-writer.ts`, the writer thread).
 *
 * @module
 */
import type Database from 'better-sqlite3';
import type { AttestationState } from '../../domain/assurance';
import { decodeSignals } from '../signals';
import type { AuditRecord, AuditValue, DeviceRecord, PublicJwk, SessionRecord } from '../store';

/** A row as better-sqlite3 returns it. */
export type Row = Record<string, unknown>;

export const num = (v: unknown): number => v as number;
export const numOrNull = (v: unknown): number | null => (v === null ? null : (v as number));
export const str = (v: unknown): string => v as string;

export function toDevice(r: Row): DeviceRecord {
  return {
    jkt: str(r.jkt),
    jwk: JSON.parse(str(r.jwk)) as PublicJwk,
    subject: str(r.subject),
    rp: str(r.rp),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

export function toSession(r: Row): SessionRecord {
  return {
    sid: str(r.sid),
    rp: str(r.rp),
    subject: str(r.subject),
    challenge: str(r.challenge),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    endedAt: numOrNull(r.ended_at),
    terminatedAt: numOrNull(r.terminated_at),
    confirmedAt: numOrNull(r.confirmed_at),
    deviceJkt: r.device_jkt === null ? null : str(r.device_jkt),
    boundAt: numOrNull(r.bound_at),
    lastSeq: num(r.last_seq),
    lastHash: str(r.last_hash),
    attestations: num(r.attestations),
    lastAttestationAt: numOrNull(r.last_attestation_at),
    lastState: r.last_state === null ? null : (str(r.last_state) as AttestationState),
    ewma: numOrNull(r.ewma),
    progress: numOrNull(r.progress),
    signals: decodeSignals(r.signals),
  };
}

export function toAudit(r: Row): AuditRecord {
  let data: Record<string, AuditValue>;
  try {
    data = JSON.parse(str(r.data)) as Record<string, AuditValue>;
  } catch {
    // Not JSON any more: someone edited the row. Keep the text so the hash check fails on it.
    data = { $corrupt: str(r.data) };
  }
  return {
    seq: num(r.seq),
    ts: str(r.ts),
    type: str(r.type),
    actor: str(r.actor),
    data,
    prev: str(r.prev),
    hash: str(r.hash),
  };
}

/** Prepares every statement once. */
export function prepareStatements(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    ping: p('SELECT 1'),
    getMeta: p('SELECT value FROM meta WHERE name = ?').pluck(),
    insertMeta: p('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)'),
    listKeys: p('SELECT * FROM signing_keys ORDER BY created_at, kid'),
    insertKey: p(
      `INSERT OR IGNORE INTO signing_keys (kid, private_jwk, public_jwk, created_at, retired_at)
       VALUES (@kid, @privateJwk, @publicJwk, @createdAt, @retiredAt)`,
    ),
    insertCode: p(
      `INSERT INTO enrollment_codes (code_hash, rp, subject, created_at, expires_at, used_at)
       VALUES (@codeHash, @rp, @subject, @createdAt, @expiresAt, @usedAt)`,
    ),
    getCode: p('SELECT * FROM enrollment_codes WHERE code_hash = ?'),
    useCode: p('UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ?'),
    activeKeys: p('SELECT kid FROM signing_keys WHERE retired_at IS NULL ORDER BY kid').pluck(),
    retireActiveKeys: p('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL'),
    getJti: p('SELECT 1 FROM jtis WHERE jkt = ? AND jti = ?').pluck(),
    insertJtiUnlessSeen: p(
      'INSERT OR IGNORE INTO jtis (jkt, jti, expires_at) VALUES (@jkt, @jti, @expiresAt)',
    ),
    insertJti: p('INSERT INTO jtis (jkt, jti, expires_at) VALUES (@jkt, @jti, @expiresAt)'),
    devicesByKey: p('SELECT * FROM devices WHERE jkt = ? ORDER BY created_at, rp, subject'),
    devicesBySubject: p(
      'SELECT * FROM devices WHERE rp = ? AND subject = ? ORDER BY created_at, jkt',
    ),
    getDevice: p('SELECT * FROM devices WHERE jkt = ? AND rp = ? AND subject = ?'),
    insertDevice: p(
      `INSERT INTO devices (jkt, rp, subject, jwk, created_at, revoked_at)
       VALUES (?, ?, ?, ?, ?, NULL)`,
    ),
    revokeOne: p(
      `UPDATE devices SET revoked_at = ?
       WHERE jkt = ? AND rp = ? AND subject = ? AND revoked_at IS NULL`,
    ),
    insertSession: p(
      `INSERT INTO sessions (sid, rp, subject, challenge, created_at, expires_at)
       VALUES (@sid, @rp, @subject, @challenge, @createdAt, @expiresAt)`,
    ),
    getSession: p('SELECT * FROM sessions WHERE sid = ?'),
    bind: p(
      'UPDATE sessions SET device_jkt = ?, bound_at = ? WHERE sid = ? AND device_jkt IS NULL',
    ),
    sessionsOfKey: p(
      'SELECT sid, device_jkt, ended_at, expires_at FROM sessions WHERE device_jkt = ?',
    ),
    rebind: p('UPDATE sessions SET device_jkt = ? WHERE sid = ?'),
    // The conditions are decided by rules.ts (attestationApplies) on the row read in the same
    // transaction.
    advance: p(
      `UPDATE sessions SET last_seq = @lastSeq, last_hash = @lastHash,
         attestations = @attestations, last_attestation_at = @lastAttestationAt,
         last_state = @lastState, ewma = @ewma, progress = @progress
       WHERE sid = @sid`,
    ),
    // Kept apart from `advance`: an attestation without `sig` leaves the stored signals as they are.
    setSignals: p('UPDATE sessions SET signals = ? WHERE sid = ?'),
    insertAttestation: p(
      `INSERT INTO attestations (sid, seq, jkt, iat, received_at, state, conf, progress, mv,
         key_events, pointer_events, hash)
       VALUES (@sid, @seq, @jkt, @iat, @receivedAt, @state, @conf, @progress, @mv,
         @keyEvents, @pointerEvents, @hash)`,
    ),
    endSession: p('UPDATE sessions SET ended_at = COALESCE(ended_at, ?) WHERE sid = ?'),
    terminateSession: p(
      'UPDATE sessions SET ended_at = @now, terminated_at = @now WHERE sid = @sid',
    ),
    confirmSession: p('UPDATE sessions SET confirmed_at = @now WHERE sid = @sid'),
    lastAudit: p('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
    getAnchor: p('SELECT seq, hash FROM audit_anchor WHERE id = 1'),
    setAnchor: p(
      `INSERT INTO audit_anchor (id, seq, hash) VALUES (1, @seq, @hash)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
    ),
    insertAudit: p(
      `INSERT INTO audit (seq, ts, type, actor, data, prev, hash)
       VALUES (@seq, @ts, @type, @actor, @data, @prev, @hash)`,
    ),
    listAudit: p('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
    // The last record of the longest prefix older than the cutoff.
    auditPurgeEnd: p(
      `SELECT seq, hash FROM audit
       WHERE ts < @before
         AND seq < COALESCE((SELECT min(seq) FROM audit WHERE ts >= @before), 9e18)
       ORDER BY seq DESC LIMIT 1`,
    ),
    deleteAuditThrough: p('DELETE FROM audit WHERE seq <= ?'),
    purgeJtis: p('DELETE FROM jtis WHERE expires_at < ?'),
    purgeCodes: p('DELETE FROM enrollment_codes WHERE expires_at < ?'),
    purgeSessions: p('DELETE FROM sessions WHERE expires_at < ?'),
    counts: p(
      `SELECT
         (SELECT count(*) FROM signing_keys) AS signingKeys,
         (SELECT count(*) FROM enrollment_codes) AS enrollmentCodes,
         (SELECT count(*) FROM enrollment_codes WHERE used_at IS NOT NULL) AS usedEnrollmentCodes,
         (SELECT count(*) FROM devices) AS devices,
         (SELECT count(*) FROM devices WHERE revoked_at IS NOT NULL) AS revokedDevices,
         (SELECT count(*) FROM sessions) AS sessions,
         (SELECT count(*) FROM sessions WHERE device_jkt IS NOT NULL) AS boundSessions,
         (SELECT count(*) FROM attestations) AS attestations,
         (SELECT count(*) FROM jtis) AS jtis`,
    ),
  };
}

/** Every prepared statement of a connection. */
export type Statements = ReturnType<typeof prepareStatements>;
