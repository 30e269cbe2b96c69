import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEYS,
  TestDevice,
  attest,
  createHarness,
  enrollDevice,
  type Harness,
} from '../src/testing/harness';
import { ApiError, TacitSdkError } from './errors';
import { attestedSession, bankAClient, validToken } from './testing';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

async function rejection(promise: Promise<unknown>): Promise<TacitSdkError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TacitSdkError);
    return err as TacitSdkError;
  }
  throw new Error('expected a rejection');
}

describe('introspect', () => {
  it('answers an active token with the current assurance and action', async () => {
    const { token, session } = await validToken(h);
    const answer = await bankAClient(h).introspect(token);
    expect(answer).toMatchObject({
      active: true,
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid: session.sid,
      token_type: 'tacit-session',
      cnf: { jkt: session.device.jkt },
      tacit_assurance: 0.9,
      tacit_level: 'high',
      tacit_state: 'scoring',
      tacit_attestations: 1,
      tacit_action: 'allow',
    });
  });

  it('reports enrolment progress while enrolling; a server without the member gives null', async () => {
    const { token, session } = await validToken(h, { state: 'enrolling', conf: null });
    const client = bankAClient(h);
    await expect(client.introspect(token)).resolves.toMatchObject({
      tacit_level: 'enrolling',
      tacit_progress: 1,
    });
    await attest(h, session.device, { sid: session.sid, seq: 2, conf: 0.9 });
    await expect(client.introspect(token)).resolves.toMatchObject({ tacit_progress: null });
    const answer = (await h.call('POST', '/v1/introspect', { key: KEYS.bankA, json: { token } }))
      .json as Record<string, unknown>;
    delete answer.tacit_progress;
    const older = bankAClient(h, { fetch: async () => Response.json(answer) });
    await expect(older.introspect(token)).resolves.toMatchObject({ tacit_progress: null });
    const odd = bankAClient(h, {
      fetch: async () => Response.json({ ...answer, tacit_progress: 2 }),
    });
    expect((await rejection(odd.introspect(token))).code).toBe('ERR_SERVER_RESPONSE');
  });

  it('an ended session: {active: false}', async () => {
    const { token, session } = await validToken(h);
    const client = bankAClient(h);
    await client.endSession(session.sid);
    await expect(client.introspect(token)).resolves.toEqual({ active: false });
    // Offline verification cannot know: the signature is still good until exp.
    await expect(client.verifySessionToken(token)).resolves.toMatchObject({ sid: session.sid });
  });

  it("garbage, an expired token and another relying party's token: {active: false}", async () => {
    const client = bankAClient(h);
    const { token: other } = await validToken(h, { key: KEYS.bankB, subject: 'bob' });
    await expect(client.introspect('not-a-token')).resolves.toEqual({ active: false });
    await expect(client.introspect(other)).resolves.toEqual({ active: false });
    const { token } = await validToken(h);
    h.clock.advance(6 * 60_000);
    await expect(client.introspect(token)).resolves.toEqual({ active: false });
  });

  it('an empty or over-long token is inactive without a request', async () => {
    const client = bankAClient(h);
    await expect(client.introspect('')).resolves.toEqual({ active: false });
    await expect(client.introspect('x'.repeat(8193))).resolves.toEqual({ active: false });
    expect(client.calls.size).toBe(0);
  });

  it('a wrong API key: ApiError ERR_UNAUTHORIZED (not an inactive token)', async () => {
    const client = bankAClient(h, { apiKey: 'not-the-right-key-0123456789' });
    const err = await rejection(client.introspect('a.b.c'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'ERR_API', status: 401, serverCode: 'ERR_UNAUTHORIZED' });
    expect(err.message).not.toContain('not-the-right-key');
  });

  it('a wrong shape: ERR_SERVER_RESPONSE; a 5xx: ERR_SERVER_UNAVAILABLE', async () => {
    const odd = bankAClient(h, { fetch: async () => Response.json({ active: 'yes' }) });
    expect((await rejection(odd.introspect('a.b.c'))).code).toBe('ERR_SERVER_RESPONSE');
    const partial = bankAClient(h, {
      fetch: async () => Response.json({ active: true, sub: 'x' }),
    });
    expect((await rejection(partial.introspect('a.b.c'))).code).toBe('ERR_SERVER_RESPONSE');
    const down = bankAClient(h, { fetch: async () => new Response('', { status: 503 }) });
    expect((await rejection(down.introspect('a.b.c'))).code).toBe('ERR_SERVER_UNAVAILABLE');
    const redirect = bankAClient(h, {
      fetch: async () => new Response(null, { status: 302, headers: { location: 'https://x' } }),
    });
    expect((await rejection(redirect.introspect('a.b.c'))).code).toBe('ERR_SERVER_RESPONSE');
  });

  it('sends the token as an RFC 7662 form with the API key', async () => {
    let seen: { method?: string; type?: string | null; auth?: string | null; body?: string } = {};
    const client = bankAClient(h, {
      fetch: async (_url, init) => {
        const headers = new Headers(init?.headers);
        seen = {
          method: init?.method,
          type: headers.get('content-type'),
          auth: headers.get('authorization'),
          body: String(init?.body),
        };
        return Response.json({ active: false });
      },
    });
    await client.introspect('a.b+c');
    expect(seen).toEqual({
      method: 'POST',
      type: 'application/x-www-form-urlencoded',
      auth: `Bearer ${KEYS.bankA}`,
      body: 'token=a.b%2Bc',
    });
  });
});

describe('sessions', () => {
  it('open → bind → attest → token → decision → end', async () => {
    const client = bankAClient(h);
    const opened = await client.openSession('carol');
    expect(opened).toEqual({
      sessionId: expect.any(String),
      challenge: expect.any(String),
      expiresAt: new Date(h.clock.now() + 30 * 60_000).toISOString(),
    });
    // The device side, as the extension would do it.
    const device = await enrollDevice(h, 'carol');
    const bind = await h.call('POST', '/v1/sessions/bind', {
      json: { binding: await device.binding(opened.sessionId, opened.challenge) },
    });
    expect(bind.status).toBe(200);
    const attested = await attest(h, device, { sid: opened.sessionId, seq: 1, conf: 0.9 });
    expect(attested.status).toBe(202);

    const { token, expiresAt } = await client.issueSessionToken(opened.sessionId);
    expect(expiresAt).toBe(new Date(h.clock.now() + 300_000).toISOString());
    await expect(client.verifySessionToken(token)).resolves.toMatchObject({ sub: 'carol' });

    await expect(client.decision(opened.sessionId)).resolves.toMatchObject({
      action: 'allow',
      reasons: [],
      assurance: 0.9,
      level: 'high',
      policy: { stepUpBelow: 0.5, terminateBelow: 0.2 },
    });
    await client.endSession(opened.sessionId);
    const err = await rejection(client.decision(opened.sessionId));
    expect(err).toMatchObject({ code: 'ERR_API', status: 410, serverCode: 'ERR_SESSION_EXPIRED' });
  });

  it('a low assurance decides terminate, and the session is over for good', async () => {
    const client = bankAClient(h);
    const { sid } = await attestedSession(h, { conf: 0.1 });
    await expect(client.decision(sid)).resolves.toMatchObject({
      action: 'terminate',
      reasons: ['ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
    });
    const err = await rejection(client.issueSessionToken(sid));
    expect(err).toMatchObject({ status: 410, serverCode: 'ERR_SESSION_TERMINATED' });
  });

  it('confirmSession: a step-up cleared by a strong factor; not on a terminated session', async () => {
    const client = bankAClient(h);
    const { sid } = await attestedSession(h, { conf: 0.3 });
    await expect(client.decision(sid)).resolves.toMatchObject({ action: 'step-up' });
    await expect(client.confirmSession(sid, { method: 'webauthn' })).resolves.toEqual({
      sessionId: sid,
      confirmedAt: new Date(h.clock.now()).toISOString(),
      assurance: 0.95,
      level: 'high',
    });
    await expect(client.decision(sid)).resolves.toMatchObject({ action: 'allow' });
    const late = await rejection(
      client.confirmSession(sid, { method: 'webauthn', at: h.clock.now() - 120_000 }),
    );
    expect(late).toMatchObject({ status: 400, serverCode: 'ERR_STALE' });
    const { sid: low } = await attestedSession(h, { conf: 0.1 });
    await client.decision(low); // terminate
    const over = await rejection(client.confirmSession(low, { method: 'webauthn' }));
    expect(over).toMatchObject({ status: 410, serverCode: 'ERR_SESSION_TERMINATED' });
    await expect(client.confirmSession(sid, { method: 'sms' as 'webauthn' })).rejects.toThrow(
      TypeError,
    );
    await expect(client.confirmSession('../x', { method: 'webauthn' })).rejects.toThrow(TypeError);
  });

  it("another relying party's session: ERR_UNKNOWN_SESSION", async () => {
    const { sid } = await attestedSession(h, { key: KEYS.bankB });
    const err = await rejection(bankAClient(h).decision(sid));
    expect(err).toMatchObject({ status: 404, serverCode: 'ERR_UNKNOWN_SESSION' });
  });

  it('bad arguments are TypeErrors, before any request', async () => {
    const client = bankAClient(h);
    await expect(client.createEnrollmentCode('')).rejects.toThrow(TypeError);
    await expect(client.listDevices('a b')).rejects.toThrow(TypeError);
    await expect(client.revokeDevice('alice', '../x')).rejects.toThrow(TypeError);
    await expect(client.openSession('has space')).rejects.toThrow(TypeError);
    await expect(client.decision('../admin')).rejects.toThrow(TypeError);
    await expect(client.endSession('')).rejects.toThrow(TypeError);
    await expect(client.issueSessionToken('a/b')).rejects.toThrow(TypeError);
    await expect(client.introspect(42 as unknown as string)).rejects.toThrow(TypeError);
    expect(client.calls.size).toBe(0);
  });
});

describe('enrollment codes and devices', () => {
  it('code → the device enrolls with it → listed → revoked (its sessions then terminate)', async () => {
    const client = bankAClient(h);
    const { code, expiresAt } = await client.createEnrollmentCode('dora');
    expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    expect(expiresAt).toBe(new Date(h.clock.now() + 10 * 60_000).toISOString());
    await expect(client.listDevices('dora')).resolves.toEqual([]);

    const device = await TestDevice.create(h.clock);
    const enrolled = await h.call('POST', '/v1/devices', {
      json: { enrollment: await device.enrollment(code) },
    });
    expect(enrolled.status).toBe(201);
    const listed = await client.listDevices('dora');
    expect(listed).toEqual([
      {
        deviceId: device.jkt,
        subject: 'dora',
        createdAt: new Date(h.clock.now()).toISOString(),
        revokedAt: null,
      },
    ]);
    // Another relying party sees none of it.
    const other = bankAClient(h, { apiKey: KEYS.bankB, audience: 'bank-b' });
    await expect(other.listDevices('dora')).resolves.toEqual([]);

    h.clock.advance(1000);
    const revoked = await client.revokeDevice('dora', device.jkt);
    expect(revoked).toEqual({ ...listed[0], revokedAt: new Date(h.clock.now()).toISOString() });
    await expect(client.listDevices('dora')).resolves.toEqual([revoked]);
    const err = await rejection(client.revokeDevice('erin', device.jkt));
    expect(err).toMatchObject({ status: 404, serverCode: 'ERR_UNKNOWN_DEVICE' });
  });

  it('a wrong shape: ERR_SERVER_RESPONSE', async () => {
    const odd = bankAClient(h, {
      fetch: async () => Response.json({ devices: [{ deviceId: 'x' }] }),
    });
    expect((await rejection(odd.listDevices('dora'))).code).toBe('ERR_SERVER_RESPONSE');
    const noCode = bankAClient(h, {
      fetch: async () => Response.json({ expiresAt: 'x' }, { status: 201 }),
    });
    expect((await rejection(noCode.createEnrollmentCode('dora'))).code).toBe('ERR_SERVER_RESPONSE');
  });
});
