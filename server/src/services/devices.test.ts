import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RelyingParty } from '../http/middleware/auth';
import { T0, createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, enrolledDevice, recordsOf } from '../testing/services';
import { DeviceService } from './devices';

let h: Harness;
let devices: DeviceService;
beforeEach(async () => {
  h = await createHarness();
  devices = new DeviceService({ store: h.store, clock: h.clock, logger: h.logger, audit: h.audit });
});
afterEach(async () => {
  await h.close();
});

const OPS: RelyingParty = { id: 'ops', role: 'admin' };
const at = (ms: number) => new Date(ms).toISOString();

describe('DeviceService.listDevices', () => {
  it("lists the subject's enrollments at the calling relying party only", async () => {
    const phone = await enrolledDevice(h, RP_A, 'alice');
    h.clock.advance(1000);
    const laptop = await enrolledDevice(h, RP_A, 'alice');
    await enrolledDevice(h, RP_A, 'bob');
    await enrolledDevice(h, RP_B, 'alice');
    const listed = await devices.listDevices(RP_A, 'alice');
    expect(listed).toHaveLength(2);
    expect(listed).toEqual(
      expect.arrayContaining([
        { deviceId: phone.jkt, subject: 'alice', createdAt: at(T0), revokedAt: null },
        { deviceId: laptop.jkt, subject: 'alice', createdAt: at(T0 + 1000), revokedAt: null },
      ]),
    );
    expect(await devices.listDevices(RP_B, 'carol')).toEqual([]);
  });
});

describe('DeviceService.revokeDevice', () => {
  it('revokes that enrollment only, recorded; revoking again keeps the first time', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    await enrolledDevice(h, RP_B, 'alice', device);
    h.clock.advance(5000);
    expect(await devices.revokeDevice(RP_A, 'alice', device.jkt)).toEqual({
      deviceId: device.jkt,
      subject: 'alice',
      createdAt: at(T0),
      revokedAt: at(T0 + 5000),
    });
    const byRp = Object.fromEntries(
      (await h.store.findDevicesByKey(device.jkt)).map((d) => [d.rp, d.revokedAt]),
    );
    expect(byRp).toEqual({ 'bank-a': T0 + 5000, 'bank-b': null });
    h.clock.advance(5000);
    expect((await devices.revokeDevice(RP_A, 'alice', device.jkt)).revokedAt).toBe(at(T0 + 5000));
    expect((await recordsOf(h, 'device.revoked')).map((r) => [r.actor, r.data])).toEqual([
      ['rp:bank-a', { deviceId: device.jkt, subject: 'alice', revoked: 1 }],
      ['rp:bank-a', { deviceId: device.jkt, subject: 'alice', revoked: 0 }],
    ]);
  });

  it("another relying party's or subject's enrollment is an unknown device", async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    for (const [rp, subject] of [
      [RP_B, 'alice'],
      [RP_A, 'bob'],
    ] as const) {
      await expect(devices.revokeDevice(rp, subject, device.jkt)).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_DEVICE',
      });
    }
    await expect(devices.revokeDevice(RP_A, 'alice', 'no-such-key')).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_DEVICE',
    });
    expect((await h.store.findDevicesByKey(device.jkt))[0]!.revokedAt).toBeNull();
    expect(await recordsOf(h, 'device.revoked')).toEqual([]);
  });
});

describe('DeviceService.revokeDeviceEverywhere', () => {
  it('revokes every enrollment of the key, recorded with the operator (or system)', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    await enrolledDevice(h, RP_B, 'alice', device);
    expect(await devices.revokeDeviceEverywhere(device.jkt, OPS)).toEqual({
      deviceId: device.jkt,
      revoked: 2,
    });
    expect((await h.store.findDevicesByKey(device.jkt)).every((d) => d.revokedAt === T0)).toBe(
      true,
    );
    expect(await devices.revokeDeviceEverywhere(device.jkt)).toEqual({
      deviceId: device.jkt,
      revoked: 0,
    });
    expect((await recordsOf(h, 'admin.device_revoked')).map((r) => [r.actor, r.data])).toEqual([
      ['rp:ops', { deviceId: device.jkt, revoked: 2 }],
      ['system', { deviceId: device.jkt, revoked: 0 }],
    ]);
  });

  it('a key never enrolled is an unknown device', async () => {
    await expect(devices.revokeDeviceEverywhere('no-such-key', OPS)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_DEVICE',
    });
    expect(await recordsOf(h, 'admin.device_revoked')).toEqual([]);
  });
});
