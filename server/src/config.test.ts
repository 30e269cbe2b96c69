import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';
import { DEFAULT_POLICY, DEFAULT_THRESHOLDS } from './domain/decision';
import { DEFAULT_RATE_LIMITS } from './http/middleware/rate-limit';

const SECRET = 'abcdefghijklmnop';

describe('loadConfig', () => {
  it('has documented defaults', () => {
    const c = loadConfig({}, '/srv/tacit');
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8787,
      dbPath: '/srv/tacit/data/tacit.db',
      issuer: undefined,
    });
    // No key of its own: the demo bank is a relying party like any other (tools/start.ts).
    expect(c.apiKeys).toEqual([]);
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {
        TACIT_HOST: '0.0.0.0',
        TACIT_PORT: '0',
        TACIT_DB: '/tmp/x/t.db',
        TACIT_API_KEYS: `bank-1:bank:${SECRET}1, ops:admin:${SECRET}:with:colons, demo-bank:bank:${SECRET}-demo`,
        TACIT_ISSUER: 'https://tacit.example',
      },
      '/',
    );
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      dbPath: '/tmp/x/t.db',
      issuer: 'https://tacit.example',
    });
    expect(c.apiKeys).toEqual([
      { id: 'bank-1', role: 'bank', secret: `${SECRET}1` },
      { id: 'ops', role: 'admin', secret: `${SECRET}:with:colons` },
      { id: 'demo-bank', role: 'bank', secret: `${SECRET}-demo` },
    ]);
  });

  it('accepts any port 0-65535', () => {
    expect(loadConfig({ TACIT_PORT: '65535' }).port).toBe(65535);
    expect(loadConfig({ TACIT_PORT: '1' }).port).toBe(1);
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
    [{ TACIT_ISSUER: 'not a url' }, 'TACIT_ISSUER'],
    [{ TACIT_ISSUER: 'ftp://x.example' }, 'TACIT_ISSUER'],
    [{ TACIT_ISSUER: 'https://x.example/' }, 'TACIT_ISSUER'],
    [{ TACIT_AUDIT_RETENTION_DAYS: '0' }, 'TACIT_AUDIT_RETENTION_DAYS'],
    [{ TACIT_AUDIT_RETENTION_DAYS: '1.5' }, 'TACIT_AUDIT_RETENTION_DAYS'],
    [{ TACIT_AUDIT_RETENTION_DAYS: '36501' }, 'TACIT_AUDIT_RETENTION_DAYS'],
    [{ TACIT_METRICS_TOKEN: 'short' }, 'TACIT_METRICS_TOKEN'],
    [{ TACIT_RATE_LIMIT_WINDOW_SECONDS: '0' }, 'TACIT_RATE_LIMIT_WINDOW_SECONDS'],
    [{ TACIT_RATE_LIMIT_RP: '-1' }, 'TACIT_RATE_LIMIT_RP'],
    [{ TACIT_RATE_LIMIT_DEVICE: 'lots' }, 'TACIT_RATE_LIMIT_DEVICE'],
    [{ TACIT_RATE_LIMIT_ADDRESS: '1e3' }, 'TACIT_RATE_LIMIT_ADDRESS'],
    [{ TACIT_TRUST_PROXY: 'sometimes' }, 'TACIT_TRUST_PROXY'],
    [{ TACIT_TRUST_PROXY: '1' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_TRUSTED_PROXIES: '127.0.0.1' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_TRUST_PROXY: '1', TACIT_TRUSTED_PROXIES: 'nginx' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_TRUST_PROXY: '1', TACIT_TRUSTED_PROXIES: '10.0.0.0/33' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_TRUST_PROXY: '1', TACIT_TRUSTED_PROXIES: '10.0.0.1/8/8' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_TRUST_PROXY: '1', TACIT_TRUSTED_PROXIES: ' , ' }, 'TACIT_TRUSTED_PROXIES'],
    [{ TACIT_POLICY_FILE: '/nonexistent/tacit-policy.json' }, 'TACIT_POLICY_FILE'],
    [{ TACIT_TLS_CERT: '/nonexistent/cert.pem' }, 'TACIT_TLS_KEY'],
    [{ TACIT_API_KEYS: `a:bank:${SECRET}`, TACIT_METRICS_TOKEN: SECRET }, 'TACIT_METRICS_TOKEN'],
    [{ TACIT_SIGNING_KEY_ROTATION_DAYS: '0' }, 'TACIT_SIGNING_KEY_ROTATION_DAYS'],
    [{ TACIT_SIGNING_KEY_ROTATION_DAYS: '3651' }, 'TACIT_SIGNING_KEY_ROTATION_DAYS'],
    [{ TACIT_SIGNING_KEY_ROTATION_DAYS: '7d' }, 'TACIT_SIGNING_KEY_ROTATION_DAYS'],
    [{ TACIT_CORS_ORIGINS: 'https://bank.example/' }, 'TACIT_CORS_ORIGINS'],
    [{ TACIT_CORS_ORIGINS: 'https://bank.example,*' }, 'TACIT_CORS_ORIGINS'],
    [{ TACIT_CORS_ORIGINS: 'bank.example' }, 'TACIT_CORS_ORIGINS'],
    [{ TACIT_CORS_ORIGINS: 'https://bank.example/login' }, 'TACIT_CORS_ORIGINS'],
    [{ TACIT_EXTENSION_ORIGINS: 'chrome-extension://xyz' }, 'TACIT_EXTENSION_ORIGINS'],
    [{ TACIT_EXTENSION_ORIGINS: 'https://bank.example' }, 'TACIT_EXTENSION_ORIGINS'],
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

describe('loadConfig: signing keys and CORS', () => {
  it('rotates signing keys every 30 days by default', () => {
    expect(loadConfig({}).signingKeyRotationDays).toBe(30);
    expect(loadConfig({ TACIT_SIGNING_KEY_ROTATION_DAYS: '7' }).signingKeyRotationDays).toBe(7);
  });

  it('allows the extension of manifest.json by default and no bank origin', () => {
    expect(loadConfig({}).cors).toEqual({
      extensionOrigins: ['chrome-extension://ncmjhdbejcemcpikjidibbgbflieoobh'],
      bankOrigins: [],
    });
    // Without the manifest (the server deployed alone): only what is configured.
    expect(loadConfig({}, '/srv', '/nonexistent/manifest.json').cors.extensionOrigins).toEqual([]);
  });

  it('reads TACIT_CORS_ORIGINS and TACIT_EXTENSION_ORIGINS', () => {
    const firefox = 'moz-extension://0f1e2d3c-4b5a-4697-8877-665544332211';
    const c = loadConfig({
      TACIT_CORS_ORIGINS: 'https://bank.example, http://localhost:3000,https://bank.example',
      TACIT_EXTENSION_ORIGINS: firefox,
    });
    expect(c.cors).toEqual({
      extensionOrigins: ['chrome-extension://ncmjhdbejcemcpikjidibbgbflieoobh', firefox],
      bankOrigins: ['https://bank.example', 'http://localhost:3000'],
    });
  });
});

describe('loadConfig: operations settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const policyFile = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name; // relative: resolved against cwd
  };

  it('defaults: built-in policy, 365 days, no metrics token, default limits, no proxy, no TLS', () => {
    const c = loadConfig({}, dir);
    expect(c.policy).toEqual(DEFAULT_POLICY);
    expect(c.policyFile).toBeUndefined();
    expect(c.auditRetentionDays).toBe(365);
    expect(c.metricsToken).toBeUndefined();
    expect(c.rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    expect(c.trustProxy).toBe(false);
    expect(c.tls).toBeUndefined();
  });

  it('reads the operations variables and the auditor role', () => {
    const c = loadConfig(
      {
        TACIT_API_KEYS: `siem:auditor:${SECRET}a`,
        TACIT_POLICY_FILE: policyFile(
          'p.json',
          '{"relyingParties": {"siem": {"stepUpBelow": 0.9}}}',
        ),
        TACIT_AUDIT_RETENTION_DAYS: '30',
        TACIT_METRICS_TOKEN: `${SECRET}m`,
        TACIT_RATE_LIMIT_WINDOW_SECONDS: '10',
        TACIT_RATE_LIMIT_RP: '0',
        TACIT_RATE_LIMIT_DEVICE: '50',
        TACIT_RATE_LIMIT_ADDRESS: '20',
        TACIT_TRUST_PROXY: 'on',
        TACIT_TRUSTED_PROXIES: '127.0.0.1, 172.28.0.0/24, fd00::/8',
      },
      dir,
    );
    expect(c.apiKeys).toEqual([{ id: 'siem', role: 'auditor', secret: `${SECRET}a` }]);
    expect(c.policyFile).toBe(join(dir, 'p.json'));
    expect(c.policy.relyingParties.siem).toEqual({ ...DEFAULT_THRESHOLDS, stepUpBelow: 0.9 });
    expect(c.auditRetentionDays).toBe(30);
    expect(c.metricsToken).toBe(`${SECRET}m`);
    expect(c.rateLimits).toEqual({ windowMs: 10_000, rp: 0, device: 50, address: 20 });
    const proxies = c.trustProxy;
    expect(proxies).not.toBe(false);
    if (proxies === false) return;
    expect(proxies.check('127.0.0.1', 'ipv4')).toBe(true);
    expect(proxies.check('172.28.0.10', 'ipv4')).toBe(true);
    expect(proxies.check('172.28.1.10', 'ipv4')).toBe(false);
    expect(proxies.check('fd00::1', 'ipv6')).toBe(true);
    expect(proxies.check('192.0.2.1', 'ipv4')).toBe(false);
  });

  it('an invalid policy file stops the start, naming the variable and the path in the file', () => {
    const bad = policyFile('bad.json', '{"default": {"terminateBelow": 7}}');
    expect(() => loadConfig({ TACIT_POLICY_FILE: bad }, dir)).toThrow(
      /TACIT_POLICY_FILE: invalid policy: default\.terminateBelow/,
    );
    const notJson = policyFile('nope.json', 'stepUpBelow = 0.5');
    expect(() => loadConfig({ TACIT_POLICY_FILE: notJson }, dir)).toThrow(/not valid JSON/);
  });
});

describe('store configuration', () => {
  it('defaults to SQLite; redis needs a redis(s):// URL; the prefix is checked', () => {
    expect(loadConfig({})).toMatchObject({
      store: 'sqlite',
      redisUrl: undefined,
      redisPrefix: 'tacit:',
    });
    const url = 'rediss://user:pa55word@redis.internal:6380/2';
    expect(
      loadConfig({
        TACIT_STORE: 'redis',
        TACIT_REDIS_URL: url,
        TACIT_REDIS_PREFIX: 'bank-a:tacit:',
      }),
    ).toMatchObject({ store: 'redis', redisUrl: url, redisPrefix: 'bank-a:tacit:' });
    const fails = (env: Record<string, string>, message: RegExp) => {
      let error: unknown;
      try {
        loadConfig(env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(message);
      // Never the URL itself: it may carry a password.
      expect((error as Error).message).not.toContain('pa55word');
    };
    fails({ TACIT_STORE: 'redis' }, /TACIT_REDIS_URL: required when TACIT_STORE=redis/);
    fails({ TACIT_STORE: 'postgres' }, /TACIT_STORE: must be sqlite or redis/);
    for (const bad of ['http://x:pa55word@h', 'redis://', 'localhost:6379', 'pa55word']) {
      fails({ TACIT_STORE: 'redis', TACIT_REDIS_URL: bad }, /TACIT_REDIS_URL: must be a redis/);
    }
    fails({ TACIT_REDIS_PREFIX: 'a b' }, /TACIT_REDIS_PREFIX: must be 1-64/);
  });
});
