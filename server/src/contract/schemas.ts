/**
 * The wire schemas of the verification server: every request body, query and answer, in zod.
 * `routes.ts` names them per route (the one route table); routes validate their input with
 * them through it; the OpenAPI document (`http/openapi.ts`) is generated from them; the SDK
 * and the extension take their wire types from them (type-only imports). Named schemas are
 * registered in {@link COMPONENTS} (and listed in {@link NAMED_SCHEMAS}) and become
 * `#/components/schemas/<id>` in the document.
 *
 * @module
 */
import { z } from 'zod';
import { POLICY } from '../domain/policy';
import { ERROR_CODES } from './errors';

/** Schemas with a name in the OpenAPI document. */
export const COMPONENTS = z.registry<{ id: string; description?: string }>();

/** The same named schemas as a list, in declaration order (a registry cannot be listed). */
export const NAMED_SCHEMAS: { schema: z.ZodType; meta: { id: string; description?: string } }[] =
  [];

function named<S extends z.ZodType>(id: string, schema: S, description?: string): S {
  const meta = description ? { id, description } : { id };
  COMPONENTS.add(schema, meta);
  NAMED_SCHEMAS.push({ schema, meta });
  return schema;
}

/** A pseudonymous user id: 1–128 printable ASCII characters. */
export const subjectSchema = named(
  'Subject',
  z.string().regex(/^[\x21-\x7e]{1,128}$/),
  'pseudonymous user id',
);
/** A compact JWS (signed statement), bounded. */
export const jwsSchema = named('CompactJws', z.string().min(1).max(POLICY.maxJwsLength));
/** An id in a path (session id, device id). */
export const pathIdSchema = named('PathId', z.string().regex(/^[A-Za-z0-9_-]{1,128}$/));

const isoTime = z.iso.datetime({ offset: true });
const unit = z.number().min(0).max(1);
const count = z.number().int().min(0);

export const levelSchema = named('Level', z.enum(['none', 'enrolling', 'high', 'medium', 'low']));
export const actionSchema = named('Action', z.enum(['allow', 'step-up', 'terminate']));
const modelState = z.enum(['enrolling', 'scoring']).nullable();

export const errorBodySchema = named(
  'Error',
  z.strictObject({
    error: z.strictObject({
      code: z.enum(ERROR_CODES),
      message: z.string().meta({ description: 'fixed text for humans' }),
    }),
  }),
);

export const deviceSessionSchema = named(
  'DeviceSession',
  z.strictObject({
    sessionId: z.string(),
    status: z.enum(['active', 'ended', 'terminated', 'expired', 'revoked']),
    assurance: unit.nullable(),
    level: levelSchema,
    state: modelState,
    attestations: count,
    lastAttestationAt: z.number().int().nullable(),
    expiresAt: isoTime,
  }),
);

export const deviceSchema = named(
  'Device',
  z.strictObject({
    deviceId: z.string(),
    subject: subjectSchema,
    createdAt: isoTime,
    revokedAt: isoTime.nullable(),
  }),
);

export const thresholdsSchema = named(
  'Thresholds',
  z.strictObject({
    stepUpBelow: unit,
    terminateBelow: unit,
    staleAfterSeconds: z.number().int().min(1).max(86_400),
    enrollingAction: actionSchema,
    staleAction: actionSchema,
    noAttestationAction: actionSchema,
  }),
);

export const decisionSchema = named(
  'Decision',
  z.strictObject({
    action: actionSchema,
    reasons: z.array(
      z.enum([
        'ASSURANCE_BELOW_STEP_UP',
        'ASSURANCE_BELOW_TERMINATE',
        'SESSION_STALE',
        'ENROLLING',
        'NO_ATTESTATION',
        'SESSION_NOT_BOUND',
        'DEVICE_REVOKED',
      ]),
    ),
    assurance: unit.nullable(),
    level: levelSchema,
    policy: thresholdsSchema,
  }),
);

export const activeIntrospectionSchema = z.strictObject({
  active: z.literal(true),
  iss: z.string(),
  aud: z.string(),
  sub: z.string(),
  sid: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
  jti: z.string(),
  token_type: z.literal('tacit-session'),
  cnf: z.strictObject({ jkt: z.string() }),
  tacit_assurance: z.number().nullable(),
  tacit_level: levelSchema,
  tacit_state: modelState,
  tacit_last_attestation_at: z.number().int().nullable(),
  tacit_attestations: count,
  tacit_action: actionSchema,
  tacit_progress: unit.nullable(),
});
export const inactiveIntrospectionSchema = z.strictObject({ active: z.literal(false) });
export const introspectionSchema = named(
  'Introspection',
  z.union([inactiveIntrospectionSchema, activeIntrospectionSchema]),
);

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const auditRecordSchema = named(
  'AuditRecord',
  z.strictObject({
    seq: z.number().int().min(1),
    ts: isoTime,
    type: z.string(),
    actor: z.string().meta({ description: 'rp:<id>, device:<jkt>, system or anonymous' }),
    data: z.record(z.string(), z.unknown()),
    prev: hex64,
    hash: hex64,
  }),
);

const chainEnd = z.strictObject({ seq: z.number().int(), hash: z.string() }).nullable();
export const auditVerificationSchema = named(
  'AuditVerification',
  z.strictObject({
    ok: z.boolean(),
    records: count,
    brokenAt: z.number().int().min(1).optional(),
    anchor: chainEnd,
    head: chainEnd,
  }),
);

export const readinessSchema = named(
  'Readiness',
  z.strictObject({
    status: z.enum(['ready', 'unavailable']),
    checks: z.strictObject({ store: z.enum(['ok', 'fail']), keys: z.enum(['ok', 'fail']) }),
  }),
);

// --- Request bodies and queries -----------------------------------------------------------

export const subjectBody = z.strictObject({ subject: subjectSchema });
export const enrollBody = z.strictObject({ enrollment: jwsSchema });
export const bindBody = z.strictObject({ binding: jwsSchema });
export const attestationBody = z.strictObject({ attestation: jwsSchema });
export const rotateBody = z.strictObject({ rotation: jwsSchema });
export const emptyBody = z.strictObject({});
export const introspectBody = z.strictObject({
  token: z.string().min(1).max(8192),
  token_type_hint: z.string().max(64).optional(),
});
/** Other query parameters are ignored. */
export const devicesQuery = z.object({ subject: subjectSchema });
export const auditQuery = z.strictObject({
  after: z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number)
    .default(0),
  limit: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .refine((n) => n >= 1 && n <= 10_000)
    .default(1000),
});

// --- Answers -------------------------------------------------------------------------------

export const healthAnswer = z.strictObject({ status: z.literal('ok') });
export const enrollmentCodeAnswer = z.strictObject({ code: z.string(), expiresAt: isoTime });
export const enrolledAnswer = z.strictObject({ deviceId: z.string(), subject: subjectSchema });
export const devicesAnswer = z.strictObject({ devices: z.array(deviceSchema) });
export const revokedAnswer = z.strictObject({ deviceId: z.string(), revoked: count });
export const deviceKeyAnswer = z.strictObject({
  deviceId: z.string(),
  jwk: z.strictObject({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: z.string(),
    y: z.string(),
  }),
  active: z.boolean(),
});
export const openedAnswer = z.strictObject({
  sessionId: z.string(),
  challenge: z.string(),
  expiresAt: isoTime,
});
/** `subject`: the subject the bank opened the session for; the device learns only for it. */
export const boundAnswer = z.strictObject({ sessionId: z.string(), subject: z.string().min(1) });
export const tokenAnswer = z.strictObject({ token: z.string(), expiresAt: isoTime });
export const attestationAnswer = z.strictObject({
  seq: z.number().int().min(1),
  assurance: z.number().nullable(),
  level: levelSchema,
});
export const enrollmentsAnswer = z.strictObject({
  deviceId: z.string(),
  enrollments: z.array(
    z.strictObject({
      rp: z.string(),
      subject: subjectSchema,
      createdAt: isoTime,
      revokedAt: isoTime.nullable(),
    }),
  ),
});
export const rotatedAnswer = z.strictObject({
  deviceId: z.string(),
  previousDeviceId: z.string(),
  enrollments: z.number().int().min(1),
  sessions: count,
});
export const signingKeysRotatedAnswer = z.strictObject({
  kid: z.string(),
  retired: z.array(z.string()),
  rotated: z.boolean(),
});
export const jwksAnswer = named(
  'Jwks',
  z.strictObject({
    keys: z.array(
      z.strictObject({
        kty: z.literal('EC'),
        crv: z.literal('P-256'),
        x: z.string(),
        y: z.string(),
        kid: z.string().meta({ description: 'RFC 7638 thumbprint' }),
        alg: z.literal('ES256'),
        use: z.literal('sig'),
      }),
    ),
  }),
  'the server public keys, retired ones included until their tokens expire',
);
export const openApiAnswer = z.looseObject({ openapi: z.literal('3.1.0') });
export const metricsAnswer = z.string().meta({ description: 'Prometheus text exposition 0.0.4' });

/** Wire types, for the SDK and the extension (`import type` only). */
export type AttestationAnswer = z.infer<typeof attestationAnswer>;
export type BoundAnswer = z.infer<typeof boundAnswer>;
export type DeviceSessionView = z.infer<typeof deviceSessionSchema>;
export type DecisionAnswer = z.infer<typeof decisionSchema>;
export type IntrospectionAnswer = z.infer<typeof introspectionSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
