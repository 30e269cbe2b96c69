import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEYS,
  auditRecords,
  boundSession,
  createHarness,
  expectError,
  introspect,
  requestToken,
  type BoundSession,
  type Harness,
} from '../../testing/harness';

let h: Harness;
let s: BoundSession;
beforeEach(async () => {
  h = await createHarness();
  s = await boundSession(h);
});
afterEach(async () => {
  await h.close();
});

const rotate = (key?: string) =>
  h.call('POST', '/v1/admin/signing-keys/rotate', key === undefined ? {} : { key });

describe('POST /v1/admin/signing-keys/rotate', () => {
  it('admin only', async () => {
    const before = await h.store.listSigningKeys();
    expectError(await rotate(), 401, 'ERR_UNAUTHORIZED');
    expectError(await rotate(KEYS.bankA), 403, 'ERR_FORBIDDEN');
    expectError(await rotate(KEYS.auditor), 403, 'ERR_FORBIDDEN');
    expect(await h.store.listSigningKeys()).toEqual(before);
  });

  it('retires the signing key, audited; old tokens still introspect, new ones use the new kid', async () => {
    const old = (await requestToken(h, s.sid)).json.token as string;
    const oldKid = decodeProtectedHeader(old).kid;
    const res = await rotate(KEYS.admin);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ kid: expect.any(String), retired: [oldKid], rotated: true });
    expect(res.json.kid).not.toBe(oldKid);
    expect((await auditRecords(h)).at(-1)).toMatchObject({
      type: 'signing_key.rotated',
      actor: 'rp:ops',
      data: { kid: res.json.kid, retired: [oldKid], forced: true },
    });

    const jwks = (await h.call('GET', '/.well-known/jwks.json')).json;
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual(
      [oldKid, res.json.kid].sort(),
    );
    const at = new Date(h.clock.now());
    await jwtVerify(old, createLocalJWKSet(jwks), { currentDate: at });
    expect((await introspect(h, old)).json.active).toBe(true);

    const fresh = (await requestToken(h, s.sid)).json.token as string;
    expect(decodeProtectedHeader(fresh).kid).toBe(res.json.kid);
    expect((await introspect(h, fresh)).json.active).toBe(true);

    // Once the old key's tokens have all expired, it leaves the JWKS.
    h.clock.advance(10 * 60 * 1000);
    const later = (await h.call('GET', '/.well-known/jwks.json')).json;
    expect(later.keys.map((k: { kid: string }) => k.kid)).toEqual([res.json.kid]);
    const ready = await h.call('GET', '/readyz');
    expect(ready.json.checks.keys).toBe('ok');
  });
});
