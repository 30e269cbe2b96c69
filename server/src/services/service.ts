/**
 * The Tacit service layer: every operation of the HTTP API, independent of HTTP. Routes are
 * thin wrappers around it. (Relying parties, the demo bank included, reach it over HTTP only.)
 *
 * Operations that a relying party performs take the authenticated {@link RelyingParty}; device
 * operations take the device's signed statement (its signature is the authentication).
 *
 * @module
 */
import { jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { z } from 'zod';
import { assess, nextEwma, type Assessment, type AssuranceLevel } from '../domain/assurance';
import { actor, type AuditTrail, type AuditType } from './audit';
import {
  chainHash,
  checkFreshness,
  verifyAttestation,
  verifyBinding,
  verifyEnrollment,
} from '../crypto/attestation';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import {
  DEFAULT_POLICY,
  decide,
  sharedDeviceScope,
  thresholdsFor,
  type Action,
  type Decision,
  type DecisionPolicy,
} from '../domain/decision';
import { constantTimeEqual, randomToken } from '../crypto/digest';
import {
  generateEnrollmentCode,
  hashEnrollmentCode,
  normalizeEnrollmentCode,
} from '../crypto/enrollment-code';
import {
  ChainBroken,
  ChallengeMismatch,
  DeviceEnrolledElsewhere,
  DeviceRevoked,
  EnrollmentCodeInvalid,
  Replay,
  SessionBound,
  SessionExpired,
  SessionNotBound,
  SessionTerminated,
  TacitError,
  UnknownDevice,
  UnknownSession,
} from '../errors';
import type { ServerKeys } from '../crypto/keys';
import type { Logger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { POLICY } from '../domain/policy';
import type { DeviceRecord, SessionRecord, Store } from '../store/store';

/** `typ` of the session JWT the server issues. */
export const SESSION_TOKEN_TYP = 'tacit-session+jwt';

/** What the service needs. */
export interface ServiceDeps {
  store: Store;
  keys: ServerKeys;
  clock: Clock;
  /** `iss` of session tokens. */
  issuer: string;
  logger: Logger;
  metrics: Metrics;
  /** Where security-relevant outcomes are recorded. */
  audit: AuditTrail;
  /** Decision thresholds per relying party (built-in defaults when omitted). */
  policy?: DecisionPolicy;
  /** Audit records older than this are purged by {@link TacitService.purgeExpired} (days). */
  auditRetentionDays?: number;
}

/** An enrollment as shown to its relying party. */
export interface DeviceView {
  deviceId: string;
  subject: string;
  createdAt: string;
  revokedAt: string | null;
}

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
}

/** Identities proven so far while a device statement is checked (for the audit record). */
interface Proven {
  /** Set once the statement's signature verified. */
  jkt?: string;
  sid?: string;
  seq?: number;
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

const iso = (ms: number) => new Date(ms).toISOString();
/** How many times an attestation is re-validated after losing a race with another one. */
const APPEND_ATTEMPTS = 3;

/** The service. See the module comment. */
export class TacitService {
  readonly #store: Store;
  readonly #keys: ServerKeys;
  readonly #clock: Clock;
  readonly #issuer: string;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #audit: AuditTrail;
  readonly #policy: DecisionPolicy;
  readonly #auditRetentionDays: number;

  constructor(deps: ServiceDeps) {
    this.#store = deps.store;
    this.#keys = deps.keys;
    this.#clock = deps.clock;
    this.#issuer = deps.issuer;
    this.#log = deps.logger;
    this.#metrics = deps.metrics;
    this.#audit = deps.audit;
    this.#policy = deps.policy ?? DEFAULT_POLICY;
    this.#auditRetentionDays = deps.auditRetentionDays ?? 365;
  }

  /** Records a rejected device statement (only Tacit errors: our own faults are logged). */
  async #rejected(type: AuditType, err: unknown, proven: Proven): Promise<void> {
    if (!(err instanceof TacitError)) return;
    const who = proven.jkt === undefined ? actor.anonymous : actor.device(proven.jkt);
    await this.#audit.record(type, who, { code: err.code, sid: proven.sid, seq: proven.seq });
  }

  readonly #findDevices = (jkt: string) => this.#store.findDevicesByKey(jkt);

  /** Issues a one-time enrollment code for `subject` of the calling relying party. */
  async createEnrollmentCode(
    rp: RelyingParty,
    subject: string,
  ): Promise<{ code: string; expiresAt: string }> {
    const now = this.#clock.now();
    const code = generateEnrollmentCode();
    const expiresAt = now + POLICY.enrollmentCodeTtlMs;
    await this.#store.createEnrollmentCode(
      {
        codeHash: hashEnrollmentCode(normalizeEnrollmentCode(code)!),
        rp: rp.id,
        subject,
        createdAt: now,
        expiresAt,
        usedAt: null,
      },
      () =>
        this.#audit.event('enrollment_code.issued', actor.rp(rp.id), {
          subject,
          expiresAt: iso(expiresAt),
        }),
    );
    this.#log.info('enrollment_code_issued', { rp: rp.id });
    return { code, expiresAt: iso(expiresAt) };
  }

  /**
   * Enrolls the device whose key signed `enrollment` for the subject and relying party of
   * the code it carries. Re-enrolling the same key for the same subject succeeds (and uses the
   * code); a key revoked for that subject stays revoked; a key enrolled for another subject of
   * that relying party is refused unless its policy allows `sharedDevices`.
   */
  async enrollDevice(enrollment: string): Promise<{ deviceId: string; subject: string }> {
    const proven: Proven = {};
    try {
      return await this.#enroll(enrollment, proven);
    } catch (err) {
      await this.#rejected('device.enrollment_rejected', err, proven);
      throw err;
    }
  }

  async #enroll(enrollment: string, proven: Proven) {
    const now = this.#clock.now();
    const { jkt, jwk, claims } = await verifyEnrollment(enrollment, now);
    proven.jkt = jkt;
    const normalized = normalizeEnrollmentCode(claims.code);
    if (normalized === undefined) throw new EnrollmentCodeInvalid({ cause: 'malformed code' });
    const result = await this.#store.enrollDevice(
      {
        codeHash: hashEnrollmentCode(normalized),
        jwk,
        jkt,
        jti: { jkt, jti: claims.jti, expiresAt: jtiExpiry(claims.iat) },
        now,
        ...sharedDeviceScope(this.#policy),
      },
      ({ device, created }) =>
        this.#audit.event('device.enrolled', actor.device(jkt), {
          rp: device.rp,
          subject: device.subject,
          created,
        }),
    );
    if (!result.ok) {
      if (result.reason === 'replay') throw new Replay({ cause: 'enrollment jti seen' });
      if (result.reason === 'revoked') throw new DeviceRevoked({ cause: 're-enroll of revoked' });
      if (result.reason === 'shared') {
        throw new DeviceEnrolledElsewhere({ cause: 'enrolled for another subject of the rp' });
      }
      throw new EnrollmentCodeInvalid({ cause: 'code unknown, used or expired' });
    }
    this.#log.info('device_enrolled', { rp: result.device.rp, created: result.created });
    return { deviceId: jkt, subject: result.device.subject };
  }

  /** The enrollments of `subject` at the calling relying party. */
  async listDevices(rp: RelyingParty, subject: string): Promise<DeviceView[]> {
    const devices = await this.#store.listDevicesBySubject(rp.id, subject);
    return devices.map(deviceView);
  }

  /** Revokes the enrollment of `deviceId` for `subject` at the calling relying party. */
  async revokeDevice(rp: RelyingParty, subject: string, deviceId: string): Promise<DeviceView> {
    const now = this.#clock.now();
    const mine = (await this.#store.findDevicesByKey(deviceId)).find(
      (d) => d.rp === rp.id && d.subject === subject,
    );
    if (!mine) throw new UnknownDevice({ cause: 'no such enrollment for this rp' });
    await this.#store.revokeDevice(deviceId, now, { rp: rp.id, subject }, (revoked) =>
      this.#audit.event('device.revoked', actor.rp(rp.id), { deviceId, subject, revoked }),
    );
    this.#log.info('device_revoked', { rp: rp.id, scope: 'subject' });
    return deviceView({ ...mine, revokedAt: mine.revokedAt ?? now });
  }

  /**
   * Operator action: revokes every enrollment of a device key (e.g. a compromised key).
   * `by` is the operator's key, recorded in the audit trail (`system` when omitted).
   */
  async revokeDeviceEverywhere(
    deviceId: string,
    by?: RelyingParty,
  ): Promise<{ deviceId: string; revoked: number }> {
    const now = this.#clock.now();
    if ((await this.#store.findDevicesByKey(deviceId)).length === 0) {
      throw new UnknownDevice({ cause: 'no such device' });
    }
    const revoked = await this.#store.revokeDevice(deviceId, now, undefined, (count) =>
      this.#audit.event('admin.device_revoked', by ? actor.rp(by.id) : actor.system, {
        deviceId,
        revoked: count,
      }),
    );
    this.#log.info('device_revoked', { scope: 'all', revoked });
    return { deviceId, revoked };
  }

  /** Opens a behavioral session for `subject` with a fresh 256-bit challenge. */
  async openSession(
    rp: RelyingParty,
    subject: string,
  ): Promise<{ sessionId: string; challenge: string; expiresAt: string }> {
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

  /** Ends a session the calling relying party opened (idempotent). */
  async endSession(rp: RelyingParty, sid: string): Promise<void> {
    await this.#ownSession(rp, sid);
    await this.#store.endSession(sid, this.#clock.now(), () =>
      this.#audit.event('session.deleted', actor.rp(rp.id), { sid }),
    );
  }

  /** The session record, if the calling relying party opened it. */
  async getSession(rp: RelyingParty, sid: string): Promise<SessionRecord> {
    return this.#ownSession(rp, sid);
  }

  /**
   * Binds the session named in `binding` to the device that signed it. The device must be
   * enrolled, unrevoked, for the session's subject and relying party, and prove it saw the
   * session's challenge. Binding again from the same device is accepted; from another, 409.
   */
  async bindSession(binding: string): Promise<{ sessionId: string; subject: string }> {
    const proven: Proven = {};
    try {
      return await this.#bind(binding, proven);
    } catch (err) {
      await this.#rejected('session.bind_rejected', err, proven);
      throw err;
    }
  }

  async #bind(binding: string, proven: Proven): Promise<{ sessionId: string; subject: string }> {
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
   * Accepts an attestation after every check of docs/protocol.md §4, in that order, and
   * commits it (with the session's new assurance state) before returning.
   */
  async acceptAttestation(
    attestation: string,
  ): Promise<{ seq: number; assurance: number | null; level: AssuranceLevel }> {
    const proven: Proven = {};
    try {
      const accepted = await this.#attest(attestation, proven);
      this.#metrics.attestationsAccepted.inc();
      return accepted;
    } catch (err) {
      await this.#attestationRejected(err, proven);
      throw err;
    }
  }

  /**
   * Counts and records an attestation request rejected before it reached
   * {@link acceptAttestation} (a malformed body). Nothing else is stored.
   */
  async attestationRejected(err: unknown): Promise<void> {
    await this.#attestationRejected(err, {});
  }

  async #attestationRejected(err: unknown, proven: Proven): Promise<void> {
    if (err instanceof TacitError) this.#metrics.attestationsRejected.inc({ code: err.code });
    await this.#rejected('attestation.rejected', err, proven);
  }

  async #attest(
    attestation: string,
    proven: Proven,
  ): Promise<{ seq: number; assurance: number | null; level: AssuranceLevel }> {
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
          }),
      );
      if (appended) return { seq: claims.seq, assurance, level };
      // Another attestation of this session committed in between: re-check against it.
      if (attempt >= APPEND_ATTEMPTS) throw new Replay({ cause: 'att: lost the race repeatedly' });
    }
  }

  /**
   * Issues a session JWT for a bound session the calling relying party opened. It expires
   * after 5 minutes or with the session, whichever is first.
   */
  async issueSessionToken(
    rp: RelyingParty,
    sid: string,
  ): Promise<{ token: string; expiresAt: string }> {
    const now = this.#clock.now();
    const session = await this.#ownSession(rp, sid);
    if (!isLive(session, now)) throw over(session, 'token: session over');
    if (session.deviceJkt === null) throw new SessionNotBound({ cause: 'token: unbound' });
    if (!(await this.#deviceActive(session))) {
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
   * same unrevoked device, answers exactly `{active: false}`.
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
      !(await this.#deviceActive(session))
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
        assessment,
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
    };
  }

  /**
   * The policy decision for a session the calling relying party opened: its action, the
   * reasons and the thresholds used. Recorded in the audit trail. A `terminate` ends the
   * session for good: no more attestations, tokens, or active introspection.
   */
  async decide(rp: RelyingParty, sid: string): Promise<Decision> {
    const now = this.#clock.now();
    const session = await this.#ownSession(rp, sid);
    if (!isLive(session, now)) throw over(session, 'decision: session over');
    const bound = session.deviceJkt !== null;
    const decision = decide(
      thresholdsFor(this.#policy, rp.id),
      {
        bound,
        deviceRevoked: bound && !(await this.#deviceActive(session)),
        attestations: session.attestations,
        lastAttestationAt: session.lastAttestationAt,
        assessment: assess(session, now),
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
      (await this.#store.terminateSession(sid, now, () => [
        decided(),
        this.#audit.event('session.terminated', actor.rp(rp.id), {
          sid,
          reasons: decision.reasons,
        }),
      ]));
    this.#metrics.decisions.inc({ action: decision.action });
    if (terminated) {
      this.#log.info('session_terminated', { rp: rp.id });
    } else {
      await this.#audit.append(decided());
    }
    return decision;
  }

  /** Deletes what is past its retention (audit records included); returns what was removed. */
  async purgeExpired() {
    const now = this.#clock.now();
    const purged = await this.#store.purgeExpired({
      jtisBefore: now,
      enrollmentCodesBefore: now - POLICY.enrollmentCodeRetentionMs,
      sessionsBefore: now - POLICY.sessionRetentionMs,
    });
    return { ...purged, auditRecords: await this.#audit.purge(this.#auditRetentionDays) };
  }

  async #ownSession(rp: RelyingParty, sid: string): Promise<SessionRecord> {
    const session = await this.#store.getSession(sid);
    // Another relying party's session is reported as unknown: its existence is not theirs to learn.
    if (!session || session.rp !== rp.id) throw new UnknownSession({ cause: 'not this rp' });
    return session;
  }

  async #deviceActive(session: SessionRecord): Promise<boolean> {
    if (session.deviceJkt === null) return false;
    const device = enrollmentFor(await this.#store.findDevicesByKey(session.deviceJkt), session);
    return device !== undefined && device.revokedAt === null;
  }
}

/** The error for a session that is not live: terminated by policy, or expired or ended. */
function over(session: SessionRecord, cause: string): SessionExpired | SessionTerminated {
  return session.terminatedAt !== null
    ? new SessionTerminated({ cause })
    : new SessionExpired({ cause });
}

/** The session is within its lifetime and not ended. */
function isLive(session: SessionRecord, now: number): boolean {
  return session.endedAt === null && now < session.expiresAt;
}

/** The enrollment of a device key that matches a session's relying party and subject. */
function enrollmentFor(devices: DeviceRecord[], session: SessionRecord): DeviceRecord | undefined {
  return devices.find((d) => d.rp === session.rp && d.subject === session.subject);
}

/** A `jti` must be remembered as long as its statement could still pass the freshness check. */
function jtiExpiry(iatSeconds: number): number {
  return Math.ceil((iatSeconds + POLICY.freshnessWindowS) * 1000) + 1000;
}

function deviceView(d: DeviceRecord): DeviceView {
  return {
    deviceId: d.jkt,
    subject: d.subject,
    createdAt: iso(d.createdAt),
    revokedAt: d.revokedAt === null ? null : iso(d.revokedAt),
  };
}
