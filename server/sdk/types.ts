/**
 * Wire types of the verification server as a relying party sees them (docs/protocol.md §5).
 * No logic here. `types.test.ts` checks at compile time that they match the server's own.
 *
 * @module
 */

/** Assurance level of a session (docs/protocol.md §5 "Assurance"). */
export type AssuranceLevel = 'none' | 'enrolling' | 'high' | 'medium' | 'low';

/** The levels a relying party can require, lowest first. */
export type RequiredLevel = 'low' | 'medium' | 'high';

/** `state` of the device's last accepted attestation (null before the first one). */
export type AttestationState = 'enrolling' | 'scoring';

/** What a decision tells the relying party to do. */
export type Action = 'allow' | 'step-up' | 'terminate';

/** The `tacit` claim of a session token: the assessment when the token was issued. */
export interface TokenAssessment {
  /** In [0, 1]; null while the level is `none` or `enrolling`. */
  assurance: number | null;
  level: AssuranceLevel;
  state: AttestationState | null;
}

/**
 * Claims of a verified session token (`typ: tacit-session+jwt`, ES256). Every member is
 * checked by {@link TacitClient.verifySessionToken}; times are seconds since the epoch.
 */
export interface SessionTokenClaims {
  /** The server (`TACIT_ISSUER`). */
  iss: string;
  /** The relying party's id (its API key id). */
  aud: string;
  /** The subject the relying party opened the session for. */
  sub: string;
  /** Behavioral session id. */
  sid: string;
  iat: number;
  /** At most 5 min after `iat`, and never after the session's own expiry. */
  exp: number;
  jti: string;
  /** The bound device: the RFC 7638 thumbprint of its key. */
  cnf: { jkt: string };
  /** Assurance at issue time (frozen; introspection gives the current value). */
  tacit: TokenAssessment;
}

/** Introspection answer for a token that is not (or no longer) active: exactly this. */
export interface InactiveIntrospection {
  active: false;
}

/** Introspection answer for an active session token (RFC 7662 plus `tacit_*` members). */
export interface ActiveIntrospection {
  active: true;
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  iat: number;
  exp: number;
  jti: string;
  token_type: 'tacit-session';
  cnf: { jkt: string };
  /** The session's current assurance (decayed), null for levels `none` and `enrolling`. */
  tacit_assurance: number | null;
  tacit_level: AssuranceLevel;
  tacit_state: AttestationState | null;
  /** Seconds since the epoch, null before the first attestation. */
  tacit_last_attestation_at: number | null;
  tacit_attestations: number;
  /** What a decision would answer now (not recorded, not enforced). */
  tacit_action: Action;
  /**
   * Enrolment progress in [0, 1] the device last reported, while the level is `enrolling`;
   * null otherwise (and from servers older than this member).
   */
  tacit_progress: number | null;
  /**
   * Seconds since the epoch of the last strong-factor confirmation the relying party reported
   * (`confirmSession`), null before any.
   */
  tacit_confirmed_at: number | null;
  /**
   * The session signals of the latest attestation that carried them, null before one did (and
   * from servers older than this member). See docs/protocol.md "Signals".
   */
  tacit_signals: SessionSignals | null;
}

/** A session's signals (docs/protocol.md "Signals"): values only. */
export interface SessionSignals {
  /** Scripted-input suspicion in [0, 1]. */
  bot: number;
  /** Remote-control suspicion in [0, 1]. */
  remote: number;
  /** Paste/autofill arrivals in credential fields (count). */
  paste: number;
  /** One-time-code hesitation in [0, 1]. */
  otp: number;
  /** Untrusted (script-dispatched) key, pointer and wheel events (count). */
  syn: number;
}

/** A signal the decision policy can act on. */
export type SignalName = 'bot' | 'remote' | 'paste' | 'otp';

/** A policy rule on one signal (docs/server.md "Decision policy file"). */
export interface SignalRule {
  atLeast: number;
  action: Action;
}

/** RFC 7662 answer. */
export type Introspection = ActiveIntrospection | InactiveIntrospection;

/** `POST /v1/sessions` answer. */
export interface OpenedSession {
  /** Put it in the page: `<meta name="tacit-session" content="…" data-challenge="…">`. */
  sessionId: string;
  challenge: string;
  /** ISO 8601 UTC. */
  expiresAt: string;
}

/** `POST /v1/sessions/:sid/token` answer. */
export interface IssuedToken {
  /** The session JWT. */
  token: string;
  /** ISO 8601 UTC (the token's `exp`). */
  expiresAt: string;
}

/** Thresholds the server applied (docs/server.md "Decision policy"). */
export interface DecisionThresholds {
  stepUpBelow: number;
  terminateBelow: number;
  staleAfterSeconds: number;
  enrollingAction: Action;
  staleAction: Action;
  noAttestationAction: Action;
  /** Rules on the session signals (servers older than them send none). */
  signals: Readonly<Partial<Record<SignalName, SignalRule>>>;
}

/** `POST /v1/sessions/:sid/decision` answer. A `terminate` has ended the session for good. */
export interface Decision {
  action: Action;
  /** Every reason that applies, e.g. `ASSURANCE_BELOW_STEP_UP`, `SESSION_STALE`. */
  reasons: string[];
  assurance: number | null;
  level: AssuranceLevel;
  policy: DecisionThresholds;
}

/** `POST /v1/sessions/:sid/confirm` answer: the session's assurance right after it. */
export interface SessionConfirmation {
  sessionId: string;
  /** ISO 8601 UTC (server time). */
  confirmedAt: string;
  assurance: number;
  level: AssuranceLevel;
}

/** `POST /v1/enrollment-codes` answer. */
export interface EnrollmentCode {
  /** One-time code: put it in the page, `<meta name="tacit-enrollment" content="…">`. */
  code: string;
  /** ISO 8601 UTC (10 minutes after issue). */
  expiresAt: string;
}

/** One enrollment of a device key for a subject of the calling relying party. */
export interface DeviceEnrollment {
  /** The device key's RFC 7638 thumbprint (`jkt`). */
  deviceId: string;
  subject: string;
  /** ISO 8601 UTC. */
  createdAt: string;
  /** ISO 8601 UTC, or null while the enrollment is in force. */
  revokedAt: string | null;
}

/** A verified Security Event Token (docs/protocol.md §6). */
export interface SecurityEvent {
  jti: string;
  /** Seconds since the epoch: when the verifier signed it. */
  iat: number;
  iss: string;
  /** The relying party's id. */
  aud: string;
  /** `audit:<seq>`: the verifier's audit record of the change (absent on verification events). */
  txn?: string;
  /** `sub_id`: `{format: "complex", session: {format: "opaque", id}, user: {…}}` for sessions. */
  subId: Record<string, unknown>;
  /** The event type URI, e.g. `https://schemas.openid.net/secevent/caep/event-type/session-revoked`. */
  type: string;
  /** The event's members (`current_level`, `reason_admin`, `event_timestamp`, …). */
  event: Record<string, unknown>;
}

/** RFC 8935 push or RFC 8936 poll. */
export type StreamDelivery =
  | { method: 'urn:ietf:rfc:8935'; endpoint_url: string; authorization_header?: string }
  | { method: 'urn:ietf:rfc:8936' };

/** A Shared Signals stream's configuration (OpenID SSF 1.0 §8.1.1). */
export interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string;
  delivery: { method: 'urn:ietf:rfc:8935' | 'urn:ietf:rfc:8936'; endpoint_url: string };
  events_supported: string[];
  events_requested: string[];
  events_delivered: string[];
  description?: string | undefined;
}

/** RFC 8936 poll answer: SETs by `jti`. */
export interface PollResult {
  sets: Record<string, string>;
  moreAvailable: boolean;
}
