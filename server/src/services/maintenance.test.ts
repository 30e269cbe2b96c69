import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { POLICY } from '../domain/policy';
import { createHarness, type Harness } from '../testing/harness';
import { RP_A, attested, boundSession } from '../testing/services';
import { MaintenanceService } from './maintenance';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const DAY = 24 * 60 * 60 * 1000;
const maintenance = (auditRetentionDays?: number) =>
  new MaintenanceService({ store: h.store, clock: h.clock, audit: h.audit, auditRetentionDays });

describe('MaintenanceService.purgeExpired', () => {
  it('keeps what is within its retention', async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1 });
    const before = await h.store.counts();
    expect(await maintenance().purgeExpired()).toEqual({
      jtis: 0,
      enrollmentCodes: 0,
      sessions: 0,
      auditRecords: 0,
    });
    expect(await h.store.counts()).toEqual(before);
  });

  it('jtis once out of the freshness window, codes and sessions after their retention', async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1 });
    await h.services.enrollment.createEnrollmentCode(RP_A, 'bob'); // never used
    const jtis = (await h.store.counts()).jtis;
    expect(jtis).toBeGreaterThan(0);

    h.clock.advance(POLICY.freshnessWindowS * 1000 + 2000);
    expect(await maintenance().purgeExpired()).toMatchObject({ jtis, enrollmentCodes: 0 });

    h.clock.advance(POLICY.enrollmentCodeTtlMs + POLICY.enrollmentCodeRetentionMs);
    expect(await maintenance().purgeExpired()).toMatchObject({ enrollmentCodes: 2, sessions: 0 });

    h.clock.advance(POLICY.sessionTtlMs + POLICY.sessionRetentionMs);
    expect(await maintenance().purgeExpired()).toMatchObject({ sessions: 1, auditRecords: 0 });
    expect(await h.store.counts()).toMatchObject({ sessions: 0, attestations: 0, devices: 1 });
  });

  it('audit records after the configured retention (365 days by default)', async () => {
    await boundSession(h);
    h.clock.advance(2 * DAY);
    expect((await maintenance().purgeExpired()).auditRecords).toBe(0);
    expect((await maintenance(1).purgeExpired()).auditRecords).toBe(4);
    expect((await h.audit.verify()).ok).toBe(true);
  });
});
