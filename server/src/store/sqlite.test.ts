import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditHash } from '../audit';
import { MIGRATIONS } from './migrations';
import { SchemaTooNewError, openSqliteStore, type SqliteStore } from './sqlite';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'dir', 't.db');
};

const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } as const;

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

  it('refuses a database written by a newer server', () => {
    const path = tempPath();
    openSqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => openSqliteStore(path)).toThrow(SchemaTooNewError);
  });
});

const session = (expiresAt: number) => ({
  sid: 's1',
  rp: 'rp',
  subject: 'u',
  challenge: 'c',
  createdAt: 0,
  expiresAt,
});

const attestation = (hash: string) => ({
  sid: 's1',
  seq: 1,
  jkt: 'k',
  iat: 0,
  receivedAt: 6,
  state: 'scoring' as const,
  conf: 0.5,
  progress: 1,
  mv: 'm',
  keyEvents: 1,
  pointerEvents: 2,
  hash,
});

const update = (hash: string) => ({
  lastSeq: 1,
  lastHash: hash,
  attestations: 1,
  lastAttestationAt: 6,
  lastState: 'scoring' as const,
  ewma: 0.5,
  progress: 1,
});

/** Binds session s1 to key k (jti expiring at 50). */
const bindK = (store: SqliteStore) =>
  store.bindSession({ sid: 's1', jkt: 'k', jti: { jkt: 'k', jti: 'j', expiresAt: 50 }, now: 1 });

describe('atomic operations', () => {
  it('getOrCreateSecret: first writer wins', async () => {
    const store = openSqliteStore(tempPath());
    expect(await store.getOrCreateSecret('k', () => 'one')).toBe('one');
    expect(await store.getOrCreateSecret('k', () => 'two')).toBe('one');
    await store.close();
  });

  it('enrollDevice: replay, bad code and success are all-or-nothing', async () => {
    const store = openSqliteStore(tempPath());
    await store.createEnrollmentCode({
      codeHash: 'h',
      rp: 'rp',
      subject: 's',
      createdAt: 0,
      expiresAt: 1000,
      usedAt: null,
    });
    const input = {
      codeHash: 'h',
      jwk,
      jkt: 'k',
      jti: { jkt: 'k', jti: 'j', expiresAt: 500 },
      now: 10,
    };
    const badCode = { ok: false, reason: 'code' };
    expect(await store.enrollDevice({ ...input, codeHash: 'nope' })).toEqual(badCode);
    expect((await store.counts()).jtis).toBe(0);
    expect(await store.enrollDevice({ ...input, now: 1000 })).toEqual(badCode);
    expect(await store.enrollDevice(input)).toMatchObject({
      ok: true,
      created: true,
      device: { jkt: 'k', rp: 'rp', subject: 's' },
    });
    expect(await store.enrollDevice(input)).toEqual({ ok: false, reason: 'replay' });
    expect(await store.counts()).toMatchObject({ devices: 1, jtis: 1, usedEnrollmentCodes: 1 });
    await store.close();
  });

  it('bindSession checks jti, expiry and the bound key inside its transaction', async () => {
    const store = openSqliteStore(tempPath());
    await store.createSession(session(1000));
    const jti = (j: string, jkt = 'k') => ({ jkt, jti: j, expiresAt: 900 });
    const bind = (jkt: string, j: string, now = 5) =>
      store.bindSession({ sid: 's1', jkt, jti: jti(j, jkt), now });
    expect(await bind('k', '1')).toMatchObject({ ok: true, alreadyBound: false });
    expect(await bind('other', '2')).toEqual({ ok: false, reason: 'bound' });
    expect(await bind('k', '1')).toEqual({ ok: false, reason: 'replay' });
    expect(await bind('k', '3', 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(await bind('k', '4')).toMatchObject({ ok: true, alreadyBound: true });
    await store.close();
  });

  it('appendAttestation is a compare-and-set on (key, lastSeq, lastHash)', async () => {
    const store = openSqliteStore(tempPath());
    await store.createSession(session(1000));
    await bindK(store);
    const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 6 };
    const append = (e: typeof expected) =>
      store.appendAttestation(attestation('h1'), update('h1'), e);
    expect(await append({ ...expected, lastSeq: 7 })).toBe(false);
    expect(await append({ ...expected, jkt: 'other' })).toBe(false);
    expect(await append({ ...expected, now: 1000 })).toBe(false); // expired meanwhile
    expect((await store.counts()).attestations).toBe(0);
    expect(await append(expected)).toBe(true);
    expect(await append(expected)).toBe(false); // lost a race: the state moved on
    expect(await store.getSession('s1')).toMatchObject({
      lastSeq: 1,
      lastHash: 'h1',
      ewma: 0.5,
      attestations: 1,
    });
    expect((await store.counts()).attestations).toBe(1);
    await store.close();
  });

  it('purgeExpired removes expired rows and a session’s attestations with it', async () => {
    const store = openSqliteStore(tempPath());
    await store.createSession(session(100));
    await bindK(store);
    const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 2 };
    expect(await store.appendAttestation(attestation('h'), update('h'), expected)).toBe(true);
    const purged = await store.purgeExpired({
      jtisBefore: 51,
      enrollmentCodesBefore: 0,
      sessionsBefore: 101,
      bankSessionsBefore: 0,
    });
    expect(purged).toEqual({ jtis: 1, enrollmentCodes: 0, sessions: 1, bankSessions: 0 });
    expect(await store.counts()).toMatchObject({ sessions: 0, attestations: 0, jtis: 0 });
    await store.close();
  });
});

describe('audit and termination', () => {
  it('appendAudit numbers and chains records; listAudit pages by seq', async () => {
    const store = openSqliteStore(tempPath());
    const appended = await Promise.all(
      [1, 2, 3].map((i) => store.appendAudit({ ts: i, type: 't', actor: 'system', data: { i } })),
    );
    expect(appended.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(appended[0]!.prev).toBe(GENESIS_HASH);
    expect(appended[1]!.prev).toBe(appended[0]!.hash);
    expect(appended[0]).toEqual({
      seq: 1,
      ts: '1970-01-01T00:00:00.001Z',
      type: 't',
      actor: 'system',
      data: { i: 1 },
      prev: GENESIS_HASH,
      hash: auditHash(appended[0]!),
    });
    expect(await store.listAudit(0, 10)).toEqual(appended);
    expect((await store.listAudit(1, 1)).map((r) => r.seq)).toEqual([2]);
    await store.close();
  });

  it('purgeAudit removes a prefix, sets the anchor, and appending continues from it', async () => {
    const store = openSqliteStore(tempPath());
    for (const ts of [10, 20, 30]) {
      await store.appendAudit({ ts, type: 't', actor: 'system', data: {} });
    }
    expect(await store.purgeAudit(5)).toEqual({ records: 0, anchor: null });
    const second = (await store.listAudit(1, 1))[0]!;
    expect(await store.purgeAudit(25)).toEqual({ records: 2, anchor: { seq: 2, hash: second.hash } });
    expect(await store.auditAnchor()).toEqual({ seq: 2, hash: second.hash });
    expect(await store.purgeAudit(31)).toMatchObject({ records: 1, anchor: { seq: 3 } });
    const next = await store.appendAudit({ ts: 40, type: 't', actor: 'system', data: {} });
    expect(next.seq).toBe(4);
    expect(next.prev).toBe((await store.auditAnchor())!.hash);
    await store.close();
  });

  it('terminateSession ends a live session once; not an ended or expired one', async () => {
    const store = openSqliteStore(tempPath());
    await store.createSession(session(1000));
    expect(await store.terminateSession('s1', 1000)).toBe(false); // expired at 1000
    expect(await store.terminateSession('s1', 5)).toBe(true);
    expect(await store.getSession('s1')).toMatchObject({ endedAt: 5, terminatedAt: 5 });
    expect(await store.terminateSession('s1', 6)).toBe(false);
    expect(await store.terminateSession('nope', 6)).toBe(false);
    await store.close();
  });
});
