/**
 * The store the tests run on: SQLite (a temporary file) by default, Redis when
 * `TACIT_TEST_STORE=redis` (the vitest project `redis`, whose global setup provides the URL of
 * a throwaway redis-server; see vitest.config.ts). Each store gets its own namespace (a
 * temporary directory, or a random key prefix), so test files never see each other's data.
 * Used by the harness and the store contract tests; never by production code.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { canonicalJson } from '../services/audit';
import { RedisRateLimiter } from '../http/middleware/rate-limit/redis';
import type { RateLimiter } from '../http/middleware/rate-limit';
import { encodeAuditRecord, openRedisStore, type RedisStore } from '../store/redis/redis';
import { openSqliteStore } from '../store/sqlite/sqlite';
import type { AuditRecord, Store } from '../store/store';

/** Which store this test run uses (`TACIT_TEST_STORE`, default `sqlite`). */
export const TEST_STORE: 'sqlite' | 'redis' =
  process.env.TACIT_TEST_STORE === 'redis' ? 'redis' : 'sqlite';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test Redis (the `redis` project's global setup). */
    redisUrl: string;
  }
}

/** The test Redis's URL: `TACIT_TEST_REDIS_URL`, or the one the global setup started. */
export function testRedisUrl(): string {
  const url = process.env.TACIT_TEST_REDIS_URL || inject('redisUrl');
  if (!url) throw new Error('no test Redis: run the vitest project "redis" (see vitest.config.ts)');
  return url;
}

/** Edits of stored audit records, as someone with write access to the store could make. */
export interface AuditTamper {
  /** Overwrites members of record `seq` (`data` as raw stored text); recomputes nothing. */
  update(
    seq: number,
    changes: { data?: string; actor?: string; hash?: string; prev?: string },
  ): Promise<void>;
  /** Deletes record `seq`. */
  delete(seq: number): Promise<void>;
}

/** A fresh, empty store in its own namespace. */
export interface TestStore {
  kind: 'sqlite' | 'redis';
  store: Store;
  /** The SQLite file (SQLite only). */
  dbPath?: string;
  /** Opens the same data again (after `store.close()`), as a restarted server would. */
  reopen(): Promise<Store>;
  /** Everything stored, as text (to check that a secret is stored nowhere). */
  dump(): Promise<string>;
  tamper: AuditTamper;
  /** The rate limiter a server on this store uses (Redis only; in memory otherwise). */
  rateLimiter(): RateLimiter | undefined;
  /** Closes what is open and deletes the namespace (idempotent). */
  destroy(): Promise<void>;
}

/** Opens a fresh store of the kind {@link TEST_STORE} names. */
export function openTestStore(): Promise<TestStore> {
  return TEST_STORE === 'redis' ? openRedisTestStore() : openSqliteTestStore();
}

async function openSqliteTestStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-test-'));
  const dbPath = join(dir, 'db', 'tacit.db');
  const opened: Store[] = [openSqliteStore(dbPath)];
  const run = (sql: string, ...params: unknown[]) => {
    const db = new Database(dbPath);
    try {
      db.exec('DROP TRIGGER IF EXISTS audit_no_update');
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  };
  const read = (path: string) => {
    try {
      return readFileSync(path).toString('latin1');
    } catch {
      return '';
    }
  };
  return {
    kind: 'sqlite',
    store: opened[0]!,
    dbPath,
    reopen: async () => {
      const store = openSqliteStore(dbPath);
      opened.push(store);
      return store;
    },
    dump: async () => read(dbPath) + read(`${dbPath}-wal`),
    tamper: {
      update: async (seq, changes) => {
        for (const [column, value] of Object.entries(changes)) {
          run(`UPDATE audit SET ${column} = ? WHERE seq = ?`, value, seq);
        }
      },
      delete: async (seq) => run('DELETE FROM audit WHERE seq = ?', seq),
    },
    rateLimiter: () => undefined,
    destroy: async () => {
      for (const store of opened) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openRedisTestStore(): Promise<TestStore> {
  const url = testRedisUrl();
  const prefix = `tacit-test:${randomBytes(8).toString('hex')}:`;
  const opened: RedisStore[] = [await openRedisStore({ url, prefix })];
  const admin = new Redis(url, { lazyConnect: true, protocol: 2 });
  await admin.connect();
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  const auditKey = `${prefix}audit`;
  let destroyed = false;
  const stored = async (seq: number) => {
    const [member] = await admin.zrangebyscore(auditKey, seq, seq);
    if (member === undefined) throw new Error(`no audit record ${seq}`);
    return member;
  };
  return {
    kind: 'redis',
    store: opened[0]!,
    reopen: async () => {
      const store = await openRedisStore({ url, prefix });
      opened.push(store);
      return store;
    },
    dump: async () => {
      const parts: string[] = [];
      for (const key of (await keys()).sort()) {
        const type = await admin.type(key);
        const value =
          type === 'string'
            ? await admin.get(key)
            : type === 'hash'
              ? await admin.hgetall(key)
              : type === 'set'
                ? await admin.smembers(key)
                : await admin.zrange(key, '0', '-1', 'WITHSCORES');
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
      return parts.join('\n');
    },
    tamper: {
      update: async (seq, changes) => {
        const record = JSON.parse(await stored(seq)) as AuditRecord;
        const { data, ...rest } = changes;
        const rawData = data ?? canonicalJson(record.data);
        const edited = encodeAuditRecord({ ...record, ...rest }, rawData);
        await admin
          .multi()
          .zremrangebyscore(auditKey, seq, seq)
          .zadd(auditKey, String(seq), edited)
          .exec();
      },
      delete: async (seq) => {
        await admin.zremrangebyscore(auditKey, seq, seq);
      },
    },
    rateLimiter: () => new RedisRateLimiter(opened[0]!.redis, prefix),
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      for (const store of opened) await store.close();
      const found = await keys();
      for (let i = 0; i < found.length; i += 500) await admin.del(...found.slice(i, i + 500));
      admin.disconnect();
    },
  };
}
