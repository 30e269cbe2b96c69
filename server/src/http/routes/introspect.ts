/**
 * `POST /v1/introspect`: RFC 7662 token introspection for relying parties.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { readJsonOrForm } from '../body';
import { introspectBody } from '../../contract/schemas';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

const body = introspectBody;

/**
 * Introspection route (role `bank`): form `token=…` or JSON `{token}` → `{active: false}` or
 * the active token's claims with the session's current assurance.
 */
export function introspectRoutes({ tokens, apiKeys }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post('/v1/introspect', requireRole(apiKeys, 'bank'), async (c) => {
    const { token } = await readJsonOrForm(c, body);
    return c.json(await tokens.introspect(c.var.rp, token));
  });
}
