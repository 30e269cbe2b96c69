/**
 * `POST /v1/introspect`: RFC 7662 token introspection for relying parties.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { readJsonOrForm } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/**
 * Introspection route (role `bank`): form `token=…` or JSON `{token}` → `{active: false}` or
 * the active token's claims with the session's current assurance.
 */
export function introspectRoutes({ tokens, apiKeys }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post(
    ROUTES.introspect.path,
    requireRole(apiKeys, 'bank'),
    async (c) => {
      const { token } = await readJsonOrForm(c, ROUTES.introspect.body.schema);
      return c.json(await tokens.introspect(c.var.rp, token));
    },
  );
}
