/**
 * `POST /v1/enrollment-codes`: a relying party asks for a one-time enrollment code for one
 * of its subjects.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { readJson } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** Enrollment-code route (role `bank`): `{subject}` → 201 `{code, expiresAt}`. */
export function enrollmentCodeRoutes({ enrollment, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  return new Hono<AppEnv>().post(ROUTES.createEnrollmentCode.path, bank, async (c) => {
    const { subject } = await readJson(c, ROUTES.createEnrollmentCode.body.schema);
    return c.json(await enrollment.createEnrollmentCode(c.var.rp, subject), 201);
  });
}
