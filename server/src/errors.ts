/**
 * Typed errors of the verification server, in the shape of jose's `util/errors.ts`: one base
 * class, one subclass per failure, a stable `code` callers can `switch` on.
 *
 * A `TacitError` means untrusted input was rejected (or, for {@link InternalError}, that we
 * failed). Its message is fixed text chosen by the code that throws it: it never contains a
 * token, a key, an enrollment code or behavioral data. Anything the operator needs to know
 * about the cause goes into `cause`, which only the log sees.
 *
 * @module
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Every error code the server answers with. Listed in docs/protocol.md §5. */
export type ErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNAUTHORIZED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_JWS_INVALID'
  | 'ERR_JWS_ALG'
  | 'ERR_JWS_TYP'
  | 'ERR_JWS_CLAIMS'
  | 'ERR_UNKNOWN_DEVICE'
  | 'ERR_DEVICE_REVOKED'
  | 'ERR_DEVICE_ENROLLED_ELSEWHERE'
  | 'ERR_UNKNOWN_SESSION'
  | 'ERR_SESSION_EXPIRED'
  | 'ERR_SESSION_NOT_BOUND'
  | 'ERR_SESSION_BOUND'
  | 'ERR_CHALLENGE_MISMATCH'
  | 'ERR_REPLAY'
  | 'ERR_STALE'
  | 'ERR_CHAIN'
  | 'ERR_ENROLLMENT_CODE'
  | 'ERR_SESSION_TERMINATED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_DPOP_INVALID'
  | 'ERR_DPOP_STALE'
  | 'ERR_DPOP_REPLAY'
  | 'ERR_KEY_IN_USE'
  | 'ERR_UNKNOWN_STREAM'
  | 'ERR_STREAM_LIMIT'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_STORAGE_FULL'
  | 'ERR_INTERNAL';

/** Options every error accepts; `cause` is logged, never sent. */
export interface TacitErrorOptions {
  /** Why it happened, for the log only (may name a claim or a header, never a value). */
  cause?: unknown;
}

/** Base class. Subclasses fix `code`, `status` and a default message. */
export abstract class TacitError extends Error {
  /** Stable machine-readable code, also sent to the client. */
  abstract readonly code: ErrorCode;
  /** HTTP status the error boundary answers with. */
  abstract readonly status: ContentfulStatusCode;

  constructor(message: string, options?: TacitErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request body or a parameter is malformed (not JSON, missing fields, wrong types). */
export class BadRequest extends TacitError {
  readonly code = 'ERR_BAD_REQUEST';
  readonly status = 400;
  constructor(message = 'malformed request', options?: TacitErrorOptions) {
    super(message, options);
  }
}

/** The request body is larger than the server accepts. */
export class PayloadTooLarge extends TacitError {
  readonly code = 'ERR_PAYLOAD_TOO_LARGE';
  readonly status = 413;
  constructor(options?: TacitErrorOptions) {
    super('request body too large', options);
  }
}

/** Missing or unknown API key. Always the same message: the cause stays in the log. */
export class Unauthorized extends TacitError {
  readonly code = 'ERR_UNAUTHORIZED';
  readonly status = 401;
  constructor(options?: TacitErrorOptions) {
    super('authentication required', options);
  }
}

/** The caller is authenticated but its role may not do this. */
export class Forbidden extends TacitError {
  readonly code = 'ERR_FORBIDDEN';
  readonly status = 403;
  constructor(options?: TacitErrorOptions) {
    super('not allowed for this caller', options);
  }
}

/** No such route or resource. */
export class NotFound extends TacitError {
  readonly code = 'ERR_NOT_FOUND';
  readonly status = 404;
  constructor(options?: TacitErrorOptions) {
    super('not found', options);
  }
}

/** The JWS does not parse, is not compact, lacks a required header, or its signature fails. */
export class JwsInvalid extends TacitError {
  readonly code = 'ERR_JWS_INVALID';
  readonly status = 400;
  constructor(message = 'invalid signed statement', options?: TacitErrorOptions) {
    super(message, options);
  }
}

/** The JWS `alg` is anything but `ES256` (including `none` and HMAC). */
export class JwsAlg extends TacitError {
  readonly code = 'ERR_JWS_ALG';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('algorithm not allowed', options);
  }
}

/** The JWS `typ` is not the one this endpoint accepts. */
export class JwsTyp extends TacitError {
  readonly code = 'ERR_JWS_TYP';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('unexpected statement type', options);
  }
}

/** The payload is not the claims set this statement kind requires. */
export class JwsClaims extends TacitError {
  readonly code = 'ERR_JWS_CLAIMS';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('invalid statement claims', options);
  }
}

/** `kid` names no enrolled device (or none enrolled for this session's subject). */
export class UnknownDevice extends TacitError {
  readonly code = 'ERR_UNKNOWN_DEVICE';
  readonly status = 404;
  constructor(options?: TacitErrorOptions) {
    super('unknown device', options);
  }
}

/** The device was enrolled but has been revoked. */
export class DeviceRevoked extends TacitError {
  readonly code = 'ERR_DEVICE_REVOKED';
  readonly status = 403;
  constructor(options?: TacitErrorOptions) {
    super('device revoked', options);
  }
}

/**
 * The device key is enrolled, unrevoked, for another subject of the code's relying party, and
 * that relying party does not allow shared devices (decision policy `sharedDevices`).
 */
export class DeviceEnrolledElsewhere extends TacitError {
  readonly code = 'ERR_DEVICE_ENROLLED_ELSEWHERE';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('device enrolled for another subject of this relying party', options);
  }
}

/** No such session (or not one the caller opened). */
export class UnknownSession extends TacitError {
  readonly code = 'ERR_UNKNOWN_SESSION';
  readonly status = 404;
  constructor(options?: TacitErrorOptions) {
    super('unknown session', options);
  }
}

/** The session is past its lifetime or was ended by its relying party. */
export class SessionExpired extends TacitError {
  readonly code = 'ERR_SESSION_EXPIRED';
  readonly status = 410;
  constructor(options?: TacitErrorOptions) {
    super('session expired or ended', options);
  }
}

/** The session has no device bound yet. */
export class SessionNotBound extends TacitError {
  readonly code = 'ERR_SESSION_NOT_BOUND';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('session not bound to a device', options);
  }
}

/** The session is bound to another device. */
export class SessionBound extends TacitError {
  readonly code = 'ERR_SESSION_BOUND';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('session bound to another device', options);
  }
}

/** The binding's `chal` is not the session's challenge. */
export class ChallengeMismatch extends TacitError {
  readonly code = 'ERR_CHALLENGE_MISMATCH';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('challenge mismatch', options);
  }
}

/** A `seq` that does not increase, or a `jti` already seen. */
export class Replay extends TacitError {
  readonly code = 'ERR_REPLAY';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('statement replayed', options);
  }
}

/** `iat` outside the freshness window. */
export class Stale extends TacitError {
  readonly code = 'ERR_STALE';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('statement outside the freshness window', options);
  }
}

/** `prev` is not the hash of the last accepted attestation of the session. */
export class ChainBroken extends TacitError {
  readonly code = 'ERR_CHAIN';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('attestation chain broken', options);
  }
}

/** The enrollment code is unknown, expired or already used (deliberately not saying which). */
export class EnrollmentCodeInvalid extends TacitError {
  readonly code = 'ERR_ENROLLMENT_CODE';
  readonly status = 400;
  constructor(options?: TacitErrorOptions) {
    super('enrollment code invalid, expired or already used', options);
  }
}

/** The session was terminated by a policy decision (`POST /v1/sessions/:sid/decision`). */
export class SessionTerminated extends TacitError {
  readonly code = 'ERR_SESSION_TERMINATED';
  readonly status = 410;
  constructor(options?: TacitErrorOptions) {
    super('session terminated by policy', options);
  }
}

/** The caller sent more requests than its fixed window allows; `retryAfterS` says when to retry. */
export class RateLimited extends TacitError {
  readonly code = 'ERR_RATE_LIMITED';
  readonly status = 429;
  /** Whole seconds until the window resets (the `Retry-After` header). */
  readonly retryAfterS: number;
  constructor(retryAfterS: number, options?: TacitErrorOptions) {
    super('too many requests', options);
    this.retryAfterS = retryAfterS;
  }
}

/**
 * A DPoP proof (RFC 9449) was refused. Always a 401; the error boundary adds
 * `WWW-Authenticate: DPoP error="invalid_dpop_proof", algs="ES256"`.
 */
export abstract class DpopError extends TacitError {
  readonly status = 401;
}

/**
 * The DPoP proof is missing, not one compact JWS, has the wrong `typ`, `alg` or `jwk`, a bad
 * signature, missing claims, or an `htm`/`htu` that is not this request's.
 */
export class DpopInvalid extends DpopError {
  readonly code = 'ERR_DPOP_INVALID';
  constructor(options?: TacitErrorOptions) {
    super('invalid DPoP proof', options);
  }
}

/** The DPoP proof's `iat` is outside the freshness window. */
export class DpopStale extends DpopError {
  readonly code = 'ERR_DPOP_STALE';
  constructor(options?: TacitErrorOptions) {
    super('DPoP proof outside the freshness window', options);
  }
}

/** The DPoP proof's `jti` was already used by this device key. */
export class DpopReplay extends DpopError {
  readonly code = 'ERR_DPOP_REPLAY';
  constructor(options?: TacitErrorOptions) {
    super('DPoP proof replayed', options);
  }
}

/** Key rotation to a key that is already enrolled (or was, and was revoked). */
export class KeyInUse extends TacitError {
  readonly code = 'ERR_KEY_IN_USE';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('new device key already in use', options);
  }
}

/** No such SSF stream, or another relying party's (the same answer: nothing leaks). */
export class UnknownStream extends TacitError {
  readonly code = 'ERR_UNKNOWN_STREAM';
  readonly status = 404;
  constructor(options?: TacitErrorOptions) {
    super('unknown stream', options);
  }
}

/** The relying party already has as many SSF streams as one may have. */
export class StreamLimit extends TacitError {
  readonly code = 'ERR_STREAM_LIMIT';
  readonly status = 409;
  constructor(options?: TacitErrorOptions) {
    super('too many streams', options);
  }
}

/**
 * The store cannot be reached or did not answer in time (Redis stopped, restarting or hung; a
 * SQLite I/O error). Nothing was decided: the server cannot check replay state, so it fails
 * closed. The request's outcome is unknown (a write Redis receives after its answer timed out
 * may still apply): a retry answers as usual, or `ERR_REPLAY` if the first attempt went through.
 * 503 with `Retry-After`.
 */
export class StoreUnavailable extends TacitError {
  readonly code = 'ERR_STORE_UNAVAILABLE';
  readonly status = 503;
  /** Whole seconds the client should wait (the `Retry-After` header). */
  readonly retryAfterS = 1;
  constructor(options?: TacitErrorOptions) {
    super('state store unavailable, try again later', options);
  }
}

/**
 * The store refused a write for lack of space (SQLite `SQLITE_FULL`, Redis `OOM` or `MISCONF`).
 * The write was rolled back; nothing acknowledged before is lost. 503 with `Retry-After`, like
 * {@link StoreUnavailable}: the same retry-later answer every HTTP client and proxy understands
 * (507 is WebDAV's), with its own code so operators can alert on it.
 */
export class StorageFull extends TacitError {
  readonly code = 'ERR_STORAGE_FULL';
  readonly status = 503;
  /** Whole seconds the client should wait (the `Retry-After` header). */
  readonly retryAfterS = 5;
  constructor(options?: TacitErrorOptions) {
    super('storage full, try again later', options);
  }
}

/** Our own fault. The boundary answers a bare 500 for any non-Tacit error too. */
export class InternalError extends TacitError {
  readonly code = 'ERR_INTERNAL';
  readonly status = 500;
  constructor(options?: TacitErrorOptions) {
    super('internal error', options);
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Serializes a known error for the wire: code and fixed message, nothing else. */
export function errorBody(err: TacitError): ErrorBody {
  return { error: { code: err.code, message: err.message } };
}
