import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chromeExtensionId, isExtensionOrigin, isWebOrigin } from './';
import {
  KEYS,
  boundSession,
  createHarness,
  deviceCall,
  type BoundSession,
  type Harness,
} from '../../../testing/harness';

const EXTENSION = 'chrome-extension://ncmjhdbejcemcpikjidibbgbflieoobh';
const FIREFOX = 'moz-extension://0f1e2d3c-4b5a-4697-8877-665544332211';
const BANK = 'https://bank.example';

let h: Harness;
let s: BoundSession;
beforeEach(async () => {
  h = await createHarness({
    cors: { extensionOrigins: [EXTENSION, FIREFOX], bankOrigins: [BANK] },
  });
  s = await boundSession(h);
});
afterEach(async () => {
  await h.close();
});

const preflight = (path: string, origin: string, method: string, headers?: string) =>
  h.call('OPTIONS', path, {
    headers: {
      origin,
      'access-control-request-method': method,
      ...(headers === undefined ? {} : { 'access-control-request-headers': headers }),
    },
  });
const acao = (res: { headers: Headers }) => res.headers.get('access-control-allow-origin');

describe('CORS', () => {
  it('answers the extension’s preflights for the device endpoints', async () => {
    for (const origin of [EXTENSION, FIREFOX]) {
      for (const [path, method, headers] of [
        ['/v1/attestations', 'POST', 'content-type'],
        ['/v1/sessions/bind', 'POST', 'Content-Type'],
        ['/v1/devices', 'POST', 'content-type'],
        [`/v1/device/sessions/${s.sid}`, 'GET', 'dpop'],
        ['/v1/device/enrollments', 'GET', 'DPoP'],
        ['/v1/device/revoke', 'POST', 'content-type, dpop'],
        ['/v1/device/rotate', 'POST', 'content-type,dpop'],
      ] as const) {
        const res = await preflight(path, origin, method, headers);
        expect(res.status, `${origin} ${path}`).toBe(204);
        expect(acao(res)).toBe(origin);
        expect(res.headers.get('access-control-allow-methods')).toBe(method);
        expect(res.headers.get('access-control-allow-headers')).toBe('content-type, dpop');
        expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      }
    }
  });

  it('adds CORS headers to the extension’s actual requests, refusals included', async () => {
    const ok = await deviceCall(h, s.device, 'GET', '/v1/device/enrollments', {
      headers: { origin: EXTENSION },
    });
    expect(ok.status).toBe(200);
    expect(acao(ok)).toBe(EXTENSION);
    expect(ok.headers.get('vary')).toContain('Origin');
    const refused = await h.call('GET', '/v1/device/enrollments', {
      headers: { origin: EXTENSION },
    });
    expect(refused.status).toBe(401);
    expect(acao(refused)).toBe(EXTENSION);
    expect(refused.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
  });

  it('gives bank origins the JWKS only', async () => {
    const jwks = await h.call('GET', '/.well-known/jwks.json', { headers: { origin: BANK } });
    expect(acao(jwks)).toBe(BANK);
    expect(jwks.headers.get('vary')).toContain('Origin');
    expect((await preflight('/.well-known/jwks.json', BANK, 'GET')).status).toBe(204);
    for (const [path, method] of [
      ['/v1/attestations', 'POST'],
      ['/v1/device/enrollments', 'GET'],
      ['/v1/introspect', 'POST'],
      ['/v1/sessions', 'POST'],
    ] as const) {
      const res = await preflight(path, BANK, method, 'content-type');
      expect(res.status, path).toBe(404);
      expect(acao(res)).toBeNull();
    }
    const introspect = await h.call('POST', '/v1/introspect', {
      key: KEYS.bankA,
      json: { token: 'x' },
      headers: { origin: BANK },
    });
    expect(introspect.status).toBe(200);
    expect(acao(introspect)).toBeNull();
  });

  it('gives nothing to any other origin, method, header or endpoint', async () => {
    const others = [
      'https://evil.example',
      'chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      `${BANK}.evil.example`,
      'null',
      `${EXTENSION}/`,
    ];
    for (const origin of others) {
      const res = await preflight('/v1/attestations', origin, 'POST', 'content-type');
      expect(res.status, origin).toBe(404);
      expect(acao(res)).toBeNull();
      const get = await h.call('GET', '/.well-known/jwks.json', { headers: { origin } });
      expect(acao(get)).toBeNull();
    }
    // The extension's origin, but a method, header or endpoint it does not use.
    for (const [path, method, headers] of [
      ['/v1/attestations', 'DELETE', 'content-type'],
      ['/v1/attestations', 'POST', 'authorization'],
      ['/v1/introspect', 'POST', 'content-type'],
      ['/v1/audit', 'GET', undefined],
      ['/.well-known/jwks.json', 'GET', undefined],
    ] as const) {
      const res = await preflight(path, EXTENSION, method, headers);
      expect(acao(res), `${method} ${path}`).toBeNull();
    }
    const audit = await h.call('GET', '/v1/audit', {
      key: KEYS.admin,
      headers: { origin: EXTENSION },
    });
    expect(audit.status).toBe(200);
    expect(acao(audit)).toBeNull();
  });

  it('without configuration, nobody gets CORS', async () => {
    const plain = await createHarness();
    const res = await plain.call('OPTIONS', '/v1/attestations', {
      headers: { origin: EXTENSION, 'access-control-request-method': 'POST' },
    });
    expect(acao(res)).toBeNull();
    await plain.close();
  });
});

describe('origin helpers', () => {
  it('derives the Chrome id from manifest.json’s key', async () => {
    const { default: manifest } = await import('../../../../../manifest.json');
    expect(chromeExtensionId(manifest.key)).toBe('ncmjhdbejcemcpikjidibbgbflieoobh');
  });

  it('validates origins', () => {
    expect(isExtensionOrigin(EXTENSION)).toBe(true);
    expect(isExtensionOrigin(FIREFOX)).toBe(true);
    for (const bad of [
      'chrome-extension://ABCDEFGHIJKLMNOPABCDEFGHIJKLMNOP',
      'chrome-extension://qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq',
      `${EXTENSION}/`,
      'moz-extension://not-a-uuid',
      BANK,
    ]) {
      expect(isExtensionOrigin(bad), bad).toBe(false);
    }
    expect(isWebOrigin(BANK)).toBe(true);
    expect(isWebOrigin('http://localhost:8787')).toBe(true);
    for (const bad of [
      `${BANK}/`,
      `${BANK}/path`,
      'bank.example',
      'ftp://bank.example',
      'https://BANK.example',
      '*',
    ]) {
      expect(isWebOrigin(bad), bad).toBe(false);
    }
  });
});
