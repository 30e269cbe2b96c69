/**
 * Security headers and CORS on every answer the server can give: every operation of the OpenAPI
 * description, called as an anonymous browser would, and each kind of refusal (400, 401 with a
 * DPoP challenge, 404, 413, 429, 500, a refused preflight). What each header stops is in
 * docs/threat-model.md ("A hostile web page using the server").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CSP } from '../app';
import { KEYS, boundSession, createHarness, type Answer, type Harness } from '../testing/harness';
import { OPENAPI } from './openapi';

const EXTENSION = 'chrome-extension://ncmjhdbejcemcpikjidibbgbflieoobh';
const BANK = 'https://bank.example';
const OTHERS = ['https://evil.example', 'null', `${BANK}.evil.example`, 'http://bank.example'];
const CORS = { extensionOrigins: [EXTENSION], bankOrigins: [BANK] };

/** Who may read which answer from a browser: the whole CORS allow-list, written out. */
const CORS_ALLOWED: Record<string, readonly string[]> = {
  [EXTENSION]: [
    'POST /v1/devices',
    'POST /v1/sessions/bind',
    'POST /v1/attestations',
    'GET /v1/device/sessions/{sid}',
    'GET /v1/device/enrollments',
    'POST /v1/device/revoke',
    'POST /v1/device/rotate',
  ],
  [BANK]: ['GET /.well-known/jwks.json'],
};

/** Every operation of the OpenAPI description, path parameters filled in. */
const OPERATIONS = Object.entries(OPENAPI.paths as Record<string, object>).flatMap(
  ([template, ops]) =>
    Object.keys(ops).map((method) => ({
      op: `${method.toUpperCase()} ${template}`,
      method: method.toUpperCase(),
      path: template.replace(/\{[^}]+\}/g, 'x0'),
    })),
);

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** The headers every answer carries (`cache` and `csp` where a route sets its own). */
function expectHardened(
  res: Answer,
  where: string,
  expected: { cache?: string; csp?: string; hsts?: boolean } = {},
): void {
  const header = (name: string) => res.headers.get(name);
  expect(header('x-content-type-options'), where).toBe('nosniff');
  expect(header('referrer-policy'), where).toBe('no-referrer');
  expect(header('x-frame-options'), where).toBe('DENY');
  expect(header('content-security-policy'), where).toBe(expected.csp ?? DEFAULT_CSP);
  expect(header('cache-control'), where).toBe(expected.cache ?? 'no-store');
  expect(header('strict-transport-security'), where).toBe(
    expected.hsts ? 'max-age=31536000' : null,
  );
  // Nothing names the software or lets a browser send credentials cross-origin.
  expect(header('x-powered-by'), where).toBeNull();
  expect(header('server'), where).toBeNull();
  expect(header('access-control-allow-credentials'), where).toBeNull();
  expect(header('access-control-allow-origin'), where).not.toBe('*');
}

/** What the route itself sets, where it differs from the default. */
function ownHeaders(path: string): { cache?: string; csp?: string } {
  if (path === '/.well-known/jwks.json') return { cache: 'public, max-age=300' }; // public keys
  return {};
}

describe('security headers', () => {
  it('on the answer to every operation of the API, whatever its status', async () => {
    h = await createHarness({ cors: CORS, hsts: true });
    const statuses = new Set<number>();
    for (const { op, method, path } of OPERATIONS) {
      const res = await h.call(method, path, { headers: { origin: 'https://evil.example' } });
      statuses.add(res.status);
      expect(res.status, op).toBeLessThan(500);
      expectHardened(res, `${op} → ${res.status}`, { ...ownHeaders(path), hsts: true });
    }
    // Successes and refusals both went through the check.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 401]));
  });

  it('on refusals: malformed, unauthenticated (DPoP challenge), unknown, too large', async () => {
    h = await createHarness({ hsts: true });
    const s = await boundSession(h);
    const answers: [string, Answer][] = [
      [
        'malformed JSON',
        await h.call('POST', '/v1/sessions', {
          key: KEYS.bankA,
          body: '{',
          contentType: 'application/json',
        }),
      ],
      ['no DPoP proof', await h.call('GET', `/v1/device/sessions/${s.sid}`)],
      ['unknown route', await h.call('GET', '/v1/nothing')],
      ['unknown method', await h.call('PATCH', '/v1/sessions')],
      [
        'too large',
        await h.call('POST', '/v1/attestations', {
          body: JSON.stringify({ attestation: 'x'.repeat(64 * 1024) }),
          contentType: 'application/json',
        }),
      ],
    ];
    expect(answers.map(([, res]) => res.status)).toEqual([400, 401, 404, 404, 413]);
    expect(answers[1]![1].headers.get('www-authenticate')).toMatch(/^DPoP /);
    for (const [what, res] of answers) expectHardened(res, what, { hsts: true });
  });

  it('on a rate-limited answer (429)', async () => {
    h = await createHarness({ rateLimits: { windowMs: 60_000, rp: 0, device: 0, address: 1 } });
    const call = () => h.call('POST', '/v1/attestations', { json: {}, remote: '203.0.113.9' });
    await call();
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expectHardened(limited, '429');
  });

  it('on an unexpected failure (500), which says nothing more', async () => {
    h = await createHarness({ hsts: true });
    const { sid } = await boundSession(h);
    // A bug under the service (closing the store would be a store failure: 503, not 500).
    h.store.getSession = () => Promise.reject(new TypeError('x is not a function'));
    const res = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expectHardened(res, '500', { hsts: true });
  });

  it('on CORS preflights, answered or refused', async () => {
    h = await createHarness({ cors: CORS });
    const preflight = (origin: string) =>
      h.call('OPTIONS', '/v1/attestations', {
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const answered = await preflight(EXTENSION);
    expect(answered.status).toBe(204);
    expectHardened(answered, 'preflight 204');
    const refused = await preflight('https://evil.example');
    expect(refused.status).toBe(404);
    expectHardened(refused, 'preflight 404');
  });
});

describe('CORS', () => {
  it('only the allow-listed origin, on its own endpoints and methods, may read an answer', async () => {
    h = await createHarness({ cors: CORS });
    for (const { op, method, path } of OPERATIONS) {
      for (const origin of [EXTENSION, BANK, ...OTHERS]) {
        const allowed = (CORS_ALLOWED[origin] ?? []).includes(op);
        const where = `${origin} ${op}`;
        const pre = await h.call('OPTIONS', path, {
          headers: {
            origin,
            'access-control-request-method': method,
            'access-control-request-headers': 'content-type',
          },
        });
        expect(pre.headers.get('access-control-allow-origin'), `preflight ${where}`).toBe(
          allowed ? origin : null,
        );
        expect(pre.status, `preflight ${where}`).toBe(allowed ? 204 : 404);
        const res = await h.call(method, path, { headers: { origin } });
        expect(res.headers.get('access-control-allow-origin'), where).toBe(allowed ? origin : null);
      }
    }
  });

  it('a preflight may not ask for credentials or the Authorization header', async () => {
    h = await createHarness({ cors: CORS });
    for (const headers of ['authorization', 'content-type, authorization', 'cookie', 'x-api-key']) {
      const res = await h.call('OPTIONS', '/v1/attestations', {
        headers: {
          origin: EXTENSION,
          'access-control-request-method': 'POST',
          'access-control-request-headers': headers,
        },
      });
      expect(res.headers.get('access-control-allow-origin'), headers).toBeNull();
    }
  });

  it('answers that differ by origin say so to caches (Vary: Origin)', async () => {
    h = await createHarness({ cors: CORS });
    for (const op of Object.values(CORS_ALLOWED).flat()) {
      const [method, template] = op.split(' ') as [string, string];
      const res = await h.call(method, template.replace(/\{[^}]+\}/g, 'x0'), {
        headers: { origin: 'https://evil.example' },
      });
      expect(res.headers.get('vary'), op).toContain('Origin');
    }
  });
});
