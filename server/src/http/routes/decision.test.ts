import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, parsePolicy } from '../../domain/decision';
import {
  KEYS,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  expectError,
  introspect,
  openSession,
  requestToken,
  revoke,
  snapshot,
  type Harness,
  type HarnessOptions,
} from '../../testing/harness';
import { counterValue } from '../../observability/metrics';

let h: Harness;
afterEach(async () => {
  await h.close();
});
const start = async (options: HarnessOptions = {}) => {
  h = await createHarness(options);
};

const decision = (sid: string, key: string = KEYS.bankA) =>
  h.call('POST', `/v1/sessions/${sid}/decision`, { key });
const decisionsIn = async () => (await auditRecords(h)).filter((r) => r.type === 'policy.decision');

describe('POST /v1/sessions/:sid/decision', () => {
  it('high assurance → allow, with the thresholds used; recorded in the audit trail', async () => {
    await start();
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const res = await decision(s.sid);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({
      action: 'allow',
      reasons: [],
      assurance: 0.9,
      level: 'high',
      policy: DEFAULT_THRESHOLDS,
    });
    const [record] = await decisionsIn();
    expect(record).toMatchObject({
      actor: 'rp:bank-a',
      data: { sid: s.sid, action: 'allow', reasons: [], assurance: 0.9, level: 'high' },
    });
    expect(await counterValue(h.metrics.decisions, { action: 'allow' })).toBe(1);
  });

  it('no attestation, enrolling, low assurance, stale: step-up with stable reasons', async () => {
    await start();
    const unbound = await openSession(h, 'bob');
    expect((await decision(unbound.sessionId)).json).toMatchObject({
      action: 'step-up',
      reasons: ['SESSION_NOT_BOUND', 'NO_ATTESTATION'],
      assurance: null,
      level: 'none',
    });
    const s = await boundSession(h);
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'step-up',
      reasons: ['NO_ATTESTATION'],
    });
    await attest(h, s.device, { sid: s.sid, seq: 1, state: 'enrolling', progress: 0.3 });
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'step-up',
      reasons: ['ENROLLING'],
      level: 'enrolling',
    });
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.4 });
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'step-up',
      reasons: ['ASSURANCE_BELOW_STEP_UP'],
      assurance: 0.4,
      level: 'low',
    });
    await attest(h, s.device, { sid: s.sid, seq: 3, conf: 0.7 }); // assurance = the stated 0.7
    h.clock.advance(121_000); // decays to 0.7 * exp(-91/60) ≈ 0.1536
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'terminate',
      reasons: ['SESSION_STALE', 'ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
      assurance: 0.1536,
    });
    expect((await decisionsIn()).map((r) => r.data.action)).toEqual([
      'step-up',
      'step-up',
      'step-up',
      'step-up',
      'terminate',
    ]);
  });

  it('terminate revokes the session: inactive tokens, no attestations, tokens or bindings', async () => {
    await start();
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const token = (await requestToken(h, s.sid)).json.token;
    expect((await introspect(h, token)).json.tacit_action).toBe('allow');
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.5 });
    await attest(h, s.device, { sid: s.sid, seq: 3, conf: 0.3 });
    await attest(h, s.device, { sid: s.sid, seq: 4, conf: 0.1125 }); // the device's decision, as stated
    // Introspection reports what a decision would say, without enforcing it.
    expect((await introspect(h, token)).json).toMatchObject({
      active: true,
      tacit_assurance: 0.1125,
      tacit_action: 'terminate',
    });

    const res = await decision(s.sid);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      action: 'terminate',
      reasons: ['ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
    });
    const stored = await h.store.getSession(s.sid);
    expect(stored?.terminatedAt).toBe(h.clock.now());
    expect(stored?.endedAt).toBe(h.clock.now());

    expect((await introspect(h, token)).text).toBe('{"active":false}');
    const before = await snapshot(h, s.sid);
    expectError(await attest(h, s.device, { sid: s.sid, seq: 5 }), 410, 'ERR_SESSION_TERMINATED');
    expectError(await requestToken(h, s.sid), 410, 'ERR_SESSION_TERMINATED');
    expectError(await decision(s.sid), 410, 'ERR_SESSION_TERMINATED');
    const rebind = await h.call('POST', '/v1/sessions/bind', {
      json: { binding: await s.device.binding(s.sid, s.challenge) },
    });
    expectError(rebind, 410, 'ERR_SESSION_TERMINATED');
    expect(await snapshot(h, s.sid)).toEqual(before);

    const types = (await auditRecords(h)).map((r) => r.type);
    expect(types.filter((t) => t === 'session.terminated')).toHaveLength(1);
    expect(types.slice(-4)).toEqual([
      'policy.decision',
      'session.terminated',
      'attestation.rejected',
      'session.bind_rejected',
    ]);
    const rejected = (await auditRecords(h)).find(
      (r) => r.type === 'attestation.rejected' && r.data.seq === 5,
    );
    expect(rejected?.data).toEqual({ code: 'ERR_SESSION_TERMINATED', sid: s.sid, seq: 5 });
    // The relying party may still end it (idempotent).
    expect((await h.call('DELETE', `/v1/sessions/${s.sid}`, { key: KEYS.bankA })).status).toBe(204);
  });

  it('a revoked device → terminate (DEVICE_REVOKED)', async () => {
    await start();
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.95 });
    expect((await revoke(h, s.device.jkt)).status).toBe(200);
    expect((await decision(s.sid)).json).toMatchObject({
      action: 'terminate',
      reasons: ['DEVICE_REVOKED'],
    });
    expect((await h.store.getSession(s.sid))?.terminatedAt).not.toBeNull();
  });

  it('per relying-party thresholds from the policy', async () => {
    const policy = parsePolicy({
      default: { stepUpBelow: 0.5 },
      relyingParties: { 'bank-b': { stepUpBelow: 0.95, terminateBelow: 0.5 } },
    });
    await start({ policy });
    const a = await boundSession(h, 'alice', KEYS.bankA);
    const b = await boundSession(h, 'carol', KEYS.bankB);
    await attest(h, a.device, { sid: a.sid, seq: 1, conf: 0.9 });
    await attest(h, b.device, { sid: b.sid, seq: 1, conf: 0.9 });
    expect((await decision(a.sid, KEYS.bankA)).json).toMatchObject({
      action: 'allow',
      policy: { stepUpBelow: 0.5, terminateBelow: 0.2 },
    });
    expect((await decision(b.sid, KEYS.bankB)).json).toMatchObject({
      action: 'step-up',
      reasons: ['ASSURANCE_BELOW_STEP_UP'],
      policy: { stepUpBelow: 0.95, terminateBelow: 0.5 },
    });
  });

  it('only the relying party that opened it; role bank; valid ids — refusals record nothing', async () => {
    await start();
    const s = await boundSession(h);
    const before = await snapshot(h, s.sid);
    const auditBefore = (await auditRecords(h)).length;
    expectError(await decision(s.sid, KEYS.bankB), 404, 'ERR_UNKNOWN_SESSION');
    expectError(await decision('no-such-session'), 404, 'ERR_UNKNOWN_SESSION');
    expectError(await decision(s.sid, KEYS.admin), 403, 'ERR_FORBIDDEN');
    expectError(await decision(s.sid, KEYS.auditor), 403, 'ERR_FORBIDDEN');
    expectError(await h.call('POST', `/v1/sessions/${s.sid}/decision`), 401, 'ERR_UNAUTHORIZED');
    expectError(await decision('bad%20id'), 400, 'ERR_BAD_REQUEST');
    expect(await snapshot(h, s.sid)).toEqual(before);
    expect((await auditRecords(h)).length).toBe(auditBefore);
    expect(await counterValue(h.metrics.decisions, { action: 'allow' })).toBe(0);
  });

  it('an ended or expired session → ERR_SESSION_EXPIRED', async () => {
    await start();
    const s = await boundSession(h);
    await h.call('DELETE', `/v1/sessions/${s.sid}`, { key: KEYS.bankA });
    expectError(await decision(s.sid), 410, 'ERR_SESSION_EXPIRED');
    const other = await openSession(h, 'dave');
    h.clock.advance(30 * 60 * 1000);
    expectError(await decision(other.sessionId), 410, 'ERR_SESSION_EXPIRED');
  });
});
