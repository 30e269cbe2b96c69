/**
 * What a device does on its own behalf, authenticated by a DPoP proof (docs/protocol.md §4,
 * "DPoP"): read the state of a session bound to it, list its enrollments, revoke itself
 * ("forget this device"), and rotate its key.
 *
 * Authentication ({@link DeviceSelfService.authenticate}) = {@link verifyDpopProof} (header,
 * key, signature, claims, `htm`, `htu`, `iat`), then the proof's key must be an enrolled device
 * with at least one unrevoked enrollment, then the proof's `jti` is spent (single use per key,
 * remembered until it could no longer be fresh).
 *
 * @module
 */
import { assess } from '../domain/assurance';
import { actor, type AuditTrail } from './audit';
import { verifyRotation } from '../crypto/attestation';
import type { Clock } from '../clock';
import type { AnswerOf } from '../contract/routes';
import { expectedHtus, verifyDpopProof } from '../http/middleware/dpop';
import {
  DeviceRevoked,
  DpopReplay,
  JwsClaims,
  KeyInUse,
  Replay,
  TacitError,
  UnknownDevice,
  UnknownSession,
} from '../errors';
import type { Logger } from '../observability/log';
import type { DeviceRecord, SessionRecord, Store } from '../store/store';
import { iso, jtiExpiry } from './shared';

/** A device whose DPoP proof was accepted for this request. */
export interface AuthenticatedDevice {
  /** Thumbprint of the proof's key: the device id. */
  jkt: string;
  /** Every enrollment of that key (at least one unrevoked). */
  devices: DeviceRecord[];
}

/** Where a session stands, as its bound device may see it. */
export type DeviceSessionStatus = 'active' | 'ended' | 'terminated' | 'expired' | 'revoked';

/**
 * `GET /v1/device/sessions/:sid` (the contract's `DeviceSession`): `assurance` is the current
 * (decayed) one, as introspection would report it; `lastAttestationAt` is in seconds since the
 * epoch, null before the first attestation.
 */
export type DeviceSessionView = AnswerOf<'deviceSession', 200>;

/** One enrollment as its device sees it. */
export interface DeviceEnrollmentView {
  rp: string;
  subject: string;
  createdAt: string;
  revokedAt: string | null;
}

/**
 * `POST /v1/device/rotate`: `deviceId` is the new key's jkt, `enrollments` those moved to it,
 * `sessions` the live sessions re-bound to it.
 */
export type DeviceRotation = AnswerOf<'deviceRotate', 200>;

/** What the service needs. */
export interface DeviceSelfDeps {
  store: Store;
  clock: Clock;
  /** Public base URL of the server: the `htu` of a proof is checked against it. */
  issuer: string;
  logger: Logger;
  audit: AuditTrail;
}

/** The device endpoints' operations. See the module comment. */
export class DeviceSelfService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #issuer: string;
  readonly #log: Logger;
  readonly #audit: AuditTrail;

  constructor(deps: DeviceSelfDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#issuer = deps.issuer;
    this.#log = deps.logger;
    this.#audit = deps.audit;
  }

  /**
   * Authenticates a request by its DPoP proof (`proof` is the `DPoP` header, `path` the
   * request's path without query).
   *
   * @throws {DpopError} for a refused proof (401), {@link UnknownDevice} (404) when its key is
   *   not enrolled, {@link DeviceRevoked} (403) when every enrollment of it is revoked.
   */
  async authenticate(
    proof: string | undefined,
    method: string,
    path: string,
  ): Promise<AuthenticatedDevice> {
    const now = this.#clock.now();
    const { jkt, claims } = await verifyDpopProof(
      proof,
      { method, htus: expectedHtus(this.#issuer, path) },
      now,
    );
    const devices = await this.#store.findDevicesByKey(jkt);
    if (devices.length === 0) throw new UnknownDevice({ cause: 'dpop: key not enrolled' });
    if (devices.every((d) => d.revokedAt !== null)) {
      throw new DeviceRevoked({ cause: 'dpop: all enrollments revoked' });
    }
    const expiresAt = jtiExpiry(claims.iat);
    const fresh = await this.#store.useJti({ jkt, jti: claims.jti, expiresAt });
    if (!fresh) throw new DpopReplay({ cause: 'dpop: jti seen' });
    return { jkt, devices };
  }

  /**
   * The state of a session bound to the calling device. A session that does not exist, or is
   * bound to another device (or none), is an unknown session: its existence is not the caller's
   * to learn.
   */
  async session(device: AuthenticatedDevice, sid: string): Promise<DeviceSessionView> {
    const now = this.#clock.now();
    const session = await this.#store.getSession(sid);
    if (!session || session.deviceJkt !== device.jkt) {
      throw new UnknownSession({ cause: 'device: not bound to this device' });
    }
    const { assurance, level, state } = assess(session, now);
    return {
      sessionId: session.sid,
      status: statusOf(session, device, now),
      assurance,
      level,
      state,
      attestations: session.attestations,
      lastAttestationAt:
        session.lastAttestationAt === null ? null : Math.floor(session.lastAttestationAt / 1000),
      expiresAt: iso(session.expiresAt),
      confirmed: session.confirmedAt !== null,
      confirmedAt: session.confirmedAt === null ? null : iso(session.confirmedAt),
    };
  }

  /** Every enrollment of the calling device's key, revoked ones included, oldest first. */
  enrollments(device: AuthenticatedDevice): {
    deviceId: string;
    enrollments: DeviceEnrollmentView[];
  } {
    return {
      deviceId: device.jkt,
      enrollments: device.devices.map((d) => ({
        rp: d.rp,
        subject: d.subject,
        createdAt: iso(d.createdAt),
        revokedAt: d.revokedAt === null ? null : iso(d.revokedAt),
      })),
    };
  }

  /** Revokes every enrollment of the calling device's key ("forget this device"). */
  async revoke(device: AuthenticatedDevice): Promise<AnswerOf<'deviceRevoke', 200>> {
    // The audit record commits with the revocation (same transaction / script).
    const revoked = await this.#store.revokeDevice(
      device.jkt,
      this.#clock.now(),
      undefined,
      (count) =>
        this.#audit.event('device.self_revoked', actor.device(device.jkt), { revoked: count }),
    );
    this.#log.info('device_revoked', { scope: 'self', revoked });
    return { deviceId: device.jkt, revoked };
  }

  /**
   * Moves the calling device's unrevoked enrollments to the key that signed `rotation` (a
   * `tacit-rotate+jwt` naming the calling key in `old`), revokes the old key's, and re-binds
   * the old key's live sessions to the new key, all in one atomic step.
   */
  async rotate(device: AuthenticatedDevice, rotation: string): Promise<DeviceRotation> {
    try {
      return await this.#rotate(device, rotation);
    } catch (err) {
      if (err instanceof TacitError) {
        await this.#audit.record('device.rotate_rejected', actor.device(device.jkt), {
          code: err.code,
        });
      }
      throw err;
    }
  }

  async #rotate(device: AuthenticatedDevice, rotation: string): Promise<DeviceRotation> {
    const now = this.#clock.now();
    const { jkt, jwk, claims } = await verifyRotation(rotation, now);
    if (claims.old !== device.jkt) {
      throw new JwsClaims({ cause: 'rotate: old is not the DPoP key' });
    }
    if (jkt === device.jkt) throw new KeyInUse({ cause: 'rotate: same key' });
    const result = await this.#store.rotateDevice({
      oldJkt: device.jkt,
      newJkt: jkt,
      newJwk: jwk,
      jti: { jkt, jti: claims.jti, expiresAt: jtiExpiry(claims.iat) },
      now,
    });
    if (!result.ok) {
      if (result.reason === 'replay') throw new Replay({ cause: 'rotate: jti seen' });
      if (result.reason === 'in-use') throw new KeyInUse({ cause: 'rotate: new key enrolled' });
      throw new DeviceRevoked({ cause: 'rotate: revoked meanwhile' });
    }
    this.#log.info('device_rotated', {
      enrollments: result.enrollments.length,
      sessions: result.sessions.length,
    });
    await this.#audit.record('device.rotated', actor.device(device.jkt), {
      newDeviceId: jkt,
      enrollments: result.enrollments.map((d) => ({ rp: d.rp, subject: d.subject })),
      sessions: result.sessions,
    });
    return {
      deviceId: jkt,
      previousDeviceId: device.jkt,
      enrollments: result.enrollments.length,
      sessions: result.sessions.length,
    };
  }
}

function statusOf(
  session: SessionRecord,
  device: AuthenticatedDevice,
  now: number,
): DeviceSessionStatus {
  if (session.terminatedAt !== null) return 'terminated';
  if (session.endedAt !== null) return 'ended';
  if (now >= session.expiresAt) return 'expired';
  const enrollment = device.devices.find(
    (d) => d.rp === session.rp && d.subject === session.subject,
  );
  return enrollment === undefined || enrollment.revokedAt !== null ? 'revoked' : 'active';
}
