/**
 * {@link Store} on Redis (ioredis), so several server instances can share one state.
 *
 * **Atomicity.** Every method that reads and then writes runs as one Lua script (EVALSHA via
 * ioredis `defineCommand`): Redis runs a script without interleaving any other command, so
 * the preconditions (a `jti` not seen, an enrollment code unused, a session not bound to
 * another key, the attestation compare-and-set on `(device, lastSeq, lastHash)`, a live
 * session for a termination) are checked and acted on in one step, whichever instance sends
 * it. Scripts check everything before their first write (a failed check writes nothing).
 *
 * **Audit chain.** A record's hash is SHA-256 over canonical JSON, computed in Node with the
 * same `auditHash` as SQLite (Redis's Lua has no SHA-256). An audited action is sent with its
 * records already chained to the head `{seq, hash}` they assume, plus the outcome the records
 * describe; the script appends them only if the head and the outcome are still those, and
 * otherwise writes nothing and answers the current outcome, so the records are rebuilt and the
 * action sent again. An action that needs its outcome to build its records (enrollment,
 * binding, revocation) is first sent as a probe that changes nothing.
 *
 * **Group commit.** Audited actions are not sent one by one (each would wait for its own round
 * trip and, with `appendfsync always`, its own fsync, and they could not overlap: each needs
 * the head the previous one left). The actions requested while the previous batch was in
 * flight (or during one event-loop turn) go to Redis as ONE script call (`tacitBatch`), each
 * with its records chained on the previous action's, assuming the previous ones succeed. The
 * script runs them in order, each still all-or-nothing (check, then action and its records);
 * an action whose head or outcome is not the assumed one writes nothing and is reported, and
 * the script goes on (actions that append no record still apply). Node resolves each caller
 * when its own action committed, rebuilds the others from the real head and puts them first
 * in the next batch (at most {@link MAX_AUDIT_ATTEMPTS} sends each). One script rather than a
 * pipeline of scripts: no other instance's write can land between two actions of a batch
 * (which would invalidate every later one), and Redis fsyncs once for the whole batch. Only
 * one batch per process is in flight, since the next one chains on its result; another
 * instance moving the head costs a retry of the batch's audited actions, never a lost or
 * duplicated record (a record is only written with its action, at the seq after the head it
 * was hashed against).
 *
 * **Durability.** A method that returned has been applied by Redis, which acknowledges
 * before anything reaches disk: what survives a Redis crash depends on its persistence
 * configuration. For no loss of an acknowledged attestation run Redis with `appendonly yes`
 * and `appendfsync always` (`everysec` may lose the last second; RDB snapshots alone lose
 * everything since the last one). A replica promoted after a failover may lack the last
 * writes (replication is asynchronous).
 *
 * **Deployment.** One Redis (or a primary with replicas), not Redis Cluster: the scripts
 * build the keys they touch from the prefix. Every key starts with the configured prefix
 * (default `tacit:`), so several deployments can share a Redis. `jti`s expire with a TTL (and
 * are purged with the other expired data); everything else is deleted by
 * {@link RedisStore.purgeExpired} and {@link RedisStore.purgeAudit}.
 *
 * @module
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { AttestationState } from '../../domain/assurance';
import { auditEventList, canonicalJson, nextAuditRecord } from '../../services/audit';
import { POLICY } from '../../domain/policy';
import { callScript, defineScripts, type ActionName, type Arg, type ScriptName } from './scripts';
import type {
  AttestationPrecondition,
  AttestationRecord,
  AuditAnchor,
  AuditEvent,
  AuditEvents,
  AuditFor,
  AuditPurgeResult,
  AuditRecord,
  AuditValue,
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
} from '../store';

/** Options of {@link openRedisStore}. */
export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL (credentials and database number included). */
  url: string;
  /** Prefix of every key (default `tacit:`). */
  prefix?: string;
  /** Called with connection errors after start (ioredis keeps reconnecting meanwhile). */
  onError?: (err: Error) => void;
  /** How long a command may wait for its answer (ms, default 5000). */
  commandTimeoutMs?: number;
}

/** Thrown when Redis cannot be reached at start. The message never contains the URL. */
export class RedisUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('cannot connect to Redis (check TACIT_REDIS_URL and that Redis is running)', options);
    this.name = 'RedisUnavailableError';
  }
}

/** Default key prefix. */
export const DEFAULT_REDIS_PREFIX = 'tacit:';

/** Expired rows removed per script call (keeps each call short: Redis runs one at a time). */
const PURGE_BATCH = 1000;
/**
 * Shortest TTL of a remembered `jti` (ms): the longest it can matter (its expiry is `iat` + the
 * freshness window + 1 s, and `iat` may be up to the window ahead of the server's clock), so
 * no clock difference between instances lets one be forgotten early. Purges remove it from
 * the index at its expiry.
 */
const JTI_MIN_TTL_MS = (2 * POLICY.freshnessWindowS + 2) * 1000;
/** How often an audited action is sent before giving up (probe and retries included). */
const MAX_AUDIT_ATTEMPTS = 100;

/** One action's answer in a `tacitBatch` reply: status, outcome, extra. */
type ActionReply = [status: 'done' | 'outcome' | 'head', out: string[], extra?: unknown];
/** A `tacitBatch` reply: the head after the batch, and one answer per action. */
type BatchReply = [headSeq: string, headHash: string, results: ActionReply[]];

/** The most actions in one batch (bounds how long the script blocks Redis). */
const MAX_BATCH = 128;

/** What an action script answered. */
interface ActionResult {
  out: string[];
  extra: unknown;
  /** The audit records it appended. */
  records: AuditRecord[];
}

/** Flat `[k1, v1, k2, v2, …]` (an HGETALL inside Lua) → object. */
function pairs(flat: unknown): Record<string, string> {
  const list = (flat ?? []) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

const optNum = (v: string | undefined): number | null => (v === undefined ? null : Number(v));
const optStr = (v: number | string | null): string => (v === null ? '' : String(v));

function toSession(h: Record<string, string>): SessionRecord {
  return {
    sid: h.sid!,
    rp: h.rp!,
    subject: h.subject!,
    challenge: h.challenge!,
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    endedAt: optNum(h.endedAt),
    terminatedAt: optNum(h.terminatedAt),
    deviceJkt: h.deviceJkt ?? null,
    boundAt: optNum(h.boundAt),
    lastSeq: Number(h.lastSeq ?? 0),
    lastHash: h.lastHash ?? '',
    attestations: Number(h.attestations ?? 0),
    lastAttestationAt: optNum(h.lastAttestationAt),
    lastState: (h.lastState as AttestationState | undefined) ?? null,
    ewma: optNum(h.ewma),
    progress: optNum(h.progress),
  };
}

/** `rp` and `subject` as one hash field (rp ids cannot contain a newline). */
const enrollmentField = (rp: string, subject: string) => `${rp}\n${subject}`;
function splitField(field: string): { rp: string; subject: string } {
  const i = field.indexOf('\n');
  return { rp: field.slice(0, i), subject: field.slice(i + 1) };
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
function decodeAuditRecord(member: string, score: string): AuditRecord {
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

/** An audited action waiting for the next batch (or to be sent again). */
interface QueuedAction {
  name: ActionName;
  args: readonly Arg[];
  audit: (out: string[], extra: unknown) => AuditEvents;
  /** The outcome to build the records from; undefined while unknown (sent as a probe). */
  out: string[] | undefined;
  /** The `extra` answered with `out`. */
  extra: unknown;
  /** Times sent without being settled. */
  attempts: number;
  resolve: (result: ActionResult) => void;
  reject: (error: unknown) => void;
}

/** One action of a batch in flight, with the records sent with it. */
interface SentAction {
  action: QueuedAction;
  records: AuditRecord[];
}

/** The `tacitBatch` arguments of one action (see `lua/batch.lua`). */
function actionArgs(
  name: ActionName,
  mode: 'probe' | 'commit',
  expect: string,
  head: AuditAnchor | undefined,
  records: readonly AuditRecord[],
  args: readonly Arg[],
): Arg[] {
  const last = records.at(-1);
  return [
    name,
    mode,
    expect,
    head ? String(head.seq) : '',
    head?.hash ?? '',
    last ? String(last.seq) : '',
    last?.hash ?? '',
    records.length,
    args.length,
    ...records.map((r) => encodeAuditRecord(r)),
    ...args,
  ];
}

/**
 * Connects to Redis, checks it answers, and returns the store.
 *
 * @throws {RedisUnavailableError} if Redis cannot be reached (the URL is not in the message).
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<RedisStore> {
  const redisOptions: RedisOptions = {
    // RESP2: the reply shapes the code below reads (flat WITHSCORES lists).
    protocol: 2,
    lazyConnect: true,
    // Fail fast while disconnected (a probe answers 503, a request 500) instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    commandTimeout: options.commandTimeoutMs ?? 5000,
  };
  const redis = new Redis(options.url, redisOptions);
  let connectError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectError ??= err;
    options.onError?.(err);
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    // The first socket error says why ("connect ECONNREFUSED …"), not the URL.
    throw new RedisUnavailableError({ cause: connectError ?? err });
  }
  return new RedisStore(redis, options.prefix ?? DEFAULT_REDIS_PREFIX);
}

/** Redis implementation of {@link Store}. Create it with {@link openRedisStore}. */
export class RedisStore implements Store {
  /** The connection (shared with the Redis rate limiter). */
  readonly redis: Redis;
  /** Prefix of every key. */
  readonly prefix: string;
  /** The audit head this process last saw (a hint: scripts check it); undefined: unknown. */
  #head: AuditAnchor | undefined;
  /** Audited actions waiting for the next batch, in the order they are to run. */
  readonly #queue: QueuedAction[] = [];
  /** A batch is in flight (the next one waits for its answer: it chains on its head). */
  #inFlight = false;
  /** A flush is scheduled (setImmediate). */
  #scheduled = false;
  #closed = false;

  /** @internal use {@link openRedisStore}. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
    defineScripts(redis);
  }

  #script(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return callScript(this.redis, this.prefix, name, args);
  }

  /**
   * Runs an action, appending what `audit` builds from its outcome in the same atomic step.
   * `guess` is the outcome to build the records from first (skips the probe when right).
   * An unaudited action is sent at once (it does not touch the chain, so it needs no order
   * with the others); an audited one joins the next batch (see "Group commit" above) and
   * settles once its own action committed, or was refused by its check.
   */
  async #act(
    name: ActionName,
    args: readonly Arg[],
    audit?: (out: string[], extra: unknown) => AuditEvents,
    guess?: string[],
  ): Promise<ActionResult> {
    if (!audit) {
      const reply = (await this.#script('tacitBatch', [
        1,
        ...actionArgs(name, 'commit', '*', undefined, [], args),
      ])) as BatchReply;
      const [, out, extra] = reply[2][0]!;
      return { out, extra, records: [] };
    }
    return new Promise<ActionResult>((resolve, reject) => {
      const action = { name, args, audit, out: guess, extra: undefined, attempts: 0 };
      this.#queue.push({ ...action, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Flushes the queue at the end of this event-loop turn, unless a batch is in flight (its
   * answer schedules the next flush). Waiting for the turn to end lets every request handled
   * in it join the batch, as SQLite's group commit does.
   */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  /**
   * Sends the queued actions (at most {@link MAX_BATCH}) as one `tacitBatch` call. Each
   * action's records are chained on the previous action's last record (or on the head this
   * process last saw), i.e. assuming every earlier action of the batch commits with its
   * expected outcome; the script checks that assumption action by action.
   */
  #flush(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_BATCH);
    const sent: SentAction[] = [];
    const argv: Arg[] = [];
    let cursor = this.#head;
    for (const action of batch) {
      const records: AuditRecord[] = [];
      // Without an outcome (or a head) the records cannot be built yet: probe, change nothing.
      const commit = action.out !== undefined && cursor !== undefined;
      if (commit) {
        try {
          for (const event of auditEventList(action.audit(action.out!, action.extra))) {
            records.push(nextAuditRecord(records.at(-1) ?? cursor!, event));
          }
        } catch (err) {
          // A builder that throws (or data that is not canonical JSON): the action is not run.
          action.reject(err);
          continue;
        }
      }
      argv.push(
        ...actionArgs(
          action.name,
          commit ? 'commit' : 'probe',
          commit ? action.out!.join('\n') : '*',
          cursor,
          records,
          action.args,
        ),
      );
      sent.push({ action, records });
      const last = records.at(-1);
      if (last) cursor = { seq: last.seq, hash: last.hash };
    }
    if (sent.length === 0) {
      this.#schedule();
      return;
    }
    this.#inFlight = true;
    this.#script('tacitBatch', [sent.length, ...argv])
      .then(
        (reply) => this.#settle(sent, reply as BatchReply),
        (err: unknown) => {
          // No answer: any prefix of the batch may have been applied (as with a single call
          // whose answer is lost). Each caller gets the error; the head is learned again.
          this.#head = undefined;
          for (const { action } of sent) action.reject(err);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
  }

  /**
   * Settles what a batch committed or refused, and queues the rest again, first (in their
   * order), with the outcome the script found: their records are rebuilt on the real head.
   */
  #settle(sent: readonly SentAction[], [headSeq, headHash, results]: BatchReply): void {
    this.#head = { seq: Number(headSeq), hash: headHash };
    const again: QueuedAction[] = [];
    sent.forEach(({ action, records }, i) => {
      const [status, out, extra] = results[i]!;
      if (status === 'done') {
        // Applied with exactly these records, or refused by its check (nothing written).
        action.resolve({ out, extra, records: out[0] === 'ok' ? records : [] });
        return;
      }
      // `outcome` (a probe, or the outcome changed) or `head` (another instance, or an
      // earlier action of the batch, did not append what was assumed): nothing was written.
      action.out = out;
      action.extra = extra;
      action.attempts += 1;
      if (action.attempts >= MAX_AUDIT_ATTEMPTS) {
        action.reject(new Error('audit append: too many concurrent writers'));
      } else {
        again.push(action);
      }
    });
    this.#queue.unshift(...again);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new Error('store closed');
    await this.redis.ping();
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const key = `${this.prefix}meta`;
    const existing = await this.redis.hget(key, name);
    if (existing !== null) return existing;
    await this.redis.hsetnx(key, name, create());
    return (await this.redis.hget(key, name))!;
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const [keys, retired] = (await this.#script('tacitListKeys', [])) as [unknown, unknown];
    const retiredAt = pairs(retired);
    return Object.values(pairs(keys))
      .map((json) => {
        const r = JSON.parse(json) as Omit<SigningKeyRecord, 'retiredAt'>;
        return { ...r, retiredAt: optNum(retiredAt[r.kid]) };
      })
      .sort((a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0));
  }

  #keyJson(key: SigningKeyRecord): string {
    const { kid, privateJwk, publicJwk, createdAt } = key;
    return JSON.stringify({ kid, privateJwk, publicJwk, createdAt });
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    await this.#script('tacitAddKey', [
      key.kid,
      this.#keyJson(key),
      key.createdAt,
      optStr(key.retiredAt),
    ]);
  }

  async rotateSigningKey(
    expectedKid: string,
    next: SigningKeyRecord,
    now: number,
  ): Promise<RotateSigningKeyResult> {
    const reply = (await this.#script('tacitRotateKey', [
      expectedKid,
      next.kid,
      this.#keyJson(next),
      next.createdAt,
      now,
    ])) as [string, string[]?];
    return reply[0] === 'ok' ? { ok: true, retired: reply[1] ?? [] } : { ok: false };
  }

  async createEnrollmentCode(code: EnrollmentCodeRecord, audit?: AuditFor<void>): Promise<void> {
    const { out } = await this.#act(
      'tacitCreateCode',
      [code.codeHash, code.rp, code.subject, code.createdAt, code.expiresAt, optStr(code.usedAt)],
      audit && (() => audit()),
      ['ok'],
    );
    if (out[0] !== 'ok') throw new Error('enrollment code exists');
  }

  async enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult> {
    const outcome = (out: string[]) => ({
      device: {
        jkt: input.jkt,
        jwk: input.jwk,
        rp: out[2]!,
        subject: out[3]!,
        createdAt: Number(out[4]),
        revokedAt: null,
      },
      created: out[1] === '1',
    });
    const { out } = await this.#act(
      'tacitEnroll',
      [
        input.codeHash,
        input.jkt,
        JSON.stringify(input.jwk),
        ...this.#jtiArgs(input.jti, input.now),
        input.now,
        input.sharedDeviceRps.join('\n'),
        (input.exclusiveDeviceRps ?? []).join('\n'),
      ],
      audit && ((o) => audit(outcome(o))),
    );
    if (out[0] === 'ok') return { ok: true, ...outcome(out) };
    return { ok: false, reason: out[0] as 'replay' | 'code' | 'revoked' | 'shared' };
  }

  /** jti key, jti, expiry, and its TTL (ms; at least {@link JTI_MIN_TTL_MS}). */
  #jtiArgs(entry: JtiEntry, now: number | undefined): Arg[] {
    const left = now === undefined ? 0 : Math.ceil(entry.expiresAt - now);
    return [entry.jkt, entry.jti, entry.expiresAt, Math.max(JTI_MIN_TTL_MS, left)];
  }

  async findDevicesByKey(jkt: string): Promise<DeviceRecord[]> {
    const [created, revoked, jwk] = (await this.#script('tacitDevicesByKey', [jkt])) as [
      unknown,
      unknown,
      string,
    ];
    const revokedAt = pairs(revoked);
    return Object.entries(pairs(created))
      .map(([field, at]) => ({
        jkt,
        jwk: JSON.parse(jwk) as PublicJwk,
        ...splitField(field),
        createdAt: Number(at),
        revokedAt: optNum(revokedAt[field]),
      }))
      .sort(
        (a, b) => a.createdAt - b.createdAt || compare(a.rp, b.rp) || compare(a.subject, b.subject),
      );
  }

  async listDevicesBySubject(rp: string, subject: string): Promise<DeviceRecord[]> {
    const flat = (await this.#script('tacitDevicesBySubject', [
      enrollmentField(rp, subject),
    ])) as string[];
    const devices: DeviceRecord[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) {
      devices.push({
        jkt: flat[i]!,
        jwk: JSON.parse(flat[i + 3]!) as PublicJwk,
        rp,
        subject,
        createdAt: Number(flat[i + 1]),
        revokedAt: flat[i + 2] === '' ? null : Number(flat[i + 2]),
      });
    }
    return devices.sort((a, b) => a.createdAt - b.createdAt || compare(a.jkt, b.jkt));
  }

  async revokeDevice(
    jkt: string,
    now: number,
    scope?: { rp: string; subject: string },
    audit?: AuditFor<number>,
  ): Promise<number> {
    const field = scope ? enrollmentField(scope.rp, scope.subject) : '';
    const { out } = await this.#act(
      'tacitRevoke',
      [jkt, now, field],
      audit && ((o) => audit(Number(o[1]))),
    );
    return Number(out[1]);
  }

  async useJti(entry: JtiEntry): Promise<boolean> {
    const { out } = await this.#act('tacitUseJti', this.#jtiArgs(entry, undefined));
    return out[0] === 'ok';
  }

  async rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult> {
    const { out } = await this.#act('tacitRotateDevice', [
      input.oldJkt,
      input.newJkt,
      JSON.stringify(input.newJwk),
      ...this.#jtiArgs(input.jti, input.now),
      input.now,
    ]);
    if (out[0] !== 'ok') return { ok: false, reason: out[0] as 'replay' | 'revoked' | 'in-use' };
    const n = Number(out[1]);
    // In the order the old key's enrollments were created (as SQLite lists them).
    const moved: { old: number; rp: string; subject: string }[] = [];
    for (let i = 0; i < n; i++) {
      moved.push({ old: Number(out[3 + 2 * i]), ...splitField(out[2 + 2 * i]!) });
    }
    moved.sort((a, b) => a.old - b.old || compare(a.rp, b.rp) || compare(a.subject, b.subject));
    const enrollments = moved.map(({ rp, subject }): DeviceRecord => ({
      jkt: input.newJkt,
      jwk: input.newJwk,
      rp,
      subject,
      createdAt: input.now,
      revokedAt: null,
    }));
    return { ok: true, enrollments, sessions: out.slice(2 + 2 * n) };
  }

  async createSession(session: NewSession, audit?: AuditFor<void>): Promise<void> {
    const { out } = await this.#act(
      'tacitCreateSession',
      [
        session.sid,
        session.rp,
        session.subject,
        session.challenge,
        session.createdAt,
        session.expiresAt,
      ],
      audit && (() => audit()),
      ['ok'],
    );
    if (out[0] !== 'ok') throw new Error('session exists');
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const h = await this.redis.hgetall(`${this.prefix}sess:${sid}`);
    return h.sid === undefined ? undefined : toSession(h);
  }

  async bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult> {
    const outcome = (out: string[], extra: unknown) => {
      const alreadyBound = out[1] === '1';
      const before = toSession(pairs(extra));
      const session = alreadyBound
        ? before
        : { ...before, deviceJkt: input.jkt, boundAt: before.boundAt ?? input.now };
      return { session, alreadyBound };
    };
    const { out, extra } = await this.#act(
      'tacitBind',
      [input.sid, input.jkt, ...this.#jtiArgs(input.jti, input.now), input.now],
      audit && ((o, e) => audit(outcome(o, e))),
    );
    if (out[0] !== 'ok') {
      return { ok: false, reason: out[0] as 'replay' | 'unknown' | 'expired' | 'bound' };
    }
    return { ok: true, ...outcome(out, extra) };
  }

  async appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean> {
    const { out } = await this.#act(
      'tacitAttest',
      [
        attestation.sid,
        attestation.seq,
        JSON.stringify(attestation),
        expected.jkt,
        expected.lastSeq,
        expected.lastHash,
        expected.now,
        update.lastSeq,
        update.lastHash,
        update.attestations,
        update.lastAttestationAt,
        update.lastState,
        optStr(update.ewma),
        update.progress,
      ],
      audit && (() => audit()),
      ['ok'],
    );
    return out[0] === 'ok';
  }

  async endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    const { out } = await this.#act('tacitEndSession', [sid, now], audit && (() => audit()), [
      'ok',
    ]);
    return out[0] === 'ok';
  }

  async terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    const { out } = await this.#act('tacitTerminate', [sid, now], audit && (() => audit()), ['ok']);
    return out[0] === 'ok';
  }

  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    const { records } = await this.#act('tacitAudit', [], () => event, ['ok']);
    return records[0]!;
  }

  async listAudit(after: number, limit: number): Promise<AuditRecord[]> {
    const flat = (await this.redis.call(
      'ZRANGE',
      `${this.prefix}audit`,
      `(${after}`,
      '+inf',
      'BYSCORE',
      'LIMIT',
      0,
      limit,
      'WITHSCORES',
    )) as string[];
    const records: AuditRecord[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      records.push(decodeAuditRecord(flat[i]!, flat[i + 1]!));
    }
    return records;
  }

  async auditAnchor(): Promise<AuditAnchor | null> {
    const [seq, hash] = await this.redis.hmget(`${this.prefix}audit:anchor`, 'seq', 'hash');
    return seq === null || seq === undefined ? null : { seq: Number(seq), hash: hash ?? '' };
  }

  async purgeAudit(before: number): Promise<AuditPurgeResult> {
    const iso = new Date(before).toISOString();
    let records = 0;
    for (;;) {
      const [n, seq, hash] = (await this.#script('tacitPurgeAudit', [iso, PURGE_BATCH])) as [
        number,
        string,
        string,
      ];
      records += n;
      if (n < PURGE_BATCH) {
        return { records, anchor: seq === '' ? null : { seq: Number(seq), hash } };
      }
    }
  }

  async createBankSession(session: BankSessionRecord): Promise<void> {
    const key = `${this.prefix}bank:${session.idHash}`;
    const fields: Record<string, string> = {
      idHash: session.idHash,
      username: session.username,
      subject: session.subject,
      tacitSid: session.tacitSid,
      createdAt: String(session.createdAt),
      expiresAt: String(session.expiresAt),
    };
    if (session.pendingCode !== null) {
      fields.pendingCode = session.pendingCode;
      fields.pendingCodeIssuedAt = optStr(session.pendingCodeIssuedAt);
      fields.pendingCodeExpiresAt = optStr(session.pendingCodeExpiresAt);
    }
    await this.redis
      .multi()
      .del(key)
      .hset(key, fields)
      .zadd(`${this.prefix}banks`, session.expiresAt, session.idHash)
      .exec();
  }

  async getBankSession(idHash: string): Promise<BankSessionRecord | undefined> {
    const h = await this.redis.hgetall(`${this.prefix}bank:${idHash}`);
    if (h.idHash === undefined) return undefined;
    return {
      idHash: h.idHash,
      username: h.username!,
      subject: h.subject!,
      tacitSid: h.tacitSid!,
      createdAt: Number(h.createdAt),
      expiresAt: Number(h.expiresAt),
      pendingCode: h.pendingCode ?? null,
      pendingCodeIssuedAt: optNum(h.pendingCodeIssuedAt),
      pendingCodeExpiresAt: optNum(h.pendingCodeExpiresAt),
    };
  }

  async setBankPendingCode(
    idHash: string,
    pending: { code: string; issuedAt: number; expiresAt: number } | null,
  ): Promise<void> {
    await this.#script('tacitBankPending', [
      idHash,
      pending?.code ?? '',
      pending?.issuedAt ?? '',
      pending?.expiresAt ?? '',
    ]);
  }

  async deleteBankSession(idHash: string): Promise<void> {
    await this.redis
      .multi()
      .del(`${this.prefix}bank:${idHash}`)
      .zrem(`${this.prefix}banks`, idHash)
      .exec();
  }

  async purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    const total: PurgeResult = { jtis: 0, enrollmentCodes: 0, sessions: 0, bankSessions: 0 };
    for (;;) {
      const [j, c, s, b] = (await this.#script('tacitPurgeExpired', [
        cutoffs.jtisBefore,
        cutoffs.enrollmentCodesBefore,
        cutoffs.sessionsBefore,
        cutoffs.bankSessionsBefore,
        PURGE_BATCH,
      ])) as [number, number, number, number];
      total.jtis += j;
      total.enrollmentCodes += c;
      total.sessions += s;
      total.bankSessions += b;
      if (Math.max(j, c, s, b) < PURGE_BATCH) return total;
    }
  }

  async counts(): Promise<StoreCounts> {
    const v = ((await this.#script('tacitCounts', [])) as Arg[]).map(Number);
    return {
      signingKeys: v[0]!,
      enrollmentCodes: v[1]!,
      usedEnrollmentCodes: v[2]!,
      devices: v[3]!,
      revokedDevices: v[4]!,
      sessions: v[5]!,
      boundSessions: v[6]!,
      attestations: v[7]!,
      jtis: v[8]!,
      bankSessions: v[9]!,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
