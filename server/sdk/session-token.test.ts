import {
  CompactSign,
  SignJWT,
  base64url,
  importJWK,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KEYS, createHarness, hs256Jws, unsecuredJws, type Harness } from '../src/testing/harness';
import { createTacitClient } from './client';
import { TacitSdkError, type TacitSdkErrorCode } from './errors';
import { SESSION_TOKEN_TYP } from './session-token';
import {
  SERVER_URL,
  attestedSession,
  bankAClient,
  payloadOf,
  serverSigned,
  validToken,
} from './testing';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

/** The error `promise` rejects with; fails the test if it resolves or throws something else. */
async function rejection(promise: Promise<unknown>): Promise<TacitSdkError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TacitSdkError);
    return err as TacitSdkError;
  }
  throw new Error('expected a rejection');
}

/** Asserts the code, and that nothing in the error carries the token or any part of it. */
async function expectRefused(token: string, code: TacitSdkErrorCode, client = bankAClient(h)) {
  const err = await rejection(client.verifySessionToken(token));
  expect(err.code).toBe(code);
  const seen = [err.message, String(err.cause), err.stack ?? '', JSON.stringify(err)].join('\n');
  for (const part of [token, ...token.split('.')].filter((p) => p.length > 8)) {
    expect(seen).not.toContain(part);
  }
  return err;
}

describe('verifySessionToken: accepted', () => {
  it('returns the typed claims of a token the server issued', async () => {
    const { token, session } = await validToken(h);
    const claims = await bankAClient(h).verifySessionToken(token);
    expect(claims).toEqual({
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid: session.sid,
      iat: Math.floor(h.clock.now() / 1000),
      exp: Math.floor(h.clock.now() / 1000) + 300,
      jti: expect.any(String),
      cnf: { jkt: session.device.jkt },
      tacit: { assurance: 0.9, level: 'high', state: 'scoring' },
    });
  });

  it('accepts a token within the clock tolerance after exp, refuses it beyond', async () => {
    const { token } = await validToken(h);
    const client = bankAClient(h, { clockToleranceSeconds: 5 });
    h.clock.advance(300_000 + 4_000);
    await expect(client.verifySessionToken(token)).resolves.toMatchObject({ sub: 'alice' });
    h.clock.advance(2_000);
    await expectRefused(token, 'ERR_TOKEN_EXPIRED', client);
  });

  it('fetches the JWKS once and reuses it', async () => {
    const client = bankAClient(h);
    for (let i = 0; i < 3; i++) {
      const { token } = await validToken(h);
      await client.verifySessionToken(token);
    }
    expect(client.calls.get('/.well-known/jwks.json')).toBe(1);
  });
});

describe('verifySessionToken: refused', () => {
  it('an expired token: ERR_TOKEN_EXPIRED', async () => {
    const { token } = await validToken(h);
    h.clock.advance(10 * 60_000);
    await expectRefused(token, 'ERR_TOKEN_EXPIRED');
  });

  it('a signed token whose iat is older than the 5 min lifetime, with a far exp', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const token = await serverSigned(h, { ...claims, exp: claims.exp! + 3600 });
    h.clock.advance(6 * 60_000);
    await expectRefused(token, 'ERR_TOKEN_EXPIRED');
  });

  it('a device attestation (typ tacit-att+jwt): ERR_TOKEN_TYP', async () => {
    const session = await attestedSession(h);
    const jws = await session.device.attestation({ sid: session.sid, seq: 2 });
    await expectRefused(jws, 'ERR_TOKEN_TYP');
  });

  it.each(['JWT', 'tacit-att+jwt', 'application/tacit-session+jwt', undefined])(
    'a token signed by the server key with typ %s: ERR_TOKEN_TYP',
    async (typ) => {
      const claims = payloadOf((await validToken(h)).token);
      const keys = (await h.call('GET', '/.well-known/jwks.json')).json as JSONWebKeySet;
      // Header without typ needs the raw signer; with typ the server's own sign().
      const token =
        typ === undefined
          ? await rawServerSign(h, { alg: 'ES256', kid: keys.keys[0]!.kid! }, claims)
          : await serverSigned(h, claims, typ);
      await expectRefused(token, 'ERR_TOKEN_TYP');
    },
  );

  it('HS256 keyed with the server public key material: ERR_TOKEN_ALG', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const jwk = ((await h.call('GET', '/.well-known/jwks.json')).json as JSONWebKeySet).keys[0]!;
    for (const secret of [JSON.stringify(jwk), jwk.x!, `${jwk.x}${jwk.y}`]) {
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: SESSION_TOKEN_TYP, kid: jwk.kid! })
        .sign(new TextEncoder().encode(secret.padEnd(32, '=')));
      await expectRefused(token, 'ERR_TOKEN_ALG');
    }
    const shared = await hs256Jws({ typ: SESSION_TOKEN_TYP, kid: jwk.kid }, claims);
    await expectRefused(shared, 'ERR_TOKEN_ALG');
  });

  it('alg none (empty signature): ERR_TOKEN_ALG', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const kid = ((await h.call('GET', '/.well-known/jwks.json')).json as JSONWebKeySet).keys[0]!
      .kid;
    await expectRefused(unsecuredJws({ typ: SESSION_TOKEN_TYP, kid }, claims), 'ERR_TOKEN_ALG');
  });

  it('a wrong issuer: ERR_TOKEN_CLAIMS', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const token = await serverSigned(h, { ...claims, iss: 'http://evil.test' });
    const err = await expectRefused(token, 'ERR_TOKEN_CLAIMS');
    expect(err.cause).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED iss');
    // And a client expecting another issuer refuses the genuine token.
    const { token: genuine } = await validToken(h);
    await expectRefused(
      genuine,
      'ERR_TOKEN_CLAIMS',
      bankAClient(h, { issuer: 'https://tacit.other.test' }),
    );
  });

  it("another relying party's token (aud bank-b): ERR_TOKEN_CLAIMS", async () => {
    const { token } = await validToken(h, { key: KEYS.bankB });
    const err = await expectRefused(token, 'ERR_TOKEN_CLAIMS');
    expect(err.cause).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED aud');
  });

  it('a kid the JWKS does not publish: ERR_TOKEN_KID', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: SESSION_TOKEN_TYP, kid: 'not-a-server-key' })
      .sign(privateKey);
    await expectRefused(token, 'ERR_TOKEN_KID');
    const noKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: SESSION_TOKEN_TYP })
      .sign(privateKey);
    await expectRefused(noKid, 'ERR_TOKEN_KID');
  });

  it("the server's kid on another key's signature: ERR_TOKEN_SIGNATURE", async () => {
    const claims = payloadOf((await validToken(h)).token);
    const kid = ((await h.call('GET', '/.well-known/jwks.json')).json as JSONWebKeySet).keys[0]!
      .kid!;
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: SESSION_TOKEN_TYP, kid })
      .sign(privateKey);
    await expectRefused(token, 'ERR_TOKEN_SIGNATURE');
  });

  it('a tampered signature or payload: ERR_TOKEN_SIGNATURE', async () => {
    const { token } = await validToken(h, { conf: 0.3 });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const i = 20;
    const flipped =
      signature.slice(0, i) + (signature[i] === 'A' ? 'B' : 'A') + signature.slice(i + 1);
    await expectRefused(`${header}.${payload}.${flipped}`, 'ERR_TOKEN_SIGNATURE');
    // Raise the frozen assurance and keep the signature.
    const claims = payloadOf(token) as JWTPayload & { tacit: Record<string, unknown> };
    const raised = base64url.encode(
      JSON.stringify({ ...claims, tacit: { assurance: 1, level: 'high', state: 'scoring' } }),
    );
    await expectRefused(`${header}.${raised}.${signature}`, 'ERR_TOKEN_SIGNATURE');
  });

  it('signed claims of the wrong shape: ERR_TOKEN_CLAIMS', async () => {
    const claims = payloadOf((await validToken(h)).token);
    const variants: JWTPayload[] = [
      { ...claims, sid: undefined },
      { ...claims, jti: 7 as unknown as string },
      { ...claims, cnf: {} },
      { ...claims, tacit: undefined },
      { ...claims, tacit: { assurance: 1.5, level: 'high', state: 'scoring' } },
      { ...claims, tacit: { assurance: 0.9, level: 'excellent', state: 'scoring' } },
      { ...claims, tacit: { assurance: 0.9, level: 'high', state: 'sleeping' } },
      { ...claims, iat: (claims.iat as number) + 600, exp: (claims.exp as number) + 600 },
      { ...claims, nbf: (claims.iat as number) + 600 },
    ];
    for (const v of variants) {
      await expectRefused(await serverSigned(h, JSON.parse(JSON.stringify(v))), 'ERR_TOKEN_CLAIMS');
    }
  });

  it.each([
    '',
    'abc',
    'a.b',
    'a.b.c',
    'a.b.c.d.e',
    `${base64url.encode('{"alg":"ES256"')}.e30.`,
    `${'x'.repeat(9000)}.e30.sig`,
  ])('a malformed token (%#): ERR_TOKEN_MALFORMED', async (token) => {
    await expectRefused(token, 'ERR_TOKEN_MALFORMED');
  });
});

describe('the JWKS', () => {
  it('unreachable: ERR_SERVER_UNAVAILABLE, not a token error', async () => {
    const { token } = await validToken(h);
    const down = bankAClient(h, {
      fetch: () => Promise.reject(new TypeError('fetch failed: connect ECONNREFUSED')),
    });
    await expectRefused(token, 'ERR_SERVER_UNAVAILABLE', down);
    const failing = bankAClient(h, { fetch: async () => new Response('oops', { status: 502 }) });
    await expectRefused(token, 'ERR_SERVER_UNAVAILABLE', failing);
    const garbage = bankAClient(h, { fetch: async () => new Response('not json') });
    await expectRefused(token, 'ERR_SERVER_RESPONSE', garbage);
  });

  it('an unknown kid refetches at most once per 5 s cooldown', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwks: JSONWebKeySet = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }],
    };
    let fetches = 0;
    const client = createTacitClient({
      serverUrl: SERVER_URL,
      apiKey: KEYS.bankA,
      issuer: 'http://tacit.test',
      audience: 'bank-a',
      now: () => h.clock.now(),
      fetch: async () => {
        fetches++;
        return Response.json(jwks);
      },
    });
    const sign = async (kid: string) => {
      const iat = Math.floor(h.clock.now() / 1000);
      return new SignJWT({
        iss: 'http://tacit.test',
        aud: 'bank-a',
        sub: 'alice',
        sid: 's1',
        iat,
        exp: iat + 300,
        jti: `j-${kid}`,
        cnf: { jkt: 'device' },
        tacit: { assurance: 0.9, level: 'high', state: 'scoring' },
      })
        .setProtectedHeader({ alg: 'ES256', typ: SESSION_TOKEN_TYP, kid })
        .sign(privateKey);
    };
    await expect(client.verifySessionToken(await sign('k1'))).resolves.toBeDefined();
    expect(fetches).toBe(1);
    // A rotated key appears in the server's set; within the cooldown it is not refetched.
    jwks.keys.push({ ...jwks.keys[0]!, kid: 'k2' });
    for (let i = 0; i < 5; i++) {
      await expect(rejection(client.verifySessionToken(await sign('k2')))).resolves.toMatchObject({
        code: 'ERR_TOKEN_KID',
      });
    }
    expect(fetches).toBe(1);
    vi.setSystemTime(Date.now() + 5_001);
    await expect(client.verifySessionToken(await sign('k2'))).resolves.toMatchObject({
      jti: 'j-k2',
    });
    expect(fetches).toBe(2);
  });
});

describe('configuration', () => {
  it('offline verification without an audience is a TypeError', async () => {
    const client = bankAClient(h, { audience: undefined });
    await expect(client.verifySessionToken('a.b.c')).rejects.toThrow(TypeError);
  });

  it.each([
    ['serverUrl', { serverUrl: 'ftp://tacit.test' }],
    ['serverUrl', { serverUrl: 'not a url' }],
    ['serverUrl', { serverUrl: 'http://tacit.bank.example' }],
    ['serverUrl', { serverUrl: 'https://user:pw@tacit.bank.example' }],
    ['serverUrl', { serverUrl: 'https://tacit.bank.example/?x=1' }],
    ['apiKey', { apiKey: 'short' }],
    ['apiKey', { apiKey: 'has spaces in the middle of it' }],
    ['audience', { audience: 'Bank A' }],
    ['issuer', { issuer: '' }],
    ['clockToleranceSeconds', { clockToleranceSeconds: -1 }],
    ['clockToleranceSeconds', { clockToleranceSeconds: Number.NaN }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['fetch', { fetch: 'fetch' }],
  ])('a bad %s is a TypeError at construction, without the secret', (_name, bad) => {
    const options = {
      serverUrl: 'https://tacit.bank.example',
      apiKey: KEYS.bankA,
      audience: 'bank-a',
      ...bad,
    } as Parameters<typeof createTacitClient>[0];
    let thrown: unknown;
    try {
      createTacitClient(options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toContain(_name);
    expect((thrown as Error).message).not.toContain(KEYS.bankA);
  });

  it('http is accepted for loopback hosts, and elsewhere with allowHttp', () => {
    for (const serverUrl of ['http://localhost:8787', 'http://127.0.0.1:8787', 'http://[::1]:1']) {
      expect(() => createTacitClient({ serverUrl, apiKey: KEYS.bankA })).not.toThrow();
    }
    expect(() =>
      createTacitClient({ serverUrl: 'http://tacit:8787', apiKey: KEYS.bankA, allowHttp: true }),
    ).not.toThrow();
  });

  it('the issuer defaults to serverUrl without a trailing slash', () => {
    const client = createTacitClient({ serverUrl: 'https://tacit.example/', apiKey: KEYS.bankA });
    expect(client.issuer).toBe('https://tacit.example');
  });
});

/** Signs `payload` with the server's private key under an arbitrary protected header. */
async function rawServerSign(
  harness: Harness,
  header: Record<string, unknown>,
  payload: JWTPayload,
): Promise<string> {
  const [record] = (await harness.store.listSigningKeys()).filter((r) => r.retiredAt === null);
  const key = await importJWK(JSON.parse(record!.privateJwk), 'ES256');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...header, alg: 'ES256' })
    .sign(key);
}
