/**
 * The SQLite writer thread (node:worker_threads): owns every connection of this process that
 * writes, runs each store's writes in group-committed transactions, and answers only after
 * the commit (WAL, `synchronous = FULL`: the fsync happens here, not on the event loop).
 *
 * Group commit: the writes of one store that arrive while the thread is busy (the previous
 * commit's fsync, typically) run one after the other, each in its own savepoint, inside one
 * `IMMEDIATE` transaction; a write that throws is rolled back to its savepoint and fails
 * alone; if `BEGIN` or `COMMIT` fails, every write of the batch fails and nothing is stored.
 * Each write checks its preconditions inside the transaction, exactly as the store contract
 * says (store.ts), and appends its audit records there, so both commit or neither does.
 *
 * Started by `sqlite.ts` (through `sqlite-writer-entry.mjs`); talks `sqlite-protocol.ts`.
 *
 * @module
 */
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { GENESIS_HASH, auditHashOfCanonical } from '../../services/audit';
import type {
  AppendedAudit,
  FromWriter,
  OutcomeAudit,
  PreparedAuditEvent,
  ToWriter,
  WireError,
  WriteOp,
  WriteResult,
} from './protocol';
import {
  num,
  prepareStatements,
  str,
  toDevice,
  toSession,
  type Row,
  type Statements,
} from './statements';
import type {
  AuditAnchor,
  AuditPurgeResult,
  BindSessionResult,
  DeviceRecord,
  EnrollDeviceResult,
  RotateDeviceResult,
  RotateSigningKeyResult,
} from '../store';
import { allowsSharedDevices } from '../store';

/** Thrown inside a write's savepoint to roll it back: its records need another outcome. */
class Again {
  constructor(readonly outcome: unknown) {}
}

function wireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === 'string' && { code }) };
}

/** One database file, as written by this thread. */
class Connection {
  readonly #db: Database.Database;
  readonly #q: Statements;
  readonly #batch: Database.Transaction<(run: () => void) => void>;
  readonly #savepoint: Database.Transaction<(fn: () => unknown) => unknown>;
  #pending: { id: number; op: WriteOp }[] = [];
  #scheduled = false;

  constructor(
    path: string,
    readonly id: number,
    readonly post: (message: FromWriter) => void,
  ) {
    this.#db = new Database(path);
    try {
      // The file is already in WAL mode and migrated (by the store, before it asked for this).
      this.#db.pragma('synchronous = FULL');
      this.#db.pragma('foreign_keys = ON');
      this.#db.pragma('busy_timeout = 5000');
      this.#q = prepareStatements(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.#batch = this.#db.transaction((run: () => void) => run());
    // Called inside #batch's transaction, a transaction function opens a savepoint.
    this.#savepoint = this.#db.transaction((fn: () => unknown) => fn());
  }

  /** Queues writes for the next commit (after the messages already waiting are read). */
  enqueue(ops: { id: number; op: WriteOp }[]): void {
    for (const op of ops) this.#pending.push(op);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.commit();
    });
  }

  /** Commits the pending writes as one transaction and answers them (one message). */
  commit(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const results: WriteResult[] = [];
    try {
      this.#batch.immediate(() => {
        for (const { id, op } of batch) {
          try {
            results.push({ id, status: 'ok', value: this.#savepoint(() => this.#apply(op)) });
          } catch (error) {
            results.push(
              error instanceof Again
                ? { id, status: 'again', outcome: error.outcome }
                : { id, status: 'error', error: wireError(error) },
            );
          }
        }
      });
    } catch (error) {
      // BEGIN or COMMIT failed: nothing of the batch is stored.
      const failed = wireError(error);
      this.post({
        type: 'results',
        db: this.id,
        results: batch.map(({ id }) => ({ id, status: 'error', error: failed })),
      });
      return;
    }
    this.post({ type: 'results', db: this.id, results });
  }

  close(): void {
    this.commit();
    if (this.#db.open) this.#db.close();
  }

  /** Appends records after the last one (or the anchor); only inside a transaction. */
  #appendAudit(events: readonly PreparedAuditEvent[]): AppendedAudit[] {
    if (events.length === 0) return [];
    const last = (this.#q.lastAudit.get() ?? this.#q.getAnchor.get()) as AuditAnchor | undefined;
    let seq = last?.seq ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    return events.map((e) => {
      seq += 1;
      const hash = auditHashOfCanonical({ ...e, seq, prev });
      const { ts, type, actor, dataJson: data } = e;
      this.#q.insertAudit.run({ seq, ts, type, actor, data, prev, hash });
      const appended = { seq, prev, hash };
      prev = hash;
      return appended;
    });
  }

  /** Appends an outcome's records, or rolls the write back when they were built for another. */
  #appendFor(outcome: unknown, audit: OutcomeAudit | undefined): void {
    if (!audit) return;
    if (audit.expect === undefined || audit.expect !== JSON.stringify(outcome)) {
      throw new Again(outcome);
    }
    this.#appendAudit(audit.events);
  }

  #jtiSeen(entry: { jkt: string; jti: string }): boolean {
    return this.#q.getJti.get(entry.jkt, entry.jti) !== undefined;
  }

  #apply(op: WriteOp): unknown {
    const q = this.#q;
    switch (op.kind) {
      case 'getOrCreateSecret': {
        const existing = q.getMeta.get(op.name) as string | undefined;
        if (existing !== undefined) return existing;
        q.insertMeta.run(op.name, op.value);
        return op.value;
      }
      case 'addSigningKey':
        q.insertKey.run(op.key);
        return undefined;
      case 'rotateSigningKey': {
        if (q.newestActiveKey.get() !== op.expectedKid) return { ok: false };
        const retired = q.activeKeys.all() as string[];
        q.retireActiveKeys.run(op.now);
        q.insertKey.run(op.next);
        return { ok: true, retired } satisfies RotateSigningKeyResult;
      }
      case 'createEnrollmentCode':
        q.insertCode.run(op.code);
        this.#appendAudit(op.events);
        return undefined;
      case 'enrollDevice':
        return this.#enroll(op);
      case 'revokeDevice': {
        const revoked = (
          op.scope
            ? q.revokeOne.run(op.now, op.jkt, op.scope.rp, op.scope.subject)
            : q.revokeAll.run(op.now, op.jkt)
        ).changes;
        this.#appendFor(revoked, op.audit);
        return revoked;
      }
      case 'useJti':
        return q.insertJtiUnlessSeen.run(op.entry).changes === 1;
      case 'rotateDevice':
        return this.#rotateDevice(op);
      case 'createSession':
        q.insertSession.run(op.session);
        this.#appendAudit(op.events);
        return undefined;
      case 'bindSession':
        return this.#bind(op);
      case 'appendAttestation': {
        const changed = q.advance.run({
          ...op.update,
          sid: op.attestation.sid,
          jkt: op.expected.jkt,
          expectedSeq: op.expected.lastSeq,
          expectedHash: op.expected.lastHash,
          now: op.expected.now,
        }).changes;
        if (changed !== 1) return false;
        q.insertAttestation.run(op.attestation);
        this.#appendAudit(op.events);
        return true;
      }
      case 'endSession':
        if (q.endSession.run(op.now, op.sid).changes !== 1) return false;
        this.#appendAudit(op.events);
        return true;
      case 'terminateSession':
        if (q.terminateSession.run({ sid: op.sid, now: op.now }).changes !== 1) return false;
        this.#appendAudit(op.events);
        return true;
      case 'appendAudit':
        return this.#appendAudit([op.event])[0];
      case 'purgeAudit': {
        const end = q.auditPurgeEnd.get({ before: new Date(op.before).toISOString() }) as
          AuditAnchor | undefined;
        if (!end) {
          const anchor = (q.getAnchor.get() as AuditAnchor | undefined) ?? null;
          return { records: 0, anchor } satisfies AuditPurgeResult;
        }
        const records = q.deleteAuditThrough.run(end.seq).changes;
        const anchor = { seq: end.seq, hash: end.hash };
        q.setAnchor.run(anchor);
        return { records, anchor } satisfies AuditPurgeResult;
      }
      case 'purgeExpired':
        return {
          jtis: q.purgeJtis.run(op.cutoffs.jtisBefore).changes,
          enrollmentCodes: q.purgeCodes.run(op.cutoffs.enrollmentCodesBefore).changes,
          sessions: q.purgeSessions.run(op.cutoffs.sessionsBefore).changes,
        };
    }
  }

  #enroll({ input, audit }: Extract<WriteOp, { kind: 'enrollDevice' }>): EnrollDeviceResult {
    const q = this.#q;
    if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
    const code = q.getCode.get(input.codeHash) as Row | undefined;
    if (!code || code.used_at !== null || num(code.expires_at) <= input.now) {
      return { ok: false, reason: 'code' };
    }
    const rp = str(code.rp);
    const subject = str(code.subject);
    const existing = q.getDevice.get(input.jkt, rp, subject) as Row | undefined;
    if (existing && existing.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (!existing && !allowsSharedDevices(input, rp)) {
      const elsewhere = (q.devicesByKey.all(input.jkt) as Row[]).some(
        (d) => d.revoked_at === null && str(d.rp) === rp && str(d.subject) !== subject,
      );
      if (elsewhere) return { ok: false, reason: 'shared' };
    }
    q.useCode.run(input.now, input.codeHash);
    q.insertJti.run(input.jti);
    let outcome: { device: DeviceRecord; created: boolean };
    if (existing) {
      outcome = { device: toDevice(existing), created: false };
    } else {
      q.insertDevice.run(input.jkt, rp, subject, JSON.stringify(input.jwk), input.now);
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
    this.#appendFor(outcome, audit);
    return { ok: true, ...outcome };
  }

  #rotateDevice({ input }: Extract<WriteOp, { kind: 'rotateDevice' }>): RotateDeviceResult {
    const q = this.#q;
    if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
    const live = (q.devicesByKey.all(input.oldJkt) as Row[])
      .map(toDevice)
      .filter((d) => d.revokedAt === null);
    if (live.length === 0) return { ok: false, reason: 'revoked' };
    if ((q.devicesByKey.all(input.newJkt) as Row[]).length > 0) {
      return { ok: false, reason: 'in-use' };
    }
    q.insertJti.run(input.jti);
    const jwk = JSON.stringify(input.newJwk);
    const enrollments = live.map((d): DeviceRecord => {
      q.insertDevice.run(input.newJkt, d.rp, d.subject, jwk, input.now);
      q.revokeOne.run(input.now, input.oldJkt, d.rp, d.subject);
      return { ...d, jkt: input.newJkt, jwk: input.newJwk, createdAt: input.now };
    });
    const sessions = q.liveSessionsOfKey.all(input.oldJkt, input.now) as string[];
    q.rebindLive.run({ oldJkt: input.oldJkt, newJkt: input.newJkt, now: input.now });
    return { ok: true, enrollments, sessions };
  }

  #bind({ input, audit }: Extract<WriteOp, { kind: 'bindSession' }>): BindSessionResult {
    const q = this.#q;
    if (this.#jtiSeen(input.jti)) return { ok: false, reason: 'replay' };
    const row = q.getSession.get(input.sid) as Row | undefined;
    if (!row) return { ok: false, reason: 'unknown' };
    const session = toSession(row);
    if (session.endedAt !== null || session.expiresAt <= input.now) {
      return { ok: false, reason: 'expired' };
    }
    if (session.deviceJkt !== null && session.deviceJkt !== input.jkt) {
      return { ok: false, reason: 'bound' };
    }
    q.insertJti.run(input.jti);
    const alreadyBound = session.deviceJkt === input.jkt;
    if (!alreadyBound) q.bind.run(input.jkt, input.now, input.sid);
    const outcome = {
      session: alreadyBound ? session : { ...session, deviceJkt: input.jkt, boundAt: input.now },
      alreadyBound,
    };
    this.#appendFor(outcome, audit);
    return { ok: true, ...outcome };
  }
}

const port = parentPort;
if (!port) throw new Error('sqlite-writer.ts runs as a worker thread');
const post = (message: FromWriter) => port.postMessage(message);
const connections = new Map<number, Connection>();

port.on('message', (message: ToWriter) => {
  switch (message.type) {
    case 'open':
      try {
        connections.set(message.db, new Connection(message.path, message.db, post));
        post({ type: 'opened', db: message.db });
      } catch (error) {
        post({ type: 'opened', db: message.db, error: wireError(error) });
      }
      return;
    case 'write': {
      const connection = connections.get(message.db);
      if (connection) {
        connection.enqueue(message.ops);
      } else {
        const error = { name: 'Error', message: 'the database connection is not open' };
        const results = message.ops.map(({ id }): WriteResult => ({ id, status: 'error', error }));
        post({ type: 'results', db: message.db, results });
      }
      return;
    }
    case 'close':
      // Writes already requested are committed (or fail) before the file closes.
      connections.get(message.db)?.close();
      connections.delete(message.db);
      post({ type: 'closed', db: message.db });
      return;
  }
});
