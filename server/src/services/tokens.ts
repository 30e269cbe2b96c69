/**
 * Session tokens: the JWT a relying party gets for a bound session it opened, and RFC 7662
 * introspection of it with the session's current assurance. Tokens are signed by the server's
 * keys ({@link ServerKeys}); introspection verifies them with jose, every policy stated.
 *
 * @module
 */
import type { AnswerOf } from '../contract/routes';
import { jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { z } from 'zod';
import { assess, type Assessment, type AssuranceLevel } from '../domain/assurance';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import {
  DEFAULT_POLICY,
  decide,
  thresholdsFor,
  type Action,
  type DecisionPolicy,
} from '../domain/decision';
import { randomToken } from '../crypto/digest';
import { DeviceRevoked, SessionNotBound } from '../errors';
import type { ServerKeys } from '../crypto/keys';
import { POLICY } from '../domain/policy';
import type { SessionSignals, Store } from '../store/store';
import { deviceActive, isLive, iso, over, ownSession } from './shared';

/** `typ` of the session JWT the server issues. */
export const SESSION_TOKEN_TYP = 'tacit-session+jwt';

/** Introspection answer for a token that is not (or no longer) valid: exactly this. */
export interface InactiveToken {
  active: false;
}

/** Introspection answer for an active session token (docs/protocol.md §5). */
export interface ActiveToken {
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
  tacit_assurance: number | null;
  tacit_level: AssuranceLevel;
  tacit_state: Assessment['state'];
  /** Seconds since the epoch, null before the first attestation. */
  tacit_last_attestation_at: number | null;
  tacit_attestations: number;
  /** What `POST /v1/sessions/:sid/decision` would answer now (not recorded, not enforced). */
  tacit_action: Action;
  /**
   * Enrolment progress in [0, 1] the device last reported, while the level is `enrolling`;
   * null otherwise.
   */
  tacit_progress: number | null;
  /**
   * The session signals of the latest attestation that carried them (docs/protocol.md
   * "Signals"), null before one did.
   */
  tacit_signals: SessionSignals | null;
  /** Seconds since the epoch of the last strong-factor confirmation, null before any. */
  tacit_confirmed_at: number | null;
}

/** What the token service needs. */
export interface TokenDeps {
  store: Store;
  keys: ServerKeys;
  clock: Clock;
  /** `iss` of session tokens. */
  issuer: string;
  /** Thresholds behind an active token's `tacit_action` (defaults when omitted). */
  policy?: DecisionPolicy;
}

const sessionTokenClaims = z.object({
  iss: z.string(),
  aud: z.string(),
  sub: z.string(),
  sid: z.string(),
  iat: z.number(),
  exp: z.number(),
  jti: z.string(),
  cnf: z.object({ jkt: z.string() }),
});

/** Session token issuance and introspection. See the module comment. */
export class TokenService {
  readonly #store: Store;
  readonly #keys: ServerKeys;
  readonly #clock: Clock;
  readonly #issuer: string;
  readonly #policy: DecisionPolicy;

  constructor(deps: TokenDeps) {
    this.#store = deps.store;
    this.#keys = deps.keys;
    this.#clock = deps.clock;
    this.#issuer = deps.issuer;
    this.#policy = deps.policy ?? DEFAULT_POLICY;
  }

  /**
   * Issues a session JWT (`typ` {@link SESSION_TOKEN_TYP}, `aud` the caller, `cnf.jkt` the
   * bound device) for a bound session the calling relying party opened. It expires after
   * `POLICY.sessionTokenTtlS` or with the session, whichever is first.
   *
   * @throws {UnknownSession} not the caller's; {@link SessionExpired} / {@link SessionTerminated}
   *   over; {@link SessionNotBound}; {@link DeviceRevoked} the bound enrollment is revoked.
   */
  async issueSessionToken(
    rp: RelyingParty,
    sid: string,
  ): Promise<AnswerOf<'issueSessionToken', 200>> {
    const now = this.#clock.now();
    const session = await ownSession(this.#store, rp, sid);
    if (!isLive(session, now)) throw over(session, 'token: session over');
    if (session.deviceJkt === null) throw new SessionNotBound({ cause: 'token: unbound' });
    if (!(await deviceActive(this.#store, session))) {
      throw new DeviceRevoked({ cause: 'token: enrollment revoked' });
    }
    const { assurance, level, state } = assess(session, now);
    const iat = Math.floor(now / 1000);
    const exp = Math.min(iat + POLICY.sessionTokenTtlS, Math.floor(session.expiresAt / 1000));
    const token = await this.#keys.sign(
      {
        iss: this.#issuer,
        aud: rp.id,
        sub: session.subject,
        sid: session.sid,
        iat,
        exp,
        jti: randomToken(16),
        cnf: { jkt: session.deviceJkt },
        tacit: { assurance, level, state },
      },
      SESSION_TOKEN_TYP,
    );
    return { token, expiresAt: iso(exp * 1000) };
  }

  /**
   * RFC 7662 introspection by an authenticated relying party. Anything short of a valid,
   * unexpired session token issued to the caller, whose session is still live, bound to the
   * same unrevoked device, answers exactly `{active: false}`. Nothing is recorded.
   */
  async introspect(rp: RelyingParty, token: string): Promise<ActiveToken | InactiveToken> {
    const now = this.#clock.now();
    const inactive: InactiveToken = { active: false };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys.verificationKeys, {
        algorithms: ['ES256'],
        typ: SESSION_TOKEN_TYP,
        issuer: this.#issuer,
        audience: rp.id,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return inactive;
      throw err;
    }
    const parsed = sessionTokenClaims.safeParse(payload);
    if (!parsed.success) return inactive;
    const claims = parsed.data;
    const session = await this.#store.getSession(claims.sid);
    if (
      !session ||
      session.rp !== rp.id ||
      session.subject !== claims.sub ||
      !isLive(session, now) ||
      session.deviceJkt !== claims.cnf.jkt ||
      !(await deviceActive(this.#store, session))
    ) {
      return inactive;
    }
    const assessment = assess(session, now);
    const { assurance, level, state } = assessment;
    const { action } = decide(
      thresholdsFor(this.#policy, rp.id),
      {
        bound: true,
        deviceRevoked: false,
        attestations: session.attestations,
        lastAttestationAt: session.lastAttestationAt,
        confirmedAt: session.confirmedAt,
        assessment,
        signals: session.signals,
      },
      now,
    );
    return {
      active: true,
      iss: claims.iss,
      aud: claims.aud,
      sub: claims.sub,
      sid: claims.sid,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      token_type: 'tacit-session',
      cnf: { jkt: claims.cnf.jkt },
      tacit_assurance: assurance,
      tacit_level: level,
      tacit_state: state,
      tacit_last_attestation_at:
        session.lastAttestationAt === null ? null : Math.floor(session.lastAttestationAt / 1000),
      tacit_attestations: session.attestations,
      tacit_action: action,
      tacit_progress: level === 'enrolling' ? session.progress : null,
      tacit_signals: session.signals,
      tacit_confirmed_at:
        session.confirmedAt === null ? null : Math.floor(session.confirmedAt / 1000),
    };
  }
}
