/**
 * Enrolled devices as their relying party sees them: list a subject's enrollments, revoke one,
 * and (operator) revoke every enrollment of a device key.
 *
 * @module
 */
import type { AnswerOf } from '../contract/routes';
import { actor, type AuditTrail } from './audit';
import type { RelyingParty } from '../http/middleware/auth';
import type { Clock } from '../clock';
import { UnknownDevice } from '../errors';
import type { Logger } from '../observability/log';
import type { DeviceRecord, Store } from '../store/store';
import { iso } from './shared';

/** An enrollment as shown to its relying party. */
export type DeviceView = AnswerOf<'revokeDevice', 200>;

/** What the device service needs. */
export interface DeviceDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditTrail;
}

/** Listing and revocation of enrolled devices. See the module comment. */
export class DeviceService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #audit: AuditTrail;

  constructor(deps: DeviceDeps) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#log = deps.logger;
    this.#audit = deps.audit;
  }

  /**
   * Whether the device key `deviceId` has an enrollment that is not revoked, and its public key
   * (for the federated aggregator). Nothing about subjects or relying parties.
   *
   * @throws {UnknownDevice} when the key was never enrolled.
   */
  async deviceKey(deviceId: string): Promise<AnswerOf<'deviceKey', 200>> {
    const records = await this.#store.findDevicesByKey(deviceId);
    const first = records[0];
    if (!first) throw new UnknownDevice();
    const { kty, crv, x, y } = first.jwk;
    return {
      deviceId,
      jwk: { kty, crv, x, y },
      active: records.some((r) => r.revokedAt === null),
    };
  }

  /** The enrollments of `subject` at the calling relying party, revoked ones included. */
  async listDevices(rp: RelyingParty, subject: string): Promise<DeviceView[]> {
    const devices = await this.#store.listDevicesBySubject(rp.id, subject);
    return devices.map(deviceView);
  }

  /**
   * Revokes the enrollment of `deviceId` for `subject` at the calling relying party (an already
   * revoked one keeps its time). Recorded as `device.revoked`.
   *
   * @throws {UnknownDevice} when the key has no enrollment for that subject at that relying
   *   party (another relying party's enrollments are not the caller's to learn).
   */
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
   *
   * @throws {UnknownDevice} when the key was never enrolled.
   */
  async revokeDeviceEverywhere(
    deviceId: string,
    by?: RelyingParty,
  ): Promise<AnswerOf<'revokeDeviceEverywhere', 200>> {
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
}

function deviceView(d: DeviceRecord): DeviceView {
  return {
    deviceId: d.jkt,
    subject: d.subject,
    createdAt: iso(d.createdAt),
    revokedAt: d.revokedAt === null ? null : iso(d.revokedAt),
  };
}
