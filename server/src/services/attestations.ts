/**
 * Attestations: a bound device's signed statement of its behavioral confidence, checked in the
 * order of docs/protocol.md §4 and committed with the session's new assurance state. Accepted
 * and rejected statements are counted (`attestationsAccepted`, `attestationsRejected{code}`)
 * and recorded in the audit trail.
 *
 * @module
 */
import type { AnswerOf } from '../contract/routes';
import { assess, nextEwma } from '../domain/assurance';
import { actor, type AuditTrail } from './audit';
import { chainHash, checkFreshness, verifyAttestation } from '../crypto/attestation';
import type { Clock } from '../clock';
import {
  ChainBroken,
  DeviceRevoked,
  Replay,
  SessionBound,
  SessionNotBound,
  TacitError,
  UnknownSession,
} from '../errors';
import type { Metrics } from '../observability/metrics';
import type { Store } from '../store/store';
import { enrollmentFor, isLive, over, recordRejection, type Proven } from './shared';

/** What the attestation service needs. */
export interface AttestationDeps {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  audit: AuditTrail;
}

/** An accepted attestation: its `seq` and the session's assurance after it. */
export type AcceptedAttestation = AnswerOf<'attest', 202>;

/** How many times an attestation is re-validated after losing a race with another one. */
const APPEND_ATTEMPTS = 3;

/** Verification and recording of attestations. See the module comment. */
export class AttestationService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #metrics: Metrics;
  readonly #audit: AuditTrail;

  constructor(deps: AttestationDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#metrics = deps.metrics;
    this.#audit = deps.audit;
  }

  readonly #findDevices = (jkt: string) => this.#store.findDevicesByKey(jkt);

  /**
   * Accepts an attestation after every check of docs/protocol.md §4, in that order (statement,
   * session live and bound to the signing key, enrollment unrevoked, `seq` increasing,
   * freshness, `prev` chaining to the last accepted one), and commits it (with the session's
   * new assurance state) before returning. A refusal is counted and recorded as
   * `attestation.rejected`.
   */
  async acceptAttestation(attestation: string): Promise<AcceptedAttestation> {
    const proven: Proven = {};
    try {
      const accepted = await this.#attest(attestation, proven);
      this.#metrics.attestationsAccepted.inc();
      return accepted;
    } catch (err) {
      await this.#rejected(err, proven);
      throw err;
    }
  }

  /**
   * Counts and records an attestation request rejected before it reached
   * {@link acceptAttestation} (a malformed body). Nothing else is stored.
   */
  async attestationRejected(err: unknown): Promise<void> {
    await this.#rejected(err, {});
  }

  async #rejected(err: unknown, proven: Proven): Promise<void> {
    if (err instanceof TacitError) this.#metrics.attestationsRejected.inc({ code: err.code });
    await recordRejection(this.#audit, 'attestation.rejected', err, proven);
  }

  async #attest(attestation: string, proven: Proven): Promise<AcceptedAttestation> {
    const now = this.#clock.now();
    const { jkt, devices, claims } = await verifyAttestation(attestation, now, this.#findDevices);
    proven.jkt = jkt;
    proven.sid = claims.sid;
    proven.seq = claims.seq;
    const hash = chainHash(attestation);
    for (let attempt = 1; ; attempt++) {
      const session = await this.#store.getSession(claims.sid);
      if (!session) throw new UnknownSession({ cause: 'att: no such session' });
      if (!isLive(session, now)) throw over(session, 'att: session over');
      if (session.deviceJkt === null) throw new SessionNotBound({ cause: 'att: unbound' });
      if (session.deviceJkt !== jkt) throw new SessionBound({ cause: 'att: other device' });
      const device = enrollmentFor(devices, session);
      if (!device || device.revokedAt !== null) {
        throw new DeviceRevoked({ cause: 'att: enrollment revoked' });
      }
      if (claims.seq <= session.lastSeq) throw new Replay({ cause: 'att: seq not increasing' });
      checkFreshness(claims.iat, now);
      if (claims.prev !== session.lastHash) throw new ChainBroken({ cause: 'att: prev differs' });

      const update = {
        lastSeq: claims.seq,
        lastHash: hash,
        attestations: session.attestations + 1,
        lastAttestationAt: now,
        lastState: claims.state,
        ewma: claims.conf === null ? session.ewma : nextEwma(session.ewma, claims.conf),
        progress: claims.progress,
        ...(claims.sig === undefined ? {} : { signals: claims.sig }),
      };
      const { assurance, level } = assess(update, now);
      const appended = await this.#store.appendAttestation(
        {
          sid: session.sid,
          seq: claims.seq,
          jkt,
          iat: claims.iat,
          receivedAt: now,
          state: claims.state,
          conf: claims.conf,
          progress: claims.progress,
          mv: claims.mv,
          keyEvents: claims.n.k,
          pointerEvents: claims.n.p,
          hash,
        },
        update,
        { jkt, lastSeq: session.lastSeq, lastHash: session.lastHash, now },
        () =>
          this.#audit.event('attestation.accepted', actor.device(jkt), {
            sid: session.sid,
            seq: claims.seq,
            state: claims.state,
            conf: claims.conf,
            assurance,
            level,
            ...(claims.sig === undefined ? {} : { sig: { ...claims.sig } }),
          }),
      );
      if (appended) return { seq: claims.seq, assurance, level };
      // Another attestation of this session committed in between: re-check against it.
      if (attempt >= APPEND_ATTEMPTS) throw new Replay({ cause: 'att: lost the race repeatedly' });
    }
  }
}
