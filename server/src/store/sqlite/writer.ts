/**
 * The SQLite writer thread (node:worker_threads): owns every connection of this process that
 * writes, runs each store's writes in group-committed transactions, and answers only after
 * the commit (WAL, `synchronous = FULL`: the fsync happens here, not on the event loop).
 *
 * Group commit: the writes of one store that arrive while the thread is busy (the previous
 * commit's fsync, typically) run one after the other, each in its own savepoint, inside one
 * `IMMEDIATE` transaction; a write that throws is rolled back to its savepoint and fails
 * alone; if `BEGIN` or `COMMIT` fails, every write of the batch fails and nothing is stored.
 * Each write reads what its rule needs inside the transaction, decides with `rules.ts` (the
 * same functions the Redis store decides with), writes, and appends its audit records there,
 * so both commit or neither does.
 *
 * Started by `sqlite.ts` (through `sqlite-writer-entry.mjs`); talks `sqlite-protocol.ts`.
 *
 * @module
 */
import { encodeSignals } from '../signals';
import { applySsf, prepareSsf, type SsfStatements } from './ssf';
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
  numOrNull,
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
import {
  attestationApplies,
  decideBinding,
  decideDeviceRotation,
  decideEnrollment,
  isLive,
  newestActiveKid,
  revocationTargets,
} from '../rules';

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
  readonly #ssf: SsfStatements;
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
      this.#ssf = prepareSsf(this.#db);
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
        const keys = (q.listKeys.all() as Row[]).map((r) => ({
          kid: str(r.kid),
          createdAt: num(r.created_at),
          retiredAt: r.retired_at === null ? null : num(r.retired_at),
        }));
        if (newestActiveKid(keys) !== op.expectedKid) return { ok: false };
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
        const enrollments = (q.devicesByKey.all(op.jkt) as Row[]).map(toDevice);
        const targets = revocationTargets(enrollments, op.scope);
        for (const d of targets) q.revokeOne.run(op.now, op.jkt, d.rp, d.subject);
        const revoked = targets.length;
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
        const row = q.getSession.get(op.attestation.sid) as Row | undefined;
        if (!attestationApplies(row && toSession(row), op.expected)) return false;
        const { signals, ...advance } = op.update;
        q.advance.run({ ...advance, sid: op.attestation.sid });
        if (signals !== undefined) q.setSignals.run(encodeSignals(signals), op.attestation.sid);
        q.insertAttestation.run(op.attestation);
        this.#appendAudit(op.events);
        return true;
      }
      case 'endSession':
        if (q.endSession.run(op.now, op.sid).changes !== 1) return false;
        this.#appendAudit(op.events);
        return true;
      case 'terminateSession': {
        const row = q.getSession.get(op.sid) as Row | undefined;
        if (!row || !isLive(toSession(row), op.now)) return false;
        q.terminateSession.run({ sid: op.sid, now: op.now });
        this.#appendAudit(op.events);
        return true;
      }
      case 'confirmSession': {
        const row = q.getSession.get(op.sid) as Row | undefined;
        if (!row || !isLive(toSession(row), op.now)) return false;
        q.confirmSession.run({ sid: op.sid, now: op.now });
        this.#appendAudit(op.events);
        return true;
      }
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
      case 'ssf':
        return applySsf(this.#ssf, op.op);
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
    const code = q.getCode.get(input.codeHash) as Row | undefined;
    const enrollments = (q.devicesByKey.all(input.jkt) as Row[]).map(toDevice);
    const decision = decideEnrollment(
      {
        jtiSeen: this.#jtiSeen(input.jti),
        code: code && {
          rp: str(code.rp),
          subject: str(code.subject),
          expiresAt: num(code.expires_at),
          usedAt: code.used_at === null ? null : num(code.used_at),
        },
        enrollments,
      },
      input,
    );
    if (!decision.ok) return decision;
    const { rp, subject, created, createdAt } = decision;
    q.useCode.run(input.now, input.codeHash);
    q.insertJti.run(input.jti);
    if (created) q.insertDevice.run(input.jkt, rp, subject, JSON.stringify(input.jwk), createdAt);
    const device: DeviceRecord = created
      ? { jkt: input.jkt, jwk: input.jwk, subject, rp, createdAt, revokedAt: null }
      : enrollments.find((d) => d.rp === rp && d.subject === subject)!;
    const outcome = { device, created };
    this.#appendFor(outcome, audit);
    return { ok: true, ...outcome };
  }

  #rotateDevice({ input }: Extract<WriteOp, { kind: 'rotateDevice' }>): RotateDeviceResult {
    const q = this.#q;
    const old = (q.devicesByKey.all(input.oldJkt) as Row[]).map(toDevice);
    const decision = decideDeviceRotation(
      {
        jtiSeen: this.#jtiSeen(input.jti),
        oldEnrollments: old,
        newKeyEnrolled: (q.devicesByKey.all(input.newJkt) as Row[]).length > 0,
        sessions: (q.sessionsOfKey.all(input.oldJkt) as Row[]).map((r) => ({
          sid: str(r.sid),
          deviceJkt: str(r.device_jkt),
          endedAt: numOrNull(r.ended_at),
          expiresAt: num(r.expires_at),
        })),
      },
      input.oldJkt,
      input.now,
    );
    if (!decision.ok) return decision;
    q.insertJti.run(input.jti);
    const jwk = JSON.stringify(input.newJwk);
    const enrollments = decision.moved.map(({ rp, subject }): DeviceRecord => {
      q.insertDevice.run(input.newJkt, rp, subject, jwk, input.now);
      q.revokeOne.run(input.now, input.oldJkt, rp, subject);
      return {
        jkt: input.newJkt,
        jwk: input.newJwk,
        rp,
        subject,
        createdAt: input.now,
        revokedAt: null,
      };
    });
    for (const sid of decision.sessions) q.rebind.run(input.newJkt, sid);
    return { ok: true, enrollments, sessions: decision.sessions };
  }

  #bind({ input, audit }: Extract<WriteOp, { kind: 'bindSession' }>): BindSessionResult {
    const q = this.#q;
    const row = q.getSession.get(input.sid) as Row | undefined;
    const session = row && toSession(row);
    const decision = decideBinding(
      { jtiSeen: this.#jtiSeen(input.jti), session },
      input.jkt,
      input.now,
    );
    if (!decision.ok) return decision;
    q.insertJti.run(input.jti);
    const { alreadyBound } = decision;
    if (!alreadyBound) q.bind.run(input.jkt, input.now, input.sid);
    const outcome = {
      session: alreadyBound ? session! : { ...session!, deviceJkt: input.jkt, boundAt: input.now },
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
