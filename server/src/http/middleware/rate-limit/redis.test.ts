/**
 * The Redis rate limiter on a real Redis (project `redis` only). The `/v1/*` middleware tests
 * in rate-limit.test.ts also run on it there (the harness uses it when the store is Redis).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimiter } from './redis';
import { testRedisUrl } from '../../../testing/test-store';

const clients: Redis[] = [];
let prefix: string;
const connect = () => {
  const r = new Redis(testRedisUrl(), { protocol: 2 });
  clients.push(r);
  return r;
};
beforeAll(() => {
  prefix = `tacit-rl-test:${randomBytes(6).toString('hex')}:`;
});
afterAll(() => {
  for (const c of clients) c.disconnect();
});

describe('RedisRateLimiter', () => {
  it('fixed windows: counts, refuses past the limit, resets at the window boundary', async () => {
    const l = new RedisRateLimiter(connect(), prefix);
    const w = 60_000;
    const t = 10 * w + 1_000;
    const hit = (key: string, now: number) => l.hit(key, 2, w, now);
    expect(await hit('k', t)).toEqual({ allowed: true, remaining: 1, resetAt: 11 * w });
    expect(await hit('k', t + 1)).toEqual({ allowed: true, remaining: 0, resetAt: 11 * w });
    expect(await hit('k', t + 2)).toEqual({ allowed: false, remaining: 0, resetAt: 11 * w });
    expect((await hit('other', t + 3)).allowed).toBe(true);
    expect(await hit('k', 11 * w)).toEqual({ allowed: true, remaining: 1, resetAt: 12 * w });
  });

  it('instances on one Redis and prefix share counters; other prefixes do not', async () => {
    const a = new RedisRateLimiter(connect(), prefix);
    const b = new RedisRateLimiter(connect(), prefix);
    const elsewhere = new RedisRateLimiter(connect(), `${prefix}other:`);
    const now = 5_000;
    const hits = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('shared', 6, 60_000, now)),
    );
    expect(hits.filter((h) => h.allowed)).toHaveLength(6);
    expect((await elsewhere.hit('shared', 6, 60_000, now)).remaining).toBe(5);
  });

  it('a counter expires with its window (plus a second)', async () => {
    const redis = connect();
    const l = new RedisRateLimiter(redis, prefix);
    await l.hit('ttl', 5, 10_000, 4_000);
    const ttl = await redis.pttl(`${prefix}rl:ttl:0`);
    expect(ttl).toBeGreaterThan(5_000);
    expect(ttl).toBeLessThanOrEqual(7_000);
  });
});
