/**
 * Typed errors of the relying-party SDK, in the shape of jose's `util/errors.ts`: one base
 * class, one subclass per failure, a stable `code` callers can `switch` on.
 *
 * A {@link TacitSdkError} means that something untrusted was rejected (a session token) or
 * that the verification server could not be used. A `TypeError` means misconfiguration (thrown
 * by {@link createTacitClient} and {@link requireAssurance} at construction, or for an argument
 * of the wrong type). Messages are fixed text: they never contain a token, an API key, a claim
 * value or a header value. `cause` is a fixed string too (a jose error code and, for a claim
 * check, the claim's name), meant for the integrator's log.
 *
 * @module
 */

/** Every code a {@link TacitSdkError} can have. */
export type TacitSdkErrorCode =
  | 'ERR_TOKEN_MALFORMED'
  | 'ERR_TOKEN_ALG'
  | 'ERR_TOKEN_TYP'
  | 'ERR_TOKEN_KID'
  | 'ERR_TOKEN_SIGNATURE'
  | 'ERR_TOKEN_EXPIRED'
  | 'ERR_TOKEN_CLAIMS'
  | 'ERR_SERVER_UNAVAILABLE'
  | 'ERR_SERVER_RESPONSE'
  | 'ERR_API';

/** The codes that mean "this session token is not acceptable" (a 401 for the end user). */
export const TOKEN_ERROR_CODES: ReadonlySet<TacitSdkErrorCode> = new Set([
  'ERR_TOKEN_MALFORMED',
  'ERR_TOKEN_ALG',
  'ERR_TOKEN_TYP',
  'ERR_TOKEN_KID',
  'ERR_TOKEN_SIGNATURE',
  'ERR_TOKEN_EXPIRED',
  'ERR_TOKEN_CLAIMS',
]);

/** Options every SDK error accepts. */
export interface TacitSdkErrorOptions {
  /** Why, as fixed text (a jose error code, a claim name, an HTTP status): never a value. */
  cause?: string;
}

/** Base class. Subclasses fix `code` and the message. */
export abstract class TacitSdkError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: TacitSdkErrorCode;

  constructor(message: string, options?: TacitSdkErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Not a compact JWS, a header or payload that does not decode, or longer than 8 KiB. */
export class TokenMalformed extends TacitSdkError {
  readonly code = 'ERR_TOKEN_MALFORMED' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token is malformed', options);
  }
}

/** `alg` other than `ES256` (`none`, HMAC, RSA, ...). */
export class TokenAlgorithm extends TacitSdkError {
  readonly code = 'ERR_TOKEN_ALG' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token algorithm not allowed', options);
  }
}

/** `typ` other than `tacit-session+jwt` (a device statement, a plain `JWT`, none). */
export class TokenType extends TacitSdkError {
  readonly code = 'ERR_TOKEN_TYP' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('not a session token', options);
  }
}

/** No `kid`, or a `kid` the server's JWKS does not publish (even after a refresh). */
export class TokenKeyUnknown extends TacitSdkError {
  readonly code = 'ERR_TOKEN_KID' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token key unknown', options);
  }
}

/** The signature does not verify with the published key (tampered header, payload or signature). */
export class TokenSignature extends TacitSdkError {
  readonly code = 'ERR_TOKEN_SIGNATURE' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token signature invalid', options);
  }
}

/** `exp` has passed, or `iat` is older than the server's token lifetime (5 min). */
export class TokenExpired extends TacitSdkError {
  readonly code = 'ERR_TOKEN_EXPIRED' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token expired', options);
  }
}

/** Wrong `iss` or `aud`, `iat` in the future, a missing claim, or a claim of the wrong type. */
export class TokenClaims extends TacitSdkError {
  readonly code = 'ERR_TOKEN_CLAIMS' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('session token claims invalid', options);
  }
}

/** The server did not answer: network error, timeout, 5xx, or the JWKS could not be fetched. */
export class ServerUnavailable extends TacitSdkError {
  readonly code = 'ERR_SERVER_UNAVAILABLE' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('verification server unavailable', options);
  }
}

/** The server answered something other than what docs/protocol.md §5 describes. */
export class ServerResponse extends TacitSdkError {
  readonly code = 'ERR_SERVER_RESPONSE' as const;
  constructor(options?: TacitSdkErrorOptions) {
    super('unexpected answer from the verification server', options);
  }
}

/**
 * The server refused an API call with one of its documented 4xx errors (docs/protocol.md §5):
 * `serverCode` is its `ERR_*` code (`ERR_UNKNOWN_SESSION`, `ERR_SESSION_TERMINATED`,
 * `ERR_UNAUTHORIZED` for a wrong API key, `ERR_RATE_LIMITED`, ...).
 */
export class ApiError extends TacitSdkError {
  readonly code = 'ERR_API' as const;
  /** HTTP status of the answer. */
  readonly status: number;
  /** The server's error code. */
  readonly serverCode: string;
  /** Seconds to wait before retrying (`Retry-After`, with `ERR_RATE_LIMITED`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, serverCode: string, retryAfterSeconds?: number) {
    super('verification server refused the request', { cause: `${status} ${serverCode}` });
    this.status = status;
    this.serverCode = serverCode;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
