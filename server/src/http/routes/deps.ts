/**
 * What route factories receive.
 *
 * @module
 */
import type { AuditTrail } from '../../services/audit';
import type { ApiKeyRegistry } from '../middleware/auth';
import type { AttestationService } from '../../services/attestations';
import type { DecisionService } from '../../services/decisions';
import type { DeviceSelfService } from '../../services/device-self';
import type { DeviceService } from '../../services/devices';
import type { EnrollmentService } from '../../services/enrollment';
import type { SessionService } from '../../services/sessions';
import type { TokenService } from '../../services/tokens';
import type { ServerKeys } from '../../crypto/keys';
import type { Logger } from '../../observability/log';
import type { Metrics } from '../../observability/metrics';
import type { Store } from '../../store/store';

/** Dependencies of the API routes: each route file takes the services it calls. */
export interface RouteDeps {
  enrollment: EnrollmentService;
  devices: DeviceService;
  sessions: SessionService;
  attestations: AttestationService;
  tokens: TokenService;
  decisions: DecisionService;
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
