/**
 * {@link RateLimiter} on Redis: the fixed-window counters are shared by every instance using
 * the same Redis and key prefix (the in-memory limiter counts per process). One script per
 * hit: `INCR` the window's counter and, on its first hit, `PEXPIRE` it at the window's end
 * (plus a second, so an instance whose clock lags a little still finds it).
 *
 * @module
 */
import type { Redis } from 'ioredis';
import type { RateLimiter, RateLimitResult } from './';

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** Extra lifetime of a window's counter past the window's end (ms). */
const EXPIRY_SLACK_MS = 1000;

/** Redis-backed fixed windows. Shares the store's connection (see `RedisStore.redis`). */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;

  /** `prefix` starts every counter's key (`<prefix>rl:<bucket>:<window start>`). */
  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    redis.defineCommand('tacitRateHit', { numberOfKeys: 1, lua: HIT });
  }

  async hit(key: string, limit: number, windowMs: number, now: number): Promise<RateLimitResult> {
    const start = now - (now % windowMs);
    const resetAt = start + windowMs;
    const hit = (this.#redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>)
      .tacitRateHit!;
    const counter = `${this.#prefix}rl:${key}:${start}`;
    const count = Number(await hit.call(this.#redis, counter, resetAt - now + EXPIRY_SLACK_MS));
    return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetAt };
  }
}
