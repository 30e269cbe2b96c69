/**
 * The route table: every operation the verifier serves, once. Data only. What is derived from
 * it:
 *
 * - the routes' paths and the schemas they validate with (`http/routes/*.ts` read their entry);
 * - the OpenAPI document (`http/openapi.ts`): paths, parameters, bodies, answers, security,
 *   error answers;
 * - CORS: which origin class may call which endpoint (`http/middleware/cors`);
 * - rate limiting: which statement member counts against `device:<kid>`
 *   (`http/middleware/rate-limit`);
 * - the tests: the app registers exactly these routes, and every request and answer of the
 *   in-process app parses with its operation's schemas (`contract.test.ts`).
 *
 * The demo bank is not here: it is a relying party, not part of the verifier.
 *
 * @module
 */
import type { z } from 'zod';
import type { ErrorCode } from '../errors';
import * as s from './schemas';

/**
 * `bank`: opens sessions, issues codes, reads tokens and decisions. `admin`: operator actions
 * (and everything `auditor` may do). `auditor`: reads and verifies the audit trail.
 * `aggregator`: the federated aggregator (`server/aggregator/`), which may only ask whether a
 * device key is enrolled (`deviceKey`).
 */
export type Role = 'bank' | 'admin' | 'auditor' | 'aggregator';

/** Every role, as accepted in `TACIT_API_KEYS`. */
export const ROLES: readonly Role[] = ['bank', 'admin', 'auditor', 'aggregator'];

/** The body member holding a device-signed statement. */
export type StatementMember = 'enrollment' | 'binding' | 'attestation';

/** How a caller proves who it is. */
export type Security =
  /** Anyone. */
  | { readonly kind: 'none' }
  /** `Authorization: Bearer <API key>` of one of these roles. */
  | { readonly kind: 'apiKey'; readonly roles: readonly Role[] }
  /** An `admin` API key, or the bearer `TACIT_METRICS_TOKEN`. */
  | { readonly kind: 'apiKeyOrMetricsToken' }
  /** A DPoP proof (RFC 9449) by an enrolled device key. */
  | { readonly kind: 'dpop' }
  /** The signature of the device statement the body carries. */
  | { readonly kind: 'statement'; readonly member: StatementMember; readonly typ: string };

/**
 * Which browser origins get CORS headers: the extension's, configured bank origins', or none
 * (an endpoint taking an API key never gets CORS: an API key never belongs in a browser).
 */
export type CorsClass = 'extension' | 'bank' | 'none';

/**
 * Which rate-limit buckets a request counts against (`http/middleware/rate-limit`):
 * - `none`: not limited;
 * - `caller`: `rp:<id>` with a valid API key, otherwise `addr:<remote address>`;
 * - `{ device }`: as `caller`, and without an API key also `device:<kid>`, the unverified
 *   `kid` of the statement in that body member.
 */
export type RateLimit = 'none' | 'caller' | { readonly device: StatementMember };

/** A request body. */
export interface BodySpec {
  readonly schema: z.ZodType;
  /** Accepted media types; the first is the preferred one. */
  readonly mediaTypes: readonly string[];
  /** False: the body may be absent (empty). */
  readonly required: boolean;
}

/** One answer status. */
export interface ResponseSpec {
  readonly description: string;
  /**
   * Media type → schema; absent for an empty answer. For `application/x-ndjson` the schema is
   * each line's.
   */
  readonly content?: Readonly<Record<string, z.ZodType>>;
}

/** One operation. */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Hono pattern (`/v1/sessions/:sid/token`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly security: Security;
  /** Path parameter → schema. */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  /** The query string, as an object of strings. */
  readonly query?: z.ZodType;
  readonly body?: BodySpec;
  /** Success (and other non-error) answers by status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /**
   * The `ERR_*` codes the operation can answer, besides `ERR_INTERNAL` (any route) and
   * `ERR_RATE_LIMITED` (rate-limited routes), `ERR_STORE_UNAVAILABLE` and `ERR_STORAGE_FULL` (`/v1/` routes).
   */
  readonly errors: readonly ErrorCode[];
  readonly cors: CorsClass;
  readonly rateLimit: RateLimit;
}

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';
export const NDJSON_TYPE = 'application/x-ndjson';
export const TEXT_TYPE = 'text/plain';

// --- tiny helpers (data builders) ------------------------------------------------------------

const json = <S extends z.ZodType>(schema: S, description: string) => ({
  description,
  content: { [JSON_TYPE]: schema },
});
const jsonBody = <S extends z.ZodType>(schema: S) => ({
  schema,
  mediaTypes: [JSON_TYPE],
  required: true,
});
const apiKey = (...roles: Role[]): Security => ({ kind: 'apiKey', roles });
const statement = (member: StatementMember, typ: string): Security => ({
  kind: 'statement',
  member,
  typ,
});
const NONE: Security = { kind: 'none' };
const DPOP_AUTH: Security = { kind: 'dpop' };
const SID = { sid: s.pathIdSchema };
const DEVICE_ID = { deviceId: s.pathIdSchema };

const BODY: ErrorCode[] = ['ERR_BAD_REQUEST', 'ERR_PAYLOAD_TOO_LARGE'];
const AUTH: ErrorCode[] = ['ERR_UNAUTHORIZED', 'ERR_FORBIDDEN'];
const JWS: ErrorCode[] = ['ERR_JWS_INVALID', 'ERR_JWS_ALG', 'ERR_JWS_TYP', 'ERR_JWS_CLAIMS'];
/** Refusals of a DPoP-authenticated device call (401 carries `WWW-Authenticate: DPoP …`). */
const DPOP: ErrorCode[] = [
  'ERR_DPOP_INVALID',
  'ERR_DPOP_STALE',
  'ERR_DPOP_REPLAY',
  'ERR_UNKNOWN_DEVICE',
  'ERR_DEVICE_REVOKED',
];

// --- the table -------------------------------------------------------------------------------

/** Every operation of the verifier, keyed by operationId. */
export const ROUTES = {
  health: {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness (the store answers)',
    tags: ['operations'],
    security: NONE,
    responses: { 200: json(s.healthAnswer, 'ok') },
    errors: [],
    cors: 'none',
    rateLimit: 'none',
  },
  ready: {
    method: 'GET',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: store reachable, signing keys loaded',
    tags: ['operations'],
    security: NONE,
    responses: { 200: json(s.readinessSchema, 'ready'), 503: json(s.readinessSchema, 'not ready') },
    errors: [],
    cors: 'none',
    rateLimit: 'none',
  },
  metrics: {
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus text exposition 0.0.4',
    description: 'An API key with role admin, or TACIT_METRICS_TOKEN.',
    tags: ['operations'],
    security: { kind: 'apiKeyOrMetricsToken' },
    responses: { 200: { description: 'metrics', content: { [TEXT_TYPE]: s.metricsAnswer } } },
    errors: AUTH,
    cors: 'none',
    rateLimit: 'none',
  },
  openapi: {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tags: ['operations'],
    security: NONE,
    responses: { 200: json(s.openApiAnswer, 'OpenAPI 3.1') },
    errors: [],
    cors: 'none',
    rateLimit: 'none',
  },
  jwks: {
    method: 'GET',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'Server public keys (kid, alg ES256, use sig)',
    description: 'Cache-Control: public, max-age=300. Readable cross-origin by bank origins.',
    tags: ['tokens'],
    security: NONE,
    responses: { 200: json(s.jwksAnswer, 'JWKS') },
    errors: [],
    cors: 'bank',
    rateLimit: 'none',
  },
  createEnrollmentCode: {
    method: 'POST',
    path: '/v1/enrollment-codes',
    operationId: 'createEnrollmentCode',
    summary: 'One-time enrollment code for a subject (10 minutes)',
    tags: ['devices'],
    security: apiKey('bank'),
    body: jsonBody(s.subjectBody),
    responses: { 201: json(s.enrollmentCodeAnswer, 'code') },
    errors: [...BODY, ...AUTH],
    cors: 'none',
    rateLimit: 'caller',
  },
  enrollDevice: {
    method: 'POST',
    path: '/v1/devices',
    operationId: 'enrollDevice',
    summary: 'Enroll the device that signed a tacit-enroll+jwt',
    tags: ['devices'],
    security: statement('enrollment', 'tacit-enroll+jwt'),
    body: jsonBody(s.enrollBody),
    responses: { 201: json(s.enrolledAnswer, 'enrolled') },
    errors: [
      ...BODY,
      ...JWS,
      'ERR_STALE',
      'ERR_REPLAY',
      'ERR_ENROLLMENT_CODE',
      'ERR_DEVICE_REVOKED',
      'ERR_DEVICE_ENROLLED_ELSEWHERE',
    ],
    cors: 'extension',
    rateLimit: 'caller',
  },
  listDevices: {
    method: 'GET',
    path: '/v1/devices',
    operationId: 'listDevices',
    summary: "A subject's enrollments at the calling relying party",
    tags: ['devices'],
    security: apiKey('bank'),
    query: s.devicesQuery,
    responses: { 200: json(s.devicesAnswer, 'devices') },
    errors: ['ERR_BAD_REQUEST', ...AUTH],
    cors: 'none',
    rateLimit: 'caller',
  },
  revokeDevice: {
    method: 'POST',
    path: '/v1/devices/:deviceId/revoke',
    operationId: 'revokeDevice',
    summary: "Revoke a device's enrollment for a subject",
    tags: ['devices'],
    security: apiKey('bank'),
    params: DEVICE_ID,
    body: jsonBody(s.subjectBody),
    responses: { 200: json(s.deviceSchema, 'revoked') },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_DEVICE'],
    cors: 'none',
    rateLimit: 'caller',
  },
  revokeDeviceEverywhere: {
    method: 'POST',
    path: '/v1/admin/devices/:deviceId/revoke',
    operationId: 'revokeDeviceEverywhere',
    summary: 'Operator: revoke every enrollment of a device key',
    description: 'Role admin.',
    tags: ['admin'],
    security: apiKey('admin'),
    params: DEVICE_ID,
    responses: { 200: json(s.revokedAnswer, 'revoked') },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_DEVICE'],
    cors: 'none',
    rateLimit: 'caller',
  },
  deviceKey: {
    method: 'GET',
    path: '/v1/admin/devices/:deviceId',
    operationId: 'deviceKey',
    summary: 'Aggregator: whether a device key is enrolled and not revoked, and its public key',
    description:
      'Role aggregator or admin. `active`: at least one enrollment of the key is not revoked. ' +
      'Names no subject and no relying party: the aggregator learns only that the key is a ' +
      "real, current device (docs/federated.md 'Aggregator').",
    tags: ['admin'],
    security: apiKey('aggregator', 'admin'),
    params: DEVICE_ID,
    responses: { 200: json(s.deviceKeyAnswer, 'the device key') },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_DEVICE'],
    cors: 'none',
    rateLimit: 'caller',
  },
  openSession: {
    method: 'POST',
    path: '/v1/sessions',
    operationId: 'openSession',
    summary: 'Open a behavioral session (30 minutes)',
    tags: ['sessions'],
    security: apiKey('bank'),
    body: jsonBody(s.subjectBody),
    responses: { 201: json(s.openedAnswer, 'opened') },
    errors: [...BODY, ...AUTH],
    cors: 'none',
    rateLimit: 'caller',
  },
  bindSession: {
    method: 'POST',
    path: '/v1/sessions/bind',
    operationId: 'bindSession',
    summary: 'Bind a session to the device that signed a tacit-bind+jwt',
    tags: ['sessions'],
    security: statement('binding', 'tacit-bind+jwt'),
    body: jsonBody(s.bindBody),
    responses: {
      200: json(s.boundAnswer, 'bound; `subject` is the subject the bank opened the session for'),
    },
    errors: [
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
    ],
    cors: 'extension',
    rateLimit: { device: 'binding' },
  },
  issueSessionToken: {
    method: 'POST',
    path: '/v1/sessions/:sid/token',
    operationId: 'issueSessionToken',
    summary: 'Session JWT (tacit-session+jwt, at most 5 minutes)',
    tags: ['tokens'],
    security: apiKey('bank'),
    params: SID,
    responses: { 200: json(s.tokenAnswer, 'token') },
    errors: [
      'ERR_BAD_REQUEST',
      ...AUTH,
      'ERR_UNKNOWN_SESSION',
      'ERR_SESSION_EXPIRED',
      'ERR_SESSION_TERMINATED',
      'ERR_SESSION_NOT_BOUND',
      'ERR_DEVICE_REVOKED',
    ],
    cors: 'none',
    rateLimit: 'caller',
  },
  decide: {
    method: 'POST',
    path: '/v1/sessions/:sid/decision',
    operationId: 'decide',
    summary: 'Policy decision (allow, step-up, terminate); terminate ends the session',
    tags: ['sessions'],
    security: apiKey('bank'),
    params: SID,
    responses: { 200: json(s.decisionSchema, 'decision (recorded in the audit trail)') },
    errors: [
      'ERR_BAD_REQUEST',
      ...AUTH,
      'ERR_UNKNOWN_SESSION',
      'ERR_SESSION_EXPIRED',
      'ERR_SESSION_TERMINATED',
    ],
    cors: 'none',
    rateLimit: 'caller',
  },
  confirmSession: {
    method: 'POST',
    path: '/v1/sessions/:sid/confirm',
    operationId: 'confirmSession',
    summary: 'Report a strong-factor confirmation (WebAuthn) of the session',
    description:
      'The relying party verified a strong factor (a WebAuthn assertion) for the session it ' +
      'opened, `at` (within the 60 s freshness window of the server clock). The session is ' +
      'marked confirmed (recorded in the audit trail, CAEP risk level back to LOW), its ' +
      'assurance is 0.95 until the next attestation, and its device resets its decision.',
    tags: ['sessions'],
    security: apiKey('bank'),
    params: SID,
    body: jsonBody(s.confirmBody),
    responses: { 200: json(s.confirmedAnswer, 'confirmed (recorded in the audit trail)') },
    errors: [
      ...BODY,
      ...AUTH,
      'ERR_STALE',
      'ERR_UNKNOWN_SESSION',
      'ERR_SESSION_EXPIRED',
      'ERR_SESSION_TERMINATED',
    ],
    cors: 'none',
    rateLimit: 'caller',
  },
  endSession: {
    method: 'DELETE',
    path: '/v1/sessions/:sid',
    operationId: 'endSession',
    summary: 'End a session',
    tags: ['sessions'],
    security: apiKey('bank'),
    params: SID,
    responses: { 204: { description: 'ended' } },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_SESSION'],
    cors: 'none',
    rateLimit: 'caller',
  },
  attest: {
    method: 'POST',
    path: '/v1/attestations',
    operationId: 'attest',
    summary: 'A bound device reports its behavioral confidence (tacit-att+jwt)',
    tags: ['sessions'],
    security: statement('attestation', 'tacit-att+jwt'),
    body: jsonBody(s.attestationBody),
    responses: { 202: json(s.attestationAnswer, 'accepted and committed') },
    errors: [
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
    ],
    cors: 'extension',
    rateLimit: { device: 'attestation' },
  },
  introspect: {
    method: 'POST',
    path: '/v1/introspect',
    operationId: 'introspect',
    summary: 'RFC 7662 introspection of a session token',
    tags: ['tokens'],
    security: apiKey('bank'),
    body: { schema: s.introspectBody, mediaTypes: [FORM_TYPE, JSON_TYPE], required: true },
    responses: { 200: json(s.introspectionSchema, 'introspection') },
    errors: [...BODY, ...AUTH],
    cors: 'none',
    rateLimit: 'caller',
  },
  readAudit: {
    method: 'GET',
    path: '/v1/audit',
    operationId: 'readAudit',
    summary: 'Audit records after a seq, as JSON lines (roles auditor, admin)',
    tags: ['audit'],
    security: apiKey('auditor', 'admin'),
    query: s.auditQuery,
    responses: {
      200: {
        description: 'one AuditRecord per line, oldest first',
        content: { [NDJSON_TYPE]: s.auditRecordSchema },
      },
    },
    errors: ['ERR_BAD_REQUEST', ...AUTH],
    cors: 'none',
    rateLimit: 'caller',
  },
  verifyAudit: {
    method: 'GET',
    path: '/v1/audit/verify',
    operationId: 'verifyAudit',
    summary: 'Recompute the audit hash chain (roles auditor, admin)',
    tags: ['audit'],
    security: apiKey('auditor', 'admin'),
    responses: { 200: json(s.auditVerificationSchema, 'verification') },
    errors: AUTH,
    cors: 'none',
    rateLimit: 'caller',
  },
  deviceSession: {
    method: 'GET',
    path: '/v1/device/sessions/:sid',
    operationId: 'deviceSession',
    summary: 'The bound device reads its session (DPoP)',
    tags: ['device'],
    security: DPOP_AUTH,
    params: SID,
    responses: { 200: json(s.deviceSessionSchema, 'session') },
    errors: ['ERR_BAD_REQUEST', ...DPOP, 'ERR_UNKNOWN_SESSION'],
    cors: 'extension',
    rateLimit: 'caller',
  },
  deviceEnrollments: {
    method: 'GET',
    path: '/v1/device/enrollments',
    operationId: 'deviceEnrollments',
    summary: "The calling device's enrollments, revoked ones included (DPoP)",
    tags: ['device'],
    security: DPOP_AUTH,
    responses: { 200: json(s.enrollmentsAnswer, 'enrollments') },
    errors: DPOP,
    cors: 'extension',
    rateLimit: 'caller',
  },
  deviceRevoke: {
    method: 'POST',
    path: '/v1/device/revoke',
    operationId: 'deviceRevoke',
    summary: 'The calling device revokes every enrollment of its key (DPoP)',
    description: 'No body, or {}.',
    tags: ['device'],
    security: DPOP_AUTH,
    body: { schema: s.emptyBody, mediaTypes: [JSON_TYPE], required: false },
    responses: { 200: json(s.revokedAnswer, 'revoked') },
    errors: [...BODY, ...DPOP],
    cors: 'extension',
    rateLimit: 'caller',
  },
  deviceRotate: {
    method: 'POST',
    path: '/v1/device/rotate',
    operationId: 'deviceRotate',
    summary: 'Move the enrollments to a new device key (DPoP by the old key)',
    description:
      'The body carries a tacit-rotate+jwt signed by the new key (jwk header) naming the old ' +
      "key's thumbprint in `old`. Live sessions bound to the old key are re-bound to the " +
      'new one.',
    tags: ['device'],
    security: DPOP_AUTH,
    body: jsonBody(s.rotateBody),
    responses: { 200: json(s.rotatedAnswer, 'rotated') },
    errors: [...BODY, ...DPOP, ...JWS, 'ERR_STALE', 'ERR_REPLAY', 'ERR_KEY_IN_USE'],
    cors: 'extension',
    rateLimit: 'caller',
  },
  rotateSigningKey: {
    method: 'POST',
    path: '/v1/admin/signing-keys/rotate',
    operationId: 'rotateSigningKey',
    summary: "Operator: retire the server's signing key and sign with a new one",
    description:
      'Role admin. The retired key stays in the JWKS until every token it signed has expired. ' +
      '`rotated` is false when another instance rotated at the same moment.',
    tags: ['admin'],
    security: apiKey('admin'),
    responses: { 200: json(s.signingKeysRotatedAnswer, 'rotated') },
    errors: AUTH,
    cors: 'none',
    rateLimit: 'caller',
  },
  // --- Shared Signals (OpenID SSF 1.0; docs/protocol.md §6) ---
  ssfConfiguration: {
    method: 'GET',
    path: '/.well-known/ssf-configuration',
    operationId: 'ssfConfiguration',
    summary: 'SSF transmitter configuration metadata',
    tags: ['shared-signals'],
    security: NONE,
    responses: { 200: json(s.ssfConfigurationSchema, 'metadata') },
    errors: [],
    cors: 'none',
    rateLimit: 'none',
  },
  createStream: {
    method: 'POST',
    path: '/v1/ssf/streams',
    operationId: 'createStream',
    summary: 'Create an SSF event stream (push or poll) for the calling relying party',
    description: `At most 10 streams per relying party. \`aud\` of its SETs is the API key id.`,
    tags: ['shared-signals'],
    security: apiKey('bank'),
    body: jsonBody(s.streamCreateBody),
    responses: { 201: json(s.streamConfigSchema, 'created (enabled)') },
    errors: [...BODY, ...AUTH, 'ERR_STREAM_LIMIT'],
    cors: 'none',
    rateLimit: 'caller',
  },
  readStreams: {
    method: 'GET',
    path: '/v1/ssf/streams',
    operationId: 'readStreams',
    summary: 'One stream (?stream_id=) or every stream of the caller',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    query: s.streamQuery,
    responses: {
      200: json(
        s.streamConfigSchema.or(s.streamConfigSchema.array()),
        'the stream, or a list without stream_id',
      ),
    },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  updateStream: {
    method: 'PATCH',
    path: '/v1/ssf/streams',
    operationId: 'updateStream',
    summary: 'Update the members given of a stream',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    body: jsonBody(s.streamUpdateBody),
    responses: { 200: json(s.streamConfigSchema, 'updated') },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  replaceStream: {
    method: 'PUT',
    path: '/v1/ssf/streams',
    operationId: 'replaceStream',
    summary: 'Replace every receiver-supplied member of a stream',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    body: jsonBody(s.streamReplaceBody),
    responses: { 200: json(s.streamConfigSchema, 'replaced') },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  deleteStream: {
    method: 'DELETE',
    path: '/v1/ssf/streams',
    operationId: 'deleteStream',
    summary: 'Delete a stream with its queued events and dead letters',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    query: s.streamIdQuery,
    responses: { 204: { description: 'deleted' } },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  readStreamStatus: {
    method: 'GET',
    path: '/v1/ssf/status',
    operationId: 'readStreamStatus',
    summary: "A stream's status",
    tags: ['shared-signals'],
    security: apiKey('bank'),
    query: s.streamIdQuery,
    responses: { 200: json(s.streamStatusSchema, 'status') },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  updateStreamStatus: {
    method: 'POST',
    path: '/v1/ssf/status',
    operationId: 'updateStreamStatus',
    summary: 'Enable, pause (events held) or disable (events dropped) a stream',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    body: jsonBody(s.streamStatusSchema),
    responses: { 200: json(s.streamStatusSchema, 'status') },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  verifyStream: {
    method: 'POST',
    path: '/v1/ssf/verify',
    operationId: 'verifyStream',
    summary: 'Queue a verification event on a stream',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    body: jsonBody(s.verificationBody),
    responses: { 204: { description: 'queued' } },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  pollStream: {
    method: 'POST',
    path: '/v1/ssf/poll/:streamId',
    operationId: 'pollStream',
    summary: 'RFC 8936 poll: acknowledge, then receive SETs',
    description:
      'Without returnImmediately, waits up to 5 s for an event. Acknowledged events (ack, setErrs) are removed.',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    params: { streamId: s.streamIdSchema },
    body: jsonBody(s.pollBody),
    responses: { 200: json(s.pollAnswerSchema, 'SETs by jti') },
    errors: [...BODY, ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
  readDeadLetters: {
    method: 'GET',
    path: '/v1/ssf/dead-letters',
    operationId: 'readDeadLetters',
    summary: 'Push deliveries of a stream that failed for good',
    tags: ['shared-signals'],
    security: apiKey('bank'),
    query: s.streamIdQuery,
    responses: { 200: json(s.deadLettersSchema, 'dead letters, oldest first') },
    errors: ['ERR_BAD_REQUEST', ...AUTH, 'ERR_UNKNOWN_STREAM'],
    cors: 'none',
    rateLimit: 'caller',
  },
} as const satisfies Record<string, Route>;

/** An operationId. */
export type OperationId = keyof typeof ROUTES;

/** The table as a list, in declaration order. */
export const ROUTE_LIST: readonly Route[] = Object.values(ROUTES);

/** The JSON body type of `op`'s answer with `status` (what its handler must return). */
export type AnswerOf<
  K extends OperationId,
  S extends keyof (typeof ROUTES)[K]['responses'],
> = (typeof ROUTES)[K]['responses'][S] extends { content: { 'application/json': infer T } }
  ? T extends z.ZodType
    ? z.output<T>
    : never
  : never;

/** `/v1/sessions/:sid/token` → `/v1/sessions/{sid}/token` (OpenAPI's path template). */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/**
 * A Hono path pattern as an anchored regular expression whose named groups are its
 * parameters; `param` gives each parameter's expression (default: one non-empty segment).
 */
export const pathPattern = (path: string, param = (_name: string) => '[^/]+'): RegExp =>
  new RegExp(
    `^${path
      .split(/(:\w+)/)
      .map((part) =>
        part.startsWith(':')
          ? `(?<${part.slice(1)}>${param(part.slice(1))})`
          : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  );
