/**
 * Hono environment shared by the app, its routes and middleware.
 *
 * @module
 */
import type { RelyingParty } from './middleware/auth';
import type { AuthenticatedDevice } from '../services/device-self';
import type { LogFields } from '../observability/log';

/** Per-request variables. */
export interface AppVariables {
  /** The authenticated relying party, set by `requireRole`. */
  rp: RelyingParty;
  /** The device whose DPoP proof was accepted, set by `requireDpop` on `/v1/device/*`. */
  device: AuthenticatedDevice;
  /** How the request failed (code, fixed message, cause): set by the error boundary, logged. */
  error: LogFields;
}

/** The `Env` type parameter of every Hono instance in the server. */
export interface AppEnv {
  Variables: AppVariables;
}
