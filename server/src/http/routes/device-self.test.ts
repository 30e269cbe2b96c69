import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DPOP_CHALLENGE } from '../middleware/dpop';
import {
  KEYS,
  TestDevice,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  deviceCall,
  enrollDevice,
  expectError,
  hs256Jws,
  introspect,
  newJti,
  nowS,
  openSession,
  requestToken,
  revoke,
  snapshot,
  unsecuredJws,
  type Answer,
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

const sessionPath = () => `/v1/device/sessions/${s.sid}`;
const htu = (path: string) => `${h.issuer}${path}`;

/**
 * Asserts a refusal and that nothing was stored (no revocation, no rotation, and no `jti` unless
 * the proof itself was accepted: `authenticated`).
 */
async function rejects(
  send: () => Promise<Answer>,
  status: number,
  code: string,
  authenticated = false,
) {
  const before = await snapshot(h, s.sid);
  const res = await send();
  expectError(res, status, code);
  if (status === 401) {
    expect(res.headers.get('www-authenticate')).toBe(DPOP_CHALLENGE);
  } else {
    expect(res.headers.get('www-authenticate')).toBeNull();
  }
  const spent = authenticated ? 1 : 0;
  expect(await snapshot(h, s.sid)).toEqual({
    ...before,
    counts: { ...before.counts, jtis: before.counts.jtis + spent },
  });
  expect(await h.store.findDevicesByKey(s.device.jkt)).toEqual(
    expect.arrayContaining([expect.objectContaining({ revokedAt: null })]),
  );
}

/** Every endpoint, so each rejection path is checked on all of them. */
const endpoints = (): [method: string, path: string][] => [
  ['GET', sessionPath()],
  ['GET', '/v1/device/enrollments'],
  ['POST', '/v1/device/revoke'],
  ['POST', '/v1/device/rotate'],
];

describe('GET /v1/device/sessions/:sid', () => {
  it('answers the bound device with the session’s live assurance', async () => {
    const before = await deviceCall(h, s.device, 'GET', sessionPath());
    expect(before.status).toBe(200);
    expect(before.json).toEqual({
      sessionId: s.sid,
      status: 'active',
      assurance: null,
      level: 'none',
      state: null,
      attestations: 0,
      lastAttestationAt: null,
      expiresAt: new Date(h.clock.now() + 30 * 60 * 1000).toISOString(),
      confirmed: false,
      confirmedAt: null,
    });
    expect((await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 })).status).toBe(202);
    const after = await deviceCall(h, s.device, 'GET', sessionPath());
    expect(after.json).toMatchObject({
      status: 'active',
      assurance: 0.9,
      level: 'high',
      state: 'scoring',
      attestations: 1,
      lastAttestationAt: nowS(h),
    });
    // Same value as the relying party's introspection.
    const token = (await requestToken(h, s.sid)).json.token;
    expect((await introspect(h, token)).json.tacit_assurance).toBe(after.json.assurance);
  });

  it('reports ended, terminated and expired sessions, and a revoked enrollment', async () => {
    const other = await openSession(h);
    const bind = await s.device.binding(other.sessionId, other.challenge);
    expect((await h.call('POST', '/v1/sessions/bind', { json: { binding: bind } })).status).toBe(
      200,
    );
    await h.call('DELETE', `/v1/sessions/${other.sessionId}`, { key: KEYS.bankA });
    const ended = await deviceCall(h, s.device, 'GET', `/v1/device/sessions/${other.sessionId}`);
    expect(ended.json.status).toBe('ended');

    // Revoked for alice at bank A, still enrolled for bob at bank B: authenticated, session is
    // "revoked".
    const code = await h.call('POST', '/v1/enrollment-codes', {
      key: KEYS.bankB,
      json: { subject: 'bob' },
    });
    const enrolled = await h.call('POST', '/v1/devices', {
      json: { enrollment: await s.device.enrollment(code.json.code) },
    });
    expect(enrolled.status).toBe(201);
    expect((await revoke(h, s.device.jkt)).status).toBe(200);
    const revoked = await deviceCall(h, s.device, 'GET', sessionPath());
    expect(revoked.json.status).toBe('revoked');

    h.clock.advance(30 * 60 * 1000);
    const expired = await deviceCall(h, s.device, 'GET', sessionPath());
    expect(expired.json.status).toBe('expired');
  });

  it('another enrolled device → 404 ERR_UNKNOWN_SESSION (existence not revealed)', async () => {
    const other = await enrollDevice(h, 'alice');
    await rejects(
      () => deviceCall(h, other, 'GET', sessionPath()),
      404,
      'ERR_UNKNOWN_SESSION',
      true,
    );
    const unknown = `/v1/device/sessions/${'A'.repeat(43)}`;
    expectError(await deviceCall(h, s.device, 'GET', unknown), 404, 'ERR_UNKNOWN_SESSION');
    const unbound = await openSession(h);
    const path = `/v1/device/sessions/${unbound.sessionId}`;
    expectError(await deviceCall(h, s.device, 'GET', path), 404, 'ERR_UNKNOWN_SESSION');
  });

  it('a malformed session id → 400 ERR_BAD_REQUEST', async () => {
    const res = await deviceCall(h, s.device, 'GET', '/v1/device/sessions/not%20an%20id');
    expectError(res, 400, 'ERR_BAD_REQUEST');
  });
});

describe('GET /v1/device/enrollments', () => {
  it('lists every enrollment of the key, revoked ones included', async () => {
    const code = await h.call('POST', '/v1/enrollment-codes', {
      key: KEYS.bankB,
      json: { subject: 'alice-at-b' },
    });
    h.clock.advance(1000);
    await h.call('POST', '/v1/devices', {
      json: { enrollment: await s.device.enrollment(code.json.code) },
    });
    h.clock.advance(1000);
    expect((await revoke(h, s.device.jkt)).status).toBe(200);
    const res = await deviceCall(h, s.device, 'GET', '/v1/device/enrollments');
    expect(res.status).toBe(200);
    const t = (ms: number) => new Date(ms).toISOString();
    expect(res.json).toEqual({
      deviceId: s.device.jkt,
      enrollments: [
        {
          rp: 'bank-a',
          subject: 'alice',
          createdAt: t(h.clock.now() - 2000),
          revokedAt: t(h.clock.now()),
        },
        {
          rp: 'bank-b',
          subject: 'alice-at-b',
          createdAt: t(h.clock.now() - 1000),
          revokedAt: null,
        },
      ],
    });
  });
});

describe('POST /v1/device/revoke', () => {
  it('revokes every enrollment of the calling key, audited; the key is then refused', async () => {
    const res = await deviceCall(h, s.device, 'POST', '/v1/device/revoke');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ deviceId: s.device.jkt, revoked: 1 });
    const records = await auditRecords(h);
    expect(records.at(-1)).toMatchObject({
      type: 'device.self_revoked',
      actor: `device:${s.device.jkt}`,
      data: { revoked: 1 },
    });
    expect((await h.store.findDevicesByKey(s.device.jkt))[0]?.revokedAt).toBe(h.clock.now());
    // The bank sees it: no more tokens, and the session's decision terminates.
    expectError(await requestToken(h, s.sid), 403, 'ERR_DEVICE_REVOKED');
    expectError(
      await deviceCall(h, s.device, 'POST', '/v1/device/revoke'),
      403,
      'ERR_DEVICE_REVOKED',
    );
  });

  it('accepts an empty JSON object, refuses any other body', async () => {
    for (const json of [{ subject: 'alice' }, [], 'x']) {
      await rejects(
        () => deviceCall(h, s.device, 'POST', '/v1/device/revoke', { json }),
        400,
        'ERR_BAD_REQUEST',
        true,
      );
    }
    await rejects(
      () =>
        deviceCall(h, s.device, 'POST', '/v1/device/revoke', {
          body: '{}',
          contentType: 'text/plain',
        }),
      400,
      'ERR_BAD_REQUEST',
      true,
    );
    const empty = await deviceCall(h, s.device, 'POST', '/v1/device/revoke', { json: {} });
    expect(empty.status).toBe(200);
  });
});

describe('POST /v1/device/rotate', () => {
  const rotate = (old: TestDevice, rotation: string) =>
    deviceCall(h, old, 'POST', '/v1/device/rotate', { json: { rotation } });

  it('moves the enrollments to the new key, revokes the old one, re-binds live sessions', async () => {
    expect((await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.8 })).status).toBe(202);
    const oldToken = (await requestToken(h, s.sid)).json.token as string;
    const next = await TestDevice.create(h.clock);
    h.clock.advance(1000);
    const res = await rotate(s.device, await next.rotation(s.device.jkt));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      deviceId: next.jkt,
      previousDeviceId: s.device.jkt,
      enrollments: 1,
      sessions: 1,
    });
    const [oldEnrollment] = await h.store.findDevicesByKey(s.device.jkt);
    expect(oldEnrollment?.revokedAt).toBe(h.clock.now());
    const [newEnrollment] = await h.store.findDevicesByKey(next.jkt);
    expect(newEnrollment).toMatchObject({
      rp: 'bank-a',
      subject: 'alice',
      jwk: next.jwk,
      createdAt: h.clock.now(),
      revokedAt: null,
    });
    expect((await h.store.getSession(s.sid))?.deviceJkt).toBe(next.jkt);
    expect((await auditRecords(h)).at(-1)).toMatchObject({
      type: 'device.rotated',
      actor: `device:${s.device.jkt}`,
      data: {
        newDeviceId: next.jkt,
        enrollments: [{ rp: 'bank-a', subject: 'alice' }],
        sessions: [s.sid],
      },
    });

    // The new key continues the session's chain; the old key is refused everywhere.
    const jws = await s.device.attestation({ sid: s.sid, seq: 2 });
    expectError(
      await h.call('POST', '/v1/attestations', { json: { attestation: jws } }),
      403,
      'ERR_DEVICE_REVOKED',
    );
    const prev = (await h.store.getSession(s.sid))!.lastHash;
    const continued = await next.attestation({ sid: s.sid, seq: 2, prev });
    const accepted = await h.call('POST', '/v1/attestations', { json: { attestation: continued } });
    expect(accepted.status).toBe(202);
    expectError(
      await deviceCall(h, s.device, 'GET', '/v1/device/enrollments'),
      403,
      'ERR_DEVICE_REVOKED',
    );
    // Tokens carry the new key; one issued before the rotation names the old key: inactive.
    expect(await introspect(h, oldToken).then((r) => r.json)).toEqual({ active: false });
    const token = (await requestToken(h, s.sid)).json.token as string;
    expect((await introspect(h, token)).json.cnf).toEqual({ jkt: next.jkt });
    const view = await deviceCall(h, next, 'GET', sessionPath());
    expect(view.json).toMatchObject({ status: 'active', attestations: 2 });
  });

  it('ended sessions stay with the old key', async () => {
    await h.call('DELETE', `/v1/sessions/${s.sid}`, { key: KEYS.bankA });
    const next = await TestDevice.create(h.clock);
    const res = await rotate(s.device, await next.rotation(s.device.jkt));
    expect(res.json.sessions).toBe(0);
    expect((await h.store.getSession(s.sid))?.deviceJkt).toBe(s.device.jkt);
  });

  it('refuses a statement that is not a valid rotation by a fresh key, storing nothing', async () => {
    const next = await TestDevice.create(h.clock);
    const other = await enrollDevice(h, 'bob');
    const cases: [() => Promise<string>, number, string][] = [
      [() => next.rotation(other.jkt), 400, 'ERR_JWS_CLAIMS'], // names another old key
      [() => next.rotation(s.device.jkt, { old: 'short' }), 400, 'ERR_JWS_CLAIMS'],
      [() => next.rotation(s.device.jkt, { jti: undefined }), 400, 'ERR_JWS_CLAIMS'],
      [() => next.rotation(s.device.jkt, { iat: nowS(h) - 61 }), 400, 'ERR_STALE'],
      [() => next.rotation(s.device.jkt, {}, { typ: 'tacit-enroll+jwt' }), 400, 'ERR_JWS_TYP'],
      [() => next.enrollment('ABCDE-FGHJK'), 400, 'ERR_JWS_TYP'],
      [() => next.rotation(s.device.jkt, {}, { jwk: undefined }), 400, 'ERR_JWS_INVALID'],
      [() => next.rotation(s.device.jkt, {}, { jwk: s.device.jwk }), 400, 'ERR_JWS_INVALID'],
      [() => s.device.rotation(s.device.jkt), 409, 'ERR_KEY_IN_USE'], // rotate to itself
      [() => other.rotation(s.device.jkt), 409, 'ERR_KEY_IN_USE'], // already enrolled
      [
        () => hs256Jws({ typ: 'tacit-rotate+jwt', jwk: next.jwk }, { old: s.device.jkt }),
        400,
        'ERR_JWS_ALG',
      ],
      [
        async () => unsecuredJws({ typ: 'tacit-rotate+jwt', jwk: next.jwk }, { old: s.device.jkt }),
        400,
        'ERR_JWS_ALG',
      ],
    ];
    for (const [statement, status, code] of cases) {
      const before = (await auditRecords(h)).length;
      await rejects(async () => rotate(s.device, await statement()), status, code, true);
      const records = await auditRecords(h);
      expect(records).toHaveLength(before + 1);
      expect(records.at(-1)).toMatchObject({ type: 'device.rotate_rejected', data: { code } });
    }
    await rejects(
      () => deviceCall(h, s.device, 'POST', '/v1/device/rotate', { json: { rotation: 1 } }),
      400,
      'ERR_BAD_REQUEST',
      true,
    );
  });

  it('the store refuses a replayed rotation jti and a key revoked meanwhile', async () => {
    const next = await TestDevice.create(h.clock);
    const jti = { jkt: next.jkt, jti: newJti(), expiresAt: h.clock.now() + 60_000 };
    const input = {
      oldJkt: s.device.jkt,
      newJkt: next.jkt,
      newJwk: next.jwk,
      jti,
      now: h.clock.now(),
    };
    await h.store.useJti(jti);
    expect(await h.store.rotateDevice(input)).toEqual({ ok: false, reason: 'replay' });
    await h.store.revokeDevice(s.device.jkt, h.clock.now());
    expect(await h.store.rotateDevice({ ...input, jti: { ...jti, jti: newJti() } })).toEqual({
      ok: false,
      reason: 'revoked',
    });
  });
});

describe('DPoP proof checks (every device endpoint)', () => {
  /** Each endpoint with a proof built by `proof`, refused with `code`. */
  async function refusedEverywhere(
    proof: (method: string, path: string) => Promise<string | null>,
    status: number,
    code: string,
  ) {
    for (const [method, path] of endpoints()) {
      const json = method === 'POST' && path.endsWith('rotate') ? { rotation: 'x.y.z' } : undefined;
      await rejects(
        async () =>
          deviceCall(h, s.device, method, path, { proof: await proof(method, path), json }),
        status,
        code,
      );
    }
  }
  const sign =
    (header: Record<string, unknown>, claims: Record<string, unknown>) =>
    (method: string, path: string) =>
      s.device.dpop(method, htu(path), claims, header);

  it('no DPoP header, an empty one, or an API key instead → 401 ERR_DPOP_INVALID', async () => {
    await refusedEverywhere(async () => null, 401, 'ERR_DPOP_INVALID');
    await refusedEverywhere(async () => '', 401, 'ERR_DPOP_INVALID');
    for (const [method, path] of endpoints()) {
      await rejects(() => h.call(method, path, { key: KEYS.bankA }), 401, 'ERR_DPOP_INVALID');
    }
  });

  it('a wrong typ → ERR_DPOP_INVALID', async () => {
    for (const typ of [
      'JWT',
      'dpop',
      'DPOP+JWT',
      'application/dpop+jwt',
      'tacit-att+jwt',
      undefined,
    ]) {
      await refusedEverywhere(sign({ typ }, {}), 401, 'ERR_DPOP_INVALID');
    }
  });

  it('alg none, HS256 or any other alg → ERR_DPOP_INVALID', async () => {
    const claims = (method: string, path: string) => ({
      jti: newJti(),
      htm: method,
      htu: htu(path),
      iat: nowS(h),
    });
    await refusedEverywhere(
      async (m, p) => unsecuredJws({ typ: 'dpop+jwt', jwk: s.device.jwk }, claims(m, p)),
      401,
      'ERR_DPOP_INVALID',
    );
    await refusedEverywhere(
      (m, p) => hs256Jws({ typ: 'dpop+jwt', jwk: s.device.jwk }, claims(m, p)),
      401,
      'ERR_DPOP_INVALID',
    );
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const alg of ['ES384', 'RS256', 'EdDSA', 'es256', 'none']) {
      await refusedEverywhere(
        async (m, p) => {
          const [, payload, signature] = (await s.device.dpop(m, htu(p))).split('.');
          return `${b64({ alg, typ: 'dpop+jwt', jwk: s.device.jwk })}.${payload}.${signature}`;
        },
        401,
        'ERR_DPOP_INVALID',
      );
    }
  });

  it('a missing, private, non-P-256 or mismatched jwk → ERR_DPOP_INVALID', async () => {
    const attacker = await TestDevice.create(h.clock);
    for (const jwk of [
      undefined,
      'jwk',
      { ...s.device.jwk, d: 'AAAA' },
      { ...s.device.jwk, crv: 'P-384' },
      { kty: 'oct', k: 'c2VjcmV0' },
      { ...s.device.jwk, x: 'A'.repeat(43) }, // not a point on the curve
    ]) {
      await refusedEverywhere(sign({ jwk }, {}), 401, 'ERR_DPOP_INVALID');
    }
    // Signed by another key, claiming the enrolled device's public key.
    await refusedEverywhere(
      (m, p) => attacker.dpop(m, htu(p), {}, { jwk: s.device.jwk }),
      401,
      'ERR_DPOP_INVALID',
    );
  });

  it('a tampered payload or not a compact JWS → ERR_DPOP_INVALID', async () => {
    await refusedEverywhere(
      async (m, p) => {
        const [header, , signature] = (await s.device.dpop(m, htu(p))).split('.');
        const payload = Buffer.from(
          JSON.stringify({ jti: newJti(), htm: m, htu: htu(p), iat: nowS(h) }),
        ).toString('base64url');
        return `${header}.${payload}.${signature}`;
      },
      401,
      'ERR_DPOP_INVALID',
    );
    for (const junk of ['x', 'a.b', 'a.b.c.d', 'a b.c.d', 'x'.repeat(9000)]) {
      await refusedEverywhere(async () => junk, 401, 'ERR_DPOP_INVALID');
    }
    // Two DPoP headers arrive joined with ", ".
    await refusedEverywhere(
      async (m, p) => `${await s.device.dpop(m, htu(p))}, ${await s.device.dpop(m, htu(p))}`,
      401,
      'ERR_DPOP_INVALID',
    );
  });

  it('missing or mistyped claims → ERR_DPOP_INVALID', async () => {
    for (const claims of [
      { jti: undefined },
      { jti: '' },
      { jti: 42 },
      { htm: undefined },
      { htu: undefined },
      { htu: 7 },
      { iat: undefined },
      { iat: '1' },
    ]) {
      await refusedEverywhere(sign({}, claims), 401, 'ERR_DPOP_INVALID');
    }
  });

  it('htm not the request method → ERR_DPOP_INVALID', async () => {
    await refusedEverywhere(
      (m, p) => s.device.dpop(m === 'GET' ? 'POST' : 'GET', htu(p)),
      401,
      'ERR_DPOP_INVALID',
    );
    await refusedEverywhere(
      (m, p) => s.device.dpop(m.toLowerCase(), htu(p)),
      401,
      'ERR_DPOP_INVALID',
    );
  });

  it('htu not this request’s URI → ERR_DPOP_INVALID', async () => {
    const wrong = [
      (p: string) => `https://tacit.test${p}`,
      (p: string) => `http://evil.example${p}`,
      (p: string) => `http://tacit.test:8080${p}`,
      () => `http://tacit.test/v1/device/other`,
      (p: string) => `http://tacit.test${p}/`,
      (p: string) => p,
      (p: string) => `ftp://tacit.test${p}`,
      (p: string) => `http://user@tacit.test${p}`,
    ];
    for (const make of wrong) {
      await refusedEverywhere((m, p) => s.device.dpop(m, make(p)), 401, 'ERR_DPOP_INVALID');
    }
    // A proof for another session of the same device.
    const other = `/v1/device/sessions/${'B'.repeat(43)}`;
    await rejects(
      async () =>
        deviceCall(h, s.device, 'GET', sessionPath(), {
          proof: await s.device.dpop('GET', htu(other)),
        }),
      401,
      'ERR_DPOP_INVALID',
    );
  });

  it('htu is compared normalized, without query or fragment', async () => {
    for (const variant of [
      `HTTP://TACIT.TEST:80/v1/device/enrollments`,
      `http://tacit.test/v1/device/enrollments?x=1#f`,
      `http://tacit.test/v1/device/./enrollments`,
    ]) {
      const res = await deviceCall(h, s.device, 'GET', '/v1/device/enrollments?debug=1', {
        proof: await s.device.dpop('GET', variant),
      });
      expect(res.status, variant).toBe(200);
    }
  });

  it('an iat outside ±60 s → ERR_DPOP_STALE; at the edges it is accepted', async () => {
    for (const iat of [nowS(h) - 61, nowS(h) + 61, 0, 4_102_444_800]) {
      await refusedEverywhere(sign({}, { iat }), 401, 'ERR_DPOP_STALE');
    }
    for (const iat of [nowS(h) - 60, nowS(h) + 60]) {
      const res = await deviceCall(h, s.device, 'GET', '/v1/device/enrollments', {
        claims: { iat },
      });
      expect(res.status).toBe(200);
    }
  });

  it('a replayed proof (same jti) → ERR_DPOP_REPLAY, even on another endpoint', async () => {
    const proof = await s.device.dpop('GET', htu('/v1/device/enrollments'));
    const first = await deviceCall(h, s.device, 'GET', '/v1/device/enrollments', { proof });
    expect(first.status).toBe(200);
    await rejects(
      () => deviceCall(h, s.device, 'GET', '/v1/device/enrollments', { proof }),
      401,
      'ERR_DPOP_REPLAY',
    );
    const jti = newJti();
    const ok = await deviceCall(h, s.device, 'GET', sessionPath(), { claims: { jti } });
    expect(ok.status).toBe(200);
    await rejects(
      () => deviceCall(h, s.device, 'POST', '/v1/device/revoke', { claims: { jti } }),
      401,
      'ERR_DPOP_REPLAY',
    );
  });

  it('an unknown key → 404 ERR_UNKNOWN_DEVICE; a revoked key → 403 ERR_DEVICE_REVOKED', async () => {
    const stranger = await TestDevice.create(h.clock);
    for (const [method, path] of endpoints()) {
      await rejects(() => deviceCall(h, stranger, method, path), 404, 'ERR_UNKNOWN_DEVICE');
    }
    const revoked = await enrollDevice(h, 'dave');
    expect((await revoke(h, revoked.jkt, 'dave')).status).toBe(200);
    for (const [method, path] of endpoints()) {
      await rejects(() => deviceCall(h, revoked, method, path), 403, 'ERR_DEVICE_REVOKED');
    }
  });

  it('refusals run no handler and write no audit record', async () => {
    const before = await auditRecords(h);
    await deviceCall(h, s.device, 'POST', '/v1/device/revoke', { claims: { htm: 'GET' } });
    await deviceCall(h, s.device, 'POST', '/v1/device/revoke', { claims: { iat: 0 } });
    expect(await auditRecords(h)).toEqual(before);
    expect((await h.store.findDevicesByKey(s.device.jkt))[0]?.revokedAt).toBeNull();
  });
});
