/**
 * Shared Signals (OpenID SSF 1.0) for relying parties (role `bank`, their own streams only):
 *
 * - `GET /.well-known/ssf-configuration` (anyone) → transmitter metadata
 * - `POST|GET|PATCH|PUT|DELETE /v1/ssf/streams` → stream configuration
 * - `GET|POST /v1/ssf/status` → stream status
 * - `POST /v1/ssf/verify` → 204, a verification event queued
 * - `POST /v1/ssf/poll/:streamId` → RFC 8936 poll
 * - `GET /v1/ssf/dead-letters?stream_id=` → failed push deliveries
 *
 * @module
 */
import { Hono } from 'hono';
import { requireRole } from '../middleware/auth';
import { readJson, validate } from '../body';
import { ROUTES } from '../../contract/routes';
import type { AppEnv } from '../types';
import type { RouteDeps } from './deps';

/** SSF routes. */
export function ssfRoutes({ streams, apiKeys }: RouteDeps): Hono<AppEnv> {
  const bank = requireRole(apiKeys, 'bank');
  return new Hono<AppEnv>()
    .get(ROUTES.ssfConfiguration.path, (c) => c.json(streams.configuration()))
    .post(ROUTES.createStream.path, bank, async (c) => {
      const body = await readJson(c, ROUTES.createStream.body.schema);
      return c.json(await streams.create(c.var.rp.id, body), 201);
    })
    .get(ROUTES.readStreams.path, bank, async (c) => {
      const { stream_id } = validate(ROUTES.readStreams.query, c.req.query());
      return c.json(await streams.read(c.var.rp.id, stream_id));
    })
    .patch(ROUTES.updateStream.path, bank, async (c) => {
      const body = await readJson(c, ROUTES.updateStream.body.schema);
      return c.json(await streams.update(c.var.rp.id, body, false));
    })
    .put(ROUTES.replaceStream.path, bank, async (c) => {
      const body = await readJson(c, ROUTES.replaceStream.body.schema);
      return c.json(await streams.update(c.var.rp.id, body, true));
    })
    .delete(ROUTES.deleteStream.path, bank, async (c) => {
      const { stream_id } = validate(ROUTES.deleteStream.query, c.req.query());
      await streams.remove(c.var.rp.id, stream_id);
      return c.body(null, 204);
    })
    .get(ROUTES.readStreamStatus.path, bank, async (c) => {
      const { stream_id } = validate(ROUTES.readStreamStatus.query, c.req.query());
      return c.json(await streams.status(c.var.rp.id, stream_id));
    })
    .post(ROUTES.updateStreamStatus.path, bank, async (c) => {
      const body = await readJson(c, ROUTES.updateStreamStatus.body.schema);
      return c.json(await streams.setStatus(c.var.rp.id, body.stream_id, body.status, body.reason));
    })
    .post(ROUTES.verifyStream.path, bank, async (c) => {
      const body = await readJson(c, ROUTES.verifyStream.body.schema);
      await streams.verify(c.var.rp.id, body.stream_id, body.state);
      return c.body(null, 204);
    })
    .post(ROUTES.pollStream.path, bank, async (c) => {
      const id = validate(ROUTES.pollStream.params.streamId, c.req.param('streamId'));
      const body = await readJson(c, ROUTES.pollStream.body.schema);
      return c.json(await streams.poll(c.var.rp.id, id, body));
    })
    .get(ROUTES.readDeadLetters.path, bank, async (c) => {
      const { stream_id } = validate(ROUTES.readDeadLetters.query, c.req.query());
      return c.json(await streams.deadLetters(c.var.rp.id, stream_id));
    });
}
