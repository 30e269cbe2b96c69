import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../domain/decision';
import {
  KEYS,
  TestDevice,
  boundSession,
  createHarness,
  enrollDevice,
  expectError,
  hs256Jws,
  introspect,
  nowS,
  requestToken,
  revoke,
  snapshot,
  unsecuredJws,
  type Answer,
  type Harness,
} from '../../testing/harness';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const newCode = async (subject = 'alice', key: string = KEYS.bankA): Promise<string> => {
  const res = await h.call('POST', '/v1/enrollment-codes', { key, json: { subject } });
  expect(res.status).toBe(201);
  return res.json.code;
};
const enroll = (enrollment: unknown) => h.call('POST', '/v1/devices', { json: { enrollment } });

async function rejects(send: () => Promise<Answer>, status: number, code: string) {
  const before = await snapshot(h);
  expectError(await send(), status, code);
  expect(await snapshot(h)).toEqual(before);
}

describe('POST /v1/enrollment-codes', () => {
  it('issues distinct codes, stored only as hashes', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 20; i++) codes.add(await newCode());
    expect(codes.size).toBe(20);
    const all = JSON.stringify(await h.store.counts());
    expect(all).toContain('"enrollmentCodes":20');
    // The plaintext is nowhere in the store (the database file, or every Redis key).
    const db = await h.dump();
    for (const code of codes) {
      expect(db).not.toContain(code);
      expect(db).not.toContain(code.replace('-', ''));
    }
  });

  it('rejects bad subjects → ERR_BAD_REQUEST, nothing stored', async () => {
    const bodies = [
      {},
      { subject: '' },
      { subject: 'a b' },
      { subject: 'x'.repeat(129) },
      { subject: 7 },
      { subject: 'a', x: 1 },
      { subject: 'é' },
    ];
    for (const json of bodies) {
      const send = () => h.call('POST', '/v1/enrollment-codes', { key: KEYS.bankA, json });
      await rejects(send, 400, 'ERR_BAD_REQUEST');
    }
  });
});

describe('POST /v1/devices accepts', () => {
  it('a code typed sloppily (case, spaces, I/L/O for 1/0)', async () => {
    const code = await newCode();
    const lookalikes = code.toLowerCase().replace(/1/g, 'l').replace(/0/g, 'o');
    const sloppy = ` ${lookalikes.replace('-', ' - ')} `;
    const device = await TestDevice.create(h.clock);
    const res = await enroll(await device.enrollment(sloppy));
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ deviceId: device.jkt, subject: 'alice' });
    const [stored] = await h.store.findDevicesByKey(device.jkt);
    expect(stored).toMatchObject({
      jkt: device.jkt,
      jwk: device.jwk,
      subject: 'alice',
      rp: 'bank-a',
      createdAt: h.clock.now(),
      revokedAt: null,
    });
  });

  it('the same key re-enrolled for the same subject with a new code (idempotent)', async () => {
    const device = await enrollDevice(h);
    const res = await enroll(await device.enrollment(await newCode()));
    expect(res.status).toBe(201);
    expect((await h.store.counts()).devices).toBe(1);
  });
});

describe('POST /v1/devices rejects, storing nothing', () => {
  it('a used enrollment code → ERR_ENROLLMENT_CODE (by the same or another device)', async () => {
    const code = await newCode();
    const first = await TestDevice.create(h.clock);
    expect((await enroll(await first.enrollment(code))).status).toBe(201);
    const second = await TestDevice.create(h.clock);
    await rejects(async () => enroll(await second.enrollment(code)), 400, 'ERR_ENROLLMENT_CODE');
    await rejects(async () => enroll(await first.enrollment(code)), 400, 'ERR_ENROLLMENT_CODE');
  });

  it('a replayed enrollment statement → ERR_REPLAY', async () => {
    const device = await TestDevice.create(h.clock);
    const statement = await device.enrollment(await newCode());
    expect((await enroll(statement)).status).toBe(201);
    await rejects(() => enroll(statement), 409, 'ERR_REPLAY');
  });

  it('an expired code → ERR_ENROLLMENT_CODE', async () => {
    const code = await newCode();
    h.clock.advance(10 * 60 * 1000);
    const device = await TestDevice.create(h.clock);
    await rejects(async () => enroll(await device.enrollment(code)), 400, 'ERR_ENROLLMENT_CODE');
  });

  it('unknown or malformed codes → ERR_ENROLLMENT_CODE', async () => {
    await newCode();
    const device = await TestDevice.create(h.clock);
    const codes = ['00000-00000', 'ABCDE', 'UUUUU-UUUUU', '!!!!!-!!!!!', 'ZZZZZ-ZZZZZ-Z', ' '];
    for (const code of codes) {
      await rejects(async () => enroll(await device.enrollment(code)), 400, 'ERR_ENROLLMENT_CODE');
    }
  });

  it('a jwk header with private members → ERR_JWS_INVALID', async () => {
    const device = await TestDevice.create(h.clock);
    const withD = { ...device.jwk, d: 'x'.repeat(43) };
    const rsaPrivate = { kty: 'RSA', n: 'AQAB', e: 'AQAB', d: 'AQAB', p: 'AQ', q: 'AQ' };
    for (const jwk of [withD, rsaPrivate, { ...device.jwk, k: 'c2VjcmV0' }]) {
      const statement = await device.enrollment(await newCode(), {}, { jwk });
      await rejects(() => enroll(statement), 400, 'ERR_JWS_INVALID');
    }
  });

  it('a missing, non-P-256 or invalid jwk → ERR_JWS_INVALID', async () => {
    const device = await TestDevice.create(h.clock);
    const code = await newCode();
    for (const jwk of [
      undefined,
      'jwk',
      [device.jwk],
      { ...device.jwk, crv: 'P-384' },
      { kty: 'OKP', crv: 'Ed25519', x: device.jwk.x },
      { kty: 'oct', k: 'c2VjcmV0' },
      { ...device.jwk, x: 'A'.repeat(43) }, // not a point on the curve
      { ...device.jwk, y: 42 },
      { ...device.jwk, use: 'enc' },
      { ...device.jwk, alg: 'ES384' },
    ]) {
      const statement = await device.enrollment(code, {}, { jwk });
      await rejects(() => enroll(statement), 400, 'ERR_JWS_INVALID');
    }
  });

  it('signed by a key other than the embedded one → ERR_JWS_INVALID', async () => {
    const signer = await TestDevice.create(h.clock);
    const claimed = await TestDevice.create(h.clock);
    const statement = await signer.enrollment(await newCode(), {}, { jwk: claimed.jwk });
    await rejects(() => enroll(statement), 400, 'ERR_JWS_INVALID');
  });

  it('wrong typ, alg none, HS256 → ERR_JWS_TYP / ERR_JWS_ALG', async () => {
    const device = await TestDevice.create(h.clock);
    const code = await newCode();
    const claims = { code, iat: nowS(h), jti: 'j1' };
    const header = { typ: 'tacit-enroll+jwt', jwk: device.jwk };
    for (const typ of ['JWT', 'tacit-att+jwt', 'tacit-bind+jwt']) {
      const send = async () => enroll(await device.sign({ ...header, typ }, claims));
      await rejects(send, 400, 'ERR_JWS_TYP');
    }
    await rejects(() => enroll(unsecuredJws(header, claims)), 400, 'ERR_JWS_ALG');
    await rejects(async () => enroll(await hs256Jws(header, claims)), 400, 'ERR_JWS_ALG');
  });

  it('stale iat → ERR_STALE; bad claims → ERR_JWS_CLAIMS', async () => {
    const device = await TestDevice.create(h.clock);
    const code = await newCode();
    const withClaims = (patch: Record<string, unknown>) => async () =>
      enroll(await device.enrollment(code, patch));
    await rejects(withClaims({ iat: nowS(h) - 120 }), 400, 'ERR_STALE');
    const hostile = [{ code: 5 }, { code: '' }, { jti: '' }, { jti: 9 }, { iat: 'now' }];
    for (const patch of [...hostile, { code: 'x'.repeat(33) }]) {
      await rejects(withClaims(patch), 400, 'ERR_JWS_CLAIMS');
    }
  });

  it('a key enrolled for another subject → ERR_DEVICE_ENROLLED_ELSEWHERE', async () => {
    const device = await enrollDevice(h, 'alice');
    const code = await newCode('bob');
    const send = async () => enroll(await device.enrollment(code));
    await rejects(send, 409, 'ERR_DEVICE_ENROLLED_ELSEWHERE');
    const res = await send();
    const message = 'device enrolled for another subject of this relying party';
    expect(res.json.error).toEqual({ code: 'ERR_DEVICE_ENROLLED_ELSEWHERE', message });
    // The code was not used: another device may still enroll with it.
    const other = await TestDevice.create(h.clock);
    expect((await enroll(await other.enrollment(code))).status).toBe(201);
    // The same subject again, and another bank, are fine.
    expect((await enroll(await device.enrollment(await newCode('alice')))).status).toBe(201);
    expect((await enroll(await device.enrollment(await newCode('bob', KEYS.bankB)))).status).toBe(
      201,
    );
  });

  it('a bank whose policy allows sharedDevices enrolls one key for several subjects', async () => {
    await h.close();
    h = await createHarness({
      policy: parsePolicy({ relyingParties: { 'bank-a': { sharedDevices: true } } }),
    });
    const device = await enrollDevice(h, 'alice');
    const res = await enroll(await device.enrollment(await newCode('bob')));
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ deviceId: device.jkt, subject: 'bob' });
    expect((await h.store.findDevicesByKey(device.jkt)).map((d) => d.subject).sort()).toEqual([
      'alice',
      'bob',
    ]);
  });

  it('a key revoked for this subject is not re-enrolled → ERR_DEVICE_REVOKED', async () => {
    const device = await enrollDevice(h);
    await revoke(h, device.jkt);
    const code = await newCode();
    await rejects(async () => enroll(await device.enrollment(code)), 403, 'ERR_DEVICE_REVOKED');
  });
});

describe('device listing and revocation', () => {
  it('a bank lists and revokes its own subject’s devices', async () => {
    const device = await enrollDevice(h);
    const list = await h.call('GET', '/v1/devices?subject=alice', { key: KEYS.bankA });
    expect(list.json).toEqual({
      devices: [
        {
          deviceId: device.jkt,
          subject: 'alice',
          createdAt: new Date(h.clock.now()).toISOString(),
          revokedAt: null,
        },
      ],
    });
    h.clock.advance(1000);
    const revoked = await revoke(h, device.jkt);
    expect(revoked.status).toBe(200);
    expect(revoked.json.revokedAt).toBe(new Date(h.clock.now()).toISOString());
  });

  it('another bank neither sees nor revokes them', async () => {
    const device = await enrollDevice(h);
    const list = await h.call('GET', '/v1/devices?subject=alice', { key: KEYS.bankB });
    expect(list.json).toEqual({ devices: [] });
    await rejects(() => revoke(h, device.jkt, 'alice', KEYS.bankB), 404, 'ERR_UNKNOWN_DEVICE');
    expect((await h.store.counts()).revokedDevices).toBe(0);
  });

  it('an operator revokes a key everywhere; a bank key cannot', async () => {
    const device = await enrollDevice(h, 'alice', KEYS.bankA);
    const code = await newCode('u1', KEYS.bankB);
    await enroll(await device.enrollment(code));
    const path = `/v1/admin/devices/${device.jkt}/revoke`;
    await rejects(() => h.call('POST', path, { key: KEYS.bankA }), 403, 'ERR_FORBIDDEN');
    await rejects(() => h.call('POST', path), 401, 'ERR_UNAUTHORIZED');
    const res = await h.call('POST', path, { key: KEYS.admin });
    expect(res.json).toEqual({ deviceId: device.jkt, revoked: 2 });
    expect((await h.store.counts()).revokedDevices).toBe(2);
  });

  it('the aggregator learns whether a key is enrolled and active, its public key, nothing more', async () => {
    const device = await enrollDevice(h, 'alice', KEYS.bankA);
    const path = `/v1/admin/devices/${device.jkt}`;
    const res = await h.call('GET', path, { key: KEYS.aggregator });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ deviceId: device.jkt, jwk: device.jwk, active: true });
    expect(res.text).not.toContain('alice');
    expect((await h.call('GET', path, { key: KEYS.admin })).status).toBe(200);
    await rejects(() => h.call('GET', path, { key: KEYS.bankA }), 403, 'ERR_FORBIDDEN');
    await rejects(() => h.call('GET', path), 401, 'ERR_UNAUTHORIZED');
    const unknown = '/v1/admin/devices/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    await rejects(
      () => h.call('GET', unknown, { key: KEYS.aggregator }),
      404,
      'ERR_UNKNOWN_DEVICE',
    );
    // The aggregator key may do nothing else.
    const revokeAll = `/v1/admin/devices/${device.jkt}/revoke`;
    await rejects(() => h.call('POST', revokeAll, { key: KEYS.aggregator }), 403, 'ERR_FORBIDDEN');
    await revoke(h, device.jkt);
    expect((await h.call('GET', path, { key: KEYS.aggregator })).json.active).toBe(false);
  });

  it('revocation stops a bound session: no token, introspection inactive', async () => {
    const { device, sid } = await boundSession(h);
    const token = (await requestToken(h, sid)).json.token;
    await revoke(h, device.jkt);
    expectError(await requestToken(h, sid), 403, 'ERR_DEVICE_REVOKED');
    const i = await introspect(h, token);
    expect(i.text).toBe('{"active":false}');
  });
});
