/**
 * `/v1/device/*`: a device acting on its own behalf, authenticated by a DPoP proof (RFC 9449)
 * in the `DPoP` header instead of an API key. A refused proof is a 401 with
 * `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (added by the error boundary).
 *
 * @module
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { BadRequest } from '../../errors';
import { readJson, validate } from '../body';
import type { DeviceSelfService } from '../../services/device-self';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Middleware: a valid DPoP proof of an enrolled device is required; sets `c.var.device`. */
export function requireDpop(deviceSelf: DeviceSelfService): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // The path as received, without query (RFC 9449 §4.3: htu has no query or fragment).
    const path = new URL(c.req.url).pathname;
    c.set('device', await deviceSelf.authenticate(c.req.header('dpop'), c.req.method, path));
    await next();
  };
}

/**
 * - `GET /v1/device/sessions/:sid` → 200 the session's status and assurance (bound device only)
 * - `GET /v1/device/enrollments` → 200 `{deviceId, enrollments: [{rp, subject, createdAt,
 *   revokedAt}]}`
 * - `POST /v1/device/revoke` (no body, or `{}`) → 200 `{deviceId, revoked}`
 * - `POST /v1/device/rotate` `{rotation: <tacit-rotate+jwt>}` → 200 `{deviceId,
 *   previousDeviceId, enrollments, sessions}`
 */
export function deviceSelfRoutes({ deviceSelf }: RouteDeps): Hono<AppEnv> {
  const dpop = requireDpop(deviceSelf);
  return new Hono<AppEnv>()
    .get(ROUTES.deviceSession.path, dpop, async (c) => {
      const sid = validate(ROUTES.deviceSession.params.sid, c.req.param('sid'));
      return c.json(await deviceSelf.session(c.var.device, sid));
    })
    .get(ROUTES.deviceEnrollments.path, dpop, (c) => c.json(deviceSelf.enrollments(c.var.device)))
    .post(ROUTES.deviceRevoke.path, dpop, async (c) => {
      const text = await c.req.text().catch((cause: unknown) => {
        throw new BadRequest('unreadable request body', { cause });
      });
      if (text !== '') await readJson(c, ROUTES.deviceRevoke.body.schema);
      return c.json(await deviceSelf.revoke(c.var.device));
    })
    .post(ROUTES.deviceRotate.path, dpop, async (c) => {
      const { rotation } = await readJson(c, ROUTES.deviceRotate.body.schema);
      return c.json(await deviceSelf.rotate(c.var.device, rotation));
    });
}
