import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
// The Store contract (atomic methods, audit) runs on both stores: store.contract.test.ts.
import { MIGRATIONS } from './migrations';
import { SchemaTooNewError, openSqliteStore } from './sqlite';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'dir', 't.db');
};

describe('openSqliteStore', () => {
  it('creates the directory, migrates, WAL + synchronous FULL, file mode 0600', async () => {
    const path = tempPath();
    const store = openSqliteStore(path);
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    expect(store.pragma('journal_mode')).toBe('wal');
    expect(store.pragma('synchronous')).toBe(2); // FULL
    expect(store.pragma('foreign_keys')).toBe(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await store.close();
    // Re-opening applies nothing twice.
    const again = openSqliteStore(path);
    expect(again.schemaVersion()).toBe(MIGRATIONS.length);
    await again.close();
  });

  it('upgrades a version-1 database in place (sessions gain terminated_at, audit tables)', async () => {
    const path = tempPath();
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare(
      `INSERT INTO sessions (sid, rp, subject, challenge, created_at, expires_at)
       VALUES ('old', 'rp', 'u', 'c', 1, 2)`,
    ).run();
    db.close();
    const store = openSqliteStore(path);
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    expect(await store.getSession('old')).toMatchObject({ sid: 'old', terminatedAt: null });
    expect((await store.appendAudit({ ts: 0, type: 't', actor: 'system', data: {} })).seq).toBe(1);
    await store.close();
  });

  it('drops the demo bank logins of a version-2 database (the bank has its own store now)', async () => {
    const path = tempPath();
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.exec(MIGRATIONS[1]!);
    db.pragma('user_version = 2');
    db.prepare(
      `INSERT INTO bank_sessions (id_hash, username, subject, tacit_sid, created_at, expires_at)
       VALUES ('h', 'alice', 's', 'sid', 1, 2)`,
    ).run();
    db.close();
    const store = openSqliteStore(path);
    expect(store.schemaVersion()).toBe(MIGRATIONS.length);
    await store.close();
    const after = new Database(path, { readonly: true });
    const tables = after
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'bank_sessions%'")
      .all();
    after.close();
    expect(tables).toEqual([]);
  });

  it('refuses a database written by a newer server', async () => {
    const path = tempPath();
    // close() resolves once the writer thread has closed its connection: not awaiting it raced
    // the directory's removal after the test (ENOTEMPTY, seen once on a clean clone).
    await openSqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openSqliteStore(path)).toThrow(SchemaTooNewError);
  });
});
