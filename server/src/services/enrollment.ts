/**
 * Enrollment: a relying party asks for a one-time code for one of its subjects, and the device
 * that signs a statement carrying that code is enrolled for that subject and relying party.
 *
 * @module
 */
import type { AnswerOf } from '../contract/routes';
import { actor, type AuditTrail } from './audit';
import { verifyEnrollment } from '../crypto/attestation';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import { DEFAULT_POLICY, sharedDeviceScope, type DecisionPolicy } from '../domain/decision';
import {
  generateEnrollmentCode,
  hashEnrollmentCode,
  normalizeEnrollmentCode,
} from '../crypto/enrollment-code';
import { DeviceEnrolledElsewhere, DeviceRevoked, EnrollmentCodeInvalid, Replay } from '../errors';
import type { Logger } from '../observability/log';
import { POLICY } from '../domain/policy';
import type { Store } from '../store/store';
import { iso, jtiExpiry, recordRejection, type Proven } from './shared';

/** What the enrollment service needs. */
export interface EnrollmentDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditTrail;
  /** Which relying parties allow one device for several subjects (defaults when omitted). */
  policy?: DecisionPolicy;
}

/** Enrollment codes and device enrollment. See the module comment. */
export class EnrollmentService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: AuditTrail;
  readonly #policy: DecisionPolicy;

  constructor(deps: EnrollmentDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#audit = deps.audit;
    this.#policy = deps.policy ?? DEFAULT_POLICY;
  }

  /**
   * Issues a one-time enrollment code for `subject` of the calling relying party. Only the
   * code's hash is stored; it expires after `POLICY.enrollmentCodeTtlMs`.
   */
  async createEnrollmentCode(
    rp: RelyingParty,
    subject: string,
  ): Promise<AnswerOf<'createEnrollmentCode', 201>> {
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
   * that relying party is refused unless its policy allows `sharedDevices`. A refusal is
   * recorded as `device.enrollment_rejected`.
   *
   * @throws {EnrollmentCodeInvalid} code malformed, unknown, used or expired; {@link Replay}
   *   `jti` seen; {@link DeviceRevoked}; {@link DeviceEnrolledElsewhere}; or the statement's own
   *   verification errors.
   */
  async enrollDevice(enrollment: string): Promise<AnswerOf<'enrollDevice', 201>> {
    const proven: Proven = {};
    try {
      return await this.#enroll(enrollment, proven);
    } catch (err) {
      await recordRejection(this.#audit, 'device.enrollment_rejected', err, proven);
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
}
