/**
 * What route factories receive.
 *
 * @module
 */
import type { AuditTrail } from '../../services/audit';
import type { ApiKeyRegistry } from '../middleware/auth';
import type { Services } from '../../services';
import type { ServerKeys } from '../../crypto/keys';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import type { Store } from '../../store/store';

/** Dependencies of the API routes: each route file takes the services it calls. */
export interface RouteDeps extends Services {
  apiKeys: ApiKeyRegistry;
  keys: ServerKeys;
  store: Store;
  audit: AuditTrail;
  metrics: Metrics;
  logger: Logger;
  /** Bearer token accepted on `GET /metrics` besides an `admin` key. */
  metricsToken: string | undefined;
}
