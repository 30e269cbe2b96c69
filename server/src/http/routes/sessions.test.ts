import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEYS,
  TestDevice,
  boundSession,
  createHarness,
  enrollDevice,
  expectError,
  hs256Jws,
  nowS,
  openSession,
  requestToken,
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

const bind = (binding: unknown) => h.call('POST', '/v1/sessions/bind', { json: { binding } });

/** Runs `send`, asserts the error, and that no row (and session `sid`, if given) changed. */
async function rejects(send: () => Promise<Answer>, status: number, code: string, sid?: string) {
  const before = await snapshot(h, sid);
  expectError(await send(), status, code);
  expect(await snapshot(h, sid)).toEqual(before);
}

/** `device` signs a binding for session `sid` (claims and header patched); it must be refused. */
function bindRefused(
  device: TestDevice,
  session: { sessionId: string; challenge: string },
  status: number,
  code: string,
  patch: { claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
) {
  const { sessionId, challenge } = session;
  return rejects(
    async () => bind(await device.binding(sessionId, challenge, patch.claims, patch.header)),
    status,
    code,
    sessionId,
  );
}

describe('POST /v1/sessions', () => {
  it('opens a session with a fresh 256-bit challenge and a 30 min lifetime', async () => {
    const a = await openSession(h);
    const b = await openSession(h);
    expect(a.sessionId).not.toBe(b.sessionId);
    expect(a.challenge).not.toBe(b.challenge);
    expect(Buffer.from(a.challenge, 'base64url')).toHaveLength(32);
    expect(await h.store.getSession(a.sessionId)).toMatchObject({
      rp: 'bank-a',
      subject: 'alice',
      deviceJkt: null,
      expiresAt: h.clock.now() + 30 * 60 * 1000,
    });
  });
});

describe('relying-party authentication', () => {
  const rpCalls: [string, string, unknown?][] = [
    ['POST', '/v1/enrollment-codes', { subject: 'alice' }],
    ['POST', '/v1/sessions', { subject: 'alice' }],
    ['GET', '/v1/devices?subject=alice'],
    ['POST', '/v1/introspect', { token: 'x' }],
  ];

  it('no key, an unknown key, a malformed header → generic 401, handler not run', async () => {
    const headers: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: `Bearer ${KEYS.bankA}x` },
      { authorization: `Bearer ${KEYS.bankA.slice(0, -1)}` },
      { authorization: KEYS.bankA },
      { authorization: `Basic ${Buffer.from(`bank-a:${KEYS.bankA}`).toString('base64')}` },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: `Bearer ${KEYS.bankA} extra` },
    ];
    for (const [method, path, json] of rpCalls) {
      for (const hdrs of headers) {
        const before = await snapshot(h);
        const res = await h.call(method, path, {
          ...(json ? { json } : {}),
          ...(hdrs ? { headers: hdrs } : {}),
        });
        expectError(res, 401, 'ERR_UNAUTHORIZED');
        expect(res.json.error.message).toBe('authentication required');
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tacit"');
        expect(await snapshot(h)).toEqual(before);
      }
    }
    // The cause is in the log, not in the answer.
    expect(h.logger.records.some((r) => r.cause === 'unknown api key')).toBe(true);
  });

  it('an admin key on bank endpoints → 403 ERR_FORBIDDEN, handler not run', async () => {
    for (const [method, path, json] of rpCalls) {
      const options = { key: KEYS.admin, ...(json ? { json } : {}) };
      await rejects(() => h.call(method, path, options), 403, 'ERR_FORBIDDEN');
    }
  });

  it('token and end-session calls without a key do nothing', async () => {
    const { sid } = await boundSession(h);
    const path = `/v1/sessions/${sid}`;
    await rejects(() => h.call('POST', `${path}/token`), 401, 'ERR_UNAUTHORIZED', sid);
    await rejects(() => h.call('DELETE', path), 401, 'ERR_UNAUTHORIZED', sid);
    await rejects(() => h.call('DELETE', path, { key: KEYS.admin }), 403, 'ERR_FORBIDDEN', sid);
    expect((await h.store.getSession(sid))?.endedAt).toBeNull();
  });
});

describe('POST /v1/sessions/:sid/token', () => {
  it('only the relying party that opened the session gets its token', async () => {
    const { sid } = await boundSession(h);
    await rejects(() => requestToken(h, sid, KEYS.bankB), 404, 'ERR_UNKNOWN_SESSION', sid);
    const end = () => h.call('DELETE', `/v1/sessions/${sid}`, { key: KEYS.bankB });
    await rejects(end, 404, 'ERR_UNKNOWN_SESSION', sid);
    expect((await requestToken(h, sid, KEYS.bankA)).status).toBe(200);
  });

  it('an unbound session has no token → ERR_SESSION_NOT_BOUND', async () => {
    const { sessionId } = await openSession(h);
    await rejects(() => requestToken(h, sessionId), 409, 'ERR_SESSION_NOT_BOUND');
  });

  it('unknown and malformed session ids', async () => {
    await rejects(() => requestToken(h, 'A'.repeat(43)), 404, 'ERR_UNKNOWN_SESSION');
    await rejects(() => requestToken(h, '%24'.repeat(10)), 400, 'ERR_BAD_REQUEST');
  });

  it('an expired session → ERR_SESSION_EXPIRED', async () => {
    const { sid } = await boundSession(h);
    h.clock.advance(30 * 60 * 1000);
    await rejects(() => requestToken(h, sid), 410, 'ERR_SESSION_EXPIRED');
  });
});

describe('POST /v1/sessions/bind rejects, storing nothing', () => {
  it('a second device → ERR_SESSION_BOUND', async () => {
    const { sid, challenge } = await boundSession(h);
    const second = await enrollDevice(h, 'alice');
    await bindRefused(second, { sessionId: sid, challenge }, 409, 'ERR_SESSION_BOUND');
    expect((await h.store.getSession(sid))?.deviceJkt).not.toBe(second.jkt);
  });

  it('a device enrolled for another subject or another relying party → ERR_UNKNOWN_DEVICE', async () => {
    const session = await openSession(h, 'alice');
    const bobs = await enrollDevice(h, 'bob');
    await bindRefused(bobs, session, 404, 'ERR_UNKNOWN_DEVICE');
    const otherBank = await enrollDevice(h, 'alice', KEYS.bankB);
    await bindRefused(otherBank, session, 404, 'ERR_UNKNOWN_DEVICE');
  });

  it('an unenrolled device → ERR_UNKNOWN_DEVICE', async () => {
    const session = await openSession(h);
    await bindRefused(await TestDevice.create(h.clock), session, 404, 'ERR_UNKNOWN_DEVICE');
  });

  it('a wrong challenge → ERR_CHALLENGE_MISMATCH', async () => {
    const device = await enrollDevice(h);
    const { sessionId, challenge } = await openSession(h);
    const other = await openSession(h);
    for (const chal of [other.challenge, challenge.slice(0, -1), `${challenge}A`, 'A']) {
      await bindRefused(device, { sessionId, challenge: chal }, 400, 'ERR_CHALLENGE_MISMATCH');
    }
  });

  it('an unknown or expired session', async () => {
    const device = await enrollDevice(h);
    const session = await openSession(h);
    const unknown = { ...session, sessionId: 'B'.repeat(43) };
    await bindRefused(device, unknown, 404, 'ERR_UNKNOWN_SESSION');
    h.clock.advance(30 * 60 * 1000);
    await bindRefused(device, session, 410, 'ERR_SESSION_EXPIRED');
  });

  it('a replayed binding (same jti) → ERR_REPLAY', async () => {
    const device = await enrollDevice(h);
    const { sessionId, challenge } = await openSession(h);
    const binding = await device.binding(sessionId, challenge);
    expect((await bind(binding)).status).toBe(200);
    await rejects(() => bind(binding), 409, 'ERR_REPLAY', sessionId);
  });

  it('stale iat → ERR_STALE', async () => {
    const device = await enrollDevice(h);
    const session = await openSession(h);
    for (const iat of [nowS(h) - 61, nowS(h) + 61]) {
      await bindRefused(device, session, 400, 'ERR_STALE', { claims: { iat } });
    }
  });

  it('wrong typ, alg none, HS256, forged signature', async () => {
    const device = await enrollDevice(h);
    const session = await openSession(h);
    const { sessionId } = session;
    const claims = { sid: sessionId, chal: session.challenge, iat: nowS(h), jti: 'x1' };
    const header = { typ: 'tacit-bind+jwt', kid: device.jkt };
    for (const typ of ['tacit-att+jwt', 'JWT']) {
      await bindRefused(device, session, 400, 'ERR_JWS_TYP', { header: { typ } });
    }
    await rejects(() => bind(unsecuredJws(header, claims)), 400, 'ERR_JWS_ALG', sessionId);
    await rejects(async () => bind(await hs256Jws(header, claims)), 400, 'ERR_JWS_ALG', sessionId);
    const attacker = await TestDevice.create(h.clock);
    await bindRefused(attacker, session, 400, 'ERR_JWS_INVALID', { header: { kid: device.jkt } });
  });

  it('bad claims → ERR_JWS_CLAIMS; malformed bodies → ERR_BAD_REQUEST', async () => {
    const device = await enrollDevice(h);
    const session = await openSession(h);
    for (const claims of [{ sid: 1 }, { chal: null }, { jti: '' }, { sid: 'has space' }]) {
      await bindRefused(device, session, 400, 'ERR_JWS_CLAIMS', { claims });
    }
    for (const json of [{}, { binding: 1 }, { binding: '' }, { bind: 'x' }, null, []]) {
      const send = () => h.call('POST', '/v1/sessions/bind', { json });
      await rejects(send, 400, 'ERR_BAD_REQUEST', session.sessionId);
    }
  });
});
