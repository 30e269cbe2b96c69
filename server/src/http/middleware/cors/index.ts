/**
 * CORS, allow-listed per origin class and per endpoint. Only two kinds of browser origin ever get
 * CORS headers, and only on the endpoints they use:
 *
 * - the extension (`chrome-extension://<id>`, the id derived from manifest.json's `key`, plus any
 *   `TACIT_EXTENSION_ORIGINS` such as `moz-extension://<uuid>`): the device endpoints. Its
 *   service worker needs them when the server is not among its host permissions.
 * - bank origins (`TACIT_CORS_ORIGINS`): the JWKS, so a bank's pages may verify a session token's
 *   signature. Endpoints that take an API key never get CORS: an API key never belongs in a
 *   browser.
 *
 * Every other origin, and every other endpoint, gets no CORS header at all (so the browser blocks
 * reading the answer). No credentials are ever allowed. Preflights (`OPTIONS` with
 * `Access-Control-Request-Method`) that match are answered 204 here; others fall through to 404.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { setResponseHeader } from '../headers';
import type { AppEnv } from '../../types';

/** Origins allowed by class. */
export interface CorsConfig {
  /** `chrome-extension://…`, `moz-extension://…` origins of the Tacit extension. */
  extensionOrigins: readonly string[];
  /** http(s) origins of relying parties' pages. */
  bankOrigins: readonly string[];
}

interface CorsRule {
  path: RegExp;
  methods: readonly string[];
}

const ID = '[A-Za-z0-9_-]{1,128}';

/** What the extension calls (docs/protocol.md §5). */
export const EXTENSION_RULES: readonly CorsRule[] = [
  { path: /^\/v1\/devices$/, methods: ['POST'] },
  { path: /^\/v1\/sessions\/bind$/, methods: ['POST'] },
  { path: /^\/v1\/attestations$/, methods: ['POST'] },
  { path: new RegExp(`^/v1/device/sessions/${ID}$`), methods: ['GET'] },
  { path: /^\/v1\/device\/enrollments$/, methods: ['GET'] },
  { path: /^\/v1\/device\/(revoke|rotate)$/, methods: ['POST'] },
];

/** What a bank's pages may read. */
export const BANK_RULES: readonly CorsRule[] = [
  { path: /^\/\.well-known\/jwks\.json$/, methods: ['GET'] },
];

/** Request headers a matching preflight may ask for (lower case). */
const ALLOWED_HEADERS = ['content-type', 'dpop'];
/** Answer headers a script may read besides the safelisted ones. */
const EXPOSED_HEADERS = 'WWW-Authenticate, Retry-After';
/** How long a browser may cache a preflight (s). */
const MAX_AGE_S = 600;

/**
 * The Chrome extension id of a manifest `key` (base64 DER SubjectPublicKeyInfo): the first 128
 * bits of its SHA-256, one letter `a`–`p` per hex digit.
 */
export function chromeExtensionId(manifestKey: string): string {
  const digest = createHash('sha256').update(Buffer.from(manifestKey, 'base64')).digest('hex');
  return [...digest.slice(0, 32)].map((h) => String.fromCharCode(97 + parseInt(h, 16))).join('');
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const EXTENSION_ORIGIN = new RegExp(`^(chrome-extension://[a-p]{32}|moz-extension://${UUID})$`);

/** True for `chrome-extension://<32 letters a-p>` and `moz-extension://<lower-case uuid>`. */
export function isExtensionOrigin(value: string): boolean {
  return EXTENSION_ORIGIN.test(value);
}

/** True for an http(s) origin exactly as browsers send it (`scheme://host[:port]`, no more). */
export function isWebOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function rulesFor(config: CorsConfig, origin: string): readonly CorsRule[] {
  if (config.extensionOrigins.includes(origin)) return EXTENSION_RULES;
  if (config.bankOrigins.includes(origin)) return BANK_RULES;
  return [];
}

const ANY_RULE = [...EXTENSION_RULES, ...BANK_RULES];

/** The middleware. See the module comment. */
export function cors(config: CorsConfig): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const path = c.req.path;
    const eligible = ANY_RULE.some((r) => r.path.test(path));
    const origin = c.req.header('origin');
    const rules = origin === undefined ? [] : rulesFor(config, origin);
    const allows = (method: string) =>
      rules.some((r) => r.path.test(path) && r.methods.includes(method));

    const requested = c.req.header('access-control-request-method');
    if (c.req.method === 'OPTIONS' && requested !== undefined && origin !== undefined) {
      const headers = (c.req.header('access-control-request-headers') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '');
      if (allows(requested) && headers.every((h) => ALLOWED_HEADERS.includes(h))) {
        c.header('Access-Control-Allow-Origin', origin);
        c.header('Access-Control-Allow-Methods', requested);
        c.header('Access-Control-Allow-Headers', ALLOWED_HEADERS.join(', '));
        c.header('Access-Control-Max-Age', String(MAX_AGE_S));
        c.header('Vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
        return c.body(null, 204);
      }
    }

    await next();
    // Answers of these endpoints differ by Origin: no shared cache may mix them up.
    if (eligible) setResponseHeader(c, 'Vary', 'Origin', { append: true });
    if (origin !== undefined && allows(c.req.method)) {
      setResponseHeader(c, 'Access-Control-Allow-Origin', origin);
      setResponseHeader(c, 'Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    return undefined;
  };
}
