/**
 * What route factories receive.
 *
 * @module
 */
import type { AuditTrail } from '../audit';
import type { ApiKeyRegistry } from '../auth';
import type { DeviceSelfService } from '../device-self';
import type { ServerKeys } from '../keys';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { TacitService } from '../service';
import type { Store } from '../store/store';

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
