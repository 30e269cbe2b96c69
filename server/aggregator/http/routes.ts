/**
 * The aggregator's routes: each reads its path and schemas from the route table
 * (`contract.ts`) and calls a service. Admin routes take the operator's bearer key, compared as
 * a digest in constant time by the verifier's API key registry.
 *
 * @module
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import type { ApiKeyRegistry } from '../../src/http/middleware/auth';
import { AggregatorError } from '../errors';
import type { AggregatorKey } from '../services/signing-key';
import type { RoundService } from '../services/rounds';
import type { VersionService } from '../services/versions';
import { AGGREGATOR_ROUTES as R } from './contract';
import { AGGREGATOR_OPENAPI } from './openapi';

/** What the routes need. */
export interface AggregatorRouteDeps {
  rounds: RoundService;
  versions: VersionService;
  key: AggregatorKey;
  adminKeys: ApiKeyRegistry;
}

function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new AggregatorError('ERR_BAD_REQUEST', { cause: 'schema' });
  return parsed.data;
}

async function readJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new AggregatorError('ERR_BAD_REQUEST', { cause: 'content type' });
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (cause) {
    if (cause instanceof AggregatorError) throw cause;
    throw new AggregatorError('ERR_BAD_REQUEST', { cause: 'not JSON' });
  }
  return validate(schema, body);
}

const id = (c: Context, name: string, schema: z.ZodType) =>
  Number(validate(schema, c.req.param(name)));

/** The routes (module description). */
export function aggregatorRoutes(d: AggregatorRouteDeps): Hono {
  const admin: MiddlewareHandler = async (c, next) => {
    const { rp, why } = d.adminKeys.authenticate(c.req.header('authorization'));
    if (!rp || rp.role !== 'admin') {
      c.header('WWW-Authenticate', 'Bearer realm="tacit-aggregator"');
      throw new AggregatorError('ERR_UNAUTHORIZED', { cause: why ?? 'role' });
    }
    await next();
  };
  return new Hono()
    .get(R.health.path, (c) => c.json({ status: 'ok' as const }))
    .get(R.openapi.path, (c) => c.json(AGGREGATOR_OPENAPI))
    .get(R.jwks.path, (c) => {
      c.header('Cache-Control', 'public, max-age=300');
      return c.json(d.key.jwks);
    })
    .get(R.currentRound.path, (c) => c.json(d.rounds.current()))
    .post(R.upload.path, async (c) => {
      const { update } = await readJson(c, R.upload.body);
      return c.json(await d.rounds.upload(update), 201);
    })
    .get(R.listVersions.path, (c) => c.json({ versions: d.versions.list() }))
    .get(R.currentVersion.path, (c) => c.json(d.versions.current()))
    .get(R.getVersion.path, (c) => c.json(d.versions.get(id(c, 'ver', R.getVersion.params.ver))))
    .post(R.openRound.path, admin, (c) => c.json(d.rounds.open(), 201))
    .get(R.getRound.path, admin, (c) =>
      c.json(d.rounds.get(id(c, 'round', R.getRound.params.round))),
    )
    .post(R.closeRound.path, admin, async (c) => {
      const round = id(c, 'round', R.closeRound.params.round);
      const { evaluation } = await readJson(c, R.closeRound.body);
      return c.json(await d.rounds.close(round, evaluation), 201);
    })
    .post(R.rollback.path, admin, async (c) =>
      c.json(await d.rounds.rollback(id(c, 'ver', R.rollback.params.ver)), 201),
    );
}
