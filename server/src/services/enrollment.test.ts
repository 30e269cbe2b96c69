import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../domain/decision';
import { POLICY } from '../domain/policy';
import { TestDevice, T0, createHarness, unsecuredJws, type Harness } from '../testing/harness';
import { RP_A, RP_B, enrolledDevice, recordsOf } from '../testing/services';
import { EnrollmentService } from './enrollment';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

/** A service over the harness's store, clock and audit trail, with its own policy. */
const serviceWith = (policy = parsePolicy({})) =>
  new EnrollmentService({
    store: h.store,
    clock: h.clock,
    logger: h.logger,
    audit: h.audit,
    policy,
  });

describe('EnrollmentService.createEnrollmentCode', () => {
  it('issues a code valid for the policy TTL; stores and records no code', async () => {
    const { code, expiresAt } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    expect(code).toMatch(/^[0-9A-Z-]+$/);
    expect(expiresAt).toBe(new Date(T0 + POLICY.enrollmentCodeTtlMs).toISOString());
    const [issued] = await recordsOf(h, 'enrollment_code.issued');
    expect(issued).toMatchObject({ actor: 'rp:bank-a', data: { subject: 'alice', expiresAt } });
    expect(await h.dump()).not.toContain(code);
    expect(h.logger.records).toContainEqual({
      level: 'info',
      event: 'enrollment_code_issued',
      rp: 'bank-a',
    });
  });
});

describe('EnrollmentService.enrollDevice', () => {
  it("enrolls the signing key for the code's subject and relying party, once per code", async () => {
    const { code } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    const device = await TestDevice.create(h.clock);
    expect(await h.services.enrollment.enrollDevice(await device.enrollment(code))).toEqual({
      deviceId: device.jkt,
      subject: 'alice',
    });
    const [enrolled] = await recordsOf(h, 'device.enrolled');
    expect(enrolled).toMatchObject({
      actor: `device:${device.jkt}`,
      data: { rp: 'bank-a', subject: 'alice', created: true },
    });

    const other = await TestDevice.create(h.clock);
    await expect(
      h.services.enrollment.enrollDevice(await other.enrollment(code)),
    ).rejects.toMatchObject({ code: 'ERR_ENROLLMENT_CODE' });
    const [rejected] = await recordsOf(h, 'device.enrollment_rejected');
    expect(rejected).toMatchObject({
      actor: `device:${other.jkt}`,
      data: { code: 'ERR_ENROLLMENT_CODE' },
    });
  });

  it('re-enrolling the same key for the same subject succeeds and is not a new enrollment', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    const { code } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    await h.services.enrollment.enrollDevice(await device.enrollment(code));
    expect((await recordsOf(h, 'device.enrolled')).map((r) => r.data['created'])).toEqual([
      true,
      false,
    ]);
    expect(await h.store.findDevicesByKey(device.jkt)).toHaveLength(1);
  });

  it('a key revoked for the subject stays revoked', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    await h.services.devices.revokeDevice(RP_A, 'alice', device.jkt);
    const { code } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    await expect(
      h.services.enrollment.enrollDevice(await device.enrollment(code)),
    ).rejects.toMatchObject({ code: 'ERR_DEVICE_REVOKED' });
  });

  it('one key for two subjects of a relying party only where its policy allows it', async () => {
    const device = await enrolledDevice(h, RP_A, 'alice');
    const refusing = serviceWith();
    const first = await refusing.createEnrollmentCode(RP_A, 'bob');
    await expect(refusing.enrollDevice(await device.enrollment(first.code))).rejects.toMatchObject({
      code: 'ERR_DEVICE_ENROLLED_ELSEWHERE',
    });
    // Another relying party is always allowed.
    const elsewhere = await refusing.createEnrollmentCode(RP_B, 'bob');
    await refusing.enrollDevice(await device.enrollment(elsewhere.code));

    const sharing = serviceWith(
      parsePolicy({ relyingParties: { 'bank-a': { sharedDevices: true } } }),
    );
    const second = await sharing.createEnrollmentCode(RP_A, 'bob');
    expect(await sharing.enrollDevice(await device.enrollment(second.code))).toEqual({
      deviceId: device.jkt,
      subject: 'bob',
    });
  });

  it('refuses an expired or malformed code', async () => {
    const device = await TestDevice.create(h.clock);
    const { code } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    h.clock.advance(POLICY.enrollmentCodeTtlMs);
    await expect(
      h.services.enrollment.enrollDevice(await device.enrollment(code)),
    ).rejects.toMatchObject({ code: 'ERR_ENROLLMENT_CODE' });
    await expect(
      h.services.enrollment.enrollDevice(await device.enrollment('not a code!')),
    ).rejects.toMatchObject({ code: 'ERR_ENROLLMENT_CODE' });
    expect(await h.store.findDevicesByKey(device.jkt)).toEqual([]);
  });

  it('a statement whose signature does not verify is recorded as anonymous', async () => {
    const { code } = await h.services.enrollment.createEnrollmentCode(RP_A, 'alice');
    const forged = unsecuredJws({ typ: 'tacit-enroll+jwt' }, { code, iat: 0, jti: 'x' });
    await expect(h.services.enrollment.enrollDevice(forged)).rejects.toMatchObject({
      code: 'ERR_JWS_ALG',
    });
    const [rejected] = await recordsOf(h, 'device.enrollment_rejected');
    expect(rejected).toMatchObject({ actor: 'anonymous', data: { code: 'ERR_JWS_ALG' } });
  });
});
