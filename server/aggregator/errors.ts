/**
 * Typed errors of the aggregator, in the verifier's shape (`server/src/errors.ts`): one base
 * class with a stable `code` and the HTTP status the error boundary answers with. Messages are
 * fixed text: never a token, an update's bytes or a key. The cause goes to the log only.
 *
 * @module
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every code the aggregator answers with (docs/protocol.md "Federated updates"). */
export const AGGREGATOR_ERRORS = {
  ERR_BAD_REQUEST: [400, 'malformed request'],
  ERR_PAYLOAD_TOO_LARGE: [413, 'request body too large'],
  ERR_UNAUTHORIZED: [401, 'unauthorized'],
  ERR_NOT_FOUND: [404, 'not found'],
  ERR_UPDATE_SIGNATURE: [401, 'update signature refused'],
  ERR_UNKNOWN_DEVICE: [403, 'unknown device'],
  ERR_DEVICE_REVOKED: [403, 'device revoked'],
  ERR_UPDATE_REPLAY: [409, 'this device already sent an update for this round'],
  ERR_UPDATE_ROUND: [409, 'update made for another round'],
  ERR_UPDATE_ENCODER: [409, 'update made for another model version'],
  ERR_UPDATE_VERSION: [400, 'unsupported update format version'],
  ERR_UPDATE_FORMAT: [400, 'malformed update'],
  ERR_UPDATE_SIZE: [413, 'update too large or of the wrong length'],
  ERR_UPDATE_NORM: [422, 'update norm above the round bound'],
  ERR_NO_OPEN_ROUND: [409, 'no round is open'],
  ERR_ROUND_OPEN: [409, 'a round is already open'],
  ERR_ROUND_STATE: [409, 'round is not open'],
  ERR_TOO_FEW_DEVICES: [409, 'fewer devices than the round minimum'],
  ERR_PRIVACY_BUDGET: [409, 'privacy budget would be exceeded'],
  ERR_RATE_LIMITED: [429, 'too many requests'],
  ERR_VERIFIER_UNAVAILABLE: [503, 'device check unavailable'],
  ERR_INTERNAL: [500, 'internal error'],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

/** An aggregator error code. */
export type AggregatorErrorCode = keyof typeof AGGREGATOR_ERRORS;

/** A refusal (or, for `ERR_INTERNAL`/`ERR_VERIFIER_UNAVAILABLE`, our failure). */
export class AggregatorError extends Error {
  readonly status: ContentfulStatusCode;

  constructor(
    readonly code: AggregatorErrorCode,
    options?: { cause?: unknown },
  ) {
    super(AGGREGATOR_ERRORS[code][1], options);
    this.name = 'AggregatorError';
    this.status = AGGREGATOR_ERRORS[code][0];
  }
}

/** The JSON body of an error answer: `{error: {code, message}}` as the verifier's. */
export const errorBody = (err: AggregatorError) => ({
  error: { code: err.code, message: err.message },
});
