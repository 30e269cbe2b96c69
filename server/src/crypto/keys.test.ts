import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../clock';
import { RETIRED_KEY_GRACE_MS, loadServerKeys } from './keys';
import { openSqliteStore } from '../store/sqlite/sqlite';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDb = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-keys-'));
  dirs.push(dir);
  return join(dir, 't.db');
};

describe('loadServerKeys', () => {
  it('generates a key on first start and loads the same one afterwards', async () => {
    const path = tempDb();
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const first = openSqliteStore(path);
    const a = await loadServerKeys(first, clock);
    await first.close();
    const second = openSqliteStore(path);
    const b = await loadServerKeys(second, clock);
    expect(b.kid).toBe(a.kid);
    expect((await second.counts()).signingKeys).toBe(1);
    await second.close();
  });

  it('publishes only public members, with kid, alg and use', async () => {
    const store = openSqliteStore(tempDb());
    const keys = await loadServerKeys(store, manualClock(0));
    const jwks = keys.jwks();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: keys.kid,
      alg: 'ES256',
      use: 'sig',
    });
    // A caller mutating its copy does not change what is published.
    jwks.keys[0]!.x = 'tampered';
    expect(keys.jwks().keys[0]!.x).not.toBe('tampered');
    await store.close();
  });

  it('signs ES256 JWTs with kid and typ that verify against the JWKS', async () => {
    const store = openSqliteStore(tempDb());
    const keys = await loadServerKeys(store, manualClock(0));
    const jwt = await keys.sign({ sub: 's', iat: 1, exp: 2 }, 'tacit-session+jwt');
    const { protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(keys.jwks()), {
      algorithms: ['ES256'],
      typ: 'tacit-session+jwt',
      currentDate: new Date(1500),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', typ: 'tacit-session+jwt', kid: keys.kid });
    await store.close();
  });
});

describe('signing key rotation', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const verifyWith = (keys: Awaited<ReturnType<typeof loadServerKeys>>, jwt: string, at: number) =>
    jwtVerify(jwt, createLocalJWKSet(keys.jwks()), {
      algorithms: ['ES256'],
      typ: 'tacit-session+jwt',
      currentDate: new Date(at),
    });
  const token = (keys: Awaited<ReturnType<typeof loadServerKeys>>, at: number) =>
    keys.sign(
      { sub: 's', iat: Math.floor(at / 1000), exp: Math.floor(at / 1000) + 300 },
      'tacit-session+jwt',
    );

  it('rotates only once the key is older than the rotation age', async () => {
    const store = openSqliteStore(tempDb());
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const keys = await loadServerKeys(store, clock, { rotationDays: 30 });
    const first = keys.kid;
    clock.advance(30 * DAY - 1);
    expect(await keys.refresh()).toBeUndefined();
    expect(keys.kid).toBe(first);
    clock.advance(1);
    const rotation = await keys.refresh();
    expect(rotation).toEqual({ kid: keys.kid, retired: [first] });
    expect(keys.kid).not.toBe(first);
    expect((await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt])).toEqual([
      [first, clock.now()],
      [keys.kid, null],
    ]);
    await store.close();
  });

  it('a token signed before a rotation still verifies through the JWKS; new ones carry the new kid', async () => {
    const store = openSqliteStore(tempDb());
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const keys = await loadServerKeys(store, clock);
    const before = await token(keys, clock.now());
    const oldKid = keys.kid;
    await keys.rotate();
    clock.advance(60_000);
    expect((await verifyWith(keys, before, clock.now())).protectedHeader.kid).toBe(oldKid);
    const after = await token(keys, clock.now());
    const { protectedHeader } = await verifyWith(keys, after, clock.now());
    expect(protectedHeader.kid).toBe(keys.kid);
    expect(protectedHeader.kid).not.toBe(oldKid);
    expect(
      keys
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([oldKid, keys.kid].sort());
    await store.close();
  });

  it('a retired key leaves the JWKS once every token it signed has expired', async () => {
    const store = openSqliteStore(tempDb());
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const keys = await loadServerKeys(store, clock);
    const oldKid = keys.kid;
    const jwt = await token(keys, clock.now());
    await keys.rotate();
    clock.advance(RETIRED_KEY_GRACE_MS - 1);
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(oldKid);
    clock.advance(1);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([keys.kid]);
    // Nor does the server's own resolver accept it any more.
    await expect(
      jwtVerify(jwt, keys.verificationKeys, { currentDate: new Date(clock.now() - 400_000) }),
    ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    // The grace covers the longest token lifetime.
    expect(RETIRED_KEY_GRACE_MS).toBeGreaterThanOrEqual(5 * 60 * 1000);
    await store.close();
  });

  it('two instances on one store: the first writer wins, the other follows', async () => {
    const path = tempDb();
    const clock = manualClock(Date.UTC(2025, 0, 1));
    const storeA = openSqliteStore(path);
    const storeB = openSqliteStore(path);
    const a = await loadServerKeys(storeA, clock);
    const b = await loadServerKeys(storeB, clock);
    expect(b.kid).toBe(a.kid);
    clock.advance(31 * DAY);
    const [ra, rb] = await Promise.all([a.refresh(), b.refresh()]);
    expect([ra, rb].filter((r) => r !== undefined)).toHaveLength(1);
    expect(a.kid).toBe(b.kid);
    expect((await storeA.listSigningKeys()).filter((k) => k.retiredAt === null)).toHaveLength(1);
    // A token signed by one instance verifies on the other, even before its next refresh.
    const c = await loadServerKeys(storeB, clock);
    await a.rotate();
    const jwt = await token(a, clock.now());
    clock.advance(10_000);
    const { protectedHeader } = await jwtVerify(jwt, c.verificationKeys, {
      currentDate: new Date(clock.now()),
    });
    expect(protectedHeader.kid).toBe(a.kid);
    await storeA.close();
    await storeB.close();
  });

  it('refuses a rotation age outside 1-3650 days', async () => {
    const store = openSqliteStore(tempDb());
    for (const rotationDays of [0, -1, 1.5, 3651]) {
      await expect(loadServerKeys(store, manualClock(0), { rotationDays })).rejects.toThrow(
        TypeError,
      );
    }
    await store.close();
  });
});
