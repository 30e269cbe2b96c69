/**
 * Extension configuration. Sources, strongest first: enterprise policy (`storage.managed`,
 * schema in managed-schema.json), the user's options (`storage.local` key `config`), defaults.
 * Invalid values are rejected as a whole source (fail fast, never half-applied).
 */
import browser from 'webextension-polyfill';
import { ExtensionError } from './errors';

export interface TacitConfig {
  /** Verification server base URL (http(s), no path). */
  serverUrl: string;
  /** Origins (scheme://host:port) on which behavior is captured. Nowhere else. */
  protectedOrigins: string[];
  /** Minimum interval between two attestations of a session, ms (500 … 60000). */
  attestationIntervalMs: number;
}

export const DEFAULT_CONFIG: TacitConfig = {
  serverUrl: 'http://localhost:8787',
  protectedOrigins: ['http://localhost:8787', 'http://127.0.0.1:8787'],
  attestationIntervalMs: 5000,
};

function normaliseOrigin(value: unknown): string {
  if (typeof value !== 'string') throw new ExtensionError('ERR_CONFIG', 'origin must be a string');
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ExtensionError('ERR_CONFIG', 'origin must be http(s)');
  }
  return url.origin;
}

/** Validates a partial config; throws ExtensionError('ERR_CONFIG') on any bad field. */
export function parseConfig(raw: unknown): Partial<TacitConfig> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object') throw new ExtensionError('ERR_CONFIG', 'config must be an object');
  const input = raw as Record<string, unknown>;
  const out: Partial<TacitConfig> = {};
  if (input.serverUrl !== undefined) out.serverUrl = normaliseOrigin(input.serverUrl);
  if (input.protectedOrigins !== undefined) {
    if (!Array.isArray(input.protectedOrigins)) {
      throw new ExtensionError('ERR_CONFIG', 'protectedOrigins must be an array');
    }
    out.protectedOrigins = input.protectedOrigins.map(normaliseOrigin);
  }
  if (input.attestationIntervalMs !== undefined) {
    const v = input.attestationIntervalMs;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 500 || v > 60_000) {
      throw new ExtensionError('ERR_CONFIG', 'attestationIntervalMs must be in [500, 60000]');
    }
    out.attestationIntervalMs = v;
  }
  return out;
}

async function readManaged(): Promise<Partial<TacitConfig>> {
  try {
    // storage.managed throws where no policy backend exists (e.g. unmanaged Firefox).
    const managed = await browser.storage.managed.get(null);
    return parseConfig(managed);
  } catch (error) {
    if (error instanceof ExtensionError) throw error;
    return {};
  }
}

/** Loads the effective config (background and extension pages only). */
export async function loadConfig(): Promise<TacitConfig> {
  const local = await browser.storage.local.get('config');
  const user = parseConfig(local.config);
  const managed = await readManaged();
  return { ...DEFAULT_CONFIG, ...user, ...managed };
}
