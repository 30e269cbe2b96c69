import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash } from '../crypto/attestation';
import { BadRequest } from '../errors';
import { counterValue, createMetrics, type Metrics } from '../observability/metrics';
import { POLICY } from '../domain/policy';
import { T0, createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, boundSession, enrolledDevice, recordsOf } from '../testing/services';
import { AttestationService } from './attestations';

let h: Harness;
let metrics: Metrics;
let attestations: AttestationService;
beforeEach(async () => {
  h = await createHarness();
  metrics = createMetrics();
  attestations = new AttestationService({
    store: h.store,
    clock: h.clock,
    metrics,
    audit: h.audit,
  });
});
afterEach(async () => {
  await h.close();
});

const rejectedCount = (code: string) => counterValue(metrics.attestationsRejected, { code });

describe('AttestationService.acceptAttestation', () => {
  it('commits each attestation with the new assurance state; counted and recorded', async () => {
    const s = await boundSession(h);
    const first = await s.device.attestation({ sid: s.sid, seq: 1, conf: 0.9 });
    expect(await attestations.acceptAttestation(first)).toEqual({
      seq: 1,
      assurance: 0.9,
      level: 'high',
    });
    s.device.commit(s.sid, first);
    h.clock.advance(1000);
    const second = await s.device.attestation({ sid: s.sid, seq: 5, conf: 0.5 });
    const accepted = await attestations.acceptAttestation(second);
    expect(accepted.seq).toBe(5);
    expect(accepted.assurance).toBeLessThan(0.9);
    expect(await h.store.getSession(s.sid)).toMatchObject({
      lastSeq: 5,
      lastHash: chainHash(second),
      attestations: 2,
      lastAttestationAt: T0 + 1000,
      lastState: 'scoring',
    });
    expect(await counterValue(metrics.attestationsAccepted)).toBe(2);
    expect((await recordsOf(h, 'attestation.accepted')).map((r) => [r.actor, r.data])).toEqual([
      [
        `device:${s.device.jkt}`,
        { sid: s.sid, seq: 1, state: 'scoring', conf: 0.9, assurance: 0.9, level: 'high' },
      ],
      [
        `device:${s.device.jkt}`,
        {
          sid: s.sid,
          seq: 5,
          state: 'scoring',
          conf: 0.5,
          assurance: accepted.assurance,
          level: accepted.level,
        },
      ],
    ]);
  });

  it('refuses a seq that does not increase, a broken chain, a stale statement', async () => {
    const s = await boundSession(h);
    const first = await s.device.attestation({ sid: s.sid, seq: 1 });
    await attestations.acceptAttestation(first);
    s.device.commit(s.sid, first);
    const before = await h.store.getSession(s.sid);
    const cases = [
      ['ERR_REPLAY', { sid: s.sid, seq: 1 }],
      ['ERR_CHAIN', { sid: s.sid, seq: 2, prev: chainHash('something else') }],
      ['ERR_STALE', { sid: s.sid, seq: 2, iat: T0 / 1000 - POLICY.freshnessWindowS - 1 }],
    ] as const;
    for (const [code, input] of cases) {
      await expect(
        attestations.acceptAttestation(await s.device.attestation(input)),
      ).rejects.toMatchObject({ code });
      expect(await rejectedCount(code)).toBe(1);
    }
    expect(await h.store.getSession(s.sid)).toEqual(before);
    expect((await recordsOf(h, 'attestation.rejected')).map((r) => [r.actor, r.data])).toEqual(
      cases.map(([code, input]) => [
        `device:${s.device.jkt}`,
        { code, sid: s.sid, seq: input.seq },
      ]),
    );
  });

  it('refuses an unbound session, one bound to another device, a revoked enrollment', async () => {
    const device = await enrolledDevice(h);
    const { sessionId } = await h.services.sessions.openSession(RP_A, 'alice');
    await expect(
      attestations.acceptAttestation(await device.attestation({ sid: sessionId, seq: 1 })),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_NOT_BOUND' });

    const s = await boundSession(h, RP_A, 'alice', device);
    const other = await enrolledDevice(h);
    await expect(
      attestations.acceptAttestation(await other.attestation({ sid: s.sid, seq: 1 })),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_BOUND' });

    // Revoked for this session's subject while still enrolled elsewhere.
    await enrolledDevice(h, RP_B, 'alice', device);
    await h.services.devices.revokeDevice(RP_A, 'alice', device.jkt);
    await expect(
      attestations.acceptAttestation(await device.attestation({ sid: s.sid, seq: 1 })),
    ).rejects.toMatchObject({ code: 'ERR_DEVICE_REVOKED' });
    expect(await counterValue(metrics.attestationsAccepted)).toBe(0);
  });

  it('refuses a session that is over or unknown', async () => {
    const s = await boundSession(h);
    await expect(
      attestations.acceptAttestation(await s.device.attestation({ sid: 'nope', seq: 1 })),
    ).rejects.toMatchObject({ code: 'ERR_UNKNOWN_SESSION' });
    await h.services.sessions.endSession(RP_A, s.sid);
    await expect(
      attestations.acceptAttestation(await s.device.attestation({ sid: s.sid, seq: 1 })),
    ).rejects.toMatchObject({ code: 'ERR_SESSION_EXPIRED' });
  });

  it('of two attestations with the same seq sent together, exactly one is accepted', async () => {
    const s = await boundSession(h);
    const a = await s.device.attestation({ sid: s.sid, seq: 1, conf: 0.9 });
    const b = await s.device.attestation({ sid: s.sid, seq: 1, conf: 0.2 });
    const outcomes = await Promise.allSettled([
      attestations.acceptAttestation(a),
      attestations.acceptAttestation(b),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected');
    expect(refused?.reason).toMatchObject({ code: 'ERR_REPLAY' });
    expect((await h.store.getSession(s.sid))!.attestations).toBe(1);
  });
});

describe('AttestationService.attestationRejected', () => {
  it('counts and records a malformed request as anonymous; ignores our own faults', async () => {
    await attestations.attestationRejected(new BadRequest('malformed request'));
    await attestations.attestationRejected(new Error('a bug of ours'));
    expect(await rejectedCount('ERR_BAD_REQUEST')).toBe(1);
    expect((await recordsOf(h, 'attestation.rejected')).map((r) => [r.actor, r.data])).toEqual([
      ['anonymous', { code: 'ERR_BAD_REQUEST' }],
    ]);
  });
});
