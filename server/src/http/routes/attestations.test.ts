import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash } from '../../crypto/attestation';
import {
  TestDevice,
  attest,
  boundSession,
  createHarness,
  expectError,
  hs256Jws,
  nowS,
  openSession,
  revoke,
  snapshot,
  unsecuredJws,
  type Answer,
  type AttestationInput,
  type BoundSession,
  type Harness,
} from '../../testing/harness';

let h: Harness;
let s: BoundSession;

beforeEach(async () => {
  h = await createHarness();
  s = await boundSession(h);
  // Two accepted attestations, so replay and chain checks have something to compare with.
  for (const seq of [1, 2]) {
    expect((await attest(h, s.device, { sid: s.sid, seq })).status).toBe(202);
  }
});
afterEach(async () => {
  await h.close();
});

const post = (attestation: unknown) =>
  h.call('POST', '/v1/attestations', { json: { attestation } });

/** Runs `send`, asserts the error, and that no row and no session field changed. */
async function rejects(send: () => Promise<Answer>, status: number, code: string) {
  const before = await snapshot(h, s.sid);
  expectError(await send(), status, code);
  expect(await snapshot(h, s.sid)).toEqual(before);
}

/** The bound device signs attestation seq 3 (patched by `input`); it must be rejected. */
function refused(
  input: Partial<AttestationInput>,
  status: number,
  code: string,
  header: Record<string, unknown> = {},
  device: TestDevice = s.device,
) {
  return rejects(
    () => device.attestation({ sid: s.sid, seq: 3, ...input }, header).then(post),
    status,
    code,
  );
}

/** Valid-looking attestation claims for hand-built tokens. */
const claims = () => ({
  sid: s.sid,
  seq: 3,
  iat: nowS(h),
  state: 'scoring',
  conf: 0.5,
  progress: 1,
  mv: 'm',
  n: { k: 1, p: 1 },
  prev: '',
});

const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('POST /v1/attestations accepts', () => {
  it('the next seq, chained, fresh: 202 and committed before the answer', async () => {
    const res = await attest(h, s.device, { sid: s.sid, seq: 3, conf: 0.4 });
    expect(res.status).toBe(202);
    const session = await h.store.getSession(s.sid);
    expect(session).toMatchObject({ lastSeq: 3, attestations: 3 });
    expect((await h.store.counts()).attestations).toBe(3);
  });

  it('gaps in seq (a lost statement) as long as the chain holds', async () => {
    expect((await attest(h, s.device, { sid: s.sid, seq: 10 })).status).toBe(202);
  });

  it('iat at the edges of the ±60 s window', async () => {
    const early = await attest(h, s.device, { sid: s.sid, seq: 3, iat: nowS(h) - 60 });
    expect(early.status).toBe(202);
    const late = await attest(h, s.device, { sid: s.sid, seq: 4, iat: nowS(h) + 60 });
    expect(late.status).toBe(202);
  });
});

describe('POST /v1/attestations rejects, storing nothing', () => {
  it('a forged signature: another key, the enrolled device’s kid → ERR_JWS_INVALID', async () => {
    const attacker = await TestDevice.create(h.clock);
    const prev = (await h.store.getSession(s.sid))!.lastHash;
    await refused({ prev }, 400, 'ERR_JWS_INVALID', { kid: s.device.jkt }, attacker);
  });

  it('a tampered payload (signature no longer matches) → ERR_JWS_INVALID', async () => {
    const jws = await s.device.attestation({ sid: s.sid, seq: 3, conf: 0.1 });
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const original = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const tampered = b64({ ...original, conf: 1 });
    await rejects(() => post(`${header}.${tampered}.${signature}`), 400, 'ERR_JWS_INVALID');
  });

  it('a binding statement sent as an attestation → ERR_JWS_TYP', async () => {
    const binding = await s.device.binding(s.sid, s.challenge);
    await rejects(() => post(binding), 400, 'ERR_JWS_TYP');
  });

  it('an enrollment statement sent as an attestation → ERR_JWS_TYP', async () => {
    await rejects(() => s.device.enrollment('ABCDE-FGHJK').then(post), 400, 'ERR_JWS_TYP');
  });

  const wrongTyps = [
    'JWT',
    'jwt',
    'tacit-session+jwt',
    'application/tacit-att+jwt',
    'TACIT-ATT+JWT',
    '',
    undefined,
  ];
  for (const typ of wrongTyps) {
    it(`typ ${JSON.stringify(typ)} → ERR_JWS_TYP`, async () => {
      await refused({}, 400, 'ERR_JWS_TYP', { typ });
    });
  }

  it('alg none (hand-built, empty signature) → ERR_JWS_ALG', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const token = unsecuredJws({ typ: 'tacit-att+jwt', kid: s.device.jkt, alg }, claims());
      await rejects(() => post(token), 400, 'ERR_JWS_ALG');
    }
  });

  it('HS256 (HMAC with a guessable secret) → ERR_JWS_ALG', async () => {
    const token = await hs256Jws({ typ: 'tacit-att+jwt', kid: s.device.jkt }, claims());
    await rejects(() => post(token), 400, 'ERR_JWS_ALG');
  });

  it('any other alg in the header → ERR_JWS_ALG, before any key lookup', async () => {
    const genuine = await s.device.attestation({ sid: s.sid, seq: 3 });
    const [, payload, signature] = genuine.split('.');
    for (const alg of ['ES384', 'ES512', 'RS256', 'PS256', 'EdDSA', 'HS512', 'es256', 42, null]) {
      for (const kid of [s.device.jkt, 'x'.repeat(43)]) {
        const header = b64({ alg, typ: 'tacit-att+jwt', kid });
        await rejects(() => post(`${header}.${payload}.${signature}`), 400, 'ERR_JWS_ALG');
      }
    }
  });

  it('header checks come before the device lookup (wrong typ + unknown kid → ERR_JWS_TYP)', async () => {
    const stranger = await TestDevice.create(h.clock);
    await refused({}, 400, 'ERR_JWS_TYP', { typ: 'JWT' }, stranger);
  });

  it('an unknown kid → ERR_UNKNOWN_DEVICE', async () => {
    const stranger = await TestDevice.create(h.clock);
    await refused({}, 404, 'ERR_UNKNOWN_DEVICE', {}, stranger);
  });

  it('no kid → ERR_JWS_INVALID', async () => {
    await refused({}, 400, 'ERR_JWS_INVALID', { kid: undefined });
  });

  it('a replayed attestation, an equal seq, a lower seq → ERR_REPLAY', async () => {
    const replay = await s.device.attestation({ sid: s.sid, seq: 3 });
    expect((await post(replay)).status).toBe(202);
    s.device.commit(s.sid, replay);
    await rejects(() => post(replay), 409, 'ERR_REPLAY');
    await refused({ seq: 3, conf: 0.5 }, 409, 'ERR_REPLAY');
    await refused({ seq: 1 }, 409, 'ERR_REPLAY');
  });

  it('an unknown session → ERR_UNKNOWN_SESSION', async () => {
    await refused({ sid: 'A'.repeat(43) }, 404, 'ERR_UNKNOWN_SESSION');
  });

  it('a session bound to another device → ERR_SESSION_BOUND', async () => {
    const other = await boundSession(h, 'bob');
    // bob's enrolled device attests into alice's session.
    await refused({ prev: '' }, 409, 'ERR_SESSION_BOUND', {}, other.device);
  });

  it('a session not bound yet → ERR_SESSION_NOT_BOUND', async () => {
    const open = await openSession(h);
    const before = await snapshot(h, open.sessionId);
    const jws = await s.device.attestation({ sid: open.sessionId, seq: 1, prev: '' });
    expectError(await post(jws), 409, 'ERR_SESSION_NOT_BOUND');
    expect(await snapshot(h, open.sessionId)).toEqual(before);
  });

  it('an expired session → ERR_SESSION_EXPIRED', async () => {
    h.clock.advance(30 * 60 * 1000);
    await refused({}, 410, 'ERR_SESSION_EXPIRED');
  });

  it('a revoked device → ERR_DEVICE_REVOKED', async () => {
    expect((await revoke(h, s.device.jkt)).status).toBe(200);
    await refused({}, 403, 'ERR_DEVICE_REVOKED');
  });

  it('a broken chain → ERR_CHAIN', async () => {
    const elsewhere = await s.device.attestation({ sid: s.sid, seq: 99 });
    for (const prev of ['', chainHash('other'), chainHash(elsewhere), 'A'.repeat(43)]) {
      await refused({ prev }, 409, 'ERR_CHAIN');
    }
  });

  it('a stale or future iat → ERR_STALE', async () => {
    for (const iat of [nowS(h) - 61, nowS(h) + 61, 0, nowS(h) - 86_400, 4_102_444_800]) {
      await refused({ iat }, 400, 'ERR_STALE');
    }
  });

  it('invalid claims → ERR_JWS_CLAIMS', async () => {
    const hostile: Record<string, unknown>[] = [
      { seq: 0 },
      { seq: -1 },
      { seq: 1.5 },
      { seq: '3' },
      { seq: Number.MAX_SAFE_INTEGER + 2 },
      { conf: 1.01 },
      { conf: -0.1 },
      { conf: '0.9' },
      { conf: null }, // scoring needs a conf
      { state: 'enrolling', conf: 0.5 }, // enrolling has none
      { state: 'done' },
      { progress: 2 },
      { mv: '' },
      { mv: 'x'.repeat(65) },
      { n: { k: -1, p: 0 } },
      { n: { k: 1 } },
      { n: null },
      { prev: 'not base64url!' },
      { prev: 'A'.repeat(44) },
      { sid: '' },
      { sid: 42 },
      { iat: '1' },
      { iat: null },
    ];
    const header = { typ: 'tacit-att+jwt', kid: s.device.jkt };
    for (const patch of hostile) {
      const jws = await s.device.sign(header, { ...claims(), ...patch });
      await rejects(() => post(jws), 400, 'ERR_JWS_CLAIMS');
    }
    for (const missing of Object.keys(claims())) {
      const partial: Record<string, unknown> = claims();
      delete partial[missing];
      const jws = await s.device.sign(header, partial);
      await rejects(() => post(jws), 400, 'ERR_JWS_CLAIMS');
    }
  });

  it('a payload that is not a JSON object → ERR_JWS_INVALID', async () => {
    for (const payload of [[1, 2], 'text', 42, null]) {
      const jws = await s.device.sign({ typ: 'tacit-att+jwt', kid: s.device.jkt }, payload);
      await rejects(() => post(jws), 400, 'ERR_JWS_INVALID');
    }
  });

  it('strings that are not compact JWS → ERR_JWS_INVALID', async () => {
    const header = b64({ alg: 'ES256', typ: 'tacit-att+jwt', kid: s.device.jkt });
    for (const junk of [
      'x',
      'a.b',
      'a.b.c',
      'a.b.c.d',
      '..',
      `${b64('not json')}.${b64({})}.`,
      `${b64([])}.${b64({})}.sig`,
      `${b64('{"alg":"ES256"')}.e30.sig`,
      `${header}.eyJ9.abc`,
      `${header}.${b64({})}.${'A'.repeat(86)}`,
      `${header}.${b64({})}.!!`,
    ]) {
      await rejects(() => post(junk), 400, 'ERR_JWS_INVALID');
    }
  });

  it('malformed bodies → ERR_BAD_REQUEST', async () => {
    const jws = await s.device.attestation({ sid: s.sid, seq: 3 });
    const json = 'application/json';
    const bodies: [string, string | undefined][] = [
      ['not json', json],
      ['{"attestation":', json],
      ['', json],
      ['null', json],
      ['[]', json],
      ['{}', json],
      ['{"attestation":42}', json],
      ['{"attestation":null}', json],
      ['{"attestation":""}', json],
      ['{"attestation":["a"]}', json],
      [JSON.stringify({ attestation: jws, extra: 1 }), json],
      [JSON.stringify({ Attestation: jws }), json],
      [JSON.stringify({ attestation: jws }), 'text/plain'],
      [JSON.stringify({ attestation: jws }), 'application/x-www-form-urlencoded'],
      [JSON.stringify({ attestation: jws }), undefined],
    ];
    for (const [body, contentType] of bodies) {
      const options = { body, ...(contentType ? { contentType } : {}) };
      await rejects(() => h.call('POST', '/v1/attestations', options), 400, 'ERR_BAD_REQUEST');
    }
  });

  it('an oversized body → 413 ERR_PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ attestation: 'a'.repeat(17 * 1024) });
    await rejects(
      () => h.call('POST', '/v1/attestations', { body, contentType: 'application/json' }),
      413,
      'ERR_PAYLOAD_TOO_LARGE',
    );
    // Also without a Content-Length (streamed body).
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        controller.close();
      },
    });
    const before = await snapshot(h, s.sid);
    const res = await h.app.request('/v1/attestations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    const answer = (await res.json()) as { error: { code: string } };
    expect(answer.error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(await snapshot(h, s.sid)).toEqual(before);
  });

  it('a JWS longer than the limit inside a small-enough body → ERR_BAD_REQUEST', async () => {
    await rejects(() => post('a'.repeat(9 * 1024)), 400, 'ERR_BAD_REQUEST');
  });
});

describe('concurrent attestations', () => {
  it('two with the same seq: exactly one is accepted, the other is a replay', async () => {
    const a = await s.device.attestation({ sid: s.sid, seq: 3, conf: 0.1 });
    const b = await s.device.attestation({ sid: s.sid, seq: 3, conf: 0.2 });
    const results = await Promise.all([post(a), post(b)]);
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    expect((await h.store.getSession(s.sid))?.attestations).toBe(3);
  });

  it('seq n and n+1 racing: n is accepted, n+1 is accepted or refused, never corrupts', async () => {
    const three = await s.device.attestation({ sid: s.sid, seq: 3 });
    s.device.commit(s.sid, three);
    const four = await s.device.attestation({ sid: s.sid, seq: 4 });
    const [r3, r4] = await Promise.all([post(three), post(four)]);
    expect(r3.status).toBe(202);
    // seq 4 may arrive first (chain error) or second (accepted).
    expect([202, 409]).toContain(r4.status);
    const session = await h.store.getSession(s.sid);
    expect(session?.lastSeq).toBe(r4.status === 202 ? 4 : 3);
  });
});
