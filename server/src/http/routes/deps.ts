/**
 * What route factories receive.
 *
 * @module
 */
import type { AuditTrail } from '../../services/audit';
import type { ApiKeyRegistry } from '../middleware/auth';
import type { DeviceSelfService } from '../../services/device-self';
import type { ServerKeys } from '../../crypto/keys';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import type { TacitService } from '../../services/service';
import type { Store } from '../../store/store';

/** Dependencies of the API routes. */
export interface RouteDeps {
  service: TacitService;
  /** The DPoP-authenticated device endpoints' operations. */
  deviceSelf: DeviceSelfService;
  apiKeys: ApiKeyRegistry;
  keys: ServerKeys;
  store: Store;
  audit: AuditTrail;
  metrics: Metrics;
  logger: Logger;
  /** Bearer token accepted on `GET /metrics` besides an `admin` key. */
  metricsToken: string | undefined;
}
