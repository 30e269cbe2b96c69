import { describe, expect, it } from 'vitest';
import { ConfigError, DEMO_BANK_ID, loadConfig } from './config';

const SECRET = 'abcdefghijklmnop';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const c = loadConfig({}, '/srv/tacit');
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      dbPath: '/srv/tacit/data/tacit.db',
      demo: true,
      demoBankKeyGenerated: true,
      issuer: undefined,
    });
    expect(c.apiKeys).toHaveLength(1);
    expect(c.apiKeys[0]).toMatchObject({ id: DEMO_BANK_ID, role: 'bank' });
    expect(c.apiKeys[0]!.secret.length).toBeGreaterThanOrEqual(32);
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {
        TACIT_HOST: '0.0.0.0',
        TACIT_PORT: '0',
        TACIT_DB: '/tmp/x/t.db',
        TACIT_API_KEYS: `bank-1:bank:${SECRET}1, ops:admin:${SECRET}:with:colons`,
        TACIT_DEMO: '1',
        TACIT_DEMO_BANK_KEY: `${SECRET}-demo`,
        TACIT_ISSUER: 'https://tacit.example',
      },
      '/',
    );
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      dbPath: '/tmp/x/t.db',
      demo: true,
      demoBankKeyGenerated: false,
      issuer: 'https://tacit.example',
    });
    expect(c.apiKeys).toEqual([
      { id: 'bank-1', role: 'bank', secret: `${SECRET}1` },
      { id: 'ops', role: 'admin', secret: `${SECRET}:with:colons` },
      { id: DEMO_BANK_ID, role: 'bank', secret: `${SECRET}-demo` },
    ]);
  });

  it('accepts any port 0-65535 and TACIT_DEMO=0 drops the demo bank key', () => {
    expect(loadConfig({ TACIT_PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ TACIT_PORT: '1' }).port).toBe(1);
    const c = loadConfig({ TACIT_DEMO: '0', TACIT_DEMO_BANK_KEY: `${SECRET}x` });
    expect(c.demo).toBe(false);
    expect(c.apiKeys).toEqual([]);
  });

  it.each([
    [{ TACIT_PORT: '65536' }, 'TACIT_PORT'],
    [{ TACIT_PORT: '-1' }, 'TACIT_PORT'],
    [{ TACIT_PORT: 'http' }, 'TACIT_PORT'],
    [{ TACIT_API_KEYS: 'bank-1:bank:short' }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `bank-1:root:${SECRET}` }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `Bank One:bank:${SECRET}` }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `bank-1:bank` }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `a:bank:${SECRET},a:bank:${SECRET}x` }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `a:bank:${SECRET},b:bank:${SECRET}` }, 'TACIT_API_KEYS'],
    [{ TACIT_API_KEYS: `demo-bank:bank:${SECRET}` }, 'TACIT_API_KEYS'],
    [{ TACIT_DEMO: 'maybe' }, 'TACIT_DEMO'],
    [{ TACIT_DEMO_BANK_KEY: 'short' }, 'TACIT_DEMO_BANK_KEY'],
    [{ TACIT_ISSUER: 'not a url' }, 'TACIT_ISSUER'],
    [{ TACIT_ISSUER: 'ftp://x.example' }, 'TACIT_ISSUER'],
    [{ TACIT_ISSUER: 'https://x.example/' }, 'TACIT_ISSUER'],
  ])('fails fast on %j naming %s, never echoing a secret', (env, name) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).not.toContain(SECRET);
  });
});
