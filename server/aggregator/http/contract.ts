/**
 * The aggregator's route table and wire schemas: data only. The routes (`http/routes.ts`) read
 * their paths and schemas here; the OpenAPI document (`http/openapi.ts`) is generated from it;
 * `app.test.ts` checks the app registers exactly these routes and answers with these schemas.
 *
 * @module
 */
import { z } from 'zod';
import type { AggregatorErrorCode } from '../errors';

/** How a caller proves who it is. */
export type AggregatorSecurity =
  | 'none'
  /** `Authorization: Bearer TACIT_FL_ADMIN_KEY`. */
  | 'admin'
  /** The device-key signature of the update the body carries. */
  | 'update';

/** One operation. */
export interface AggregatorRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly security: AggregatorSecurity;
  readonly params?: Readonly<Record<string, z.ZodType>>;
  readonly body?: z.ZodType;
  readonly status: number;
  readonly answer: z.ZodType;
  readonly errors: readonly AggregatorErrorCode[];
}

const count = z.number().int().min(0);
const positive = z.number().int().min(1);
const isoTime = z.iso.datetime();
export const idParam = z.string().regex(/^[1-9]\d{0,8}$/, 'a positive integer');

export const roundView = z.strictObject({
  round: positive,
  status: z.enum(['open', 'closed', 'refused']),
  baseVersion: positive,
  encoderId: z.string(),
  parameters: positive,
  minDevices: positive,
  clipNorm: z.number(),
  noiseMultiplier: z.number(),
  samplingRate: z.number(),
  normBound: z.number(),
  received: count,
});
export const versionSummary = z.strictObject({
  ver: positive,
  round: positive.nullable(),
  encoderId: z.string(),
  contributors: count,
  epsilon: z.number().min(0),
  evaluation: z.record(z.string(), z.number()).nullable(),
  rollbackOf: positive.nullable(),
  createdAt: isoTime,
  current: z.boolean(),
});
export const signedVersion = z.strictObject({
  token: z.string().meta({ description: 'tacit-model+jwt (ES256, aggregator key)' }),
  encoder: z.string().meta({ description: 'the encoder JSON text whose SHA-256 the token signs' }),
  centres: z.string().meta({
    description:
      "the version's public centres (tacit-public-centres JSON text) whose SHA-256 the token signs as centresDigest",
  }),
});
export const uploadBody = z.strictObject({
  update: z
    .string()
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, 'a compact JWS')
    .meta({ description: 'compact JWS, typ tacit-fl-update+jws, payload the TFLU bytes' }),
});
export const uploadAnswer = z.strictObject({ round: positive, received: positive });
export const closeBody = z.strictObject({
  evaluation: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/), z.number().finite())
    .refine((r) => Object.keys(r).length <= 16, 'at most 16 figures')
    .optional(),
});
export const versionsAnswer = z.strictObject({ versions: z.array(versionSummary) });
export const jwksAnswer = z.strictObject({
  keys: z.array(
    z.strictObject({
      kty: z.literal('EC'),
      crv: z.literal('P-256'),
      x: z.string(),
      y: z.string(),
      kid: z.string(),
      alg: z.literal('ES256'),
      use: z.literal('sig'),
    }),
  ),
});
export const healthAnswer = z.strictObject({ status: z.literal('ok') });
export const openApiAnswer = z.looseObject({ openapi: z.literal('3.1.0') });

const ROUND = { round: idParam };
const VER = { ver: idParam };
const ADMIN: AggregatorErrorCode[] = ['ERR_UNAUTHORIZED'];

/** Every operation of the aggregator. */
export const AGGREGATOR_ROUTES = {
  health: {
    method: 'GET',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness',
    security: 'none',
    status: 200,
    answer: healthAnswer,
    errors: [],
  },
  openapi: {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    security: 'none',
    status: 200,
    answer: openApiAnswer,
    errors: [],
  },
  jwks: {
    method: 'GET',
    path: '/.well-known/jwks.json',
    operationId: 'jwks',
    summary: 'The public key that signs model versions (the extension pins it)',
    security: 'none',
    status: 200,
    answer: jwksAnswer,
    errors: [],
  },
  currentRound: {
    method: 'GET',
    path: '/v1/rounds/current',
    operationId: 'currentRound',
    summary: 'The open round: which version to train from, the clip norm and noise to apply',
    security: 'none',
    status: 200,
    answer: roundView,
    errors: ['ERR_NO_OPEN_ROUND'],
  },
  upload: {
    method: 'POST',
    path: '/v1/updates',
    operationId: 'upload',
    summary: "A device's update for the open round, signed by its key (one per device and round)",
    security: 'update',
    body: uploadBody,
    status: 201,
    answer: uploadAnswer,
    errors: [
      'ERR_BAD_REQUEST',
      'ERR_PAYLOAD_TOO_LARGE',
      'ERR_UPDATE_SIGNATURE',
      'ERR_UNKNOWN_DEVICE',
      'ERR_DEVICE_REVOKED',
      'ERR_NO_OPEN_ROUND',
      'ERR_ROUND_STATE',
      'ERR_UPDATE_ROUND',
      'ERR_UPDATE_ENCODER',
      'ERR_UPDATE_VERSION',
      'ERR_UPDATE_FORMAT',
      'ERR_UPDATE_SIZE',
      'ERR_UPDATE_NORM',
      'ERR_UPDATE_REPLAY',
      'ERR_RATE_LIMITED',
      'ERR_VERIFIER_UNAVAILABLE',
    ],
  },
  listVersions: {
    method: 'GET',
    path: '/v1/models',
    operationId: 'listVersions',
    summary: 'Every published model version, oldest first',
    security: 'none',
    status: 200,
    answer: versionsAnswer,
    errors: [],
  },
  currentVersion: {
    method: 'GET',
    path: '/v1/models/current',
    operationId: 'currentVersion',
    summary: 'The latest version: signed token, encoder and public centres',
    security: 'none',
    status: 200,
    answer: signedVersion,
    errors: [],
  },
  getVersion: {
    method: 'GET',
    path: '/v1/models/:ver',
    operationId: 'getVersion',
    summary: 'One version: signed token, encoder and public centres',
    security: 'none',
    params: VER,
    status: 200,
    answer: signedVersion,
    errors: ['ERR_BAD_REQUEST', 'ERR_NOT_FOUND'],
  },
  openRound: {
    method: 'POST',
    path: '/v1/admin/rounds',
    operationId: 'openRound',
    summary: 'Operator: open the next round from the latest version',
    security: 'admin',
    status: 201,
    answer: roundView,
    errors: [...ADMIN, 'ERR_ROUND_OPEN', 'ERR_PRIVACY_BUDGET'],
  },
  getRound: {
    method: 'GET',
    path: '/v1/admin/rounds/:round',
    operationId: 'getRound',
    summary: 'Operator: a round and how many updates it has',
    security: 'admin',
    params: ROUND,
    status: 200,
    answer: roundView,
    errors: [...ADMIN, 'ERR_BAD_REQUEST', 'ERR_NOT_FOUND'],
  },
  closeRound: {
    method: 'POST',
    path: '/v1/admin/rounds/:round/close',
    operationId: 'closeRound',
    summary: 'Operator: aggregate the round and publish its version (evaluation figures optional)',
    security: 'admin',
    params: ROUND,
    body: closeBody,
    status: 201,
    answer: versionSummary,
    errors: [
      ...ADMIN,
      'ERR_BAD_REQUEST',
      'ERR_NOT_FOUND',
      'ERR_ROUND_STATE',
      'ERR_TOO_FEW_DEVICES',
      'ERR_PRIVACY_BUDGET',
    ],
  },
  rollback: {
    method: 'POST',
    path: '/v1/admin/models/:ver/rollback',
    operationId: 'rollback',
    summary: "Operator: republish an earlier version's encoder as the next version",
    security: 'admin',
    params: VER,
    status: 201,
    answer: versionSummary,
    errors: [...ADMIN, 'ERR_BAD_REQUEST', 'ERR_NOT_FOUND'],
  },
} as const satisfies Record<string, AggregatorRoute>;

/** The table as a list. */
export const AGGREGATOR_ROUTE_LIST: readonly AggregatorRoute[] = Object.values(AGGREGATOR_ROUTES);
