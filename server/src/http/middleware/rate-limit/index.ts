/**
 * Fixed-window rate limiting of `/v1/*`, per client key, behind the {@link RateLimiter}
 * interface (this process keeps counters in memory; a Redis limiter can share them between
 * instances).
 *
 * Which buckets a request counts against:
 * - a request with a valid API key: `rp:<id>` only (limit `rp`);
 * - any other request: `addr:<remote address>` (limit `address`); device statements
 *   (`POST /v1/attestations`, `POST /v1/sessions/bind`) also count against `device:<kid>`
 *   (limit `device`), `kid` read from the not-yet-verified protected header. Because that
 *   `kid` is unverified, the address bucket is what bounds a client minting random `kid`s.
 *
 * Which routes count a statement against `device:<kid>`, and in which body member, is the
 * route table's `rateLimit` (`contract/routes.ts`).
 *
 * @module
 */
import { isIP } from 'node:net';
import { decodeProtectedHeader } from 'jose';
import type { Context, MiddlewareHandler } from 'hono';
import { ROUTE_LIST, type Route, type StatementMember } from '../../../contract/routes';
import type { ApiKeyRegistry } from '../auth';
import type { Clock } from '../../../clock';
import { RateLimited } from '../../../errors';
import type { Metrics } from '../../../observability/metrics';
import type { AppEnv } from '../../types';

/** Outcome of counting one request. */
export interface RateLimitResult {
  allowed: boolean;
  /** Requests left in the window after this one (0 when refused). */
  remaining: number;
  /** When the window ends (ms since the epoch). */
  resetAt: number;
}

/** A fixed-window counter store. */
export interface RateLimiter {
  /** Counts one request of `key` in the window of `windowMs` containing `now`. */
  hit(key: string, limit: number, windowMs: number, now: number): Promise<RateLimitResult>;
}

/** Limits per window; 0 turns a class off. */
export interface RateLimitConfig {
  windowMs: number;
  rp: number;
  device: number;
  address: number;
}

/** Defaults: generous enough for a browser e2e run from one loopback address. */
export const DEFAULT_RATE_LIMITS: Readonly<RateLimitConfig> = Object.freeze({
  windowMs: 60_000,
  rp: 6000,
  device: 600,
  address: 1200,
});

/** No limits (tests that are not about rate limiting). */
export const NO_RATE_LIMITS: Readonly<RateLimitConfig> = Object.freeze({
  windowMs: 60_000,
  rp: 0,
  device: 0,
  address: 0,
});

/**
 * In-memory {@link RateLimiter}. At most `maxKeys` counters: past that, counters of older
 * windows are dropped first, then the oldest-created ones.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(readonly maxKeys = 100_000) {}

  async hit(key: string, limit: number, windowMs: number, now: number): Promise<RateLimitResult> {
    const start = now - (now % windowMs);
    let entry = this.#windows.get(key);
    if (!entry || entry.start !== start) {
      if (!entry && this.#windows.size >= this.maxKeys) this.#evict(start);
      entry = { start, count: 0 };
      this.#windows.set(key, entry);
    }
    entry.count += 1;
    const allowed = entry.count <= limit;
    return { allowed, remaining: Math.max(0, limit - entry.count), resetAt: start + windowMs };
  }

  /** Counters currently kept (for tests). */
  get size(): number {
    return this.#windows.size;
  }

  #evict(currentStart: number): void {
    for (const [k, v] of this.#windows) if (v.start !== currentStart) this.#windows.delete(k);
    for (const k of this.#windows.keys()) {
      if (this.#windows.size < this.maxKeys) break;
      this.#windows.delete(k);
    }
  }
}

/** What the middleware needs. */
export interface RateLimitDeps {
  limiter: RateLimiter;
  limits: RateLimitConfig;
  apiKeys: ApiKeyRegistry;
  clock: Clock;
  metrics: Metrics;
  /**
   * The proxies whose `X-Forwarded-For` is believed: the client address is its last entry when
   * the connection comes from one of them, else the connection's own address. `false`: never.
   */
  trustProxy: TrustedProxies | false;
}

/** Addresses (and networks) of the reverse proxies in front of the server. */
export interface TrustedProxies {
  /** Whether a connection from `address` (IPv4, IPv6 or IPv4-mapped IPv6) is a proxy's. */
  check(address: string, family?: 'ipv4' | 'ipv6'): boolean;
}

const KID = /^[A-Za-z0-9_-]{1,128}$/;

/** Path → the method and body member whose statement counts against `device:<kid>`. */
function statementMembers(
  routes: readonly Route[],
): ReadonlyMap<string, { method: string; member: StatementMember }> {
  const out = new Map<string, { method: string; member: StatementMember }>();
  for (const { method, path, rateLimit } of routes) {
    if (typeof rateLimit !== 'object') continue;
    // Looked up by exact path: a parametrised path would need a pattern here.
    if (path.includes(':')) throw new TypeError(`device grouping on a parametrised path ${path}`);
    out.set(path, { method, member: rateLimit.device });
  }
  return out;
}

const STATEMENT_MEMBER = statementMembers(ROUTE_LIST);

/** The remote address of the request (node-server bindings), or the proxy's account of it. */
export function clientAddress(c: Context, trustProxy: TrustedProxies | false): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const peer = env?.incoming?.socket?.remoteAddress;
  // Only the proxy's own connection may speak for the client: anyone else who sends the
  // header would choose the address their requests are counted against.
  if (trustProxy && peer !== undefined && isTrusted(trustProxy, peer)) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  return peer ?? 'unknown';
}

/** A peer address against the list, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as its IPv4 form. */
function isTrusted(proxies: TrustedProxies, peer: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(peer);
  if (mapped) return proxies.check(mapped[1]!, 'ipv4');
  return proxies.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4');
}

/** The unverified `kid` of the device statement in the body, if it has one. */
async function statementKid(c: Context): Promise<string | undefined> {
  const grouping = STATEMENT_MEMBER.get(c.req.path);
  const member = grouping?.method === c.req.method ? grouping.member : undefined;
  if (!member || !/^application\/json/i.test(c.req.header('content-type') ?? '')) return undefined;
  try {
    // The body is cached by hono: the route reads the same text again.
    const body = JSON.parse(await c.req.text()) as Record<string, unknown> | null;
    const jws = body?.[member];
    if (typeof jws !== 'string' || jws.length > 8192) return undefined;
    const { kid } = decodeProtectedHeader(jws);
    return typeof kid === 'string' && KID.test(kid) ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** The middleware: throws {@link RateLimited} (429, `Retry-After`) once a bucket is spent. */
export function rateLimit(deps: RateLimitDeps): MiddlewareHandler<AppEnv> {
  const { limiter, limits, apiKeys, clock, metrics } = deps;
  const count = async (cls: 'rp' | 'device' | 'address', key: string) => {
    const limit = limits[cls];
    if (limit <= 0) return;
    const now = clock.now();
    const r = await limiter.hit(`${cls}:${key}`, limit, limits.windowMs, now);
    if (!r.allowed) {
      metrics.rateLimited.inc({ class: cls });
      throw new RateLimited(Math.max(1, Math.ceil((r.resetAt - now) / 1000)), {
        cause: `${cls} limit`,
      });
    }
  };
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    const { rp } = authorization ? apiKeys.authenticate(authorization) : {};
    if (rp) {
      await count('rp', rp.id);
    } else {
      await count('address', clientAddress(c, deps.trustProxy));
      const kid = limits.device > 0 ? await statementKid(c) : undefined;
      if (kid) await count('device', kid);
    }
    await next();
  };
}
