import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from './clock';
import { loadServerKeys } from './keys';
import { openSqliteStore } from './store/sqlite';

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
