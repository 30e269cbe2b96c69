import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, parsePolicy, type DecisionPolicy } from '../domain/decision';
import { counterValue, createMetrics, type Metrics } from '../observability/metrics';
import { createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, attested, boundSession, recordsOf } from '../testing/services';
import { DecisionService } from './decisions';
import { SessionService } from './sessions';

let h: Harness;
let metrics: Metrics;
beforeEach(async () => {
  h = await createHarness();
  metrics = createMetrics();
});
afterEach(async () => {
  await h.close();
});

/** A decision service over the harness's store, clock and audit trail. */
function decisionService(policy?: DecisionPolicy): DecisionService {
  const { store, clock, logger, audit } = h;
  const sessions = new SessionService({ store, clock, logger, audit });
  return new DecisionService({ store, clock, metrics, audit, sessions, policy });
}

describe('DecisionService.decide', () => {
  it('allow on high assurance, with the thresholds used; recorded and counted', async () => {
    const decisions = decisionService();
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const decision = await decisions.decide(RP_A, s.sid);
    expect(decision).toEqual({
      action: 'allow',
      reasons: [],
      assurance: 0.9,
      level: 'high',
      policy: DEFAULT_THRESHOLDS,
    });
    expect((await recordsOf(h, 'policy.decision')).map((r) => [r.actor, r.data])).toEqual([
      ['rp:bank-a', { sid: s.sid, action: 'allow', reasons: [], assurance: 0.9, level: 'high' }],
    ]);
    expect(await counterValue(metrics.decisions, { action: 'allow' })).toBe(1);
    expect((await h.store.getSession(s.sid))!.terminatedAt).toBeNull();
  });

  it('step-up for an unbound session (recorded, nothing else changes)', async () => {
    const decisions = decisionService();
    const { sessionId } = await h.services.sessions.openSession(RP_A, 'bob');
    expect(await decisions.decide(RP_A, sessionId)).toMatchObject({
      action: 'step-up',
      reasons: ['SESSION_NOT_BOUND', 'NO_ATTESTATION'],
    });
    expect(await recordsOf(h, 'policy.decision')).toHaveLength(1);
    expect((await h.store.getSession(sessionId))!.endedAt).toBeNull();
  });

  it("terminate ends the session for good, recorded with the decision; by the rp's policy", async () => {
    const decisions = decisionService(
      parsePolicy({ relyingParties: { 'bank-a': { stepUpBelow: 0.97, terminateBelow: 0.95 } } }),
    );
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    expect(await decisions.decide(RP_A, s.sid)).toMatchObject({
      action: 'terminate',
      reasons: ['ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
    });
    const records = (await h.store.listAudit(0, 1000)).slice(-2);
    expect(records.map((r) => [r.type, r.data['sid']])).toEqual([
      ['policy.decision', s.sid],
      ['session.terminated', s.sid],
    ]);
    expect((await h.store.getSession(s.sid))!.terminatedAt).not.toBeNull();
    expect(await counterValue(metrics.decisions, { action: 'terminate' })).toBe(1);
    await expect(decisions.decide(RP_A, s.sid)).rejects.toMatchObject({
      code: 'ERR_SESSION_TERMINATED',
    });
    // Another relying party keeps the default thresholds.
    const t = await boundSession(h, RP_B, 'alice');
    await attested(h, t.device, { sid: t.sid, seq: 1, conf: 0.9 });
    expect((await decisions.decide(RP_B, t.sid)).action).toBe('allow');
  });

  it("a revoked device's session is terminated", async () => {
    const decisions = decisionService();
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    await h.services.devices.revokeDevice(RP_A, 'alice', s.device.jkt);
    expect(await decisions.decide(RP_A, s.sid)).toMatchObject({
      action: 'terminate',
      reasons: ['DEVICE_REVOKED'],
    });
    expect(await recordsOf(h, 'session.terminated')).toHaveLength(1);
  });

  it("another relying party's session is unknown; an ended one is over; neither recorded", async () => {
    const decisions = decisionService();
    const s = await boundSession(h);
    await expect(decisions.decide(RP_B, s.sid)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    await h.services.sessions.endSession(RP_A, s.sid);
    await expect(decisions.decide(RP_A, s.sid)).rejects.toMatchObject({
      code: 'ERR_SESSION_EXPIRED',
    });
    expect(await recordsOf(h, 'policy.decision')).toEqual([]);
    expect(await counterValue(metrics.decisions, { action: 'allow' })).toBe(0);
  });
});
