/**
 * The service layer as the app builds it: one service per aggregate (docs/server.md, "Layout").
 * Types only: `app.ts` builds the services; the routes and the test harness take them.
 *
 * @module
 */
import type { AttestationService } from './attestations';
import type { DecisionService } from './decisions';
import type { DeviceSelfService } from './device-self';
import type { DeviceService } from './devices';
import type { EnrollmentService } from './enrollment';
import type { MaintenanceService } from './maintenance';
import type { SessionService } from './sessions';
import type { TokenService } from './tokens';
import type { StreamService } from '../ssf/streams';
import type { SsfTransmitter } from '../ssf/transmitter';

/** Every service of one app instance. */
export interface Services {
  enrollment: EnrollmentService;
  devices: DeviceService;
  sessions: SessionService;
  attestations: AttestationService;
  tokens: TokenService;
  decisions: DecisionService;
  /** The DPoP-authenticated device endpoints' operations. */
  deviceSelf: DeviceSelfService;
  /** Shared Signals streams of relying parties (`ssf/streams.ts`). */
  streams: StreamService;
  /** Shared Signals fan-out and push delivery (`ssf/transmitter.ts`; `main.ts` starts its loop). */
  transmitter: SsfTransmitter;
  /** Retention purges (run by `main.ts`). */
  maintenance: MaintenanceService;
}
