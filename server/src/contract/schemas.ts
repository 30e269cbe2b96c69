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

/** Largest count a signal may state (a session is 30 minutes long). */
export const MAX_SIGNAL_COUNT = 1_000_000;
const signalCount = z.number().int().min(0).max(MAX_SIGNAL_COUNT);

/**
 * A device's session signals (docs/protocol.md §4 and "Signals"): the attestation's `sig` claim,
 * kept per session and introspected as `tacit_signals`. Values only, never the events behind
 * them; each only grows during a session.
 */
export const sessionSignalsSchema = z.strictObject({
  /** Scripted-input suspicion. */
  bot: unit,
  /** Remote-control suspicion. */
  remote: unit,
  /** Paste/autofill arrivals in credential fields. */
  paste: signalCount,
  /** One-time-code hesitation. */
  otp: unit,
  /** Untrusted (script-dispatched) key, pointer and wheel events. */
  syn: signalCount,
});
/** {@link sessionSignalsSchema}'s type. */
export type SessionSignals = z.infer<typeof sessionSignalsSchema>;

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
    /** The relying party confirmed the session with a strong factor (docs/protocol.md §5). */
    confirmed: z.boolean(),
    /** When it last did (server time), null before any confirmation. */
    confirmedAt: isoTime.nullable(),
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

const signalRuleSchema = z.strictObject({ atLeast: z.number().positive(), action: actionSchema });

export const thresholdsSchema = named(
  'Thresholds',
  z.strictObject({
    stepUpBelow: unit,
    terminateBelow: unit,
    staleAfterSeconds: z.number().int().min(1).max(86_400),
    enrollingAction: actionSchema,
    staleAction: actionSchema,
    noAttestationAction: actionSchema,
    signals: z.strictObject({
      bot: signalRuleSchema.optional(),
      remote: signalRuleSchema.optional(),
      paste: signalRuleSchema.optional(),
      otp: signalRuleSchema.optional(),
    }),
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
        'SIGNAL_BOT',
        'SIGNAL_REMOTE',
        'SIGNAL_PASTE',
        'SIGNAL_OTP',
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
  tacit_signals: sessionSignalsSchema
    .nullable()
    .meta({ description: 'The session signals of the latest attestation that carried them' }),
  tacit_confirmed_at: z.number().int().nullable(),
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
/** A strong-factor confirmation the relying party verified (`at`: when it verified it). */
export const confirmBody = z.strictObject({
  method: z.enum(['webauthn']),
  at: isoTime,
});
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
/** The session's assurance right after the confirmation (`assurance` is `ASSURANCE.confirmed`). */
export const confirmedAnswer = z.strictObject({
  sessionId: z.string(),
  confirmedAt: isoTime,
  assurance: unit,
  level: levelSchema,
});
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
export type ConfirmBody = z.infer<typeof confirmBody>;
export type ConfirmedAnswer = z.infer<typeof confirmedAnswer>;
export type IntrospectionAnswer = z.infer<typeof introspectionSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;

// --- Shared Signals (OpenID SSF 1.0, RFC 8935 push, RFC 8936 poll) ---------------------------

/** RFC 8935 push, RFC 8936 poll. */
export const PUSH_METHOD = 'urn:ietf:rfc:8935';
export const POLL_METHOD = 'urn:ietf:rfc:8936';

/** A stream id (what the verifier assigns: a UUID). */
export const streamIdSchema = named('StreamId', z.string().regex(/^[A-Za-z0-9_-]{1,64}$/));
const eventTypeUri = z.url().max(256);
const streamStatus = z.enum(['enabled', 'paused', 'disabled']);

/** Transmitter configuration metadata (SSF 1.0 §7.1). */
export const ssfConfigurationSchema = named(
  'SsfConfiguration',
  z.strictObject({
    spec_version: z.literal('1_0'),
    issuer: z.url(),
    jwks_uri: z.url(),
    delivery_methods_supported: z.array(z.enum([PUSH_METHOD, POLL_METHOD])),
    configuration_endpoint: z.url(),
    status_endpoint: z.url(),
    verification_endpoint: z.url(),
    authorization_schemes: z.array(z.strictObject({ spec_urn: z.string() })),
    default_subjects: z.literal('ALL'),
  }),
);

/** `delivery` of a stream as the receiver asks for it. */
const deliveryRequest = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal(PUSH_METHOD),
    endpoint_url: z.url({ protocol: /^https?$/ }).max(2048),
    authorization_header: z
      .string()
      .regex(/^[\x20-\x7e]{1,1024}$/)
      .optional(),
  }),
  z.strictObject({ method: z.literal(POLL_METHOD) }),
]);

/** Receiver-supplied stream properties (create, replace). */
export const streamCreateBody = z.strictObject({
  delivery: deliveryRequest,
  events_requested: z.array(eventTypeUri).max(32).default([]),
  description: z.string().max(256).optional(),
});

/** Update (PATCH: the members present) or replace (PUT: every receiver-supplied member). */
export const streamUpdateBody = z.strictObject({
  stream_id: streamIdSchema,
  delivery: deliveryRequest.optional(),
  events_requested: z.array(eventTypeUri).max(32).optional(),
  description: z.string().max(256).optional(),
});
export const streamReplaceBody = streamCreateBody.extend({ stream_id: streamIdSchema });

/** A stream's configuration (SSF 1.0 §8.1.1); the authorization header is never echoed. */
export const streamConfigSchema = named(
  'StreamConfiguration',
  z.strictObject({
    stream_id: streamIdSchema,
    iss: z.url(),
    aud: z.string(),
    delivery: z.strictObject({
      method: z.enum([PUSH_METHOD, POLL_METHOD]),
      endpoint_url: z.url(),
    }),
    events_supported: z.array(eventTypeUri),
    events_requested: z.array(eventTypeUri),
    events_delivered: z.array(eventTypeUri),
    description: z.string().optional(),
  }),
);

export const streamQuery = z.strictObject({ stream_id: streamIdSchema.optional() });
export const streamIdQuery = z.strictObject({ stream_id: streamIdSchema });

export const streamStatusSchema = named(
  'StreamStatus',
  z.strictObject({
    stream_id: streamIdSchema,
    status: streamStatus,
    reason: z.string().max(256).optional(),
  }),
);

export const verificationBody = z.strictObject({
  stream_id: streamIdSchema,
  state: z.string().max(256).optional(),
});

const jtiSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** RFC 8936 §2.4 poll request. */
export const pollBody = z.strictObject({
  maxEvents: z.number().int().min(0).max(100).default(10),
  returnImmediately: z.boolean().default(false),
  ack: z.array(jtiSchema).max(1000).default([]),
  setErrs: z
    .record(
      jtiSchema,
      z.strictObject({ err: z.string().max(64), description: z.string().max(256) }),
    )
    .default({}),
});

/** RFC 8936 §2.5 poll answer: `jti` → SET. */
export const pollAnswerSchema = named(
  'PollAnswer',
  z.strictObject({
    sets: z.record(jtiSchema, z.string()),
    moreAvailable: z.boolean(),
  }),
);

export const deadLettersSchema = named(
  'DeadLetters',
  z.strictObject({
    stream_id: streamIdSchema,
    dead_letters: z.array(
      z.strictObject({ jti: jtiSchema, attempts: count, error: z.string(), failed_at: isoTime }),
    ),
  }),
);

export type StreamConfigAnswer = z.infer<typeof streamConfigSchema>;
export type StreamStatusAnswer = z.infer<typeof streamStatusSchema>;
export type PollAnswer = z.infer<typeof pollAnswerSchema>;
export type SsfConfigurationAnswer = z.infer<typeof ssfConfigurationSchema>;
export type DeadLettersAnswer = z.infer<typeof deadLettersSchema>;
