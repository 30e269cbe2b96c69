/**
 * Devices: enrollment by the device itself, listing and revocation by relying parties, and
 * revocation everywhere by an operator.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { pathIdSchema, readJson, subjectSchema, validate } from '../body';
import { enrollBody, subjectBody } from '../../contract/schemas';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

const revokeBody = subjectBody;

/**
 * - `POST /v1/devices` (device): `{enrollment}` → 201 `{deviceId, subject}`
 * - `GET /v1/devices?subject=` (bank): → 200 `{devices: [...]}`
 * - `POST /v1/devices/:deviceId/revoke` (bank): `{subject}` → 200 device
 * - `POST /v1/admin/devices/:deviceId/revoke` (admin): → 200 `{deviceId, revoked}`
 */
export function deviceRoutes({ enrollment, devices, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  const admin = requireRole(apiKeys, 'admin');
  return new Hono<AppEnv>()
    .post('/v1/devices', async (c) => {
      const { enrollment: statement } = await readJson(c, enrollBody);
      return c.json(await enrollment.enrollDevice(statement), 201);
    })
    .get('/v1/devices', bank, async (c) => {
      const subject = validate(subjectSchema, c.req.query('subject'));
      return c.json({ devices: await devices.listDevices(c.var.rp, subject) });
    })
    .post('/v1/devices/:deviceId/revoke', bank, async (c) => {
      const deviceId = validate(pathIdSchema, c.req.param('deviceId'));
      const { subject } = await readJson(c, revokeBody);
      return c.json(await devices.revokeDevice(c.var.rp, subject, deviceId));
    })
    .post('/v1/admin/devices/:deviceId/revoke', admin, async (c) => {
      const deviceId = validate(pathIdSchema, c.req.param('deviceId'));
      return c.json(await devices.revokeDeviceEverywhere(deviceId, c.var.rp));
    });
}
