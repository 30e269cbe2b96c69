/**
 * {@link Store} on SQLite (better-sqlite3). Durability: WAL with `synchronous = FULL`, so a
 * method that returned has committed to disk: an acknowledged attestation survives a crash.
 * Atomicity: better-sqlite3 is synchronous, and every multi-step method runs in one
 * `IMMEDIATE` transaction (a savepoint of a group commit, see `#tx`), so no other writer
 * interleaves with its checks.
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AttestationState } from '../assurance';
import { auditEventList, canonicalJson, nextAuditRecord } from '../audit';
import { MIGRATIONS } from './migrations';
import type {
  AttestationPrecondition,
  AuditAnchor,
  AuditEvent,
  AuditEvents,
  AuditFor,
  AuditPurgeResult,
  AuditRecord,
  AuditValue,
  AttestationRecord,
  BankSessionRecord,
  BindSessionInput,
  BindSessionResult,
  DeviceRecord,
  EnrollDeviceInput,
  EnrollDeviceResult,
  EnrollmentCodeRecord,
  JtiEntry,
  NewSession,
  PublicJwk,
  PurgeCutoffs,
  PurgeResult,
  RotateDeviceInput,
  RotateDeviceResult,
  RotateSigningKeyResult,
  SessionAttestationUpdate,
  SessionRecord,
  SigningKeyRecord,
  Store,
  StoreCounts,
} from './store';

type Row = Record<string, unknown>;

const num = (v: unknown): number => v as number;
const numOrNull = (v: unknown): number | null => (v === null ? null : (v as number));
const str = (v: unknown): string => v as string;

function toDevice(r: Row): DeviceRecord {
  return {
    jkt: str(r.jkt),
    jwk: JSON.parse(str(r.jwk)) as PublicJwk,
    subject: str(r.subject),
    rp: str(r.rp),
    createdAt: num(r.created_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

function toSession(r: Row): SessionRecord {
  return {
    sid: str(r.sid),
    rp: str(r.rp),
    subject: str(r.subject),
    challenge: str(r.challenge),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    endedAt: numOrNull(r.ended_at),
    terminatedAt: numOrNull(r.terminated_at),
    deviceJkt: r.device_jkt === null ? null : str(r.device_jkt),
    boundAt: numOrNull(r.bound_at),
    lastSeq: num(r.last_seq),
    lastHash: str(r.last_hash),
    attestations: num(r.attestations),
    lastAttestationAt: numOrNull(r.last_attestation_at),
    lastState: r.last_state === null ? null : (str(r.last_state) as AttestationState),
    ewma: numOrNull(r.ewma),
    progress: numOrNull(r.progress),
  };
}

function toBankSession(r: Row): BankSessionRecord {
  return {
    idHash: str(r.id_hash),
    username: str(r.username),
    subject: str(r.subject),
    tacitSid: str(r.tacit_sid),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    pendingCode: r.pending_code === null ? null : str(r.pending_code),
    pendingCodeIssuedAt: numOrNull(r.pending_code_issued_at),
    pendingCodeExpiresAt: numOrNull(r.pending_code_expires_at),
  };
}

function toAudit(r: Row): AuditRecord {
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

/** Thrown when the database was written by a newer server (downgrades are not supported). */
export class SchemaTooNewError extends Error {
  constructor(found: number, supported: number) {
    super(`database schema version ${found} is newer than this server's (${supported})`);
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Opens (creating if needed) the database at `path`, applies pending migrations and returns
 * the store. The directory is created private to the user (0700) and the file made 0600: it
 * holds the server's signing keys.
 *
 * @throws {SchemaTooNewError} if the file's schema is newer than {@link MIGRATIONS}.
 */
export function openSqliteStore(path: string): SqliteStore {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  try {
    chmodSync(path, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new SqliteStore(db);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Applies the migrations the database has not seen yet, each in its own transaction. */
function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) throw new SchemaTooNewError(current, MIGRATIONS.length);
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      // user_version lives in the database header and commits with the transaction.
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/** Prepares every statement once. */
function prepareStatements(db: Database.Database) {
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
    useCode: p('UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL'),
    newestActiveKey: p(
      `SELECT kid FROM signing_keys WHERE retired_at IS NULL
       ORDER BY created_at DESC, kid DESC LIMIT 1`,
    ).pluck(),
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
    revokeAll: p('UPDATE devices SET revoked_at = ? WHERE jkt = ? AND revoked_at IS NULL'),
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
    liveSessionsOfKey: p(
      `SELECT sid FROM sessions
       WHERE device_jkt = ? AND ended_at IS NULL AND expires_at > ? ORDER BY sid`,
    ).pluck(),
    rebindLive: p(
      `UPDATE sessions SET device_jkt = @newJkt
       WHERE device_jkt = @oldJkt AND ended_at IS NULL AND expires_at > @now`,
    ),
    advance: p(
      `UPDATE sessions SET last_seq = @lastSeq, last_hash = @lastHash,
         attestations = @attestations, last_attestation_at = @lastAttestationAt,
         last_state = @lastState, ewma = @ewma, progress = @progress
       WHERE sid = @sid AND device_jkt = @jkt AND last_seq = @expectedSeq
         AND last_hash = @expectedHash AND ended_at IS NULL AND expires_at > @now`,
    ),
    insertAttestation: p(
      `INSERT INTO attestations (sid, seq, jkt, iat, received_at, state, conf, progress, mv,
         key_events, pointer_events, hash)
       VALUES (@sid, @seq, @jkt, @iat, @receivedAt, @state, @conf, @progress, @mv,
         @keyEvents, @pointerEvents, @hash)`,
    ),
    endSession: p('UPDATE sessions SET ended_at = COALESCE(ended_at, ?) WHERE sid = ?'),
    terminateSession: p(
      `UPDATE sessions SET ended_at = @now, terminated_at = @now
       WHERE sid = @sid AND ended_at IS NULL AND expires_at > @now`,
    ),
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
    insertBank: p(
      `INSERT INTO bank_sessions (id_hash, username, subject, tacit_sid, created_at, expires_at,
         pending_code, pending_code_issued_at, pending_code_expires_at)
       VALUES (@idHash, @username, @subject, @tacitSid, @createdAt, @expiresAt,
         @pendingCode, @pendingCodeIssuedAt, @pendingCodeExpiresAt)`,
    ),
    getBank: p('SELECT * FROM bank_sessions WHERE id_hash = ?'),
    setPending: p(
      `UPDATE bank_sessions SET pending_code = ?, pending_code_issued_at = ?,
         pending_code_expires_at = ? WHERE id_hash = ?`,
    ),
    deleteBank: p('DELETE FROM bank_sessions WHERE id_hash = ?'),
    purgeJtis: p('DELETE FROM jtis WHERE expires_at < ?'),
    purgeCodes: p('DELETE FROM enrollment_codes WHERE expires_at < ?'),
    purgeSessions: p('DELETE FROM sessions WHERE expires_at < ?'),
    purgeBank: p('DELETE FROM bank_sessions WHERE expires_at < ?'),
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
         (SELECT count(*) FROM jtis) AS jtis,
         (SELECT count(*) FROM bank_sessions) AS bankSessions`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** A write waiting for the next group commit. */
interface PendingWrite {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** SQLite implementation of {@link Store}. Create it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #q: Statements;

  /** @internal use {@link openSqliteStore}. */
  constructor(db: Database.Database) {
    this.#db = db;
    this.#q = prepareStatements(db);
    this.#batch = db.transaction((run: () => void) => run());
    // Called inside #batch's transaction, a transaction function opens a savepoint.
    this.#savepoint = db.transaction((fn: () => unknown) => fn());
  }

  readonly #batch: Database.Transaction<(run: () => void) => void>;
  readonly #savepoint: Database.Transaction<(fn: () => unknown) => unknown>;

  /**
   * Runs `fn` atomically and durably, with group commit: the writes requested during one turn
   * of the event loop run one after the other, each in its own savepoint, inside a single
   * `IMMEDIATE` transaction, and every promise settles only after that transaction committed
   * (so an acknowledged write is on disk). One fsync per batch instead of one per write is
   * what lets the attestation path scale; a write that throws is rolled back to its savepoint
   * and rejects alone.
   */
  #tx<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commit());
    });
  }

  readonly #pending: PendingWrite[] = [];

  /** Commits the pending writes as one transaction (see {@link #tx}). */
  #commit(): void {
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.#batch.immediate(() => {
        for (const write of batch) {
          try {
            outcomes.push({ ok: true, value: this.#savepoint(write.fn) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // BEGIN or COMMIT failed: nothing of the batch is stored.
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }

  /** Appends audit records; only inside a transaction (the action's, or its own). */
  #appendAuditEvents(events: AuditEvents): AuditRecord[] {
    const records: AuditRecord[] = [];
    for (const event of auditEventList(events)) {
      const last = (this.#q.lastAudit.get() ?? this.#q.getAnchor.get()) as AuditAnchor | undefined;
      const record = nextAuditRecord(last ?? null, event);
      this.#q.insertAudit.run({ ...record, data: canonicalJson(record.data) });
      records.push(record);
    }
    return records;
  }

  #jtiSeen(entry: JtiEntry): boolean {
    return this.#q.getJti.get(entry.jkt, entry.jti) !== undefined;
  }

  async ping(): Promise<void> {
    this.#q.ping.get();
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    return this.#tx(() => {
      const existing = this.#q.getMeta.get(name) as string | undefined;
      if (existing !== undefined) return existing;
      const value = create();
      this.#q.insertMeta.run(name, value);
      return value;
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (this.#q.listKeys.all() as Row[]).map((r) => ({
      kid: str(r.kid),
      privateJwk: str(r.private_jwk),
      publicJwk: str(r.public_jwk),
      createdAt: num(r.created_at),
      retiredAt: numOrNull(r.retired_at),
    }));
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    this.#q.insertKey.run(key);
  }

  async rotateSigningKey(
    expectedKid: string,
    next: SigningKeyRecord,
    now: number,
  ): Promise<RotateSigningKeyResult> {
    return this.#tx((): RotateSigningKeyResult => {
      if (this.#q.newestActiveKey.get() !== expectedKid) return { ok: false };
      const retired = this.#q.activeKeys.all() as string[];
      this.#q.retireActiveKeys.run(now);
      this.#q.insertKey.run(next);
      return { ok: true, retired };
    });
  }

  async createEnrollmentCode(code: EnrollmentCodeRecord, audit?: AuditFor<void>): Promise<void> {
    await this.#tx(() => {
      this.#q.insertCode.run(code);
      this.#appendAuditEvents(audit?.());
    });
  }

  async enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult> {
    return this.#tx((): EnrollDeviceResult => {
      if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
      const code = this.#q.getCode.get(input.codeHash) as Row | undefined;
      if (!code || code.used_at !== null || num(code.expires_at) <= input.now) {
        return { ok: false, reason: 'code' };
      }
      const rp = str(code.rp);
      const subject = str(code.subject);
      const existing = this.#q.getDevice.get(input.jkt, rp, subject) as Row | undefined;
      if (existing && existing.revoked_at !== null) return { ok: false, reason: 'revoked' };
      this.#q.useCode.run(input.now, input.codeHash);
      this.#q.insertJti.run(input.jti);
      let outcome: { device: DeviceRecord; created: boolean };
      if (existing) {
        outcome = { device: toDevice(existing), created: false };
      } else {
        this.#q.insertDevice.run(input.jkt, rp, subject, JSON.stringify(input.jwk), input.now);
        const device: DeviceRecord = {
          jkt: input.jkt,
          jwk: input.jwk,
          subject,
          rp,
          createdAt: input.now,
          revokedAt: null,
        };
        outcome = { device, created: true };
      }
      this.#appendAuditEvents(audit?.(outcome));
      return { ok: true, ...outcome };
    });
  }

  async findDevicesByKey(jkt: string): Promise<DeviceRecord[]> {
    return (this.#q.devicesByKey.all(jkt) as Row[]).map(toDevice);
  }

  async listDevicesBySubject(rp: string, subject: string): Promise<DeviceRecord[]> {
    return (this.#q.devicesBySubject.all(rp, subject) as Row[]).map(toDevice);
  }

  async revokeDevice(
    jkt: string,
    now: number,
    scope?: { rp: string; subject: string },
    audit?: AuditFor<number>,
  ): Promise<number> {
    return this.#tx(() => {
      const revoked = (
        scope
          ? this.#q.revokeOne.run(now, jkt, scope.rp, scope.subject)
          : this.#q.revokeAll.run(now, jkt)
      ).changes;
      this.#appendAuditEvents(audit?.(revoked));
      return revoked;
    });
  }

  async useJti(entry: JtiEntry): Promise<boolean> {
    return this.#q.insertJtiUnlessSeen.run(entry).changes === 1;
  }

  async rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult> {
    return this.#tx((): RotateDeviceResult => {
      if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
      const live = (this.#q.devicesByKey.all(input.oldJkt) as Row[])
        .map(toDevice)
        .filter((d) => d.revokedAt === null);
      if (live.length === 0) return { ok: false, reason: 'revoked' };
      if ((this.#q.devicesByKey.all(input.newJkt) as Row[]).length > 0) {
        return { ok: false, reason: 'in-use' };
      }
      this.#q.insertJti.run(input.jti);
      const jwk = JSON.stringify(input.newJwk);
      const enrollments = live.map((d): DeviceRecord => {
        this.#q.insertDevice.run(input.newJkt, d.rp, d.subject, jwk, input.now);
        this.#q.revokeOne.run(input.now, input.oldJkt, d.rp, d.subject);
        return { ...d, jkt: input.newJkt, jwk: input.newJwk, createdAt: input.now };
      });
      const sessions = this.#q.liveSessionsOfKey.all(input.oldJkt, input.now) as string[];
      this.#q.rebindLive.run({ oldJkt: input.oldJkt, newJkt: input.newJkt, now: input.now });
      return { ok: true, enrollments, sessions };
    });
  }

  async createSession(session: NewSession, audit?: AuditFor<void>): Promise<void> {
    await this.#tx(() => {
      this.#q.insertSession.run(session);
      this.#appendAuditEvents(audit?.());
    });
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const row = this.#q.getSession.get(sid) as Row | undefined;
    return row && toSession(row);
  }

  async bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult> {
    return this.#tx((): BindSessionResult => {
      if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
      const row = this.#q.getSession.get(input.sid) as Row | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      const session = toSession(row);
      if (session.endedAt !== null || session.expiresAt <= input.now) {
        return { ok: false, reason: 'expired' };
      }
      if (session.deviceJkt !== null && session.deviceJkt !== input.jkt) {
        return { ok: false, reason: 'bound' };
      }
      this.#q.insertJti.run(input.jti);
      const alreadyBound = session.deviceJkt === input.jkt;
      if (!alreadyBound) this.#q.bind.run(input.jkt, input.now, input.sid);
      const outcome = {
        session: alreadyBound ? session : { ...session, deviceJkt: input.jkt, boundAt: input.now },
        alreadyBound,
      };
      this.#appendAuditEvents(audit?.(outcome));
      return { ok: true, ...outcome };
    });
  }

  async appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean> {
    return this.#tx(() => {
      const changed = this.#q.advance.run({
        ...update,
        sid: attestation.sid,
        jkt: expected.jkt,
        expectedSeq: expected.lastSeq,
        expectedHash: expected.lastHash,
        now: expected.now,
      }).changes;
      if (changed !== 1) return false;
      this.#q.insertAttestation.run(attestation);
      this.#appendAuditEvents(audit?.());
      return true;
    });
  }

  async endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#tx(() => {
      if (this.#q.endSession.run(now, sid).changes !== 1) return false;
      this.#appendAuditEvents(audit?.());
      return true;
    });
  }

  async terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#tx(() => {
      if (this.#q.terminateSession.run({ sid, now }).changes !== 1) return false;
      this.#appendAuditEvents(audit?.());
      return true;
    });
  }

  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    return this.#tx(() => this.#appendAuditEvents(event)[0]!);
  }

  async listAudit(after: number, limit: number): Promise<AuditRecord[]> {
    return (this.#q.listAudit.all(after, limit) as Row[]).map(toAudit);
  }

  async auditAnchor(): Promise<AuditAnchor | null> {
    return (this.#q.getAnchor.get() as AuditAnchor | undefined) ?? null;
  }

  async purgeAudit(before: number): Promise<AuditPurgeResult> {
    return this.#tx((): AuditPurgeResult => {
      const end = this.#q.auditPurgeEnd.get({ before: new Date(before).toISOString() }) as
        | AuditAnchor
        | undefined;
      if (!end) {
        return { records: 0, anchor: (this.#q.getAnchor.get() as AuditAnchor | undefined) ?? null };
      }
      const records = this.#q.deleteAuditThrough.run(end.seq).changes;
      const anchor = { seq: end.seq, hash: end.hash };
      this.#q.setAnchor.run(anchor);
      return { records, anchor };
    });
  }

  async createBankSession(session: BankSessionRecord): Promise<void> {
    this.#q.insertBank.run(session);
  }

  async getBankSession(idHash: string): Promise<BankSessionRecord | undefined> {
    const row = this.#q.getBank.get(idHash) as Row | undefined;
    return row && toBankSession(row);
  }

  async setBankPendingCode(
    idHash: string,
    pending: { code: string; issuedAt: number; expiresAt: number } | null,
  ): Promise<void> {
    this.#q.setPending.run(
      pending?.code ?? null,
      pending?.issuedAt ?? null,
      pending?.expiresAt ?? null,
      idHash,
    );
  }

  async deleteBankSession(idHash: string): Promise<void> {
    this.#q.deleteBank.run(idHash);
  }

  async purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    return this.#tx(() => ({
      jtis: this.#q.purgeJtis.run(cutoffs.jtisBefore).changes,
      enrollmentCodes: this.#q.purgeCodes.run(cutoffs.enrollmentCodesBefore).changes,
      sessions: this.#q.purgeSessions.run(cutoffs.sessionsBefore).changes,
      bankSessions: this.#q.purgeBank.run(cutoffs.bankSessionsBefore).changes,
    }));
  }

  async counts(): Promise<StoreCounts> {
    return this.#q.counts.get() as StoreCounts;
  }

  async close(): Promise<void> {
    // Writes already requested are committed (or rejected) before the file closes.
    if (this.#db.open) this.#commit();
    if (this.#db.open) this.#db.close();
  }

  /** The schema version recorded in the file (for tests and diagnostics). */
  schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /** A pragma's current value (for tests: journal mode, synchronous level). */
  pragma(name: 'journal_mode' | 'synchronous' | 'foreign_keys'): unknown {
    return this.#db.pragma(name, { simple: true });
  }
}
