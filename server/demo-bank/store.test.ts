import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openBankStore, type BankLogin } from './store';

const login: BankLogin = {
  idHash: 'h',
  username: 'alice',
  subject: 'subject-1',
  tacitSid: 'sid-1',
  challenge: 'chal-1',
  createdAt: 1,
  expiresAt: 100,
  pendingCode: null,
  pendingCodeIssuedAt: null,
  pendingCodeExpiresAt: null,
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('demo bank store', () => {
  it('logins: create, pending code set and cleared, delete, purge by expiry', () => {
    const store = openBankStore(':memory:');
    store.createLogin(login);
    expect(store.getLogin('h')).toEqual(login);
    store.setPendingCode('h', { code: 'ABCDE-FGHIJ', issuedAt: 2, expiresAt: 3 });
    expect(store.getLogin('h')).toMatchObject({
      pendingCode: 'ABCDE-FGHIJ',
      pendingCodeIssuedAt: 2,
      pendingCodeExpiresAt: 3,
    });
    store.setPendingCode('h', null);
    expect(store.getLogin('h')).toEqual(login);
    store.deleteLogin('h');
    expect(store.getLogin('h')).toBeUndefined();

    store.createLogin(login);
    store.createLogin({ ...login, idHash: 'later', expiresAt: 200 });
    expect(store.purgeExpired(150)).toBe(1);
    expect(store.countLogins()).toBe(1);
    expect(store.getLogin('later')).toBeDefined();
    store.close();
  });

  it('a secret is created once and kept', () => {
    const store = openBankStore(':memory:');
    expect(store.secret('k', () => 'first')).toBe('first');
    expect(store.secret('k', () => 'second')).toBe('first');
    store.close();
  });

  it('a file: created 0600 in a 0700 directory, migrated once, kept across opens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tacit-bank-'));
    dirs.push(dir);
    const path = join(dir, 'data', 'bank.db');
    const store = openBankStore(path);
    store.createLogin(login);
    store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
    const again = openBankStore(path);
    expect(again.getLogin('h')).toEqual(login);
    again.close();
  });

  it('refuses a file of a newer version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tacit-bank-'));
    dirs.push(dir);
    const path = join(dir, 'bank.db');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openBankStore(path)).toThrow(/newer/);
  });
});
