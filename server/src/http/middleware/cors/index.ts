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
 * Which endpoint belongs to which class is the route table's `cors` (`contract/routes.ts`),
 * precomputed per path: a map lookup for static paths, a prefix test and one compiled pattern
 * per parametrised path otherwise (a parameter whose schema is a plain string pattern is
 * inlined into it; any other is checked with its schema).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ROUTE_LIST, pathPattern, type Route } from '../../../contract/routes';
import { setResponseHeader } from '../headers';
import type { AppEnv } from '../../types';

/** Origins allowed by class. */
export interface CorsConfig {
  /** `chrome-extension://…`, `moz-extension://…` origins of the Tacit extension. */
  extensionOrigins: readonly string[];
  /** http(s) origins of relying parties' pages. */
  bankOrigins: readonly string[];
}

/** The methods each origin class may use on one path (the path is CORS-eligible). */
export interface CorsEntry {
  readonly extension: ReadonlySet<string>;
  readonly bank: ReadonlySet<string>;
}

interface ParametrisedPath {
  /** The path up to its first parameter: tested before the pattern. */
  prefix: string;
  pattern: RegExp;
  /** Parameters the pattern does not check by itself. */
  params: [string, z.ZodType][];
  entry: CorsEntry;
}

/** The regular expression (unanchored) of a schema that is only a string pattern, if it is. */
function plainPattern(schema: z.ZodType): string | undefined {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { unrepresentable: 'any' });
  const { type, pattern, ...rest } = json as { type?: unknown; pattern?: unknown };
  if (type !== 'string' || typeof pattern !== 'string' || Object.keys(rest).length > 0) {
    return undefined;
  }
  const m = /^\^(.*)\$$/.exec(pattern);
  return m ? `(?:${m[1]})` : undefined;
}

function compilePattern(route: Route): { pattern: RegExp; params: [string, z.ZodType][] } {
  const checked: [string, z.ZodType][] = [];
  const pattern = pathPattern(route.path, (name) => {
    const schema = route.params?.[name];
    const inline = schema && plainPattern(schema);
    if (inline) return inline;
    if (schema) checked.push([name, schema]);
    return '[^/]+';
  });
  return { pattern, params: checked };
}

/** Static paths → entry, and the parametrised paths, from the table's `cors` class. */
function compile(routes: readonly Route[]) {
  const byPath = new Map<string, { extension: Set<string>; bank: Set<string>; route: Route }>();
  for (const route of routes) {
    if (route.cors === 'none') continue;
    let entry = byPath.get(route.path);
    if (!entry) byPath.set(route.path, (entry = { extension: new Set(), bank: new Set(), route }));
    entry[route.cors].add(route.method);
  }
  const exact = new Map<string, CorsEntry>();
  const parametrised: ParametrisedPath[] = [];
  for (const [path, { extension, bank, route }] of byPath) {
    const entry = { extension, bank };
    if (!path.includes(':')) {
      exact.set(path, entry);
      continue;
    }
    parametrised.push({
      prefix: path.slice(0, path.indexOf(':')),
      ...compilePattern(route),
      entry,
    });
  }
  return { exact, parametrised };
}

const { exact: EXACT, parametrised: PARAMETRISED } = compile(ROUTE_LIST);

/** The CORS entry of `path`, or undefined when no origin ever gets CORS there. */
export function corsEntry(path: string): CorsEntry | undefined {
  const entry = EXACT.get(path);
  if (entry !== undefined) return entry;
  for (const p of PARAMETRISED) {
    if (!path.startsWith(p.prefix)) continue;
    const groups = p.pattern.exec(path)?.groups;
    if (groups && p.params.every(([name, schema]) => schema.safeParse(groups[name]).success)) {
      return p.entry;
    }
  }
  return undefined;
}

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

const NO_METHODS: ReadonlySet<string> = new Set();

/** The middleware. See the module comment. */
export function cors(config: CorsConfig): MiddlewareHandler<AppEnv> {
  const extensionOrigins = new Set(config.extensionOrigins);
  const bankOrigins = new Set(config.bankOrigins);
  return async (c, next) => {
    const entry = corsEntry(c.req.path);
    if (entry === undefined) return next();
    const origin = c.req.header('origin');
    const methods =
      origin === undefined
        ? NO_METHODS
        : extensionOrigins.has(origin)
          ? entry.extension
          : bankOrigins.has(origin)
            ? entry.bank
            : NO_METHODS;
    const allows = (method: string) => methods.has(method);

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
    setResponseHeader(c, 'Vary', 'Origin', { append: true });
    if (origin !== undefined && allows(c.req.method)) {
      setResponseHeader(c, 'Access-Control-Allow-Origin', origin);
      setResponseHeader(c, 'Access-Control-Expose-Headers', EXPOSED_HEADERS);
    }
    return undefined;
  };
}
