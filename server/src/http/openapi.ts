/**
 * The OpenAPI 3.1 description of every route the server registers, served at
 * `GET /openapi.json`. Its named schemas and error table are generated from the contract
 * (`contract/`); the operations are listed here. `openapi.test.ts` checks it against the routes of the app
 * and the error codes of errors.ts, so it cannot silently fall behind.
 *
 * @module
 */
import { z } from 'zod';
import { ERROR_STATUS } from '../contract/errors';
import { COMPONENTS } from '../contract/schemas';
import type { ErrorCode } from '../errors';

type Json = Record<string, unknown>;

export { ERROR_STATUS } from '../contract/errors';

/**
 * The named schemas, generated from the zod contract (`contract/schemas.ts`): the same schemas
 * the routes validate with, so the document cannot describe other shapes than they accept.
 */
function componentSchemas(): Json {
  const { schemas } = z.toJSONSchema(COMPONENTS, {
    target: 'draft-2020-12',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
    io: 'input',
  });
  const out: Json = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });
const body = (schema: Json, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: json(schema),
});
const strict = (properties: Json, required = Object.keys(properties)): Json => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});
const str = (extra: Json = {}) => ({ type: 'string', ...extra });
const int = (extra: Json = {}) => ({ type: 'integer', ...extra });
const nullable = (type: string, extra: Json = {}) => ({ type: [type, 'null'], ...extra });
const isoTime = str({ format: 'date-time' });
const sidParam = { name: 'sid', in: 'path', required: true, schema: ref('PathId') };
const deviceIdParam = { name: 'deviceId', in: 'path', required: true, schema: ref('PathId') };

/** Error answers of an operation: one response per status, naming the codes it can carry. */
function errors(codes: ErrorCode[]): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes, 'ERR_RATE_LIMITED', 'ERR_INTERNAL'] as ErrorCode[]) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), code])]);
  }
  const out: Json = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.join(', '),
      ...(status === 429
        ? { headers: { 'Retry-After': { schema: int({ minimum: 1 }), description: 'seconds' } } }
        : {}),
      ...(status === 401 ? { headers: { 'WWW-Authenticate': { schema: str() } } } : {}),
      content: json(ref('Error')),
    };
  }
  return out;
}

const BODY: ErrorCode[] = ['ERR_BAD_REQUEST', 'ERR_PAYLOAD_TOO_LARGE'];
const AUTH: ErrorCode[] = ['ERR_UNAUTHORIZED', 'ERR_FORBIDDEN'];
const JWS: ErrorCode[] = ['ERR_JWS_INVALID', 'ERR_JWS_ALG', 'ERR_JWS_TYP', 'ERR_JWS_CLAIMS'];
const apiKeyAuth = [{ apiKey: [] }];
const dpopAuth = [{ dpop: [] }];
/** Refusals of a DPoP-authenticated device call (401 carries `WWW-Authenticate: DPoP …`). */
const DPOP: ErrorCode[] = [
  'ERR_DPOP_INVALID',
  'ERR_DPOP_STALE',
  'ERR_DPOP_REPLAY',
  'ERR_UNKNOWN_DEVICE',
  'ERR_DEVICE_REVOKED',
];
const paths: Json = {
  '/healthz': {
    get: {
      summary: 'Liveness (the store answers)',
      tags: ['operations'],
      security: [],
      responses: {
        '200': { description: 'ok', content: json(strict({ status: { const: 'ok' } })) },
      },
    },
  },
  '/readyz': {
    get: {
      summary: 'Readiness: store reachable, signing keys loaded',
      tags: ['operations'],
      security: [],
      responses: {
        '200': { description: 'ready', content: json(ref('Readiness')) },
        '503': { description: 'not ready', content: json(ref('Readiness')) },
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus text exposition 0.0.4',
      tags: ['operations'],
      security: [{ apiKey: [] }, { metricsToken: [] }],
      description: 'An API key with role admin, or TACIT_METRICS_TOKEN.',
      responses: {
        '200': { description: 'metrics', content: { 'text/plain': { schema: str() } } },
        ...errors(AUTH),
      },
    },
  },
  '/openapi.json': {
    get: {
      summary: 'This document',
      tags: ['operations'],
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
    },
  },
  '/.well-known/jwks.json': {
    get: {
      summary: 'Server public keys (kid, alg ES256, use sig)',
      tags: ['tokens'],
      security: [],
      responses: { '200': { description: 'JWKS', content: json({ type: 'object' }) } },
    },
  },
  '/v1/enrollment-codes': {
    post: {
      summary: 'One-time enrollment code for a subject (10 minutes)',
      tags: ['devices'],
      security: apiKeyAuth,
      requestBody: body(strict({ subject: ref('Subject') })),
      responses: {
        '201': { description: 'code', content: json(strict({ code: str(), expiresAt: isoTime })) },
        ...errors([...BODY, ...AUTH]),
      },
    },
  },
  '/v1/devices': {
    post: {
      summary: 'Enroll the device that signed a tacit-enroll+jwt',
      tags: ['devices'],
      security: [],
      requestBody: body(strict({ enrollment: ref('CompactJws') })),
      responses: {
        '201': {
          description: 'enrolled',
          content: json(strict({ deviceId: str(), subject: ref('Subject') })),
        },
        ...errors([
          ...BODY,
          ...JWS,
          'ERR_STALE',
          'ERR_REPLAY',
          'ERR_ENROLLMENT_CODE',
          'ERR_DEVICE_REVOKED',
          'ERR_DEVICE_ENROLLED_ELSEWHERE',
        ]),
      },
    },
    get: {
      summary: "A subject's enrollments at the calling relying party",
      tags: ['devices'],
      security: apiKeyAuth,
      parameters: [{ name: 'subject', in: 'query', required: true, schema: ref('Subject') }],
      responses: {
        '200': {
          description: 'devices',
          content: json(strict({ devices: { type: 'array', items: ref('Device') } })),
        },
        ...errors(['ERR_BAD_REQUEST', ...AUTH]),
      },
    },
  },
  '/v1/devices/{deviceId}/revoke': {
    post: {
      summary: "Revoke a device's enrollment for a subject",
      tags: ['devices'],
      security: apiKeyAuth,
      parameters: [deviceIdParam],
      requestBody: body(strict({ subject: ref('Subject') })),
      responses: {
        '200': { description: 'revoked', content: json(ref('Device')) },
        ...errors([...BODY, ...AUTH, 'ERR_UNKNOWN_DEVICE']),
      },
    },
  },
  '/v1/admin/devices/{deviceId}/revoke': {
    post: {
      summary: 'Operator: revoke every enrollment of a device key',
      tags: ['admin'],
      security: apiKeyAuth,
      description: 'Role admin.',
      parameters: [deviceIdParam],
      responses: {
        '200': {
          description: 'revoked',
          content: json(strict({ deviceId: str(), revoked: int({ minimum: 0 }) })),
        },
        ...errors(['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_DEVICE']),
      },
    },
  },
  '/v1/sessions': {
    post: {
      summary: 'Open a behavioral session (30 minutes)',
      tags: ['sessions'],
      security: apiKeyAuth,
      requestBody: body(strict({ subject: ref('Subject') })),
      responses: {
        '201': {
          description: 'opened',
          content: json(strict({ sessionId: str(), challenge: str(), expiresAt: isoTime })),
        },
        ...errors([...BODY, ...AUTH]),
      },
    },
  },
  '/v1/sessions/bind': {
    post: {
      summary: 'Bind a session to the device that signed a tacit-bind+jwt',
      tags: ['sessions'],
      security: [],
      requestBody: body(strict({ binding: ref('CompactJws') })),
      responses: {
        '200': {
          description: 'bound; `subject` is the subject the bank opened the session for',
          content: json(strict({ sessionId: str(), subject: str() })),
        },
        ...errors([
          ...BODY,
          ...JWS,
          'ERR_UNKNOWN_DEVICE',
          'ERR_DEVICE_REVOKED',
          'ERR_STALE',
          'ERR_UNKNOWN_SESSION',
          'ERR_SESSION_EXPIRED',
          'ERR_SESSION_TERMINATED',
          'ERR_CHALLENGE_MISMATCH',
          'ERR_SESSION_BOUND',
          'ERR_REPLAY',
        ]),
      },
    },
  },
  '/v1/sessions/{sid}/token': {
    post: {
      summary: 'Session JWT (tacit-session+jwt, at most 5 minutes)',
      tags: ['tokens'],
      security: apiKeyAuth,
      parameters: [sidParam],
      responses: {
        '200': {
          description: 'token',
          content: json(strict({ token: str(), expiresAt: isoTime })),
        },
        ...errors([
          'ERR_BAD_REQUEST',
          ...AUTH,
          'ERR_UNKNOWN_SESSION',
          'ERR_SESSION_EXPIRED',
          'ERR_SESSION_TERMINATED',
          'ERR_SESSION_NOT_BOUND',
          'ERR_DEVICE_REVOKED',
        ]),
      },
    },
  },
  '/v1/sessions/{sid}/decision': {
    post: {
      summary: 'Policy decision (allow, step-up, terminate); terminate ends the session',
      tags: ['sessions'],
      security: apiKeyAuth,
      parameters: [sidParam],
      responses: {
        '200': {
          description: 'decision (recorded in the audit trail)',
          content: json(ref('Decision')),
        },
        ...errors([
          'ERR_BAD_REQUEST',
          ...AUTH,
          'ERR_UNKNOWN_SESSION',
          'ERR_SESSION_EXPIRED',
          'ERR_SESSION_TERMINATED',
        ]),
      },
    },
  },
  '/v1/sessions/{sid}': {
    delete: {
      summary: 'End a session',
      tags: ['sessions'],
      security: apiKeyAuth,
      parameters: [sidParam],
      responses: {
        '204': { description: 'ended' },
        ...errors(['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_SESSION']),
      },
    },
  },
  '/v1/attestations': {
    post: {
      summary: 'A bound device reports its behavioral confidence (tacit-att+jwt)',
      tags: ['sessions'],
      security: [],
      requestBody: body(strict({ attestation: ref('CompactJws') })),
      responses: {
        '202': {
          description: 'accepted and committed',
          content: json(
            strict({
              seq: int({ minimum: 1 }),
              assurance: nullable('number'),
              level: ref('Level'),
            }),
          ),
        },
        ...errors([
          ...BODY,
          ...JWS,
          'ERR_UNKNOWN_DEVICE',
          'ERR_DEVICE_REVOKED',
          'ERR_UNKNOWN_SESSION',
          'ERR_SESSION_EXPIRED',
          'ERR_SESSION_TERMINATED',
          'ERR_SESSION_NOT_BOUND',
          'ERR_SESSION_BOUND',
          'ERR_REPLAY',
          'ERR_STALE',
          'ERR_CHAIN',
        ]),
      },
    },
  },
  '/v1/introspect': {
    post: {
      summary: 'RFC 7662 introspection of a session token',
      tags: ['tokens'],
      security: apiKeyAuth,
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: strict({ token: str(), token_type_hint: str() }, ['token']),
          },
          'application/json': {
            schema: strict({ token: str(), token_type_hint: str() }, ['token']),
          },
        },
      },
      responses: {
        '200': { description: 'introspection', content: json(ref('Introspection')) },
        ...errors([...BODY, ...AUTH]),
      },
    },
  },
  '/v1/audit': {
    get: {
      summary: 'Audit records after a seq, as JSON lines (roles auditor, admin)',
      tags: ['audit'],
      security: apiKeyAuth,
      parameters: [
        { name: 'after', in: 'query', schema: int({ minimum: 0, default: 0 }) },
        { name: 'limit', in: 'query', schema: int({ minimum: 1, maximum: 10000, default: 1000 }) },
      ],
      responses: {
        '200': {
          description: 'one AuditRecord per line, oldest first',
          content: {
            'application/x-ndjson': {
              schema: str({ description: 'one AuditRecord (see components) per line' }),
            },
          },
        },
        ...errors(['ERR_BAD_REQUEST', ...AUTH]),
      },
    },
  },
  '/v1/audit/verify': {
    get: {
      summary: 'Recompute the audit hash chain (roles auditor, admin)',
      tags: ['audit'],
      security: apiKeyAuth,
      responses: {
        '200': { description: 'verification', content: json(ref('AuditVerification')) },
        ...errors(AUTH),
      },
    },
  },
  '/v1/device/sessions/{sid}': {
    get: {
      summary: 'The bound device reads its session (DPoP)',
      tags: ['device'],
      security: dpopAuth,
      parameters: [sidParam],
      responses: {
        '200': { description: 'session', content: json(ref('DeviceSession')) },
        ...errors(['ERR_BAD_REQUEST', ...DPOP, 'ERR_UNKNOWN_SESSION']),
      },
    },
  },
  '/v1/device/enrollments': {
    get: {
      summary: "The calling device's enrollments, revoked ones included (DPoP)",
      tags: ['device'],
      security: dpopAuth,
      responses: {
        '200': {
          description: 'enrollments',
          content: json(
            strict({
              deviceId: str(),
              enrollments: {
                type: 'array',
                items: strict({
                  rp: str(),
                  subject: ref('Subject'),
                  createdAt: isoTime,
                  revokedAt: nullable('string', { format: 'date-time' }),
                }),
              },
            }),
          ),
        },
        ...errors(DPOP),
      },
    },
  },
  '/v1/device/revoke': {
    post: {
      summary: 'The calling device revokes every enrollment of its key (DPoP)',
      tags: ['device'],
      security: dpopAuth,
      description: 'No body, or {}.',
      responses: {
        '200': {
          description: 'revoked',
          content: json(strict({ deviceId: str(), revoked: int({ minimum: 0 }) })),
        },
        ...errors([...BODY, ...DPOP]),
      },
    },
  },
  '/v1/device/rotate': {
    post: {
      summary: 'Move the enrollments to a new device key (DPoP by the old key)',
      tags: ['device'],
      security: dpopAuth,
      description:
        'The body carries a tacit-rotate+jwt signed by the new key (jwk header) naming the old ' +
        "key's thumbprint in `old`. Live sessions bound to the old key are re-bound to the " +
        'new one.',
      requestBody: body(strict({ rotation: ref('CompactJws') })),
      responses: {
        '200': {
          description: 'rotated',
          content: json(
            strict({
              deviceId: str(),
              previousDeviceId: str(),
              enrollments: int({ minimum: 1 }),
              sessions: int({ minimum: 0 }),
            }),
          ),
        },
        ...errors([...BODY, ...DPOP, ...JWS, 'ERR_STALE', 'ERR_REPLAY', 'ERR_KEY_IN_USE']),
      },
    },
  },
  '/v1/admin/signing-keys/rotate': {
    post: {
      summary: "Operator: retire the server's signing key and sign with a new one",
      tags: ['admin'],
      security: apiKeyAuth,
      description:
        'Role admin. The retired key stays in the JWKS until every token it signed has expired. ' +
        '`rotated` is false when another instance rotated at the same moment.',
      responses: {
        '200': {
          description: 'rotated',
          content: json(
            strict({
              kid: str(),
              retired: { type: 'array', items: str() },
              rotated: { type: 'boolean' },
            }),
          ),
        },
        ...errors(AUTH),
      },
    },
  },
};

/** The document served at `GET /openapi.json`. */
export const OPENAPI = Object.freeze({
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
  security: apiKeyAuth,
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
    schemas: componentSchemas(),
  },
  paths,
});
