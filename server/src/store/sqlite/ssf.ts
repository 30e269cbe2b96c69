/**
 * The Shared Signals part of the SQLite store ({@link SsfStore}, migration 4). Every operation,
 * reads included, runs on the writer thread as one {@link SsfOp} inside the writer's
 * transaction, so a fan-out's cursor compare-and-set, its queued events and its session
 * states commit together, and a claim's check and lease are one step. (The transmitter's
 * traffic is a few operations per second: the read connection is not worth a second path.)
 *
 * @module
 */
import type Database from 'better-sqlite3';
import type { SsfOp } from './protocol';
import type {
  ClaimedEvent,
  DeadLetter,
  FanOutInput,
  OutboxEvent,
  PushSettlement,
  SsfStore,
  StreamRecord,
  SubjectSignalState,
} from '../store';

type Row = Record<string, unknown>;

/** The prepared statements of the SSF tables (writer thread). */
export function prepareSsf(db: Database.Database) {
  return {
    db,
    putStream: db.prepare(
      `INSERT INTO ssf_streams (id, rp, created_at, record) VALUES (@id, @rp, @createdAt, @record)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record`,
    ),
    getStream: db.prepare('SELECT record FROM ssf_streams WHERE id = ?').pluck(),
    listStreams: db.prepare('SELECT record FROM ssf_streams ORDER BY created_at, id').pluck(),
    listStreamsOf: db
      .prepare('SELECT record FROM ssf_streams WHERE rp = ? ORDER BY created_at, id')
      .pluck(),
    deleteStream: db.prepare('DELETE FROM ssf_streams WHERE id = ?'),
    getCursor: db.prepare('SELECT seq FROM ssf_cursor WHERE id = 1').pluck(),
    setCursor: db.prepare(
      'INSERT INTO ssf_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq',
    ),
    getSubject: db.prepare('SELECT sid, level, risk FROM ssf_subjects WHERE sid = ?'),
    putSubject: db.prepare(
      `INSERT INTO ssf_subjects (sid, level, risk) VALUES (@sid, @level, @risk)
       ON CONFLICT (sid) DO UPDATE SET level = excluded.level, risk = excluded.risk`,
    ),
    insertEvent: db.prepare(
      `INSERT OR IGNORE INTO ssf_events (stream_id, jti, set_jws, created_at, next_attempt_at)
       VALUES (@streamId, @jti, @set, @createdAt, @createdAt)`,
    ),
    dueEvents: db.prepare(
      `SELECT stream_id, jti, set_jws, created_at, attempts FROM ssf_events
       WHERE next_attempt_at <= @now AND lease_until <= @now ORDER BY n`,
    ),
    lease: db.prepare(
      'UPDATE ssf_events SET lease_until = @leaseUntil, lease_owner = @owner WHERE stream_id = @streamId AND jti = @jti',
    ),
    getEvent: db.prepare(
      'SELECT attempts, lease_owner FROM ssf_events WHERE stream_id = ? AND jti = ?',
    ),
    deleteEvents: db.prepare('DELETE FROM ssf_events WHERE stream_id = ?'),
    deleteEvent: db.prepare('DELETE FROM ssf_events WHERE stream_id = ? AND jti = ?'),
    retry: db.prepare(
      `UPDATE ssf_events SET attempts = attempts + 1, next_attempt_at = @at, lease_until = 0,
       lease_owner = NULL WHERE stream_id = @streamId AND jti = @jti`,
    ),
    insertDead: db.prepare(
      `INSERT OR REPLACE INTO ssf_dead_letters (stream_id, jti, attempts, error, failed_at)
       VALUES (@streamId, @jti, @attempts, @error, @failedAt)`,
    ),
    pollEvents: db.prepare(
      'SELECT stream_id, jti, set_jws, created_at FROM ssf_events WHERE stream_id = ? ORDER BY n LIMIT ?',
    ),
    deadLetters: db.prepare(
      'SELECT stream_id, jti, attempts, error, failed_at FROM ssf_dead_letters WHERE stream_id = ? ORDER BY failed_at, jti',
    ),
  };
}

/** What {@link prepareSsf} returns. */
export type SsfStatements = ReturnType<typeof prepareSsf>;

const parseStream = (json: unknown): StreamRecord => JSON.parse(String(json)) as StreamRecord;

function toOutbox(r: Row): OutboxEvent {
  return {
    streamId: String(r.stream_id),
    jti: String(r.jti),
    set: String(r.set_jws),
    createdAt: Number(r.created_at),
  };
}

function streamAccepts(q: SsfStatements, streamId: string): boolean {
  const json = q.getStream.get(streamId);
  return json !== undefined && parseStream(json).status !== 'disabled';
}

/** Runs one SSF operation on the writer thread, inside its transaction. */
export function applySsf(q: SsfStatements, op: SsfOp): unknown {
  switch (op.kind) {
    case 'putStream':
      q.putStream.run({
        id: op.stream.id,
        rp: op.stream.rp,
        createdAt: op.stream.createdAt,
        record: JSON.stringify(op.stream),
      });
      if (op.stream.status === 'disabled') q.deleteEvents.run(op.stream.id);
      return undefined;
    case 'getStream': {
      const json = q.getStream.get(op.id);
      return json === undefined ? undefined : parseStream(json);
    }
    case 'listStreams':
      return (op.rp === undefined ? q.listStreams.all() : q.listStreamsOf.all(op.rp)).map(
        parseStream,
      );
    case 'deleteStream':
      return q.deleteStream.run(op.id).changes === 1;
    case 'cursor':
      return (q.getCursor.get() as number | undefined) ?? null;
    case 'subjectStates':
      return op.sids
        .map((sid) => q.getSubject.get(sid) as SubjectSignalState | undefined)
        .filter((s) => s !== undefined);
    case 'fanOut':
      return fanOut(q, op.input);
    case 'enqueue':
      if (!streamAccepts(q, op.event.streamId)) return false;
      return q.insertEvent.run(op.event).changes === 1;
    case 'claimPush': {
      const streams = new Map<string, StreamRecord>();
      const claimed: ClaimedEvent[] = [];
      for (const r of q.dueEvents.all({ now: op.now }) as Row[]) {
        if (claimed.length >= op.limit) break;
        const id = String(r.stream_id);
        if (!streams.has(id)) streams.set(id, parseStream(q.getStream.get(id)));
        const stream = streams.get(id)!;
        if (stream.status !== 'enabled' || stream.deliveryMethod !== 'push') continue;
        if (stream.endpointUrl === null) continue;
        q.lease.run({ leaseUntil: op.leaseUntil, owner: op.owner, streamId: id, jti: r.jti });
        claimed.push({
          ...toOutbox(r),
          attempts: Number(r.attempts),
          endpointUrl: stream.endpointUrl,
          authorizationHeader: stream.authorizationHeader,
        });
      }
      return claimed;
    }
    case 'settlePush':
      return settle(q, op.streamId, op.jti, op.owner, op.s);
    case 'poll': {
      const stream = q.getStream.get(op.streamId);
      if (stream === undefined) return { events: [], more: false };
      for (const jti of op.ack) q.deleteEvent.run(op.streamId, jti);
      if (parseStream(stream).status !== 'enabled') return { events: [], more: false };
      const rows = q.pollEvents.all(op.streamId, op.max + 1) as Row[];
      return { events: rows.slice(0, op.max).map(toOutbox), more: rows.length > op.max };
    }
    case 'deadLetters':
      return (q.deadLetters.all(op.streamId) as Row[]).map((r): DeadLetter => ({
        streamId: String(r.stream_id),
        jti: String(r.jti),
        attempts: Number(r.attempts),
        error: String(r.error),
        failedAt: Number(r.failed_at),
      }));
  }
}

function fanOut(q: SsfStatements, input: FanOutInput): boolean {
  const current = (q.getCursor.get() as number | undefined) ?? null;
  if (current !== input.fromSeq) return false;
  for (const event of input.events) {
    if (streamAccepts(q, event.streamId)) q.insertEvent.run(event);
  }
  for (const state of input.states) q.putSubject.run(state);
  q.setCursor.run(input.toSeq);
  return true;
}

function settle(
  q: SsfStatements,
  streamId: string,
  jti: string,
  owner: string,
  s: PushSettlement,
): boolean {
  const row = q.getEvent.get(streamId, jti) as Row | undefined;
  if (!row || row.lease_owner !== owner) return false;
  switch (s.kind) {
    case 'delivered':
      q.deleteEvent.run(streamId, jti);
      return true;
    case 'retry':
      q.retry.run({ streamId, jti, at: s.at });
      return true;
    case 'dead':
      q.deleteEvent.run(streamId, jti);
      q.insertDead.run({
        streamId,
        jti,
        attempts: Number(row.attempts) + 1,
        error: s.error,
        failedAt: s.at,
      });
      return true;
  }
}

/** {@link SsfStore} over the writer thread (`send` posts one {@link SsfOp}). */
export class SqliteSsf implements SsfStore {
  readonly #send: (op: SsfOp) => Promise<unknown>;

  constructor(send: (op: SsfOp) => Promise<unknown>) {
    this.#send = send;
  }

  async #do<T>(op: SsfOp): Promise<T> {
    return (await this.#send(op)) as T;
  }

  putStream(stream: StreamRecord): Promise<void> {
    return this.#do({ kind: 'putStream', stream });
  }
  getStream(id: string): Promise<StreamRecord | undefined> {
    return this.#do({ kind: 'getStream', id });
  }
  listStreams(rp?: string): Promise<StreamRecord[]> {
    return this.#do({ kind: 'listStreams', rp });
  }
  deleteStream(id: string): Promise<boolean> {
    return this.#do({ kind: 'deleteStream', id });
  }
  cursor(): Promise<number | null> {
    return this.#do({ kind: 'cursor' });
  }
  subjectStates(sids: readonly string[]): Promise<SubjectSignalState[]> {
    return this.#do({ kind: 'subjectStates', sids: [...sids] });
  }
  fanOut(input: FanOutInput): Promise<boolean> {
    return this.#do({ kind: 'fanOut', input });
  }
  enqueue(event: OutboxEvent): Promise<boolean> {
    return this.#do({ kind: 'enqueue', event });
  }
  claimPush(now: number, owner: string, leaseUntil: number, limit: number) {
    return this.#do<ClaimedEvent[]>({ kind: 'claimPush', now, owner, leaseUntil, limit });
  }
  settlePush(streamId: string, jti: string, owner: string, s: PushSettlement): Promise<boolean> {
    return this.#do({ kind: 'settlePush', streamId, jti, owner, s });
  }
  poll(streamId: string, ack: readonly string[], max: number) {
    return this.#do<{ events: OutboxEvent[]; more: boolean }>({
      kind: 'poll',
      streamId,
      ack: [...ack],
      max,
    });
  }
  deadLetters(streamId: string): Promise<DeadLetter[]> {
    return this.#do({ kind: 'deadLetters', streamId });
  }
}
