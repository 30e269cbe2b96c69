/**
 * Behavioral sessions: opened and ended by a relying party, bound by a device, and turned
 * into session tokens for the relying party that opened them.
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { pathIdSchema, readJson, validate } from '../body';
import { bindBody, subjectBody } from '../../contract/schemas';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

const openBody = subjectBody;

/**
 * - `POST /v1/sessions` (bank): `{subject}` → 201 `{sessionId, challenge, expiresAt}`
 * - `POST /v1/sessions/bind` (device): `{binding}` → 200 `{sessionId, subject}`
 * - `POST /v1/sessions/:sid/token` (bank that opened it): → 200 `{token, expiresAt}`
 * - `DELETE /v1/sessions/:sid` (bank that opened it): → 204
 * - `POST /v1/sessions/:sid/decision` (bank that opened it): → 200 `{action, reasons,
 *   assurance, level, policy}`; a `terminate` ends the session (ERR_SESSION_TERMINATED after)
 */
export function sessionRoutes({ sessions, tokens, decisions, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  return new Hono<AppEnv>()
    .post('/v1/sessions', bank, async (c) => {
      const { subject } = await readJson(c, openBody);
      return c.json(await sessions.openSession(c.var.rp, subject), 201);
    })
    .post('/v1/sessions/bind', async (c) => {
      const { binding } = await readJson(c, bindBody);
      return c.json(await sessions.bindSession(binding));
    })
    .post('/v1/sessions/:sid/token', bank, async (c) => {
      const sid = validate(pathIdSchema, c.req.param('sid'));
      return c.json(await tokens.issueSessionToken(c.var.rp, sid));
    })
    .post('/v1/sessions/:sid/decision', bank, async (c) => {
      const sid = validate(pathIdSchema, c.req.param('sid'));
      return c.json(await decisions.decide(c.var.rp, sid));
    })
    .delete('/v1/sessions/:sid', bank, async (c) => {
      const sid = validate(pathIdSchema, c.req.param('sid'));
      await sessions.endSession(c.var.rp, sid);
      return c.body(null, 204);
    });
}
