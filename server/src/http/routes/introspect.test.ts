import { SignJWT, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KEYS,
  attest,
  boundSession,
  createHarness,
  expectError,
  hs256Jws,
  nowS,
  requestToken,
  unsecuredJws,
  type BoundSession,
  type Harness,
} from '../../testing/harness';

let h: Harness;
let s: BoundSession;
let token: string;

beforeEach(async () => {
  h = await createHarness();
  s = await boundSession(h);
  await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
  token = (await requestToken(h, s.sid)).json.token;
});
afterEach(async () => {
  await h.close();
});

const introspectForm = (t: string, key: string = KEYS.bankA) =>
  h.call('POST', '/v1/introspect', {
    key,
    body: new URLSearchParams({ token: t }).toString(),
    contentType: 'application/x-www-form-urlencoded',
  });

const INACTIVE = '{"active":false}';

describe('POST /v1/introspect', () => {
  it('form and JSON bodies give the same answer', async () => {
    const form = await introspectForm(token);
    const json = await h.call('POST', '/v1/introspect', {
      key: KEYS.bankA,
      json: { token, token_type_hint: 'tacit-session' },
    });
    expect(form.status).toBe(200);
    expect(form.json).toMatchObject({ active: true, tacit_assurance: 0.9, tacit_level: 'high' });
    expect(json.json).toEqual(form.json);
  });

  it('a token of another relying party is inactive for the caller', async () => {
    expect((await introspectForm(token, KEYS.bankB)).text).toBe(INACTIVE);
    expect((await introspectForm(token, KEYS.demo)).text).toBe(INACTIVE);
  });

  it('anything but a valid session token → exactly {"active": false}', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString());
    const claims = decode(payload) as Record<string, unknown>;
    const reencode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreignKey = (await generateKeyPair('ES256')).privateKey;
    const kid = decode(header).kid as string;
    const sign = (c: Record<string, unknown>, hdr: Record<string, unknown> = {}) =>
      new SignJWT(c)
        .setProtectedHeader({ alg: 'ES256', typ: 'tacit-session+jwt', kid, ...hdr })
        .sign(foreignKey);

    const hostile = [
      'x',
      `${header}.${payload}`,
      `${header}.${reencode({ ...claims, tacit: { assurance: 1, level: 'high' } })}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -2)}AA`,
      unsecuredJws({ typ: 'tacit-session+jwt', kid }, claims),
      await hs256Jws({ typ: 'tacit-session+jwt', kid }, claims),
      await sign(claims), // right kid, wrong key
      await sign(claims, { kid: 'unknown' }),
      // A device statement is never a session token, even if well signed.
      await s.device.attestation({ sid: s.sid, seq: 2 }),
      await s.device.binding(s.sid, s.challenge),
    ];
    for (const t of hostile) {
      const res = await introspectForm(t);
      expect(res.status).toBe(200);
      expect(res.text).toBe(INACTIVE);
    }
  });

  it('an expired token, an ended session, an expired session → inactive', async () => {
    h.clock.advance(301_000);
    expect((await introspectForm(token)).text).toBe(INACTIVE);

    const fresh = (await requestToken(h, s.sid)).json.token;
    expect((await introspectForm(fresh)).json.active).toBe(true);
    await h.call('DELETE', `/v1/sessions/${s.sid}`, { key: KEYS.bankA });
    expect((await introspectForm(fresh)).text).toBe(INACTIVE);
  });

  it('a token that outlived its session row (purged) → inactive', async () => {
    h.clock.advance(31 * 60 * 1000 + 7 * 24 * 3600 * 1000);
    await h.services.maintenance.purgeExpired();
    expect(await h.store.getSession(s.sid)).toBeUndefined();
    expect((await introspectForm(token)).text).toBe(INACTIVE);
  });

  it('requires a token parameter and a known content type', async () => {
    for (const [body, contentType] of [
      ['', 'application/x-www-form-urlencoded'],
      ['tok=1', 'application/x-www-form-urlencoded'],
      [`token=${token}&token=${token}`, 'application/x-www-form-urlencoded'],
      ['{}', 'application/json'],
      ['{"token":5}', 'application/json'],
      ['nope', 'application/json'],
      [`token=${token}`, 'text/plain'],
    ] as const) {
      const res = await h.call('POST', '/v1/introspect', { key: KEYS.bankA, body, contentType });
      expectError(res, 400, 'ERR_BAD_REQUEST');
    }
  });

  it('the answer is not cacheable', async () => {
    expect((await introspectForm(token)).headers.get('cache-control')).toBe('no-store');
  });

  it('reports the current assurance, not the one in the token', async () => {
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.6 });
    const res = await introspectForm(token);
    expect(res.json).toMatchObject({
      tacit_assurance: 0.6,
      tacit_level: 'medium',
      tacit_attestations: 2,
      tacit_last_attestation_at: nowS(h),
    });
  });

  it('reports the enrolment progress while enrolling, null once scoring', async () => {
    expect((await introspectForm(token)).json.tacit_progress).toBeNull();
    await attest(h, s.device, {
      sid: s.sid,
      seq: 2,
      state: 'enrolling',
      conf: null,
      progress: 0.4,
    });
    expect((await introspectForm(token)).json).toMatchObject({
      tacit_level: 'enrolling',
      tacit_state: 'enrolling',
      tacit_progress: 0.4,
    });
    await attest(h, s.device, { sid: s.sid, seq: 3, conf: 0.7 });
    expect((await introspectForm(token)).json).toMatchObject({
      tacit_level: 'medium',
      tacit_progress: null,
    });
  });
});
