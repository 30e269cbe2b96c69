/**
 * Behavioral sessions: opened and ended by a relying party, bound by a device, and turned
 * into session tokens for the relying party that opened them.
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
 * - `POST /v1/sessions` (bank): `{subject}` → 201 `{sessionId, challenge, expiresAt}`
 * - `POST /v1/sessions/bind` (device): `{binding}` → 200 `{sessionId, subject}`
 * - `POST /v1/sessions/:sid/token` (bank that opened it): → 200 `{token, expiresAt}`
 * - `DELETE /v1/sessions/:sid` (bank that opened it): → 204
 * - `POST /v1/sessions/:sid/decision` (bank that opened it): → 200 `{action, reasons,
 *   assurance, level, policy}`; a `terminate` ends the session (ERR_SESSION_TERMINATED after)
 * - `POST /v1/sessions/:sid/confirm` (bank that opened it): `{method, at}` → 200
 *   `{sessionId, confirmedAt, assurance, level}`
 */
export function sessionRoutes({ sessions, tokens, decisions, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  return new Hono<AppEnv>()
    .post(ROUTES.openSession.path, bank, async (c) => {
      const { subject } = await readJson(c, ROUTES.openSession.body.schema);
      return c.json(await sessions.openSession(c.var.rp, subject), 201);
    })
    .post(ROUTES.bindSession.path, async (c) => {
      const { binding } = await readJson(c, ROUTES.bindSession.body.schema);
      return c.json(await sessions.bindSession(binding));
    })
    .post(ROUTES.issueSessionToken.path, bank, async (c) => {
      const sid = validate(ROUTES.issueSessionToken.params.sid, c.req.param('sid'));
      return c.json(await tokens.issueSessionToken(c.var.rp, sid));
    })
    .post(ROUTES.decide.path, bank, async (c) => {
      const sid = validate(ROUTES.decide.params.sid, c.req.param('sid'));
      return c.json(await decisions.decide(c.var.rp, sid));
    })
    .post(ROUTES.confirmSession.path, bank, async (c) => {
      const sid = validate(ROUTES.confirmSession.params.sid, c.req.param('sid'));
      const body = await readJson(c, ROUTES.confirmSession.body.schema);
      return c.json(await sessions.confirmSession(c.var.rp, sid, body));
    })
    .delete(ROUTES.endSession.path, bank, async (c) => {
      const sid = validate(ROUTES.endSession.params.sid, c.req.param('sid'));
      await sessions.endSession(c.var.rp, sid);
      return c.body(null, 204);
    });
}
