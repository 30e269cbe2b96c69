/**
 * The OpenAPI 3.1 description of the verifier, served at `GET /openapi.json`, generated from
 * the contract: operations from the route table (`contract/routes.ts`), schemas from its zod
 * schemas (`z.toJSONSchema`, named ones as `#/components/schemas/<id>`), error answers from
 * the error table (`contract/errors.ts`). Nothing is listed here by hand; `openapi.test.ts`
 * checks the document against the table and the app's routes.
 *
 * Why not `@hono/zod-openapi`: it would describe the same routes, but its request validation
 * answers in its own error shape and does not read bodies the way `http/body.ts` must
 * (Content-Type enforcement, form or JSON, a malformed attestation body audited), and CORS and
 * rate limiting still need a table of their own. It also brings three more runtime packages.
 *
 * @module
 */
import { z } from 'zod';
import { ERROR_STATUS, STORE_ERRORS, reachesStore } from '../contract/errors';
import {
  NDJSON_TYPE,
  ROUTE_LIST,
  openApiPath,
  type Route,
  type Security,
} from '../contract/routes';
import { NAMED_SCHEMAS } from '../contract/schemas';
import type { ErrorCode } from '../errors';

type Json = Record<string, unknown>;

export { ERROR_STATUS } from '../contract/errors';

const COMPONENT_URI = '#/components/schemas/';
const ref = (name: string) => ({ $ref: `${COMPONENT_URI}${name}` });

/**
 * Every zod schema of the document as JSON Schema, converted in one pass so that the named
 * ones are `$ref`s wherever they occur. Returns the components and a converter for the
 * schemas of operations (named: a `$ref`; others: inlined).
 */
function convert(routes: readonly Route[]): { components: Json; schema: (s: z.ZodType) => Json } {
  const registry = z.registry<{ id: string; description?: string }>();
  const named = new Set<string>();
  for (const { schema, meta } of NAMED_SCHEMAS) {
    registry.add(schema, meta);
    named.add(meta.id);
  }
  const ids = new Map<z.ZodType, string>();
  const add = (id: string, schema: z.ZodType | undefined) => {
    if (!schema || ids.has(schema)) return;
    const existing = registry.get(schema)?.id;
    if (existing === undefined) registry.add(schema, { id });
    ids.set(schema, existing ?? id);
  };
  for (const r of routes) {
    for (const [name, schema] of Object.entries(r.params ?? {}))
      add(`${r.operationId}.${name}`, schema);
    add(`${r.operationId}.query`, r.query);
    add(`${r.operationId}.body`, r.body?.schema);
    for (const [status, res] of Object.entries(r.responses)) {
      for (const [type, schema] of Object.entries(res.content ?? {})) {
        add(`${r.operationId}.${status}.${type}`, schema);
      }
    }
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    uri: (id) => `${COMPONENT_URI}${id}`,
    unrepresentable: 'any',
    io: 'input',
  });
  const clean = (id: string): Json => {
    const { $schema: _s, $id: _i, ...rest } = schemas[id] as Json;
    return rest;
  };
  const components: Json = {};
  for (const id of named) components[id] = clean(id);
  return {
    components,
    schema: (s) => {
      const id = ids.get(s)!;
      return named.has(id) ? ref(id) : clean(id);
    },
  };
}

/** Error answers of an operation: one response per status, naming the codes it can carry. */
function errorResponses(route: Route): Json {
  const codes: ErrorCode[] = [...route.errors];
  if (route.rateLimit !== 'none') codes.push('ERR_RATE_LIMITED');
  if (reachesStore(route.path)) codes.push(...STORE_ERRORS);
  codes.push('ERR_INTERNAL');
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), code])]);
  }
  const out: Json = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.join(', '),
      ...(status === 429 || status === 503
        ? {
            headers: {
              'Retry-After': { schema: { type: 'integer', minimum: 1 }, description: 'seconds' },
            },
          }
        : {}),
      ...(status === 401
        ? { headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } }
        : {}),
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  return out;
}

function security(sec: Security): Json[] {
  switch (sec.kind) {
    case 'apiKey':
      return [{ apiKey: [] }];
    case 'apiKeyOrMetricsToken':
      return [{ apiKey: [] }, { metricsToken: [] }];
    case 'dpop':
      return [{ dpop: [] }];
    case 'none':
    case 'statement':
      return [];
  }
}

/** Who may call, in words (the roles and statements are not expressible as security schemes). */
function caller(sec: Security): string | undefined {
  switch (sec.kind) {
    case 'apiKey':
      return `API key role ${sec.roles.join(' or ')}.`;
    case 'statement':
      return `Authenticated by the signature of the ${sec.typ} in \`${sec.member}\`.`;
    default:
      return undefined;
  }
}

function operation(route: Route, schema: (s: z.ZodType) => Json): Json {
  const parameters: Json[] = Object.entries(route.params ?? {}).map(([name, s]) => ({
    name,
    in: 'path',
    required: true,
    schema: schema(s),
  }));
  if (route.query) {
    const q = schema(route.query) as { properties?: Json; required?: string[] };
    for (const [name, s] of Object.entries(q.properties ?? {})) {
      parameters.push({ name, in: 'query', required: !!q.required?.includes(name), schema: s });
    }
  }
  const responses: Json = {};
  for (const [status, res] of Object.entries(route.responses)) {
    const content: Json = {};
    for (const [type, s] of Object.entries(res.content ?? {})) {
      content[type] =
        type === NDJSON_TYPE
          ? {
              schema: { type: 'string', description: 'one JSON value per line' },
              'x-line-schema': schema(s),
            }
          : { schema: schema(s) };
    }
    responses[status] = { description: res.description, ...(res.content ? { content } : {}) };
  }
  const description = [route.description, caller(route.security)].filter(Boolean).join(' ');
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(description ? { description } : {}),
    tags: [...route.tags],
    security: security(route.security),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: route.body.required,
            content: Object.fromEntries(
              route.body.mediaTypes.map((t) => [t, { schema: schema(route.body!.schema) }]),
            ),
          },
        }
      : {}),
    responses: { ...responses, ...errorResponses(route) },
  };
}

/** Builds the document for `routes` (the whole table by default). */
export function openApiDocument(routes: readonly Route[] = ROUTE_LIST) {
  const { components, schema } = convert(routes);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = (paths[openApiPath(route.path)] ??= {});
    path[route.method.toLowerCase()] = operation(route, schema);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tacit verification server',
      version: '1',
      description:
        'docs/protocol.md §4–5 and docs/server.md. ' +
        'Every error is {"error": {"code", "message"}}. ' +
        'Relying parties use Authorization: Bearer <API key>; device endpoints are authenticated ' +
        'by the signature of the statement they carry, or (/v1/device/*) by a DPoP proof.',
    },
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: 'the secret of an API key (TACIT_API_KEYS id:role:secret)',
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'TACIT_METRICS_TOKEN' },
        dpop: {
          type: 'apiKey',
          in: 'header',
          name: 'DPoP',
          description:
            'RFC 9449 proof (typ dpop+jwt, ES256, jwk = an enrolled device key; htm, htu, iat, jti)',
        },
      },
      schemas: components,
    },
    paths,
  };
}

/** The document served at `GET /openapi.json` (built once). */
export const OPENAPI = Object.freeze(openApiDocument());
