import { describe, expect, it, vi } from 'vitest';

vi.mock('webextension-polyfill', () => ({ default: {} }));
const { DEFAULT_CONFIG, parseConfig } = await import('./config');

describe('parseConfig: retentionDays', () => {
  it('defaults to 90 days and accepts whole days in [1, 3650]', () => {
    expect(DEFAULT_CONFIG.retentionDays).toBe(90);
    expect(parseConfig({ retentionDays: 1 })).toEqual({ retentionDays: 1 });
    expect(parseConfig({ retentionDays: 3650 })).toEqual({ retentionDays: 3650 });
  });

  it.each([0, 3651, 1.5, '30', null, NaN])('rejects %j as a whole source', (retentionDays) => {
    expect(() => parseConfig({ retentionDays, serverUrl: 'https://tacit.example' })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG' }),
    );
  });
});

describe('parseConfig: consent and model improvement', () => {
  it('defaults both off; accepts booleans only', () => {
    expect(DEFAULT_CONFIG.organisationConsent).toBe(false);
    expect(DEFAULT_CONFIG.modelImprovement).toBe(false);
    expect(parseConfig({ organisationConsent: true, modelImprovement: true })).toEqual({
      organisationConsent: true,
      modelImprovement: true,
    });
    for (const bad of ['true', 1, null]) {
      expect(() => parseConfig({ modelImprovement: bad })).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG' }),
      );
    }
  });
});

describe('parseConfig: the training server (aggregator)', () => {
  const key = { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'B'.repeat(43), kid: 'agg-1' };

  it('defaults to none; takes an origin and a JWKS of public P-256 keys (object or JSON text)', () => {
    expect(DEFAULT_CONFIG.aggregatorUrl).toBeNull();
    expect(DEFAULT_CONFIG.aggregatorJwks).toBeNull();
    const expected = { keys: [{ ...key, alg: 'ES256' }] };
    expect(
      parseConfig({ aggregatorUrl: 'https://fl.bank.example/', aggregatorJwks: { keys: [key] } }),
    ).toEqual({
      aggregatorUrl: 'https://fl.bank.example',
      aggregatorJwks: expected,
    });
    expect(parseConfig({ aggregatorJwks: JSON.stringify({ keys: [key] }) })).toEqual({
      aggregatorJwks: expected,
    });
  });

  it.each([
    ['a private key', { keys: [{ ...key, d: 'C'.repeat(43) }] }],
    ['another curve', { keys: [{ ...key, crv: 'P-384' }] }],
    ['an RSA key', { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }],
    ['another algorithm', { keys: [{ ...key, alg: 'HS256' }] }],
    ['no key', { keys: [] }],
    ['not JSON', '{keys'],
    ['a short coordinate', { keys: [{ ...key, x: 'A' }] }],
  ])('refuses %s as a whole source', (_name, aggregatorJwks) => {
    expect(() => parseConfig({ aggregatorJwks, serverUrl: 'https://tacit.example' })).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG' }),
    );
  });

  it('is policy only: the user cannot redirect updates or pin a key', async () => {
    const { POLICY_ONLY_KEYS } = await import('./config');
    expect(POLICY_ONLY_KEYS).toEqual(
      expect.arrayContaining(['aggregatorUrl', 'aggregatorJwks', 'organisationConsent']),
    );
  });
});

describe('defaults', () => {
  it("protect the demo bank's origins (npm start, port 8788) and talk to the verifier (8787)", () => {
    expect(DEFAULT_CONFIG.protectedOrigins).toEqual([
      'http://localhost:8788',
      'http://127.0.0.1:8788',
    ]);
    expect(DEFAULT_CONFIG.serverUrl).toBe('http://localhost:8787');
    // The verifier is never a protected origin: nothing is captured on its pages.
    expect(DEFAULT_CONFIG.protectedOrigins).not.toContain(DEFAULT_CONFIG.serverUrl);
  });
});

describe('matchPatternOf', () => {
  it('gives scheme and host for every port', async () => {
    const { matchPatternOf } = await import('./config');
    expect(matchPatternOf('https://bank.example:8443')).toBe('https://bank.example/*');
  });
});

describe('managed schema', () => {
  it('covers every setting, so an organisation can fix each one by policy', async () => {
    const schema = (await import('../public/managed-schema.json')).default as {
      properties: Record<string, { type: string }>;
    };
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(DEFAULT_CONFIG).sort());
    // Settings whose default is "none" (null): their type when set.
    const setTypes: Record<string, string> = { aggregatorUrl: 'string', aggregatorJwks: 'object' };
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
      const type = schema.properties[key]!.type;
      const expected =
        value === null
          ? setTypes[key]
          : Array.isArray(value)
            ? 'array'
            : Number.isInteger(value)
              ? 'integer'
              : typeof value;
      expect(type, key).toBe(expected);
    }
  });
});
