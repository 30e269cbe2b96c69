/**
 * The aggregator's OpenAPI 3.1 document, generated from its route table (`contract.ts`).
 *
 * Why not the verifier's generator (`server/src/http/openapi.ts`): it is bound to the
 * verifier's error table (`ErrorCode`, `ERROR_STATUS`), its security schemes (roles, DPoP,
 * statements, metrics token) and its named schemas; generalising it would put the aggregator's
 * codes into the verifier's contract, which the dependency rules keep apart. What is shared is
 * the method: zod → JSON Schema (`z.toJSONSchema`), errors answered as `{error: {code,
 * message}}`, nothing listed by hand.
 *
 * @module
 */
import { z } from 'zod';
import { openApiPath } from '../../src/contract/routes';
import { AGGREGATOR_ERRORS } from '../errors';
import { AGGREGATOR_ROUTE_LIST, type AggregatorRoute } from './contract';

type Json = Record<string, unknown>;

const jsonSchema = (s: z.ZodType): Json => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io: 'input',
  }) as Json;
  return rest;
};

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

function operation(r: AggregatorRoute): Json {
  const responses: Json = {
    [String(r.status)]: {
      description: 'success',
      content: { 'application/json': { schema: jsonSchema(r.answer) } },
    },
  };
  const byStatus = new Map<number, string[]>();
  for (const code of [...r.errors, 'ERR_INTERNAL' as const]) {
    const status = AGGREGATOR_ERRORS[code][0];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of byStatus) {
    responses[String(status)] = {
      description: codes.join(', '),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    security: r.security === 'admin' ? [{ adminKey: [] }] : [],
    ...(r.params
      ? {
          parameters: Object.entries(r.params).map(([name, s]) => ({
            name,
            in: 'path',
            required: true,
            schema: jsonSchema(s),
          })),
        }
      : {}),
    ...(r.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(r.body) } },
          },
        }
      : {}),
    responses,
  };
}

/** Builds the document. */
export function aggregatorOpenApi(routes: readonly AggregatorRoute[] = AGGREGATOR_ROUTE_LIST) {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = (paths[openApiPath(r.path)] ??= {});
    p[r.method.toLowerCase()] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tacit federated aggregator',
      version: '1',
      description:
        "docs/protocol.md 'Federated updates' and docs/federated.md 'Aggregator'. " +
        'Every error is {"error": {"code", "message"}}. Devices authenticate an update by its ' +
        'signature (kid = their enrolled key at the verifier); the operator by a bearer key.',
    },
    components: {
      securitySchemes: {
        adminKey: { type: 'http', scheme: 'bearer', description: 'TACIT_FL_ADMIN_KEY' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}

/** The document served at `GET /openapi.json` (built once). */
export const AGGREGATOR_OPENAPI = Object.freeze(aggregatorOpenApi());
