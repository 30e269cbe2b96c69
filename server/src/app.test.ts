import Database from 'better-sqlite3';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEYS,
  TestDevice,
  attest,
  boundSession,
  createHarness,
  enrollDevice,
  introspect,
  nowS,
  openSession,
  type Harness,
} from './testing/harness';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

describe('end-to-end flow', () => {
  it('code → enroll → bind → attest 1..n → token → introspection follows conf, decays', async () => {
    // 1. The bank asks for an enrollment code for its subject.
    const code = await h.call('POST', '/v1/enrollment-codes', {
      key: KEYS.bankA,
      json: { subject: 'alice' },
    });
    expect(code.status).toBe(201);
    expect(code.json.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(Date.parse(code.json.expiresAt)).toBe(h.clock.now() + 10 * 60 * 1000);

    // 2. The device enrolls with a real ES256 key, typing the code in lower case.
    const device = await TestDevice.create(h.clock);
    const enrolled = await h.call('POST', '/v1/devices', {
      json: { enrollment: await device.enrollment(code.json.code.toLowerCase()) },
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.json).toEqual({ deviceId: device.jkt, subject: 'alice' });

    // 3. The bank opens a session; 4. the device binds it.
    const session = await openSession(h);
    expect(session.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(session.expiresAt)).toBe(h.clock.now() + 30 * 60 * 1000);
    const bound = await h.call('POST', '/v1/sessions/bind', {
      json: { binding: await device.binding(session.sessionId, session.challenge) },
    });
    expect(bound.status).toBe(200);
    expect(bound.json).toEqual({ sessionId: session.sessionId, subject: 'alice' });

    const sid = session.sessionId;
    const introspectNow = async () => {
      const t = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
      expect(t.status).toBe(200);
      const i = await h.call('POST', '/v1/introspect', {
        key: KEYS.bankA,
        body: new URLSearchParams({ token: t.json.token }).toString(),
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(i.status).toBe(200);
      return i.json;
    };

    // Before any attestation: level none.
    expect(await introspectNow()).toMatchObject({
      active: true,
      tacit_level: 'none',
      tacit_attestations: 0,
    });

    // 5. Attestations: two while enrolling, then scoring ones; assurance is the device's stated
    // confidence (its sequential decision), not smoothed again.
    // [conf sent (null = enrolling), assurance and level expected after it]
    const steps = [
      [null, null, 'enrolling'],
      [null, null, 'enrolling'],
      [0.9, 0.9, 'high'],
      [0.7, 0.7, 'medium'],
      [0.2, 0.2, 'low'],
      [0.1, 0.1, 'low'],
      [0.65, 0.65, 'medium'],
    ] as const;
    for (const [i, [conf, assurance, level]] of steps.entries()) {
      h.clock.advance(2000);
      const state = conf === null ? 'enrolling' : 'scoring';
      const progress = conf === null ? 0.5 : 1;
      const res = await attest(h, device, { sid, seq: i + 1, state, conf, progress });
      expect(res.status, res.text).toBe(202);
      expect(res.json).toEqual({ seq: i + 1, assurance, level });
      const info = await introspectNow();
      expect(info.tacit_assurance).toBe(assurance);
      expect(info.tacit_level).toBe(level);
      expect(info.tacit_attestations).toBe(i + 1);
    }
    expect((await h.store.counts()).attestations).toBe(steps.length);

    // 6. The token: ES256, typ, kid in the JWKS, claims per docs/protocol.md §5.
    const t = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    const header = decodeProtectedHeader(t.json.token);
    expect(header).toEqual({ alg: 'ES256', typ: 'tacit-session+jwt', kid: expect.any(String) });
    const jwks = await h.call('GET', '/.well-known/jwks.json');
    const { payload } = await jwtVerify(t.json.token, createLocalJWKSet(jwks.json), {
      algorithms: ['ES256'],
      typ: 'tacit-session+jwt',
      issuer: h.issuer,
      audience: 'bank-a',
      currentDate: new Date(h.clock.now()),
    });
    expect(payload).toEqual({
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid,
      iat: nowS(h),
      exp: nowS(h) + 300,
      jti: expect.any(String),
      cnf: { jkt: device.jkt },
      tacit: { assurance: 0.65, level: 'medium', state: 'scoring' },
    });
    expect(Date.parse(t.json.expiresAt)).toBe((nowS(h) + 300) * 1000);

    // 7. Introspection answers with every member of §5, and the current assurance.
    const lastAt = nowS(h);
    const full = await introspect(h, t.json.token);
    expect(full.json).toEqual({
      active: true,
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid,
      iat: nowS(h),
      exp: nowS(h) + 300,
      jti: payload.jti,
      token_type: 'tacit-session',
      cnf: { jkt: device.jkt },
      tacit_assurance: 0.65,
      tacit_level: 'medium',
      tacit_state: 'scoring',
      tacit_last_attestation_at: lastAt,
      tacit_attestations: 7,
      tacit_action: 'allow',
      tacit_progress: null,
      tacit_signals: null,
      tacit_confirmed_at: null,
    });

    // 8. Decay with the frozen clock: none within the 30 s grace, then exp(-(age-30)/60).
    const assuranceAfter = async (ms: number) => {
      h.clock.advance(ms);
      return (await introspect(h, t.json.token)).json;
    };
    expect((await assuranceAfter(30_000)).tacit_assurance).toBe(0.65);
    const decayed = await assuranceAfter(60_000); // age 90 s
    expect(decayed.tacit_assurance).toBeCloseTo(0.65 * Math.exp(-1), 4);
    expect(decayed.tacit_level).toBe('low');
    // The token's own claims did not change: introspection reports the *current* value.
    expect(decayed.iat).toBe(lastAt);

    // 9. Expired token → exactly {active: false}.
    h.clock.advance(300_000);
    const expired = await introspect(h, t.json.token);
    expect(expired.status).toBe(200);
    expect(expired.text).toBe('{"active":false}');
  });

  it('re-binding from the same device is accepted; the session stays bound to it', async () => {
    const { device, sid, challenge } = await boundSession(h);
    const again = await h.call('POST', '/v1/sessions/bind', {
      json: { binding: await device.binding(sid, challenge) },
    });
    expect(again.status).toBe(200);
    expect((await h.store.getSession(sid))?.deviceJkt).toBe(device.jkt);
  });

  it('a session token never outlives its session', async () => {
    const { sid } = await boundSession(h);
    h.clock.advance(28 * 60 * 1000);
    const t = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    const { payload } = await jwtVerify(
      t.json.token,
      createLocalJWKSet((await h.call('GET', '/.well-known/jwks.json')).json),
      { currentDate: new Date(h.clock.now()) },
    );
    expect(payload.exp).toBe(Math.floor((await h.store.getSession(sid))!.expiresAt / 1000));
  });

  it('an ended session stops attestations, tokens and introspection', async () => {
    const { device, sid } = await boundSession(h);
    const t = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    const ended = await h.call('DELETE', `/v1/sessions/${sid}`, { key: KEYS.bankA });
    expect(ended.status).toBe(204);
    expect((await attest(h, device, { sid, seq: 1 })).json.error.code).toBe('ERR_SESSION_EXPIRED');
    const t2 = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(t2.json.error.code).toBe('ERR_SESSION_EXPIRED');
    const i = await introspect(h, t.json.token);
    expect(i.text).toBe('{"active":false}');
  });

  it('the same device key can be enrolled with two relying parties', async () => {
    const device = await enrollDevice(h, 'alice', KEYS.bankA);
    const code = await h.call('POST', '/v1/enrollment-codes', {
      key: KEYS.bankB,
      json: { subject: 'u-77' },
    });
    const res = await h.call('POST', '/v1/devices', {
      json: { enrollment: await device.enrollment(code.json.code) },
    });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ deviceId: device.jkt, subject: 'u-77' });
    const rps = (await h.store.findDevicesByKey(device.jkt)).map((d) => d.rp);
    expect(rps.sort()).toEqual(['bank-a', 'bank-b']);
  });
});

describe('public endpoints', () => {
  it('GET /healthz', async () => {
    const res = await h.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('GET /.well-known/jwks.json publishes public keys only', async () => {
    const res = await h.call('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.json.keys).toHaveLength(1);
    const [key] = res.json.keys;
    expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
  });

  it('knows no demo bank: / and /bank/login are 404 ERR_NOT_FOUND', async () => {
    for (const path of ['/', '/bank/login', '/bank/static/bank.js']) {
      const res = await h.call('GET', path);
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('ERR_NOT_FOUND');
    }
  });

  it('unknown routes → 404 ERR_NOT_FOUND', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['GET', '/v1/attestations'],
      ['PUT', '/v1/sessions'],
    ] as const) {
      const res = await h.call(method, path);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'not found' } });
    }
  });

  it('API answers are not cacheable and are nosniff', async () => {
    const res = await h.call('POST', '/v1/sessions', { key: KEYS.bankA, json: { subject: 'a' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('error boundary', () => {
  it('an unexpected failure is logged and answered with a bare 500 ERR_INTERNAL', async () => {
    const { sid } = await boundSession(h);
    // A bug under the service: the next read throws an error that is no store failure.
    h.store.getSession = () => Promise.reject(new TypeError('x is not a function'));
    const res = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    const logged = h.logger.records.find((r) => r.event === 'unhandled_error');
    expect(logged?.level).toBe('error');
  });

  it('the store unreachable: 503 ERR_STORE_UNAVAILABLE with Retry-After, no token, nothing stored', async () => {
    const { device, sid } = await boundSession(h);
    const before = await h.store.getSession(sid);
    // What ioredis rejects a command with while Redis is down (the offline queue is off).
    const down = () =>
      Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
    const real = { getSession: h.store.getSession, findDevicesByKey: h.store.findDevicesByKey };
    h.store.getSession = down;
    h.store.findDevicesByKey = down;
    const token = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(token.status).toBe(503);
    expect(token.headers.get('retry-after')).toBe('1');
    expect(token.json).toEqual({
      error: { code: 'ERR_STORE_UNAVAILABLE', message: 'state store unavailable, try again later' },
    });
    const jws = await device.attestation({ sid, seq: 1 });
    const att = await h.call('POST', '/v1/attestations', { json: { attestation: jws } });
    expect(att.status).toBe(503);
    expect(att.json.error.code).toBe('ERR_STORE_UNAVAILABLE');
    Object.assign(h.store, real);
    expect((await h.store.getSession(sid))?.lastSeq).toBe(before?.lastSeq);
    const logged = h.logger.records.filter((r) => r.event === 'store_unavailable');
    expect(logged.map((r) => [r.level, r.code])).toContainEqual(['warn', 'ERR_STORE_UNAVAILABLE']);
    expect(h.logger.records.some((r) => r.event === 'unhandled_error')).toBe(false);
    // Back: the same attestation is accepted.
    expect((await h.call('POST', '/v1/attestations', { json: { attestation: jws } })).status).toBe(
      202,
    );
  });

  it('the disk full: 503 ERR_STORAGE_FULL with Retry-After', async () => {
    const { sid } = await boundSession(h);
    // better-sqlite3's error for SQLITE_FULL, as the writer thread sends it back.
    h.store.getSession = () =>
      Promise.reject(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'));
    const res = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.json.error.code).toBe('ERR_STORAGE_FULL');
  });

  it('the access log names the route pattern, never ids, tokens or bodies', async () => {
    const { device, sid } = await boundSession(h);
    const jws = await device.attestation({ sid, seq: 1 });
    await h.call('POST', '/v1/attestations', { json: { attestation: jws } });
    await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    const all = JSON.stringify(h.logger.records);
    expect(all).not.toContain(sid);
    expect(all).not.toContain(jws.slice(0, 20));
    expect(all).not.toContain(KEYS.bankA);
    expect(h.logger.records.map((r) => r.route)).toContain('/v1/sessions/:sid/token');
  });
});
