/**
 * The demo bank's configuration, from the environment (`DEMO_BANK_*`), validated once at
 * start-up: a bad value stops the bank with a message naming the variable, never its value.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { z } from 'zod';
import { webauthnRelyingParty } from './passkeys';

/** Validated configuration of the demo bank. */
export interface BankConfig {
  /** Interface to listen on (`DEMO_BANK_HOST`, default `127.0.0.1`). */
  host: string;
  /** Port (`DEMO_BANK_PORT`, default 8788; 0 picks a free one). */
  port: number;
  /** SQLite file of the bank's logins (`DEMO_BANK_DB`, default `data/demo-bank.db`), absolute. */
  dbPath: string;
  /** The verifier's base URL (`DEMO_BANK_TACIT_URL`, default `http://127.0.0.1:8787`). */
  tacitUrl: string;
  /** `iss` of the verifier's session tokens (`DEMO_BANK_TACIT_ISSUER`, default: `tacitUrl`). */
  tacitIssuer: string | undefined;
  /** The bank's API key at the verifier (`DEMO_BANK_API_KEY`, required; role `bank`). */
  apiKey: string;
  /** That key's id in the verifier's `TACIT_API_KEYS` (`DEMO_BANK_RP_ID`, default `demo-bank`). */
  rpId: string;
  /** PEM certificate chain and key (`DEMO_BANK_TLS_CERT`, `DEMO_BANK_TLS_KEY`): serve HTTPS. */
  tls: { cert: string; key: string } | undefined;
  /**
   * The bank's URL as the verifier reaches it (`DEMO_BANK_PUBLIC_URL`, default: the URL it
   * listens on), for the Shared Signals push endpoint `<url>/bank/ssf/events`.
   */
  publicUrl: string | undefined;
  /**
   * The origin of the bank's pages as browsers see it, for WebAuthn (`DEMO_BANK_WEBAUTHN_ORIGIN`;
   * default: the URL it listens on, with a loopback address named `localhost`, since a WebAuthn
   * RP ID cannot be an IP address). Its host name is the RP ID of the bank's passkeys.
   */
  webauthnOrigin: string | undefined;
}

/** Thrown for a configuration the bank refuses to start with. */
export class BankConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BankConfigError';
  }
}

/**
 * The WebAuthn origin of a bank listening at `url` (no configured one): a loopback IP address
 * becomes `localhost`, which browsers treat as a secure context and accept as an RP ID.
 */
export function defaultWebauthnOrigin(url: string): string {
  const u = new URL(url);
  if (['127.0.0.1', '[::1]', '0.0.0.0', '[::]'].includes(u.hostname)) u.hostname = 'localhost';
  return u.origin;
}

/** The demo bank's default port (the verifier's is 8787). */
export const DEFAULT_BANK_PORT = 8788;

const envSchema = z.object({
  DEMO_BANK_HOST: z.string().min(1).default('127.0.0.1'),
  DEMO_BANK_PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be an integer 0-65535')
    .transform(Number)
    .refine((n) => n <= 65535, 'must be an integer 0-65535')
    .default(DEFAULT_BANK_PORT),
  DEMO_BANK_DB: z.string().min(1).default('data/demo-bank.db'),
  DEMO_BANK_TACIT_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .default('http://127.0.0.1:8787'),
  DEMO_BANK_TACIT_ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => !u.endsWith('/'), 'must not end with "/"')
    .optional(),
  DEMO_BANK_API_KEY: z
    .string({ error: 'required (the bank key the verifier knows)' })
    .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16-256 printable characters without spaces'),
  DEMO_BANK_RP_ID: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must match [a-z0-9][a-z0-9._-]{0,63}')
    .default('demo-bank'),
  DEMO_BANK_TLS_CERT: z.string().min(1).optional(),
  DEMO_BANK_TLS_KEY: z.string().min(1).optional(),
  DEMO_BANK_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => !u.endsWith('/'), 'must not end with "/"')
    .optional(),
  DEMO_BANK_WEBAUTHN_ORIGIN: z
    .string()
    .refine((u) => {
      try {
        webauthnRelyingParty(u);
        return true;
      } catch {
        return false;
      }
    }, 'must be an http(s) origin with a domain name (no path, not an IP address)')
    .optional(),
});

function readFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BankConfigError(
      `Invalid configuration:\n  ${variable}: cannot read the file (${code})`,
    );
  }
}

function loadTls(
  cert: string | undefined,
  key: string | undefined,
  cwd: string,
): BankConfig['tls'] {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new BankConfigError(
      'Invalid configuration:\n  DEMO_BANK_TLS_CERT/DEMO_BANK_TLS_KEY: set both or neither',
    );
  }
  const tls = {
    cert: readFile('DEMO_BANK_TLS_CERT', resolve(cwd, cert)),
    key: readFile('DEMO_BANK_TLS_KEY', resolve(cwd, key)),
  };
  try {
    createSecureContext({ ...tls, minVersion: 'TLSv1.2' });
  } catch {
    throw new BankConfigError(
      'Invalid configuration:\n  DEMO_BANK_TLS_CERT/DEMO_BANK_TLS_KEY: not a matching certificate and key',
    );
  }
  return tls;
}

/**
 * Reads and validates the configuration. Empty variables count as unset.
 *
 * @throws {BankConfigError} listing every bad variable by name.
 */
export function loadBankConfig(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): BankConfig {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(
      ([k, v]) => k.startsWith('DEMO_BANK_') && v !== undefined && v !== '',
    ),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '?')}: ${i.message}`);
    throw new BankConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    host: e.DEMO_BANK_HOST,
    port: e.DEMO_BANK_PORT,
    dbPath: e.DEMO_BANK_DB === ':memory:' ? ':memory:' : resolve(cwd, e.DEMO_BANK_DB),
    tacitUrl: e.DEMO_BANK_TACIT_URL.replace(/\/+$/, ''),
    tacitIssuer: e.DEMO_BANK_TACIT_ISSUER,
    apiKey: e.DEMO_BANK_API_KEY,
    rpId: e.DEMO_BANK_RP_ID,
    tls: loadTls(e.DEMO_BANK_TLS_CERT, e.DEMO_BANK_TLS_KEY, cwd),
    publicUrl: e.DEMO_BANK_PUBLIC_URL,
    webauthnOrigin: e.DEMO_BANK_WEBAUTHN_ORIGIN,
  };
}
