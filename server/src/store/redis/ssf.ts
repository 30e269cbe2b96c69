/**
 * The Shared Signals part of the Redis store ({@link SsfStore}). Keys under the prefix:
 * `ssf:streams` (hash id → stream JSON), `ssf:cursor`, `ssf:subjects` (hash sid → JSON),
 * `ssf:q:<stream>` (sorted set of queued jtis, in queue order from the counter `ssf:n`),
 * `ssf:ev:<stream>:<jti>` (hash: set, createdAt, attempts, next, lease, owner),
 * `ssf:dead:<stream>` / `ssf:deadq:<stream>` (dead letters). Every read-then-write is one Lua
 * script (`lua/ssf-*.lua`): the fan-out's cursor compare-and-set and the push lease hold
 * across instances.
 *
 * @module
 */
import type { Redis } from 'ioredis';
import { callScript, type Arg, type ScriptName } from './scripts';
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

/** {@link SsfStore} on Redis (see the module comment). */
export class RedisSsf implements SsfStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(name: string): string {
    return `${this.#prefix}ssf:${name}`;
  }

  #call(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return callScript(this.#redis, this.#prefix, name, args);
  }

  async putStream(stream: StreamRecord): Promise<void> {
    await this.#call('tacitSsfPutStream', [stream.id, JSON.stringify(stream), stream.status]);
  }

  async getStream(id: string): Promise<StreamRecord | undefined> {
    const json = await this.#redis.hget(this.#key('streams'), id);
    return json === null ? undefined : (JSON.parse(json) as StreamRecord);
  }

  async listStreams(rp?: string): Promise<StreamRecord[]> {
    const all = Object.values(await this.#redis.hgetall(this.#key('streams'))).map(
      (json) => JSON.parse(json) as StreamRecord,
    );
    return all
      .filter((s) => rp === undefined || s.rp === rp)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async deleteStream(id: string): Promise<boolean> {
    return (await this.#call('tacitSsfDeleteStream', [id])) === 1;
  }

  async cursor(): Promise<number | null> {
    const v = await this.#redis.get(this.#key('cursor'));
    return v === null ? null : Number(v);
  }

  async subjectStates(sids: readonly string[]): Promise<SubjectSignalState[]> {
    if (sids.length === 0) return [];
    const values = await this.#redis.hmget(this.#key('subjects'), ...sids);
    return values.flatMap((json) =>
      json === null ? [] : [JSON.parse(json) as SubjectSignalState],
    );
  }

  async fanOut(input: FanOutInput): Promise<boolean> {
    const args: Arg[] = [input.fromSeq ?? '', input.toSeq, input.events.length];
    for (const e of input.events) args.push(e.streamId, e.jti, e.set, e.createdAt);
    args.push(input.states.length);
    for (const s of input.states) args.push(s.sid, JSON.stringify(s));
    return (await this.#call('tacitSsfFanOut', args)) === 1;
  }

  async enqueue(e: OutboxEvent): Promise<boolean> {
    return (await this.#call('tacitSsfEnqueue', [e.streamId, e.jti, e.set, e.createdAt])) === 1;
  }

  async claimPush(
    now: number,
    owner: string,
    leaseUntil: number,
    limit: number,
  ): Promise<ClaimedEvent[]> {
    const flat = (await this.#call('tacitSsfClaim', [now, owner, leaseUntil, limit])) as string[];
    const out: ClaimedEvent[] = [];
    for (let i = 0; i < flat.length; i += 7) {
      const [streamId, jti, set, createdAt, attempts, endpointUrl, auth] = flat.slice(i, i + 7);
      out.push({
        streamId: streamId!,
        jti: jti!,
        set: set!,
        createdAt: Number(createdAt),
        attempts: Number(attempts),
        endpointUrl: endpointUrl!,
        authorizationHeader: auth ? auth : null,
      });
    }
    return out;
  }

  async settlePush(
    streamId: string,
    jti: string,
    owner: string,
    s: PushSettlement,
  ): Promise<boolean> {
    const at = s.kind === 'delivered' ? 0 : s.at;
    const error = s.kind === 'delivered' ? '' : s.error;
    return (await this.#call('tacitSsfSettle', [streamId, jti, owner, s.kind, at, error])) === 1;
  }

  async poll(
    streamId: string,
    ack: readonly string[],
    max: number,
  ): Promise<{ events: OutboxEvent[]; more: boolean }> {
    const flat = (await this.#call('tacitSsfPoll', [streamId, max, ack.length, ...ack])) as (
      string | number
    )[];
    const events: OutboxEvent[] = [];
    for (let i = 1; i < flat.length; i += 3) {
      events.push({
        streamId,
        jti: String(flat[i]),
        set: String(flat[i + 1]),
        createdAt: Number(flat[i + 2]),
      });
    }
    return { events, more: flat[0] === 1 };
  }

  async deadLetters(streamId: string): Promise<DeadLetter[]> {
    const jtis = await this.#redis.zrange(this.#key(`deadq:${streamId}`), '0', '-1');
    if (jtis.length === 0) return [];
    const values = await this.#redis.hmget(this.#key(`dead:${streamId}`), ...jtis);
    return jtis.flatMap((jti, i) => {
      const json = values[i];
      if (!json) return [];
      const d = JSON.parse(json) as Omit<DeadLetter, 'streamId' | 'jti'>;
      return [{ streamId, jti, attempts: d.attempts, error: d.error, failedAt: d.failedAt }];
    });
  }
}
