/**
 * The one error table of the wire contract: every `ERR_*` code with its HTTP status
 * (docs/protocol.md §5). `errors.ts` classes carry the same status (a test checks each one);
 * the OpenAPI document's error answers and the `Error` schema's enum come from here.
 *
 * @module
 */
import type { ErrorCode } from '../errors';

/** Every error code with its status. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  ERR_BAD_REQUEST: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_JWS_INVALID: 400,
  ERR_JWS_ALG: 400,
  ERR_JWS_TYP: 400,
  ERR_JWS_CLAIMS: 400,
  ERR_UNKNOWN_DEVICE: 404,
  ERR_DEVICE_REVOKED: 403,
  ERR_DEVICE_ENROLLED_ELSEWHERE: 409,
  ERR_UNKNOWN_SESSION: 404,
  ERR_SESSION_EXPIRED: 410,
  ERR_SESSION_NOT_BOUND: 409,
  ERR_SESSION_BOUND: 409,
  ERR_CHALLENGE_MISMATCH: 400,
  ERR_REPLAY: 409,
  ERR_STALE: 400,
  ERR_CHAIN: 409,
  ERR_ENROLLMENT_CODE: 400,
  ERR_SESSION_TERMINATED: 410,
  ERR_RATE_LIMITED: 429,
  ERR_DPOP_INVALID: 401,
  ERR_DPOP_STALE: 401,
  ERR_DPOP_REPLAY: 401,
  ERR_KEY_IN_USE: 409,
  ERR_UNKNOWN_STREAM: 404,
  ERR_STREAM_LIMIT: 409,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_STORAGE_FULL: 503,
  ERR_INTERNAL: 500,
});

/** The codes, in table order. */
export const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/**
 * Codes every `/v1/` operation can answer besides its own list: the store unreachable or full
 * (503 with `Retry-After`; every `/v1/` operation reads or writes the store). The probes,
 * metrics, JWKS and OpenAPI answer from memory or say 503 in their own body (`/readyz`).
 */
export const STORE_ERRORS: readonly ErrorCode[] = ['ERR_STORE_UNAVAILABLE', 'ERR_STORAGE_FULL'];

/** Whether an operation's path reaches the store (it can answer {@link STORE_ERRORS}). */
export const reachesStore = (path: string): boolean => path.startsWith('/v1/');
