/**
 * Every time limit and size limit of the verification server, in one place, with its unit.
 * docs/protocol.md and docs/server.md quote these values; change them together.
 *
 * @module
 */
export const POLICY = {
  /** Lifetime of a behavioral session from its opening (ms). */
  sessionTtlMs: 30 * 60 * 1000,
  /** Lifetime of a session JWT (s); also capped at the session's own expiry. */
  sessionTokenTtlS: 5 * 60,
  /** Lifetime of an enrollment code (ms). */
  enrollmentCodeTtlMs: 10 * 60 * 1000,
  /** Device statements must have `|now - iat|` at most this (s). */
  freshnessWindowS: 60,
  /** Largest request body accepted on `/v1/*` and `/bank/*` (bytes). */
  maxBodyBytes: 16 * 1024,
  /** Largest compact JWS accepted inside a body (characters). */
  maxJwsLength: 8 * 1024,
  /** How long ended sessions and their attestations are kept after expiry (ms). */
  sessionRetentionMs: 7 * 24 * 60 * 60 * 1000,
  /** How long used or expired enrollment codes are kept after expiry (ms). */
  enrollmentCodeRetentionMs: 24 * 60 * 60 * 1000,
} as const;
