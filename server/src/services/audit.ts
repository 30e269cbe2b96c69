/**
 * The audit trail: append-only, tamper-evident records of what the server did, for a SIEM.
 *
 * Each record is `{seq, ts, type, actor, data, prev, hash}`: `seq` counts from 1 without gaps,
 * `prev` is the previous record's `hash` ({@link GENESIS_HASH} for the first one, or the
 * retention anchor after a purge), and `hash` is the hex SHA-256 of the canonical JSON
 * ({@link canonicalJson}: sorted keys, no whitespace, RFC 8785 for the values used here) of
 * the record without `hash`. Changing, inserting or removing a record breaks the chain at that
 * point, which {@link AuditTrail.verify} reports. What the chain cannot show on its own is a
 * rewrite of the whole tail: compare the head `{seq, hash}` with the SIEM's copy for that.
 *
 * `data` holds ids, outcomes, error codes and assurance values only: never a token, a key, an
 * enrollment code, a request body or behavioral data beyond the reported `conf`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import { errorFields, type Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import type {
  AuditAnchor,
  AuditEvent,
  AuditEvents,
  AuditRecord,
  AuditValue,
  Store,
} from '../store/store';

/** `prev` of the very first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** Every record type the server writes (stable: a SIEM may filter on them). */
export type AuditType =
  | 'server.started'
  | 'enrollment_code.issued'
  | 'device.enrolled'
  | 'device.enrollment_rejected'
  | 'device.revoked'
  | 'admin.device_revoked'
  | 'device.self_revoked'
  | 'device.rotated'
  | 'device.rotate_rejected'
  | 'signing_key.rotated'
  | 'session.opened'
  | 'session.bound'
  | 'session.bind_rejected'
  | 'session.deleted'
  | 'session.terminated'
  | 'session.confirmed'
  | 'attestation.accepted'
  | 'attestation.rejected'
  | 'policy.decision'
  | 'ssf.delivery_failed'
  | 'audit.purged';

/** Who acted: a relying party, a device (only once its signature verified), or the server. */
export const actor = {
  rp: (id: string) => `rp:${id}`,
  device: (jkt: string) => `device:${jkt}`,
  system: 'system',
  /** A device statement rejected before its signature verified: nobody is proven. */
  anonymous: 'anonymous',
} as const;

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings
 * as `JSON.stringify` writes them (which is RFC 8785 for finite numbers). `undefined` members
 * are left out.
 *
 * @throws {TypeError} on a value JSON cannot represent exactly (non-finite number, function…).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: unsupported ${typeof value}`);
}

/** The hash of a record: hex SHA-256 of the canonical JSON of everything but `hash`. */
export function auditHash(record: Omit<AuditRecord, 'hash'>): string {
  const { seq, ts, type, actor: who, data, prev } = record;
  return auditHashOfCanonical({ seq, ts, type, actor: who, dataJson: canonicalJson(data), prev });
}

/**
 * {@link auditHash} of a record whose `data` is already canonical JSON (`dataJson`): the
 * canonical JSON of `{seq, ts, type, actor, data, prev}` is written here with its keys in
 * sorted order (`actor`, `data`, `prev`, `seq`, `ts`, `type`), so `data` is not serialised
 * twice. The SQLite writer thread hashes with it (the data was canonicalised by the caller).
 */
export function auditHashOfCanonical(record: {
  seq: number;
  ts: string;
  type: string;
  actor: string;
  dataJson: string;
  prev: string;
}): string {
  const { seq, ts, type, actor: who, dataJson, prev } = record;
  const json =
    `{"actor":${JSON.stringify(who)},"data":${dataJson},"prev":${JSON.stringify(prev)},` +
    `"seq":${canonicalJson(seq)},"ts":${JSON.stringify(ts)},"type":${JSON.stringify(type)}}`;
  return createHash('sha256').update(json, 'utf8').digest('hex');
}

/**
 * The record that follows `last` (the last stored record, or the anchor; null for the first
 * record of the chain): `seq` one more, `prev` its hash, `hash` computed here.
 *
 * @throws {TypeError} if `event.data` is not representable as canonical JSON.
 */
export function nextAuditRecord(last: AuditAnchor | null, event: AuditEvent): AuditRecord {
  const unhashed = {
    seq: (last?.seq ?? 0) + 1,
    ts: new Date(event.ts).toISOString(),
    type: event.type,
    actor: event.actor,
    data: event.data,
    prev: last?.hash ?? GENESIS_HASH,
  };
  return { ...unhashed, hash: auditHash(unhashed) };
}

/** {@link AuditEvents} as a list. */
export function auditEventList(events: AuditEvents): readonly AuditEvent[] {
  if (events === undefined) return [];
  return Array.isArray(events) ? events : [events as AuditEvent];
}

/** Result of {@link AuditTrail.verify}. */
export interface AuditVerification {
  /** The whole stored chain (from the anchor on) is intact. */
  ok: boolean;
  /** Records checked (up to, excluding, the broken one). */
  records: number;
  /** `seq` of the first record that does not chain (or whose hash is wrong). */
  brokenAt?: number;
  /** The last purged record, where the stored chain starts; null if nothing was purged. */
  anchor: AuditAnchor | null;
  /** The last record checked: compare with the SIEM's copy to detect a rewritten tail. */
  head: { seq: number; hash: string } | null;
}

/** What the trail needs. */
export interface AuditDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

const PAGE = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Writes, reads, verifies and purges the audit trail. */
export class AuditTrail {
  readonly #d: AuditDeps;

  constructor(deps: AuditDeps) {
    this.#d = deps;
  }

  /**
   * An event stamped now, for a store method to append in the same atomic step as the action
   * it describes (see `AuditFor` in store.ts). Members without a value are left out.
   */
  event(type: AuditType, who: string, data: Record<string, AuditValue | undefined>): AuditEvent {
    // Members without a value are left out (not stored as null).
    const defined = Object.fromEntries(
      Object.entries(data).filter((e): e is [string, AuditValue] => e[1] !== undefined),
    );
    return { ts: this.#d.clock.now(), type, actor: who, data: defined };
  }

  /**
   * Appends a record on its own, for what is not part of a stored action (a rejected request,
   * a decision, the server's start). A failure to write it never changes the answer of the
   * request: it is logged (`audit_write_failed`) and counted
   * (`tacit_audit_write_failures_total`).
   */
  async record(
    type: AuditType,
    who: string,
    data: Record<string, AuditValue | undefined>,
  ): Promise<void> {
    await this.append(this.event(type, who, data));
  }

  /** {@link record} for an event already built with {@link event}. */
  async append(event: AuditEvent): Promise<void> {
    try {
      await this.#d.store.appendAudit(event);
    } catch (err) {
      this.#d.metrics.auditWriteFailures.inc();
      this.#d.logger.error('audit_write_failed', { type: event.type, ...errorFields(err) });
    }
  }

  /** Records with `seq > after`, oldest first, at most `limit`. */
  read(after: number, limit: number): Promise<AuditRecord[]> {
    return this.#d.store.listAudit(after, limit);
  }

  /** Recomputes the chain from the anchor (or genesis) to the last record. */
  async verify(): Promise<AuditVerification> {
    const anchor = await this.#d.store.auditAnchor();
    let prev = anchor?.hash ?? GENESIS_HASH;
    let expected = (anchor?.seq ?? 0) + 1;
    let records = 0;
    let head: AuditVerification['head'] = null;
    for (let after = anchor?.seq ?? 0; ;) {
      const page = await this.#d.store.listAudit(after, PAGE);
      for (const r of page) {
        if (r.seq !== expected || r.prev !== prev || auditHash(r) !== r.hash) {
          return { ok: false, records, brokenAt: r.seq, anchor, head };
        }
        prev = r.hash;
        expected += 1;
        records += 1;
        head = { seq: r.seq, hash: r.hash };
      }
      if (page.length < PAGE) return { ok: true, records, anchor, head };
      after = page.at(-1)!.seq;
    }
  }

  /**
   * Deletes records older than `retentionDays` (always a prefix of the chain), keeps the hash
   * of the last deleted one as the anchor, and records the purge itself.
   */
  async purge(retentionDays: number): Promise<number> {
    const result = await this.#d.store.purgeAudit(this.#d.clock.now() - retentionDays * DAY_MS);
    if (result.records > 0 && result.anchor) {
      await this.record('audit.purged', actor.system, {
        records: result.records,
        throughSeq: result.anchor.seq,
        anchorHash: result.anchor.hash,
      });
    }
    return result.records;
  }
}
