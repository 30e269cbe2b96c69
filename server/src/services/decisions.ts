/**
 * Policy decisions: what a relying party should do now with a session it opened (allow, step
 * up, terminate), by the thresholds of its policy. Every decision is recorded and counted
 * (`decisions{action}`); a `terminate` ends the session for good.
 *
 * @module
 */
import { assess } from '../domain/assurance';
import { actor, type AuditTrail } from './audit';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import {
  DEFAULT_POLICY,
  decide,
  thresholdsFor,
  type Decision,
  type DecisionPolicy,
} from '../domain/decision';
import type { Metrics } from '../observability/metrics';
import type { Store } from '../store/store';
import type { SessionService } from './sessions';
import { deviceActive, isLive, over } from './shared';

/** What the decision service needs. */
export interface DecisionDeps {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  audit: AuditTrail;
  /** Looks the session up for its relying party and terminates it. */
  sessions: SessionService;
  /** Decision thresholds per relying party (built-in defaults when omitted). */
  policy?: DecisionPolicy;
}

/** Policy decisions. See the module comment. */
export class DecisionService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #metrics: Metrics;
  readonly #audit: AuditTrail;
  readonly #sessions: SessionService;
  readonly #policy: DecisionPolicy;

  constructor(deps: DecisionDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#metrics = deps.metrics;
    this.#audit = deps.audit;
    this.#sessions = deps.sessions;
    this.#policy = deps.policy ?? DEFAULT_POLICY;
  }

  /**
   * The policy decision for a session the calling relying party opened: its action, the
   * reasons and the thresholds used. Recorded as `policy.decision`. A `terminate` ends the
   * session for good (recorded with `session.terminated`, in the same commit): no more
   * attestations, tokens, or active introspection.
   *
   * @throws {UnknownSession} not the caller's; {@link SessionExpired} / {@link SessionTerminated}
   *   when it is over.
   */
  async decide(rp: RelyingParty, sid: string): Promise<Decision> {
    const now = this.#clock.now();
    const session = await this.#sessions.getSession(rp, sid);
    if (!isLive(session, now)) throw over(session, 'decision: session over');
    const bound = session.deviceJkt !== null;
    const decision = decide(
      thresholdsFor(this.#policy, rp.id),
      {
        bound,
        deviceRevoked: bound && !(await deviceActive(this.#store, session)),
        attestations: session.attestations,
        lastAttestationAt: session.lastAttestationAt,
        confirmedAt: session.confirmedAt,
        assessment: assess(session, now),
        signals: session.signals,
      },
      now,
    );
    const decided = () =>
      this.#audit.event('policy.decision', actor.rp(rp.id), {
        sid,
        action: decision.action,
        reasons: decision.reasons,
        assurance: decision.assurance,
        level: decision.level,
      });
    // A termination commits with both of its records; a decision that changes nothing (or
    // whose session ended meanwhile) is recorded on its own.
    const terminated =
      decision.action === 'terminate' &&
      (await this.#sessions.terminate(rp, sid, decision.reasons, now, decided));
    this.#metrics.decisions.inc({ action: decision.action });
    if (!terminated) await this.#audit.append(decided());
    return decision;
  }
}
