/**
 * Server configuration from the environment, validated once at start-up. A bad value stops
 * the server with a message naming the variable (never its secret value).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Role } from './auth';

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
  /** Relying-party API keys (`TACIT_API_KEYS`), the demo bank's included when enabled. */
  apiKeys: ApiKeyConfig[];
  /** Whether the demo bank is mounted under `/bank` (`TACIT_DEMO`, default on). */
  demo: boolean;
  /** True when the demo bank's key was generated because `TACIT_DEMO_BANK_KEY` is unset. */
  demoBankKeyGenerated: boolean;
  /** `TACIT_ISSUER`, or undefined to use the URL the server listens on. */
  issuer: string | undefined;
}

/** Relying-party id of the demo bank; reserved in `TACIT_API_KEYS`. */
export const DEMO_BANK_ID = 'demo-bank';

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
  if (id === DEMO_BANK_ID) {
    ctx.addIssue({
      code: 'custom',
      message: `id "${DEMO_BANK_ID}" is reserved (TACIT_DEMO_BANK_KEY)`,
    });
  }
  if (role !== 'bank' && role !== 'admin') {
    ctx.addIssue({ code: 'custom', message: `key "${id}": role must be bank or admin` });
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

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['1', 'true', 'yes', 'on'].includes(v)));

const envSchema = z.object({
  TACIT_HOST: z.string().min(1).default('127.0.0.1'),
  TACIT_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be an integer 0-65535')
    .transform(Number)
    .refine((n) => n <= 65535, 'must be an integer 0-65535')
    .default(8787),
  TACIT_DB: z.string().min(1).default('data/tacit.db'),
  TACIT_API_KEYS: apiKeyList,
  TACIT_DEMO: flag,
  TACIT_DEMO_BANK_KEY: z
    .string()
    .regex(SECRET, 'must be 16-256 printable characters without spaces')
    .optional(),
  TACIT_ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => !u.endsWith('/'), 'must not end with "/"')
    .optional(),
});

/**
 * Reads and validates the configuration. Empty variables count as unset.
 *
 * @throws {ConfigError} listing every bad variable by name.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
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
  const demo = e.TACIT_DEMO ?? true;
  const apiKeys = [...e.TACIT_API_KEYS];
  const demoBankKeyGenerated = demo && e.TACIT_DEMO_BANK_KEY === undefined;
  if (demo) {
    const secret = e.TACIT_DEMO_BANK_KEY ?? randomBytes(32).toString('base64url');
    if (apiKeys.some((k) => k.secret === secret)) {
      throw new ConfigError(
        'Invalid configuration:\n  TACIT_DEMO_BANK_KEY: reuses a secret of TACIT_API_KEYS',
      );
    }
    apiKeys.push({ id: DEMO_BANK_ID, role: 'bank', secret });
  }
  return {
    host: e.TACIT_HOST,
    port: e.TACIT_PORT,
    dbPath: resolve(cwd, e.TACIT_DB),
    apiKeys,
    demo,
    demoBankKeyGenerated,
    issuer: e.TACIT_ISSUER,
  };
}
