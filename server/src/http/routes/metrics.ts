/**
 * `GET /metrics`: Prometheus text exposition 0.0.4 (prom-client), for an `admin` key or the bearer
 * `TACIT_METRICS_TOKEN`.
 *
 * @module
 */
import { Hono } from 'hono';
import { ROUTES } from '../../contract/routes';
import { requireMetricsAccess } from '../middleware/auth';
import { METRICS_CONTENT_TYPE } from '../../observability/metrics';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Metrics route. */
export function metricsRoutes({ metrics, apiKeys, metricsToken }: RouteDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().get(
    ROUTES.metrics.path,
    requireMetricsAccess(apiKeys, metricsToken),
    async (c) => {
      c.header('Content-Type', METRICS_CONTENT_TYPE);
      return c.body(await metrics.render());
    },
  );
}
