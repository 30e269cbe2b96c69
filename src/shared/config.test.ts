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
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
      const type = schema.properties[key]!.type;
      const expected = Array.isArray(value)
        ? 'array'
        : Number.isInteger(value)
          ? 'integer'
          : typeof value;
      expect(type, key).toBe(expected);
    }
  });
});
