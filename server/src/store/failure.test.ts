/**
 * The store failures the error boundary answers 503, from the real drivers' own errors: an
 * ioredis client to a port where nothing listens, to a server that never answers (a paused
 * Redis), a SQLite file whose disk is full (better-sqlite3's error class and code).
 */
import { createServer, type Server, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageFull, StoreUnavailable } from '../errors';
import { storeFailure } from './failure';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A TCP server on a free loopback port; `silent` accepts and never answers (a paused Redis). */
async function tcpServer(): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as { port: number }).port, server };
}

/** ioredis with the store's options (openRedisStore): no offline queue, one retry. */
function client(port: number, commandTimeout = 5000): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    retryStrategy: () => null,
    // The silent server would never answer the ready check's INFO either.
    enableReadyCheck: false,
  });
  redis.on('error', () => {});
  cleanups.push(() => redis.disconnect());
  return redis;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => storeFailure(err),
  );

describe('storeFailure', () => {
  it('Redis not connected (refused, offline queue off) → unavailable', async () => {
    const { port, server } = await tcpServer();
    await new Promise<void>((r) => server.close(() => r()));
    const redis = client(port);
    await redis.connect().catch(() => undefined);
    expect(await failure(redis.get('k'))).toBeInstanceOf(StoreUnavailable);
  });

  it('Redis hung (accepts, never answers) → unavailable after the command timeout', async () => {
    const { port } = await tcpServer();
    const redis = client(port, 100);
    await redis.connect();
    const found = await failure(redis.get('k'));
    expect(found).toBeInstanceOf(StoreUnavailable);
    expect(found?.code).toBe('ERR_STORE_UNAVAILABLE');
  });

  it('SQLite disk full → storage full; I/O error → unavailable; a constraint → not a store failure', () => {
    const full = storeFailure(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
    expect(full).toBeInstanceOf(StorageFull);
    expect(full?.status).toBe(503);
    expect(storeFailure(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'))).toEqual(
      expect.any(StoreUnavailable),
    );
    const constraint = new Database.SqliteError('UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(storeFailure(constraint)).toBeUndefined();
  });

  it('looks through the cause chain; ordinary errors are not store failures', () => {
    const wrapped = new Error('batch failed', {
      cause: new Database.SqliteError('database or disk is full', 'SQLITE_FULL'),
    });
    expect(storeFailure(wrapped)).toBeInstanceOf(StorageFull);
    expect(storeFailure(new TypeError('x is not a function'))).toBeUndefined();
    expect(storeFailure('a string')).toBeUndefined();
  });
});
