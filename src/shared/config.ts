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
  /**
   * Days stored data is kept (1 … 3650, default 90): enrolment windows by their age, a
   * subject's model after that many days unused, attestation history by age.
   */
  retentionDays: number;
  /**
   * The organisation recorded its staff's consent (policy only, default false): capture starts
   * without the first-run question, and the extension's pages say who consented. A user's own
   * options can never set it.
   */
  organisationConsent: boolean;
  /**
   * Take part in improving the shared model (default false): only signed, clipped and noised
   * weight updates would leave the device. Settable by the user, or fixed by policy.
   */
  modelImprovement: boolean;
  /**
   * The federated aggregator's base URL (http(s), no path), or null (default): no aggregator,
   * nothing federated is fetched or sent. Policy only: where updates go is the organisation's
   * decision, with the key that signs its model versions (docs/federated.md "In the extension").
   */
  aggregatorUrl: string | null;
  /**
   * The aggregator's public keys (a JWKS of ES256 P-256 keys, as its `/.well-known/jwks.json`
   * serves them), pinned: a model version is adopted only when one of these signed it. Policy
   * only, and required with `aggregatorUrl` (never fetched from the aggregator itself).
   */
  aggregatorJwks: PinnedJwks | null;
}

/** A pinned JWKS: public EC P-256 keys only. */
export interface PinnedJwks {
  keys: { kty: 'EC'; crv: 'P-256'; x: string; y: string; kid?: string; alg?: 'ES256' }[];
}

/** Settings only an organisation's policy may set (ignored in the user's own options). */
export const POLICY_ONLY_KEYS: readonly (keyof TacitConfig)[] = [
  'organisationConsent',
  'aggregatorUrl',
  'aggregatorJwks',
];

/** Valid range of `retentionDays` (the options page and the managed schema use it too). */
export const RETENTION_DAYS_RANGE = { min: 1, max: 3650 } as const;

/**
 * Out of the box: the verifier and the demo bank `npm start` runs (tools/start.ts), each on its
 * own port. The bank's origins are protected; the verifier is only talked to.
 */
export const DEFAULT_CONFIG: TacitConfig = {
  serverUrl: 'http://localhost:8787',
  protectedOrigins: ['http://localhost:8788', 'http://127.0.0.1:8788'],
  attestationIntervalMs: 5000,
  retentionDays: 90,
  organisationConsent: false,
  modelImprovement: false,
  aggregatorUrl: null,
  aggregatorJwks: null,
};

export function normaliseOrigin(value: unknown): string {
  if (typeof value !== 'string') throw new ExtensionError('ERR_CONFIG', 'origin must be a string');
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ExtensionError('ERR_CONFIG', 'origin must be http(s)');
  }
  // WHATWG URLs accept `*` in a host: `https://*` would become a host permission for every site.
  if (url.hostname.includes('*')) {
    throw new ExtensionError('ERR_CONFIG', 'origin must name one host, no wildcard');
  }
  return url.origin;
}

/**
 * The match pattern of an origin for host permissions and content-script registration: scheme
 * and host, every port. Match patterns with a port are not accepted by every browser; the exact
 * origin (port included) is checked by the service worker before anything is captured.
 */
export function matchPatternOf(origin: string): string {
  const url = new URL(normaliseOrigin(origin));
  return `${url.protocol}//${url.hostname}/*`;
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
  if (input.retentionDays !== undefined) {
    const v = input.retentionDays;
    if (
      !Number.isInteger(v) ||
      (v as number) < RETENTION_DAYS_RANGE.min ||
      (v as number) > RETENTION_DAYS_RANGE.max
    ) {
      throw new ExtensionError('ERR_CONFIG', 'retentionDays must be an integer in [1, 3650]');
    }
    out.retentionDays = v as number;
  }
  for (const key of ['organisationConsent', 'modelImprovement'] as const) {
    if (input[key] === undefined) continue;
    if (typeof input[key] !== 'boolean')
      throw new ExtensionError('ERR_CONFIG', `${key} must be a boolean`);
    out[key] = input[key];
  }
  if (input.aggregatorUrl !== undefined) {
    out.aggregatorUrl = input.aggregatorUrl === null ? null : normaliseOrigin(input.aggregatorUrl);
  }
  if (input.aggregatorJwks !== undefined) out.aggregatorJwks = parseJwks(input.aggregatorJwks);
  return out;
}

const B64URL = /^[A-Za-z0-9_-]{43}$/;

/**
 * A pinned JWKS from policy: an object, or its JSON text (Chrome's policy editors pass strings
 * more easily). Public P-256 keys only: a private member (`d`) is refused, never kept.
 */
function parseJwks(value: unknown): PinnedJwks | null {
  if (value === null) return null;
  let jwks: unknown = value;
  if (typeof value === 'string') {
    try {
      jwks = JSON.parse(value);
    } catch {
      throw new ExtensionError('ERR_CONFIG', 'aggregatorJwks must be a JWKS');
    }
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length < 1 || keys.length > 8) {
    throw new ExtensionError('ERR_CONFIG', 'aggregatorJwks must hold 1 to 8 keys');
  }
  return {
    keys: keys.map((k: Record<string, unknown>) => {
      if (
        typeof k !== 'object' ||
        k === null ||
        k.kty !== 'EC' ||
        k.crv !== 'P-256' ||
        typeof k.x !== 'string' ||
        !B64URL.test(k.x) ||
        typeof k.y !== 'string' ||
        !B64URL.test(k.y) ||
        'd' in k ||
        (k.alg !== undefined && k.alg !== 'ES256') ||
        (k.kid !== undefined && typeof k.kid !== 'string')
      ) {
        throw new ExtensionError('ERR_CONFIG', 'aggregatorJwks keys must be public P-256 keys');
      }
      return {
        kty: 'EC' as const,
        crv: 'P-256' as const,
        x: k.x,
        y: k.y,
        ...(typeof k.kid === 'string' ? { kid: k.kid } : {}),
        alg: 'ES256' as const,
      };
    }),
  };
}

/** The user's own settings without what only policy may set. */
function userSource(raw: unknown): Partial<TacitConfig> {
  const parsed = parseConfig(raw);
  for (const key of POLICY_ONLY_KEYS) delete parsed[key];
  return parsed;
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

/** The effective config and which of its settings the organisation's policy fixed. */
export interface ConfigSources {
  config: TacitConfig;
  /** Keys set by policy: shown as managed and locked in the options page. */
  managed: (keyof TacitConfig)[];
}

/** Loads the effective config with its sources (background and extension pages only). */
export async function loadConfigSources(): Promise<ConfigSources> {
  const local = await browser.storage.local.get('config');
  const user = userSource(local.config);
  const managed = await readManaged();
  return {
    config: { ...DEFAULT_CONFIG, ...user, ...managed },
    managed: Object.keys(managed) as (keyof TacitConfig)[],
  };
}

/** Loads the effective config (background and extension pages only). */
export async function loadConfig(): Promise<TacitConfig> {
  return (await loadConfigSources()).config;
}

/**
 * Saves some of the user's own settings (validated first; a key policy fixes is refused, so the
 * options page cannot write around a lock). Returns the new effective config.
 */
export async function saveUserConfig(patch: Partial<TacitConfig>): Promise<TacitConfig> {
  const valid = parseConfig(patch);
  const { managed } = await loadConfigSources();
  for (const key of Object.keys(valid) as (keyof TacitConfig)[]) {
    if (managed.includes(key) || POLICY_ONLY_KEYS.includes(key)) {
      throw new ExtensionError('ERR_CONFIG', `${key} is set by policy`);
    }
  }
  const { config: previous } = await browser.storage.local.get('config');
  await browser.storage.local.set({ config: { ...(previous as object | undefined), ...valid } });
  return loadConfig();
}

/**
 * Origins the user paused from the popup, in `storage.local` under this key (a list of origins).
 * Kept apart from `config` because policy never sets it and pausing must not rewrite settings.
 * Capture policy reads it: a paused origin captures nothing until resumed.
 */
export const PAUSED_ORIGINS_KEY = 'pausedOrigins';

export async function loadPausedOrigins(): Promise<string[]> {
  const stored = (await browser.storage.local.get(PAUSED_ORIGINS_KEY))[PAUSED_ORIGINS_KEY];
  return Array.isArray(stored) ? stored.filter((o): o is string => typeof o === 'string') : [];
}

/** Adds or removes `origin` (normalised) from the paused list; returns the new list. */
export async function setOriginPaused(origin: string, paused: boolean): Promise<string[]> {
  const normalised = normaliseOrigin(origin);
  const current = (await loadPausedOrigins()).filter((o) => o !== normalised);
  const next = paused ? [...current, normalised] : current;
  await browser.storage.local.set({ [PAUSED_ORIGINS_KEY]: next });
  return next;
}
