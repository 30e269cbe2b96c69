/**
 * Relying-party authentication: bearer API keys with a role. Only SHA-256 digests of the
 * secrets are kept in memory, and a presented key is compared against every digest in
 * constant time, so neither timing nor early exit says which key (if any) was close.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { Forbidden, Unauthorized } from '../../../errors';
import type { Role } from '../../../contract/routes';
import type { AppEnv } from '../../types';

// The roles are part of the wire contract (which role may call what: `contract/routes.ts`).
export { ROLES, type Role } from '../../../contract/routes';

/** An authenticated relying party. */
export interface RelyingParty {
  /** Its id: `aud` of its session tokens, owner of its sessions and enrollments. */
  readonly id: string;
  readonly role: Role;
}

/** Looks up the caller of a request from its `Authorization` header. */
export interface ApiKeyRegistry {
  /** The relying party whose key is presented, or undefined (the reason goes to `why`). */
  authenticate(authorization: string | undefined): { rp?: RelyingParty; why?: string };
}

interface KeyEntry {
  rp: RelyingParty;
  digest: Buffer;
}

const digest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Builds the registry from configured keys (validated by `loadConfig`).
 *
 * @throws {TypeError} on an empty or duplicate secret: a misconfiguration, not bad input.
 */
export function createApiKeyRegistry(
  keys: readonly { id: string; role: Role; secret: string }[],
): ApiKeyRegistry {
  const entries: KeyEntry[] = keys.map((k) => {
    if (k.secret.length < 16) throw new TypeError(`API key "${k.id}" is shorter than 16`);
    return { rp: Object.freeze({ id: k.id, role: k.role }), digest: digest(k.secret) };
  });
  if (new Set(entries.map((e) => e.digest.toString('hex'))).size !== entries.length) {
    throw new TypeError('two API keys share a secret');
  }
  return {
    authenticate(authorization) {
      if (authorization === undefined) return { why: 'no authorization header' };
      const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(authorization.trim());
      if (!match) return { why: 'not a bearer credential' };
      const presented = digest(match[1]!);
      let found: RelyingParty | undefined;
      for (const entry of entries) {
        // No early exit: every digest is compared whatever matched before.
        if (timingSafeEqual(entry.digest, presented)) found = entry.rp;
      }
      return found ? { rp: found } : { why: 'unknown api key' };
    },
  };
}

/**
 * Middleware: the request must carry the API key of a caller with `role` (or one of the
 * roles). Sets `c.var.rp`. A missing or unknown key is a generic 401 (cause logged by the
 * boundary); a known key with another role is a 403.
 */
export function requireRole(
  registry: ApiKeyRegistry,
  role: Role | readonly Role[],
): MiddlewareHandler<AppEnv> {
  const allowed: readonly Role[] = typeof role === 'string' ? [role] : role;
  return async (c, next) => {
    const { rp, why } = registry.authenticate(c.req.header('authorization'));
    if (!rp) {
      c.header('WWW-Authenticate', 'Bearer realm="tacit"');
      throw new Unauthorized({ cause: why });
    }
    c.set('rp', rp);
    if (!allowed.includes(rp.role)) {
      throw new Forbidden({ cause: `role ${rp.role} used where ${allowed.join('|')} needed` });
    }
    await next();
  };
}

/**
 * Middleware for `GET /metrics`: a key with role `admin`, or the bearer `metricsToken` when
 * one is configured (a scraper then needs no API key). Compared as digests in constant time.
 */
export function requireMetricsAccess(
  registry: ApiKeyRegistry,
  metricsToken: string | undefined,
): MiddlewareHandler<AppEnv> {
  const admin = requireRole(registry, 'admin');
  const tokenDigest = metricsToken === undefined ? undefined : digest(metricsToken);
  return async (c, next) => {
    if (tokenDigest) {
      const presented = c.req.header('authorization')?.trim() ?? '';
      const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(presented);
      if (match && timingSafeEqual(tokenDigest, digest(match[1]!))) return next();
    }
    return admin(c, next);
  };
}
