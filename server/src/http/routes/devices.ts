/**
 * Devices: enrollment by the device itself, listing and revocation by relying parties, and
 * revocation everywhere by an operator.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { readJson, validate } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/**
 * - `POST /v1/devices` (device): `{enrollment}` → 201 `{deviceId, subject}`
 * - `GET /v1/devices?subject=` (bank): → 200 `{devices: [...]}`
 * - `POST /v1/devices/:deviceId/revoke` (bank): `{subject}` → 200 device
 * - `POST /v1/admin/devices/:deviceId/revoke` (admin): → 200 `{deviceId, revoked}`
 * - `GET /v1/admin/devices/:deviceId` (aggregator, admin): → 200 `{deviceId, jwk, active}`
 */
export function deviceRoutes({ enrollment, devices, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  const admin = requireRole(apiKeys, 'admin');
  const aggregator = requireRole(apiKeys, ['aggregator', 'admin']);
  return new Hono<AppEnv>()
    .post(ROUTES.enrollDevice.path, async (c) => {
      const { enrollment: statement } = await readJson(c, ROUTES.enrollDevice.body.schema);
      return c.json(await enrollment.enrollDevice(statement), 201);
    })
    .get(ROUTES.listDevices.path, bank, async (c) => {
      const { subject } = validate(ROUTES.listDevices.query, c.req.query());
      return c.json({ devices: await devices.listDevices(c.var.rp, subject) });
    })
    .post(ROUTES.revokeDevice.path, bank, async (c) => {
      const deviceId = validate(ROUTES.revokeDevice.params.deviceId, c.req.param('deviceId'));
      const { subject } = await readJson(c, ROUTES.revokeDevice.body.schema);
      return c.json(await devices.revokeDevice(c.var.rp, subject, deviceId));
    })
    .post(ROUTES.revokeDeviceEverywhere.path, admin, async (c) => {
      const deviceId = validate(
        ROUTES.revokeDeviceEverywhere.params.deviceId,
        c.req.param('deviceId'),
      );
      return c.json(await devices.revokeDeviceEverywhere(deviceId, c.var.rp));
    })
    .get(ROUTES.deviceKey.path, aggregator, async (c) => {
      const deviceId = validate(ROUTES.deviceKey.params.deviceId, c.req.param('deviceId'));
      return c.json(await devices.deviceKey(deviceId));
    });
}
