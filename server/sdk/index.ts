/**
 * Tacit relying-party SDK for bank backends: verify session tokens offline against the
 * server's JWKS, introspect them, open/decide/end sessions, and protect routes by assurance
 * (Express 4/5, `node:http`, Fastify). Depends on jose only. docs/server.md "Relying-party SDK".
 *
 * @module
 */
export { createTacitClient, type TacitClient, type TacitClientOptions } from './client';
export {
  ApiError,
  ServerResponse,
  ServerUnavailable,
  TOKEN_ERROR_CODES,
  TacitSdkError,
  TokenAlgorithm,
  TokenClaims,
  TokenExpired,
  TokenKeyUnknown,
  TokenMalformed,
  TokenSignature,
  TokenType,
  type TacitSdkErrorCode,
  type TacitSdkErrorOptions,
} from './errors';
export {
  bearerToken,
  fromCookie,
  fromHeader,
  meetsAssurance,
  requireAssurance,
  type AssuranceMiddleware,
  type FastifyReplyLike,
  type HeadersLike,
  type Rejection,
  type RequestLike,
  type RequireAssuranceOptions,
  type ResponseLike,
  type TacitAuth,
  type TokenSource,
} from './middleware';
export {
  MAX_TOKEN_LENGTH,
  SESSION_TOKEN_ALG,
  SESSION_TOKEN_MAX_AGE_S,
  SESSION_TOKEN_TYP,
} from './session-token';
export { SECURITY_EVENT_TYP } from './security-event';
export type * from './types';
