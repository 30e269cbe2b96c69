/**
 * Behavioral sessions: opened and ended by a relying party, bound by a device (its signed
 * statement is the authentication), and terminated when a policy decision says so. Only the
 * relying party that opened a session may read or end it.
 *
 * @module
 */
import type { AnswerOf } from '../contract/routes';
import type { ConfirmBody } from '../contract/schemas';
import { ASSURANCE, levelOf } from '../domain/assurance';
import { actor, type AuditTrail } from './audit';
import { verifyBinding } from '../crypto/attestation';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import { constantTimeEqual, randomToken } from '../crypto/digest';
import type { DecisionReason } from '../domain/decision';
import {
  ChallengeMismatch,
  DeviceRevoked,
  Replay,
  SessionBound,
  SessionExpired,
  Stale,
  UnknownDevice,
  UnknownSession,
} from '../errors';
import type { Logger } from '../observability/log';
import { POLICY } from '../domain/policy';
import type { AuditEvent, SessionRecord, Store } from '../store/store';
import {
  enrollmentFor,
  isLive,
  iso,
  jtiExpiry,
  over,
  ownSession,
  recordRejection,
  type Proven,
} from './shared';

/** What the session service needs. */
export interface SessionDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditTrail;
}

/** Session lifecycle. See the module comment. */
export class SessionService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: AuditTrail;

  constructor(deps: SessionDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#audit = deps.audit;
  }

  readonly #findDevices = (jkt: string) => this.#store.findDevicesByKey(jkt);

  /**
   * Opens a behavioral session for `subject` with a fresh 256-bit challenge; it expires after
   * `POLICY.sessionTtlMs`. Recorded as `session.opened`.
   */
  async openSession(rp: RelyingParty, subject: string): Promise<AnswerOf<'openSession', 201>> {
    const now = this.#clock.now();
    const session = {
      sid: randomToken(32),
      rp: rp.id,
      subject,
      challenge: randomToken(32),
      createdAt: now,
      expiresAt: now + POLICY.sessionTtlMs,
    };
    await this.#store.createSession(session, () =>
      this.#audit.event('session.opened', actor.rp(rp.id), { sid: session.sid, subject }),
    );
    return {
      sessionId: session.sid,
      challenge: session.challenge,
      expiresAt: iso(session.expiresAt),
    };
  }

  /**
   * The session record, if the calling relying party opened it.
   *
   * @throws {UnknownSession} otherwise (another relying party's session included).
   */
  async getSession(rp: RelyingParty, sid: string): Promise<SessionRecord> {
    return ownSession(this.#store, rp, sid);
  }

  /**
   * Ends a session the calling relying party opened (idempotent; each call is recorded as
   * `session.deleted`).
   *
   * @throws {UnknownSession} for a session it did not open.
   */
  async endSession(rp: RelyingParty, sid: string): Promise<void> {
    await ownSession(this.#store, rp, sid);
    await this.#store.endSession(sid, this.#clock.now(), () =>
      this.#audit.event('session.deleted', actor.rp(rp.id), { sid }),
    );
  }

  /**
   * Binds the session named in `binding` to the device that signed it. The device must be
   * enrolled, unrevoked, for the session's subject and relying party, and prove it saw the
   * session's challenge. Binding again from the same device is accepted (and not recorded
   * again); from another, {@link SessionBound}. A refusal is recorded as
   * `session.bind_rejected`.
   */
  async bindSession(binding: string): Promise<AnswerOf<'bindSession', 200>> {
    const proven: Proven = {};
    try {
      return await this.#bind(binding, proven);
    } catch (err) {
      await recordRejection(this.#audit, 'session.bind_rejected', err, proven);
      throw err;
    }
  }

  async #bind(binding: string, proven: Proven): Promise<AnswerOf<'bindSession', 200>> {
    const now = this.#clock.now();
    const { jkt, devices, claims } = await verifyBinding(binding, now, this.#findDevices);
    proven.jkt = jkt;
    proven.sid = claims.sid;
    const session = await this.#store.getSession(claims.sid);
    if (!session) throw new UnknownSession({ cause: 'bind: no such session' });
    if (!isLive(session, now)) throw over(session, 'bind: session over');
    const device = enrollmentFor(devices, session);
    if (!device) throw new UnknownDevice({ cause: 'bind: not enrolled for this subject' });
    if (device.revokedAt !== null) throw new DeviceRevoked({ cause: 'bind: enrollment revoked' });
    if (!constantTimeEqual(claims.chal, session.challenge)) {
      throw new ChallengeMismatch({ cause: 'bind: chal differs' });
    }
    if (session.deviceJkt !== null && session.deviceJkt !== jkt) {
      throw new SessionBound({ cause: 'bind: other device' });
    }
    const result = await this.#store.bindSession(
      {
        sid: session.sid,
        jkt,
        jti: { jkt, jti: claims.jti, expiresAt: jtiExpiry(claims.iat) },
        now,
      },
      // Only the first binding is recorded.
      ({ alreadyBound }) =>
        alreadyBound
          ? undefined
          : this.#audit.event('session.bound', actor.device(jkt), {
              sid: session.sid,
              rp: session.rp,
              subject: session.subject,
            }),
    );
    if (!result.ok) {
      if (result.reason === 'replay') throw new Replay({ cause: 'bind jti seen' });
      if (result.reason === 'bound') throw new SessionBound({ cause: 'bind: lost race' });
      if (result.reason === 'expired') throw new SessionExpired({ cause: 'bind: ended meanwhile' });
      throw new UnknownSession({ cause: 'bind: deleted meanwhile' });
    }
    if (!result.alreadyBound) this.#log.info('session_bound', { rp: session.rp });
    // The subject the bank opened the session for: the device learns only for it.
    return { sessionId: session.sid, subject: session.subject };
  }

  /**
   * Marks a session the calling relying party opened as confirmed by a strong factor it
   * verified (`method`, at `at`), in one atomic step with its `session.confirmed` audit record
   * (from which the Shared Signals transmitter derives the CAEP events: risk level LOW, and the
   * assurance level of {@link ASSURANCE.confirmed}). Until the next accepted attestation the
   * session's assurance is {@link ASSURANCE.confirmed} (domain/assurance.ts `assess`); its device
   * learns of the confirmation from `GET /v1/device/sessions/:sid` and resets its decision, so
   * that next attestation speaks for the person who confirmed.
   *
   * `at` must lie within the freshness window of the server's clock: a confirmation reported
   * late would vouch for whatever happened in the session since.
   *
   * @throws {UnknownSession} not the caller's session; {@link SessionTerminated} /
   *   {@link SessionExpired} when it is over; {@link Stale} for an `at` outside the window.
   */
  async confirmSession(
    rp: RelyingParty,
    sid: string,
    confirmation: ConfirmBody,
  ): Promise<AnswerOf<'confirmSession', 200>> {
    const now = this.#clock.now();
    const session = await ownSession(this.#store, rp, sid);
    if (!isLive(session, now)) throw over(session, 'confirm: session over');
    const at = Date.parse(confirmation.at);
    if (Math.abs(now - at) > POLICY.freshnessWindowS * 1000) {
      throw new Stale({ cause: 'confirm: at outside the freshness window' });
    }
    const assurance = ASSURANCE.confirmed;
    const level = levelOf(assurance);
    const confirmed = await this.#store.confirmSession(sid, now, () =>
      this.#audit.event('session.confirmed', actor.rp(rp.id), {
        sid,
        method: confirmation.method,
        at: iso(at),
        assurance,
        level,
      }),
    );
    if (!confirmed) {
      // Ended or terminated between the read and the write.
      const after = await this.#store.getSession(sid);
      throw after ? over(after, 'confirm: over meanwhile') : new UnknownSession();
    }
    this.#log.info('session_confirmed', { rp: rp.id, method: confirmation.method });
    return { sessionId: sid, confirmedAt: iso(now), assurance, level };
  }

  /**
   * Terminates session `sid` by policy (for good: no more attestations, tokens or active
   * introspection), committing `because` (the decision that terminates it) and a
   * `session.terminated` record with the termination. The caller has checked that `rp` opened
   * the session.
   *
   * @returns false, with nothing written, when the session was already over.
   */
  async terminate(
    rp: RelyingParty,
    sid: string,
    reasons: readonly DecisionReason[],
    now: number,
    because: () => AuditEvent,
  ): Promise<boolean> {
    const terminated = await this.#store.terminateSession(sid, now, () => [
      because(),
      this.#audit.event('session.terminated', actor.rp(rp.id), { sid, reasons }),
    ]);
    if (terminated) this.#log.info('session_terminated', { rp: rp.id });
    return terminated;
  }
}
