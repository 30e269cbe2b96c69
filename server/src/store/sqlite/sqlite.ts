/**
 * {@link Store} on SQLite (better-sqlite3). Durability: WAL with `synchronous = FULL`, so a
 * method that returned has committed to disk: an acknowledged attestation survives a crash.
 *
 * Two connections per store. Reads run on the event loop, on a connection that never writes
 * (`query_only`): WAL readers see every committed transaction and never wait for the writer.
 * Every write goes to the process's writer thread (`sqlite-writer.ts`, node:worker_threads),
 * which owns the writing connection and group-commits: the writes that arrive while it is busy
 * run in one `IMMEDIATE` transaction, each in its own savepoint, and each promise settles only
 * after that transaction committed. So the fsync of a commit never blocks the event loop.
 *
 * Atomicity: every write method is one message and runs inside one transaction of the writer,
 * preconditions included, so no other writer interleaves with its checks (as store.ts requires).
 * Audit records are built here from the caller's builder (data canonicalised, so a builder that
 * throws or builds non-JSON data fails the method before anything is sent) and appended by the
 * writer in the action's transaction (`sqlite-protocol.ts` says how records that depend on the
 * action's outcome are built).
 *
 * @module
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { auditEventList, canonicalJson } from '../../services/audit';
import { MIGRATIONS } from './migrations';
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
  toAudit,
  toDevice,
  toSession,
  type Row,
  type Statements,
} from './statements';
import type {
  AttestationPrecondition,
  AuditAnchor,
  AuditEvent,
  AuditEvents,
  AuditFor,
  AuditPurgeResult,
  AuditRecord,
  AttestationRecord,
  BindSessionInput,
  BindSessionResult,
  DeviceRecord,
  EnrollDeviceInput,
  EnrollDeviceResult,
  EnrollmentCodeRecord,
  JtiEntry,
  NewSession,
  PurgeCutoffs,
  PurgeResult,
  RotateDeviceInput,
  RotateDeviceResult,
  RotateSigningKeyResult,
  SessionAttestationUpdate,
  SessionRecord,
  SigningKeyRecord,
  SsfStore,
  Store,
  StoreCounts,
} from '../store';
import { SqliteSsf } from './ssf';

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
 * holds the server's signing keys. The writing connection opens on the writer thread; a write
 * sent before it is open waits for it (and fails if it cannot open).
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
    // From here on this connection only reads: every write goes to the writer thread.
    db.pragma('query_only = ON');
    return new SqliteStore(db, path);
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

/** How many times an outcome-dependent action is re-sent after its outcome changed. */
const MAX_AUDIT_ATTEMPTS = 5;

/** Rebuilds an error that crossed the thread boundary (its stack stays on the writer's side). */
function fromWire(e: WireError): Error {
  if (e.name === 'SqliteError' && e.code !== undefined) {
    return new Database.SqliteError(e.message, e.code);
  }
  if (e.name === 'TypeError') return new TypeError(e.message);
  if (e.name === 'RangeError') return new RangeError(e.message);
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}

/**
 * Audit events as the writer appends them. Throws (and so fails the action before anything is
 * sent) on data that is not canonical JSON or a `ts` that is not a date.
 */
function prepareEvents(events: AuditEvents): PreparedAuditEvent[] {
  return auditEventList(events).map((e) => ({
    ts: new Date(e.ts).toISOString(),
    type: e.type,
    actor: e.actor,
    dataJson: canonicalJson(e.data),
  }));
}

/** What a store hears from the writer thread. */
interface WriterClient {
  onMessage(message: FromWriter): void;
  onFailure(error: Error): void;
}

/**
 * The writer thread of this process, started with the first store and shared by every store
 * opened after it (one thread whatever the number of databases: tests open hundreds). It keeps
 * the process alive only while an answer is awaited.
 */
class WriterThread {
  static #current: WriterThread | undefined;

  /** The running thread (a new one if the last one failed). */
  static get(): WriterThread {
    if (!WriterThread.#current || WriterThread.#current.#failed) {
      WriterThread.#current = new WriterThread();
    }
    return WriterThread.#current;
  }

  readonly #worker: Worker;
  readonly #clients = new Map<number, WriterClient>();
  #nextDb = 1;
  #awaited = 0;
  #failed = false;

  private constructor() {
    this.#worker = new Worker(new URL('./writer-entry.mjs', import.meta.url));
    this.#worker.unref();
    this.#worker.on('message', (message: FromWriter) => {
      this.#clients.get(message.db)?.onMessage(message);
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      this.#fail(new Error(`SQLite writer thread exited (code ${code})`));
    });
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    for (const client of this.#clients.values()) client.onFailure(error);
    this.#clients.clear();
  }

  /** Registers a store and opens its writing connection. */
  attach(path: string, client: WriterClient): number {
    const db = this.#nextDb++;
    this.#clients.set(db, client);
    this.post({ type: 'open', db, path });
    return db;
  }

  detach(db: number): void {
    this.#clients.delete(db);
  }

  get failed(): boolean {
    return this.#failed;
  }

  post(message: ToWriter): void {
    this.#worker.postMessage(message);
  }

  /** One more answer awaited: keep the process alive until it comes. */
  hold(): void {
    if (this.#awaited++ === 0) this.#worker.ref();
  }

  release(): void {
    if (--this.#awaited === 0) this.#worker.unref();
  }
}

interface Waiting {
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

/** SQLite implementation of {@link Store}. Create it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #q: Statements;
  readonly #writer: WriterThread;
  readonly #id: number;
  /** Writes requested during this event-loop turn, sent together at its end. */
  #outbox: { id: number; op: WriteOp }[] = [];
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;
  /** Why writes fail from now on (the writer could not open the file, or died). */
  #broken: Error | undefined;
  #closing: Promise<void> | undefined;
  #closed: (() => void) | undefined;
  /** The Shared Signals tables, over the same writer thread. */
  readonly ssf: SsfStore = new SqliteSsf((op) => this.#write({ kind: 'ssf', op }));

  /** @internal use {@link openSqliteStore}. */
  constructor(db: Database.Database, path: string) {
    this.#db = db;
    this.#q = prepareStatements(db);
    this.#writer = WriterThread.get();
    this.#id = this.#writer.attach(path, {
      onMessage: (message) => this.#onMessage(message),
      onFailure: (error) => this.#onFailure(error),
    });
    // Until the writer says the connection opened (or could not).
    this.#writer.hold();
  }

  #onMessage(message: FromWriter): void {
    switch (message.type) {
      case 'opened':
        this.#writer.release();
        if (message.error) this.#onFailure(fromWire(message.error));
        return;
      case 'results':
        for (const result of message.results) {
          const waiting = this.#waiting.get(result.id);
          if (!waiting) continue;
          this.#waiting.delete(result.id);
          this.#writer.release();
          if (result.status === 'error') waiting.reject(fromWire(result.error));
          else waiting.resolve(result);
        }
        return;
      case 'closed':
        this.#writer.detach(this.#id);
        this.#closed?.();
        return;
    }
  }

  #onFailure(error: Error): void {
    this.#broken ??= error;
    for (const [id, waiting] of this.#waiting) {
      this.#waiting.delete(id);
      this.#writer.release();
      waiting.reject(error);
    }
    this.#closed?.();
  }

  /**
   * Sends one write (with the others of this event-loop turn) and settles once the writer's
   * transaction committed: `ok` and `again` resolve, a failed write rejects.
   */
  #send(op: WriteOp): Promise<WriteResult> {
    if (this.#closing) return Promise.reject(new TypeError('The database connection is not open'));
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise<WriteResult>((resolve, reject) => {
      const id = this.#nextId++;
      this.#waiting.set(id, { resolve, reject });
      this.#writer.hold();
      if (this.#outbox.push({ id, op }) === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#outbox.length === 0) return;
    const ops = this.#outbox;
    this.#outbox = [];
    this.#writer.post({ type: 'write', db: this.#id, ops });
  }

  /** A write whose records (if any) do not depend on its outcome. */
  async #write<T>(op: WriteOp): Promise<T> {
    const result = await this.#send(op);
    if (result.status !== 'ok') throw new Error(`unexpected ${result.status} from the writer`);
    return result.value as T;
  }

  /**
   * A write whose records are built from its outcome: a probe first (rolled back by the
   * writer once it knows the outcome), then the write with the records of that outcome, again
   * while the outcome keeps changing under concurrent writers. Without a builder, one write.
   */
  async #writeAudited<T, O>(
    op: (audit: OutcomeAudit | undefined) => WriteOp,
    build: AuditFor<O> | undefined,
  ): Promise<T> {
    let audit: OutcomeAudit | undefined = build && { events: [] };
    for (let attempt = 1; ; attempt++) {
      const result = await this.#send(op(audit));
      if (result.status === 'ok') return result.value as T;
      if (result.status !== 'again' || !build || attempt >= MAX_AUDIT_ATTEMPTS) {
        throw new Error('audit append: the outcome kept changing');
      }
      const outcome = result.outcome as O;
      audit = { expect: JSON.stringify(outcome), events: prepareEvents(build(outcome)) };
    }
  }

  async ping(): Promise<void> {
    this.#q.ping.get();
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const existing = this.#q.getMeta.get(name) as string | undefined;
    if (existing !== undefined) return existing;
    // First writer wins: the writer keeps a value stored meanwhile and answers it.
    return this.#write<string>({ kind: 'getOrCreateSecret', name, value: create() });
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
    await this.#write({ kind: 'addSigningKey', key });
  }

  async rotateSigningKey(
    expectedKid: string,
    next: SigningKeyRecord,
    now: number,
  ): Promise<RotateSigningKeyResult> {
    return this.#write({ kind: 'rotateSigningKey', expectedKid, next, now });
  }

  async createEnrollmentCode(code: EnrollmentCodeRecord, audit?: AuditFor<void>): Promise<void> {
    await this.#write({ kind: 'createEnrollmentCode', code, events: prepareEvents(audit?.()) });
  }

  async enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult> {
    return this.#writeAudited((a) => ({ kind: 'enrollDevice', input, audit: a }), audit);
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
    return this.#writeAudited((a) => ({ kind: 'revokeDevice', jkt, now, scope, audit: a }), audit);
  }

  async useJti(entry: JtiEntry): Promise<boolean> {
    return this.#write({ kind: 'useJti', entry });
  }

  async rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult> {
    return this.#write({ kind: 'rotateDevice', input });
  }

  async createSession(session: NewSession, audit?: AuditFor<void>): Promise<void> {
    await this.#write({ kind: 'createSession', session, events: prepareEvents(audit?.()) });
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const row = this.#q.getSession.get(sid) as Row | undefined;
    return row && toSession(row);
  }

  async bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult> {
    return this.#writeAudited((a) => ({ kind: 'bindSession', input, audit: a }), audit);
  }

  async appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean> {
    const events = prepareEvents(audit?.());
    return this.#write({ kind: 'appendAttestation', attestation, update, expected, events });
  }

  async endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#write({ kind: 'endSession', sid, now, events: prepareEvents(audit?.()) });
  }

  async terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#write({ kind: 'terminateSession', sid, now, events: prepareEvents(audit?.()) });
  }

  async confirmSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#write({ kind: 'confirmSession', sid, now, events: prepareEvents(audit?.()) });
  }

  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    const [prepared] = prepareEvents(event);
    const { seq, prev, hash } = await this.#write<AppendedAudit>({
      kind: 'appendAudit',
      event: prepared!,
    });
    const { ts, type, actor } = prepared!;
    return { seq, ts, type, actor, data: event.data, prev, hash };
  }

  async listAudit(after: number, limit: number): Promise<AuditRecord[]> {
    return (this.#q.listAudit.all(after, limit) as Row[]).map(toAudit);
  }

  async auditAnchor(): Promise<AuditAnchor | null> {
    return (this.#q.getAnchor.get() as AuditAnchor | undefined) ?? null;
  }

  async purgeAudit(before: number): Promise<AuditPurgeResult> {
    return this.#write({ kind: 'purgeAudit', before });
  }

  async purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    return this.#write({ kind: 'purgeExpired', cutoffs });
  }

  async counts(): Promise<StoreCounts> {
    return this.#q.counts.get() as StoreCounts;
  }

  /** Writes already requested are committed (or fail) before the files close. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#flush();
      if (this.#broken || this.#writer.failed) {
        resolve();
        return;
      }
      this.#writer.hold();
      this.#closed = () => {
        this.#closed = undefined;
        this.#writer.release();
        resolve();
      };
      this.#writer.post({ type: 'close', db: this.#id });
    }).then(() => {
      if (this.#db.open) this.#db.close();
    });
    return this.#closing;
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
