/**
 * How the Redis store lays out its records: key names, hash fields ↔ records, audit records
 * as stored, and the reads of the action scripts (`lua/*.lua`) ↔ what `rules.ts` decides on.
 * No I/O.
 *
 * Keys (all under the prefix): `sess:<sid>` (hash), `att:<sid>` (hash seq → attestation JSON),
 * `sessions`, `codes`, `jtis` (sorted sets by expiry), `code:<hash>`
 * (hashes), `jti:<jkt>:<jti>` (string with a TTL), `dev:<jkt>` / `devrev:<jkt>` (hashes
 * enrollment field → created / revoked at), `jwk:<jkt>`, `subj:<rp>\n<subject>` (set of keys),
 * `keysess:<jkt>` (set of sids), `keys`, `keys:created`, `keys:retired` (signing keys),
 * `audit` (sorted set by seq), `audit:head`, `audit:anchor`, `counts`, `meta`, and the rate
 * limiter's `rl:*`.
 *
 * @module
 */
import type { AttestationState } from '../../domain/assurance';
import { canonicalJson } from '../../services/audit';
import type { CodeState, EnrollmentState, SessionState } from '../rules';
import { decodeSignals } from '../signals';
import type { AuditRecord, AuditValue, SessionRecord } from '../store';

/** Flat `[k1, v1, k2, v2, …]` (an HGETALL inside Lua) → object. */
export function pairs(flat: unknown): Record<string, string> {
  const list = (flat ?? []) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

export const optNum = (v: string | undefined): number | null =>
  v === undefined || v === '' ? null : Number(v);
export const optStr = (v: number | string | null): string => (v === null ? '' : String(v));

export function toSession(h: Record<string, string>): SessionRecord {
  return {
    sid: h.sid!,
    rp: h.rp!,
    subject: h.subject!,
    challenge: h.challenge!,
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    endedAt: optNum(h.endedAt),
    terminatedAt: optNum(h.terminatedAt),
    confirmedAt: optNum(h.confirmedAt),
    deviceJkt: h.deviceJkt ?? null,
    boundAt: optNum(h.boundAt),
    lastSeq: Number(h.lastSeq ?? 0),
    lastHash: h.lastHash ?? '',
    attestations: Number(h.attestations ?? 0),
    lastAttestationAt: optNum(h.lastAttestationAt),
    lastState: (h.lastState as AttestationState | undefined) ?? null,
    ewma: optNum(h.ewma),
    progress: optNum(h.progress),
    signals: decodeSignals(h.signals),
  };
}

/** `rp` and `subject` as one hash field (rp ids cannot contain a newline). */
export const enrollmentField = (rp: string, subject: string) => `${rp}\n${subject}`;
export function splitField(field: string): { rp: string; subject: string } {
  const i = field.indexOf('\n');
  return { rp: field.slice(0, i), subject: field.slice(i + 1) };
}

/** `count` enrollments from `read` at `at` (triples: field, createdAt, revokedAt or ''). */
function enrollmentsAt(read: readonly string[], at: number, count: number): EnrollmentState[] {
  const out: EnrollmentState[] = [];
  for (let i = 0; i < count; i++) {
    const k = at + 3 * i;
    out.push({
      ...splitField(read[k]!),
      createdAt: Number(read[k + 1]),
      revokedAt: optNum(read[k + 2]),
    });
  }
  return out;
}

/** The key's enrollments as `lua/revoke.lua` reads them. */
export function parseEnrollments(read: readonly string[]): EnrollmentState[] {
  return enrollmentsAt(read, 0, read.length / 3);
}

/** What `lua/enroll.lua` reads. */
export function parseEnrollRead(read: readonly string[]): {
  jtiSeen: boolean;
  code: CodeState | undefined;
  enrollments: EnrollmentState[];
} {
  const code =
    read[1] === '1'
      ? {
          rp: read[2]!,
          subject: read[3]!,
          expiresAt: Number(read[4]),
          usedAt: optNum(read[5]),
        }
      : undefined;
  return {
    jtiSeen: read[0] === '1',
    code,
    enrollments: enrollmentsAt(read, 6, (read.length - 6) / 3),
  };
}

/** What `lua/bind.lua` reads. */
export function parseBindRead(read: readonly string[]): {
  jtiSeen: boolean;
  session: SessionState | undefined;
} {
  const session =
    read[1] === '1'
      ? { endedAt: optNum(read[2]), expiresAt: Number(read[3]), deviceJkt: read[4] || null }
      : undefined;
  return { jtiSeen: read[0] === '1', session };
}

/** What `lua/rotate-device.lua` reads. */
export function parseRotateRead(read: readonly string[]): {
  jtiSeen: boolean;
  newKeyEnrolled: boolean;
  oldEnrollments: EnrollmentState[];
  sessions: (SessionState & { sid: string })[];
} {
  const n = Number(read[2]);
  const sessions: (SessionState & { sid: string })[] = [];
  for (let k = 3 + 3 * n; k + 3 < read.length; k += 4) {
    sessions.push({
      sid: read[k]!,
      deviceJkt: read[k + 1] || null,
      endedAt: optNum(read[k + 2]),
      expiresAt: Number(read[k + 3]),
    });
  }
  return {
    jtiSeen: read[0] === '1',
    newKeyEnrolled: read[1] === '1',
    oldEnrollments: enrollmentsAt(read, 3, n),
    sessions,
  };
}

/**
 * An audit record as stored (a member of the `audit` sorted set, scored by `seq`): JSON with
 * the members in export order, `data` as canonical JSON (`rawData` replaces it: tests use it
 * to store a tampered record).
 *
 * @internal exported for tests.
 */
export function encodeAuditRecord(r: AuditRecord, rawData: string = canonicalJson(r.data)): string {
  const s = JSON.stringify;
  return (
    `{"seq":${r.seq},"ts":${s(r.ts)},"type":${s(r.type)},"actor":${s(r.actor)},` +
    `"data":${rawData},"prev":${s(r.prev)},"hash":${s(r.hash)}}`
  );
}

/** The stored form back; a member that is no longer JSON is kept as `data.$corrupt`. */
export function decodeAuditRecord(member: string, score: string): AuditRecord {
  try {
    const r = JSON.parse(member) as AuditRecord;
    return {
      seq: r.seq,
      ts: r.ts,
      type: r.type,
      actor: r.actor,
      data: r.data,
      prev: r.prev,
      hash: r.hash,
    };
  } catch {
    // Someone edited the record: keep the text so verification fails on it.
    const data: Record<string, AuditValue> = { $corrupt: member };
    return { seq: Number(score), ts: '', type: '', actor: '', data, prev: '', hash: '' };
  }
}
