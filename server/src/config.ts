/**
 * Server configuration from the environment, validated once at start-up. A bad value stops
 * the server with a message naming the variable (never its secret value).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ROLES, type Role } from './http/middleware/auth';
import {
  chromeExtensionId,
  isExtensionOrigin,
  isWebOrigin,
  type CorsConfig,
} from './http/middleware/cors';
import {
  DEFAULT_POLICY,
  PolicyError,
  loadPolicyFile,
  type DecisionPolicy,
} from './domain/decision';
import {
  DEFAULT_RATE_LIMITS,
  type RateLimitConfig,
  type TrustedProxies,
} from './http/middleware/rate-limit';

/** One relying-party API key. */
export interface ApiKeyConfig {
  /** Relying-party id: the `aud` of its session tokens. */
  id: string;
  role: Role;
  /** The bearer secret (≥ 16 characters). Only its hash is kept after start-up. */
  secret: string;
}

/** Validated configuration. */
export interface Config {
  /** Interface to listen on (`TACIT_HOST`, default `127.0.0.1`). */
  host: string;
  /** Port (`TACIT_PORT`, default 8787; 0 picks a free port). */
  port: number;
  /** Absolute path of the SQLite database (`TACIT_DB`, default `data/tacit.db`). */
  dbPath: string;
  /** Where state lives (`TACIT_STORE`, default `sqlite`; `redis` to share it between instances). */
  store: 'sqlite' | 'redis';
  /** `redis://` or `rediss://` URL (`TACIT_REDIS_URL`), required with `TACIT_STORE=redis`. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key (`TACIT_REDIS_PREFIX`, default `tacit:`). */
  redisPrefix: string;
  /** Relying-party API keys (`TACIT_API_KEYS`). */
  apiKeys: ApiKeyConfig[];
  /** `TACIT_ISSUER`, or undefined to use the URL the server listens on. */
  issuer: string | undefined;
  /** Decision policy from `TACIT_POLICY_FILE`, or the built-in defaults. */
  policy: DecisionPolicy;
  /** Absolute path of the policy file, if one is configured. */
  policyFile: string | undefined;
  /** Days audit records are kept (`TACIT_AUDIT_RETENTION_DAYS`, default 365). */
  auditRetentionDays: number;
  /** Bearer token a Prometheus scraper may use on `GET /metrics` (`TACIT_METRICS_TOKEN`). */
  metricsToken: string | undefined;
  /** Minimum level written to the log (`TACIT_LOG_LEVEL`, default `info`; `debug` adds the access log). */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Fixed-window limits (`TACIT_RATE_LIMIT_*`). */
  rateLimits: RateLimitConfig;
  /**
   * The reverse proxies whose `X-Forwarded-For` gives the client address
   * (`TACIT_TRUST_PROXY=1` with `TACIT_TRUSTED_PROXIES`), or `false` (default).
   */
  trustProxy: TrustedProxies | false;
  /** PEM certificate chain and key when `TACIT_TLS_CERT` and `TACIT_TLS_KEY` are set. */
  tls: { cert: string; key: string } | undefined;
  /** Days after which the signing key is replaced (`TACIT_SIGNING_KEY_ROTATION_DAYS`). */
  signingKeyRotationDays: number;
  /**
   * Browser origins that get CORS headers: the extension's (manifest.json's Chrome id plus
   * `TACIT_EXTENSION_ORIGINS`) and the banks' (`TACIT_CORS_ORIGINS`).
   */
  cors: CorsConfig;
}

/** Where the extension's manifest is read for its Chrome id (the repository's manifest.json). */
export const MANIFEST_PATH = fileURLToPath(new URL('../../manifest.json', import.meta.url));

/**
 * `chrome-extension://<id>` of the manifest's `key`, or none when the file is missing or has no
 * key (a server deployed without the extension sources: list the origin in
 * `TACIT_EXTENSION_ORIGINS` then).
 */
export function manifestExtensionOrigins(path: string): string[] {
  let key: unknown;
  try {
    key = (JSON.parse(readFileSync(path, 'utf8')) as { key?: unknown }).key;
  } catch {
    return [];
  }
  return typeof key === 'string' && key.length > 0
    ? [`chrome-extension://${chromeExtensionId(key)}`]
    : [];
}

/** Thrown for a configuration the server refuses to start with. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const RP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SECRET = /^[\x21-\x7e]{16,256}$/;

const apiKeyEntry = z.string().transform((entry, ctx): ApiKeyConfig => {
  // Split on the first two colons only: the secret may contain colons.
  const first = entry.indexOf(':');
  const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
  if (second < 0) {
    ctx.addIssue({ code: 'custom', message: 'each entry must be id:role:secret' });
    return z.NEVER;
  }
  const id = entry.slice(0, first);
  const role = entry.slice(first + 1, second);
  const secret = entry.slice(second + 1);
  if (!RP_ID.test(id)) {
    ctx.addIssue({ code: 'custom', message: 'id must match [a-z0-9][a-z0-9._-]{0,63}' });
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    ctx.addIssue({ code: 'custom', message: `key "${id}": role must be ${ROLES.join(', ')}` });
  }
  if (!SECRET.test(secret)) {
    ctx.addIssue({
      code: 'custom',
      message: `key "${id}": secret must be 16-256 printable characters without spaces`,
    });
  }
  return { id, role: role as Role, secret };
});

const apiKeyList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  )
  .pipe(z.array(apiKeyEntry))
  .superRefine((keys, ctx) => {
    const ids = new Set<string>();
    const secrets = new Set<string>();
    for (const key of keys) {
      if (ids.has(key.id)) ctx.addIssue({ code: 'custom', message: `duplicate id "${key.id}"` });
      if (secrets.has(key.secret)) {
        ctx.addIssue({ code: 'custom', message: `key "${key.id}" reuses another key's secret` });
      }
      ids.add(key.id);
      secrets.add(key.secret);
    }
  });

/** A comma-separated list whose every entry passes `check` (empty entries ignored). */
const originList = (check: (v: string) => boolean, message: string) =>
  z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .refine((list) => list.every(check), message);

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['1', 'true', 'yes', 'on'].includes(v)));

/** A non-negative integer with an upper bound, from a variable. */
const intVar = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `must be an integer ${min}-${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be an integer ${min}-${max}`);

const envSchema = z.object({
  TACIT_HOST: z.string().min(1).default('127.0.0.1'),
  TACIT_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be an integer 0-65535')
    .transform(Number)
    .refine((n) => n <= 65535, 'must be an integer 0-65535')
    .default(8787),
  TACIT_DB: z.string().min(1).default('data/tacit.db'),
  TACIT_STORE: z.enum(['sqlite', 'redis'], { error: 'must be sqlite or redis' }).default('sqlite'),
  TACIT_REDIS_URL: z
    .string()
    .refine(isRedisUrl, 'must be a redis:// or rediss:// URL with a host')
    .optional(),
  TACIT_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ : -')
    .default('tacit:'),
  TACIT_API_KEYS: apiKeyList,
  TACIT_ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => !u.endsWith('/'), 'must not end with "/"')
    .optional(),
  TACIT_POLICY_FILE: z.string().min(1).optional(),
  TACIT_AUDIT_RETENTION_DAYS: intVar(1, 36_500).default(365),
  TACIT_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  TACIT_METRICS_TOKEN: z
    .string()
    .regex(SECRET, 'must be 16-256 printable characters without spaces')
    .optional(),
  TACIT_RATE_LIMIT_WINDOW_SECONDS: intVar(1, 86_400).default(DEFAULT_RATE_LIMITS.windowMs / 1000),
  TACIT_RATE_LIMIT_RP: intVar(0, 1_000_000_000).default(DEFAULT_RATE_LIMITS.rp),
  TACIT_RATE_LIMIT_DEVICE: intVar(0, 1_000_000_000).default(DEFAULT_RATE_LIMITS.device),
  TACIT_RATE_LIMIT_ADDRESS: intVar(0, 1_000_000_000).default(DEFAULT_RATE_LIMITS.address),
  TACIT_TRUST_PROXY: flag,
  TACIT_TRUSTED_PROXIES: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .refine(
      (list) => list.length > 0 && list.every(isProxyAddress),
      'each entry must be an IP address or a network in CIDR form (10.0.0.0/8, fd00::/8)',
    )
    .optional(),
  TACIT_TLS_CERT: z.string().min(1).optional(),
  TACIT_TLS_KEY: z.string().min(1).optional(),
  TACIT_SIGNING_KEY_ROTATION_DAYS: intVar(1, 3650).default(30),
  TACIT_CORS_ORIGINS: originList(
    isWebOrigin,
    'each entry must be an http(s) origin such as https://bank.example (no path, no trailing /)',
  ),
  TACIT_EXTENSION_ORIGINS: originList(
    isExtensionOrigin,
    'each entry must be chrome-extension://<32 letters a-p> or moz-extension://<lower-case uuid>',
  ),
});

/** A `redis://` / `rediss://` URL with a host (credentials, port and database optional). */
function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** An IPv4/IPv6 address, or a network `address/prefix` with a prefix in range. */
function isProxyAddress(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** The proxy list as a {@link BlockList} (entries checked by {@link isProxyAddress}). */
function trustedProxies(list: string[]): TrustedProxies {
  const proxies = new BlockList();
  for (const entry of list) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) proxies.addAddress(address, type);
    else proxies.addSubnet(address, Number(prefix), type);
  }
  return proxies;
}

/** Reads one configured file, or a {@link ConfigError} naming its variable (not its content). */
function readConfigFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`Invalid configuration:\n  ${variable}: cannot read the file (${code})`);
  }
}

/**
 * Reads the TLS certificate chain and key and checks that Node accepts them as a pair.
 *
 * @throws {ConfigError} if only one is set, a file is unreadable, or they do not match.
 */
function loadTls(
  certVar: string | undefined,
  keyVar: string | undefined,
  cwd: string,
): Config['tls'] {
  if (certVar === undefined && keyVar === undefined) return undefined;
  if (certVar === undefined || keyVar === undefined) {
    const missing = certVar === undefined ? 'TACIT_TLS_CERT' : 'TACIT_TLS_KEY';
    throw new ConfigError(
      `Invalid configuration:\n  ${missing}: TACIT_TLS_CERT and TACIT_TLS_KEY must be set together`,
    );
  }
  const cert = readConfigFile('TACIT_TLS_CERT', resolve(cwd, certVar));
  const key = readConfigFile('TACIT_TLS_KEY', resolve(cwd, keyVar));
  try {
    createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
  } catch (err) {
    // OpenSSL's reason (e.g. "key values mismatch"), never the PEM itself.
    const reason = (err as { reason?: unknown }).reason;
    const why = typeof reason === 'string' ? reason : 'not a usable certificate and key';
    throw new ConfigError(`Invalid configuration:\n  TACIT_TLS_CERT/TACIT_TLS_KEY: ${why}`);
  }
  return { cert, key };
}

/**
 * Reads and validates the configuration. Empty variables count as unset.
 *
 * @throws {ConfigError} listing every bad variable by name.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
  manifestPath: string = MANIFEST_PATH,
): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('TACIT_') && v !== undefined && v !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    // Issue messages name the variable and the rule, never the value (secrets live there).
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const apiKeys = [...e.TACIT_API_KEYS];
  const metricsToken = e.TACIT_METRICS_TOKEN;
  if (metricsToken !== undefined && apiKeys.some((k) => k.secret === metricsToken)) {
    throw new ConfigError(
      'Invalid configuration:\n  TACIT_METRICS_TOKEN: reuses the secret of an API key',
    );
  }
  const policyFile =
    e.TACIT_POLICY_FILE === undefined ? undefined : resolve(cwd, e.TACIT_POLICY_FILE);
  let policy = DEFAULT_POLICY;
  if (policyFile !== undefined) {
    try {
      policy = loadPolicyFile(policyFile);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      throw new ConfigError(`Invalid configuration:\n  TACIT_POLICY_FILE: ${err.message}`);
    }
  }
  const tls = loadTls(e.TACIT_TLS_CERT, e.TACIT_TLS_KEY, cwd);
  // X-Forwarded-For is the client's word unless it comes from the proxy: trusting it from
  // every peer would let any client pick the address its requests are limited by.
  if (e.TACIT_TRUST_PROXY === true && e.TACIT_TRUSTED_PROXIES === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  TACIT_TRUSTED_PROXIES: required with TACIT_TRUST_PROXY (the proxies’ addresses)',
    );
  }
  if (e.TACIT_TRUST_PROXY !== true && e.TACIT_TRUSTED_PROXIES !== undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  TACIT_TRUSTED_PROXIES: set, but TACIT_TRUST_PROXY is not on',
    );
  }
  if (e.TACIT_STORE === 'redis' && e.TACIT_REDIS_URL === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  TACIT_REDIS_URL: required when TACIT_STORE=redis',
    );
  }
  return {
    host: e.TACIT_HOST,
    port: e.TACIT_PORT,
    dbPath: resolve(cwd, e.TACIT_DB),
    store: e.TACIT_STORE,
    redisUrl: e.TACIT_REDIS_URL,
    redisPrefix: e.TACIT_REDIS_PREFIX,
    apiKeys,
    issuer: e.TACIT_ISSUER,
    policy,
    policyFile,
    auditRetentionDays: e.TACIT_AUDIT_RETENTION_DAYS,
    metricsToken,
    logLevel: e.TACIT_LOG_LEVEL,
    rateLimits: {
      windowMs: e.TACIT_RATE_LIMIT_WINDOW_SECONDS * 1000,
      rp: e.TACIT_RATE_LIMIT_RP,
      device: e.TACIT_RATE_LIMIT_DEVICE,
      address: e.TACIT_RATE_LIMIT_ADDRESS,
    },
    trustProxy:
      e.TACIT_TRUST_PROXY === true && e.TACIT_TRUSTED_PROXIES !== undefined
        ? trustedProxies(e.TACIT_TRUSTED_PROXIES)
        : false,
    tls,
    signingKeyRotationDays: e.TACIT_SIGNING_KEY_ROTATION_DAYS,
    cors: {
      extensionOrigins: [
        ...new Set([...manifestExtensionOrigins(manifestPath), ...e.TACIT_EXTENSION_ORIGINS]),
      ],
      bankOrigins: [...new Set(e.TACIT_CORS_ORIGINS)],
    },
  };
}
