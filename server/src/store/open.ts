/**
 * Opens the store the configuration names (`TACIT_STORE`), with the rate limiter that goes
 * with it: counters in memory next to SQLite, shared in Redis next to the Redis store.
 *
 * @module
 */
import type { Config } from '../config';
import type { Logger } from '../observability/log';
import { MemoryRateLimiter, type RateLimiter } from '../http/middleware/rate-limit';
import { RedisRateLimiter } from '../http/middleware/rate-limit/redis';
import { openRedisStore } from './redis/redis';
import { openSqliteStore } from './sqlite/sqlite';
import type { Store } from './store';

/** The opened store and its rate limiter. */
export interface OpenedStore {
  store: Store;
  rateLimiter: RateLimiter;
  /** For the start-up log line: never the Redis URL (it may hold a password). */
  description: { store: 'sqlite'; db: string } | { store: 'redis'; prefix: string };
}

/**
 * Opens the configured store.
 *
 * @throws {RedisUnavailableError} when `TACIT_STORE=redis` and Redis does not answer.
 * @throws {SchemaTooNewError} when the SQLite file was written by a newer server.
 */
export async function openConfiguredStore(
  config: Pick<Config, 'store' | 'dbPath' | 'redisUrl' | 'redisPrefix'>,
  logger: Logger,
): Promise<OpenedStore> {
  if (config.store === 'redis') {
    const store = await openRedisStore({
      url: config.redisUrl!,
      prefix: config.redisPrefix,
      // ioredis reconnects by itself; meanwhile requests fail and /readyz answers 503.
      onError: (err) => logger.warn('redis_error', { error: err.name, message: err.message }),
    });
    return {
      store,
      rateLimiter: new RedisRateLimiter(store.redis, store.prefix),
      description: { store: 'redis', prefix: config.redisPrefix },
    };
  }
  return {
    store: openSqliteStore(config.dbPath),
    rateLimiter: new MemoryRateLimiter(),
    description: { store: 'sqlite', db: config.dbPath },
  };
}
