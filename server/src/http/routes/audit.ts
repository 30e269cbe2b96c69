/**
 * The audit trail for a SIEM (roles `auditor` and `admin`):
 *
 * - `GET /v1/audit?after=<seq>&limit=<n>` → 200 `application/x-ndjson`, one record per line,
 *   oldest first (`after` default 0, `limit` 1–10000, default 1000). Poll with the last `seq`
 *   received as `after`.
 * - `GET /v1/audit/verify` → 200 `{ok, records, brokenAt?, anchor, head}`.
 *
 * Reading the trail is not itself recorded (a SIEM polls it).
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { validate } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** `Content-Type` of the export. */
export const NDJSON = 'application/x-ndjson; charset=utf-8';

/** Audit routes. */
export function auditRoutes({ audit, apiKeys }: RouteDeps): Hono<AppEnv> {
  const readers = requireRole(apiKeys, ['auditor', 'admin']);
  return new Hono<AppEnv>()
    .get(ROUTES.readAudit.path, readers, async (c) => {
      const { after, limit } = validate(ROUTES.readAudit.query, c.req.query());
      const records = await audit.read(after, limit);
      // Members in a fixed order; `hash` is over the canonical JSON of the others (audit.ts).
      const lines = records.map(({ seq, ts, type, actor, data, prev, hash }) =>
        JSON.stringify({ seq, ts, type, actor, data, prev, hash }),
      );
      c.header('Content-Type', NDJSON);
      return c.body(lines.map((l) => `${l}\n`).join(''));
    })
    .get(ROUTES.verifyAudit.path, readers, async (c) => c.json(await audit.verify()));
}
