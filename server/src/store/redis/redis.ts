/**
 * {@link Store} on Redis (ioredis), so several server instances can share one state.
 *
 * **Atomicity.** Every method that reads and then writes runs as one Lua script
 * (`lua/*.lua`, registered by `scripts.ts`): Redis runs a script without interleaving any other
 * command, so whichever instance sends it, an action's preconditions hold when it writes. The
 * decisions themselves (may this key enroll, bind, rotate; which enrollments a revocation
 * revokes) are `rules.ts`, the same functions SQLite decides with: an action script reads the
 * state the rule needs, Node decides, and the script writes the decision only if it reads the
 * same state again (`group-commit.ts`). The attestation, termination and `jti` compare-and-sets
 * are decided inside their scripts (deciding them in Node would cost a read first); their
 * files name the rule they implement.
 *
 * **Audit chain and group commit**: `group-commit.ts` (records hashed in Node, appended by
 * compare-and-set on the head; the audited actions of one event-loop turn in one script call).
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
import { POLICY } from '../../domain/policy';
import { decideBinding, decideDeviceRotation, decideEnrollment, revocationTargets } from '../rules';
import {
  decodeAuditRecord,
  encodeAuditRecord,
  enrollmentField,
  optNum,
  optStr,
  pairs,
  parseBindRead,
  parseEnrollments,
  parseEnrollRead,
  parseRotateRead,
  splitField,
  toSession,
} from './codec';
import { encodeSignals } from '../signals';
import { GroupCommit, type Action, type Decision } from './group-commit';
import { callScript, defineScripts, type Arg, type ScriptName } from './scripts';

/** @internal exported for tests (a tampered record). */
export { encodeAuditRecord } from './codec';
import type {
  AttestationPrecondition,
  AttestationRecord,
  AuditAnchor,
  AuditEvent,
  AuditFor,
  AuditPurgeResult,
  AuditRecord,
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
  SsfStore,
  Store,
  StoreCounts,
} from '../store';
import { RedisSsf } from './ssf';

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
  readonly #commit: GroupCommit;
  #closed = false;
  /** The Shared Signals keys (`ssf:*`). */
  readonly ssf: SsfStore;

  /** @internal use {@link openRedisStore}. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
    defineScripts(redis);
    this.ssf = new RedisSsf(redis, prefix);
    this.#commit = new GroupCommit(
      (args) => this.#script('tacitBatch', args),
      (r) => encodeAuditRecord(r),
    );
  }

  #script(name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    return callScript(this.redis, this.prefix, name, args);
  }

  /** Runs an action through the group commit; answers the caller's result. */
  async #run<R>(action: Action<R>): Promise<R> {
    return (await this.#commit.run(action)).result;
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
    const created = await this.#run(
      checked(
        'tacitCreateCode',
        [code.codeHash, code.rp, code.subject, code.createdAt, code.expiresAt, optStr(code.usedAt)],
        audit,
      ),
    );
    if (!created) throw new Error('enrollment code exists');
  }

  async enrollDevice(
    input: EnrollDeviceInput,
    audit?: AuditFor<{ device: DeviceRecord; created: boolean }>,
  ): Promise<EnrollDeviceResult> {
    return this.#run<EnrollDeviceResult>({
      name: 'tacitEnroll',
      args: [
        input.codeHash,
        input.jkt,
        JSON.stringify(input.jwk),
        ...this.#jtiArgs(input.jti, input.now),
        input.now,
      ],
      audited: audit !== undefined,
      decide: (read) => {
        const decision = decideEnrollment(parseEnrollRead(read), input);
        if (!decision.ok) return { apply: false, result: decision };
        const { rp, subject, created, createdAt } = decision;
        const device = { jkt: input.jkt, jwk: input.jwk, rp, subject, createdAt, revokedAt: null };
        return {
          apply: true,
          result: { ok: true, device, created },
          writes: [created ? '1' : '0', rp, subject],
          audit: audit && (() => audit({ device, created })),
        };
      },
    });
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
        revokedAt: optNum(flat[i + 2]),
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
    return this.#run<number>({
      name: 'tacitRevoke',
      args: [jkt, now],
      audited: audit !== undefined,
      decide: (read) => {
        const targets = revocationTargets(parseEnrollments(read), scope);
        return {
          apply: true,
          result: targets.length,
          writes: targets.map((e) => enrollmentField(e.rp, e.subject)),
          audit: audit && (() => audit(targets.length)),
        };
      },
    });
  }

  async useJti(entry: JtiEntry): Promise<boolean> {
    return this.#run(checked('tacitUseJti', this.#jtiArgs(entry, undefined)));
  }

  async rotateDevice(input: RotateDeviceInput): Promise<RotateDeviceResult> {
    return this.#run<RotateDeviceResult>({
      name: 'tacitRotateDevice',
      args: [
        input.oldJkt,
        input.newJkt,
        JSON.stringify(input.newJwk),
        ...this.#jtiArgs(input.jti, input.now),
        input.now,
      ],
      audited: false,
      decide: (read) => {
        const decision = decideDeviceRotation(parseRotateRead(read), input.oldJkt, input.now);
        if (!decision.ok) return { apply: false, result: decision };
        const enrollments = decision.moved.map(({ rp, subject }): DeviceRecord => ({
          jkt: input.newJkt,
          jwk: input.newJwk,
          rp,
          subject,
          createdAt: input.now,
          revokedAt: null,
        }));
        return {
          apply: true,
          result: { ok: true, enrollments, sessions: decision.sessions },
          writes: [
            decision.moved.length,
            ...decision.moved.map((e) => enrollmentField(e.rp, e.subject)),
            ...decision.sessions,
          ],
        };
      },
    });
  }

  async createSession(session: NewSession, audit?: AuditFor<void>): Promise<void> {
    const created = await this.#run(
      checked(
        'tacitCreateSession',
        [
          session.sid,
          session.rp,
          session.subject,
          session.challenge,
          session.createdAt,
          session.expiresAt,
        ],
        audit,
      ),
    );
    if (!created) throw new Error('session exists');
  }

  async getSession(sid: string): Promise<SessionRecord | undefined> {
    const h = await this.redis.hgetall(`${this.prefix}sess:${sid}`);
    return h.sid === undefined ? undefined : toSession(h);
  }

  async bindSession(
    input: BindSessionInput,
    audit?: AuditFor<{ session: SessionRecord; alreadyBound: boolean }>,
  ): Promise<BindSessionResult> {
    return this.#run<BindSessionResult>({
      name: 'tacitBind',
      args: [input.sid, input.jkt, ...this.#jtiArgs(input.jti, input.now), input.now],
      audited: audit !== undefined,
      decide: (read, extra) => {
        const decision = decideBinding(parseBindRead(read), input.jkt, input.now);
        if (!decision.ok) return { apply: false, result: decision };
        const { alreadyBound } = decision;
        const before = toSession(pairs(extra));
        const session = alreadyBound
          ? before
          : { ...before, deviceJkt: input.jkt, boundAt: before.boundAt ?? input.now };
        return {
          apply: true,
          result: { ok: true, session, alreadyBound },
          writes: [alreadyBound ? '0' : '1'],
          audit: audit && (() => audit({ session, alreadyBound })),
        };
      },
    });
  }

  async appendAttestation(
    attestation: AttestationRecord,
    update: SessionAttestationUpdate,
    expected: AttestationPrecondition,
    audit?: AuditFor<void>,
  ): Promise<boolean> {
    return this.#run(
      checked(
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
          update.signals === undefined ? '' : encodeSignals(update.signals),
        ],
        audit,
      ),
    );
  }

  async endSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#run(checked('tacitEndSession', [sid, now], audit));
  }

  async terminateSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#run(checked('tacitTerminate', [sid, now], audit));
  }

  async confirmSession(sid: string, now: number, audit?: AuditFor<void>): Promise<boolean> {
    return this.#run(checked('tacitConfirm', [sid, now], audit));
  }

  async appendAudit(event: AuditEvent): Promise<AuditRecord> {
    const { records } = await this.#commit.run(checked('tacitAudit', [], () => event));
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

  async purgeExpired(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    const total: PurgeResult = { jtis: 0, enrollmentCodes: 0, sessions: 0 };
    for (;;) {
      const [j, c, s] = (await this.#script('tacitPurgeExpired', [
        cutoffs.jtisBefore,
        cutoffs.enrollmentCodesBefore,
        cutoffs.sessionsBefore,
        PURGE_BATCH,
      ])) as [number, number, number];
      total.jtis += j;
      total.enrollmentCodes += c;
      total.sessions += s;
      if (Math.max(j, c, s) < PURGE_BATCH) return total;
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

/**
 * A compare-and-set action: its script decides (its read is `['ok']` when it applies) and Node
 * guesses that it will, so it costs one call. Answers whether it applied.
 */
function checked(
  name: Action<boolean>['name'],
  args: readonly Arg[],
  audit?: AuditFor<void>,
): Action<boolean> {
  return {
    name,
    args,
    audited: audit !== undefined,
    guess: ['ok'],
    decide: (read): Decision<boolean> =>
      read[0] === 'ok'
        ? { apply: true, result: true, audit: audit && (() => audit()) }
        : { apply: false, result: false },
  };
}
