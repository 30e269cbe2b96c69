/**
 * Probes for anyone: `GET /healthz` (liveness, store reachable) and `GET /readyz` (ready to
 * serve: store reachable and signing keys loaded).
 *
 * @module
 */
import { Hono } from 'hono';
import { ROUTES } from '../../contract/routes';
import { errorFields } from '../../observability/log';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Health routes. */
export function healthRoutes({ store, keys, logger }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get(ROUTES.health.path, async (c) => {
      await store.ping();
      return c.json({ status: 'ok' });
    })
    .get(ROUTES.ready.path, async (c) => {
      let storeOk = true;
      try {
        await store.ping();
      } catch (err) {
        storeOk = false;
        logger.warn('not_ready', { check: 'store', ...errorFields(err) });
      }
      const keysOk = keys.kid.length > 0 && keys.jwks().keys.some((k) => k.kid === keys.kid);
      const checks = { store: storeOk ? 'ok' : 'fail', keys: keysOk ? 'ok' : 'fail' };
      return storeOk && keysOk
        ? c.json({ status: 'ready', checks })
        : c.json({ status: 'unavailable', checks }, 503);
    });
}
