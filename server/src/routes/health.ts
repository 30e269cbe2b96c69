/**
 * `GET /healthz`: liveness and store reachability, for anyone.
 *
 * @module
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Health route. Answers `{status: "ok"}` once the store answers a trivial query. */
export function healthRoutes({ store }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get('/healthz', async (c) => {
    await store.ping();
    return c.json({ status: 'ok' });
  });
}
