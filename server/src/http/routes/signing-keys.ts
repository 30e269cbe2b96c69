/**
 * `POST /v1/admin/signing-keys/rotate` (role `admin`): retire the server's signing key now and
 * sign with a new one. The retired key stays in the JWKS until the tokens it signed have expired.
 *
 * @module
 */
import { Hono } from 'hono';
import { actor } from '../../services/audit';
import { ROUTES } from '../../contract/routes';
import { requireRole } from '../middleware/auth';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Signing-key routes: → 200 `{kid, retired, rotated}`. */
export function signingKeyRoutes({ keys, apiKeys, audit, logger }: RouteDeps): Hono<AppEnv> {
  const admin = requireRole(apiKeys, 'admin');
  return new Hono<AppEnv>().post(ROUTES.rotateSigningKey.path, admin, async (c) => {
    const rotation = await keys.rotate();
    if (rotation) {
      logger.info('signing_key_rotated', { kid: rotation.kid, forced: true });
      await audit.record('signing_key.rotated', actor.rp(c.var.rp.id), {
        kid: rotation.kid,
        retired: rotation.retired,
        forced: true,
      });
    }
    // Undefined: another instance rotated at the same moment; its key signs now.
    return c.json({ kid: keys.kid, retired: rotation?.retired ?? [], rotated: !!rotation });
  });
}
