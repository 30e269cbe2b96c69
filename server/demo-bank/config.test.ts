import { describe, expect, it } from 'vitest';
import { BankConfigError, loadBankConfig } from './config';

const KEY = 'demo-bank-key-0123456789';

describe('demo bank configuration', () => {
  it('defaults: loopback, port 8788, data/demo-bank.db, the verifier on 8787', () => {
    expect(loadBankConfig({ DEMO_BANK_API_KEY: KEY }, '/srv')).toEqual({
      host: '127.0.0.1',
      port: 8788,
      dbPath: '/srv/data/demo-bank.db',
      tacitUrl: 'http://127.0.0.1:8787',
      tacitIssuer: undefined,
      apiKey: KEY,
      rpId: 'demo-bank',
      tls: undefined,
      publicUrl: undefined,
    });
  });

  it('takes every variable', () => {
    const c = loadBankConfig(
      {
        DEMO_BANK_API_KEY: KEY,
        DEMO_BANK_HOST: '0.0.0.0',
        DEMO_BANK_PORT: '0',
        DEMO_BANK_DB: ':memory:',
        DEMO_BANK_TACIT_URL: 'https://tacit.example/',
        DEMO_BANK_TACIT_ISSUER: 'https://issuer.example',
        DEMO_BANK_RP_ID: 'bank-a',
        DEMO_BANK_PUBLIC_URL: 'https://bank.example',
      },
      '/srv',
    );
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      dbPath: ':memory:',
      tacitUrl: 'https://tacit.example',
      tacitIssuer: 'https://issuer.example',
      rpId: 'bank-a',
      publicUrl: 'https://bank.example',
    });
  });

  it.each([
    [{}, 'DEMO_BANK_API_KEY'],
    [{ DEMO_BANK_API_KEY: 'short' }, 'DEMO_BANK_API_KEY'],
    [{ DEMO_BANK_API_KEY: KEY, DEMO_BANK_PORT: '65536' }, 'DEMO_BANK_PORT'],
    [{ DEMO_BANK_API_KEY: KEY, DEMO_BANK_TACIT_URL: 'ftp://x' }, 'DEMO_BANK_TACIT_URL'],
    [{ DEMO_BANK_API_KEY: KEY, DEMO_BANK_RP_ID: 'Bank A' }, 'DEMO_BANK_RP_ID'],
    [
      { DEMO_BANK_API_KEY: KEY, DEMO_BANK_PUBLIC_URL: 'https://b.example/' },
      'DEMO_BANK_PUBLIC_URL',
    ],
    [{ DEMO_BANK_API_KEY: KEY, DEMO_BANK_TLS_CERT: 'cert.pem' }, 'DEMO_BANK_TLS_CERT'],
    [
      { DEMO_BANK_API_KEY: KEY, DEMO_BANK_TLS_CERT: '/nope', DEMO_BANK_TLS_KEY: '/nope' },
      'DEMO_BANK_TLS_CERT',
    ],
  ])('%j is refused, naming %s and never the key', (env, variable) => {
    let error: unknown;
    try {
      loadBankConfig(env as Record<string, string>);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BankConfigError);
    expect((error as Error).message).toContain(variable);
    expect((error as Error).message).not.toContain(KEY);
  });
});
