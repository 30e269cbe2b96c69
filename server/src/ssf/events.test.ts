import { confirmationEvents } from '../testing/expected-events';
import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../domain/decision';
import type { AuditRecord, SubjectSignalState } from '../store/store';
import { EVENT_TYPES, deriveSignals, recordSid, riskOfAssurance } from './events';

const facts = { rp: 'bank-a', subject: 'alice', thresholds: { ...DEFAULT_THRESHOLDS } };
const fresh: SubjectSignalState = { sid: 's1', level: null, risk: null };
let seq = 0;
const record = (type: string, data: AuditRecord['data']): AuditRecord => ({
  seq: ++seq,
  ts: '2025-06-02T09:00:00.500Z',
  type,
  actor: 'system',
  data: { sid: 's1', ...data },
  prev: '',
  hash: '',
});
const types = (r: ReturnType<typeof deriveSignals>) => r.signals.map((s) => s.type);

describe('deriveSignals', () => {
  it('maps assurance to risk by the relying party thresholds (strictly below)', () => {
    expect(riskOfAssurance(0.5, DEFAULT_THRESHOLDS)).toBe('LOW');
    expect(riskOfAssurance(0.4999, DEFAULT_THRESHOLDS)).toBe('MEDIUM');
    expect(riskOfAssurance(0.2, DEFAULT_THRESHOLDS)).toBe('MEDIUM');
    expect(riskOfAssurance(0.1999, DEFAULT_THRESHOLDS)).toBe('HIGH');
  });

  it('a strong-factor confirmation brings the risk back to LOW and the level to the confirmed one', () => {
    const low = deriveSignals(
      record('attestation.accepted', { level: 'low', assurance: 0.3 }),
      facts,
      fresh,
    );
    expect(low.state).toMatchObject({ level: 'low', risk: 'MEDIUM' });
    const confirmed = deriveSignals(
      record('session.confirmed', { method: 'webauthn', level: 'high', assurance: 0.95 }),
      facts,
      low.state,
    );
    expect(confirmed.signals.map((s) => [s.type, s.body])).toEqual(confirmationEvents());
    expect(recordSid(record('session.confirmed', {}))).toBe('s1');
    // Nothing to say when the bank already holds LOW and that level.
    expect(
      deriveSignals(record('session.confirmed', { level: 'high' }), facts, confirmed.state).signals,
    ).toEqual([]);
  });

  it('emits a change only when the level or the risk moves', () => {
    const first = deriveSignals(
      record('attestation.accepted', { level: 'high', assurance: 0.9 }),
      facts,
      fresh,
    );
    expect(types(first)).toEqual([EVENT_TYPES.assuranceLevelChange, EVENT_TYPES.riskLevelChange]);
    expect(first.signals[0]!.body.event_timestamp).toBe(Date.UTC(2025, 5, 2, 9) / 1000);
    const same = deriveSignals(
      record('attestation.accepted', { level: 'high', assurance: 0.85 }),
      facts,
      first.state,
    );
    expect(same.signals).toEqual([]);
    expect(same.state).toEqual(first.state);
  });

  it('gives no change_direction to levels without an order (enrolling, none)', () => {
    const r = deriveSignals(
      record('attestation.accepted', { level: 'enrolling', assurance: null }),
      facts,
      {
        ...fresh,
        level: 'high',
      },
    );
    expect(r.signals).toHaveLength(1);
    expect(r.signals[0]!.body).toEqual({
      namespace: 'custom',
      current_level: 'enrolling',
      previous_level: 'high',
      event_timestamp: expect.any(Number),
    });
  });

  it('a step-up decision raises the risk to MEDIUM with its reasons; allow lowers it', () => {
    const up = deriveSignals(
      record('policy.decision', { action: 'step-up', reasons: ['SESSION_STALE'] }),
      facts,
      { ...fresh, risk: 'LOW' },
    );
    expect(up.signals.map((s) => s.body)).toEqual([
      {
        principal: 'SESSION',
        current_level: 'MEDIUM',
        previous_level: 'LOW',
        risk_reason: 'SESSION_STALE',
        event_timestamp: expect.any(Number),
      },
    ]);
    const down = deriveSignals(
      record('policy.decision', { action: 'allow', reasons: [] }),
      facts,
      up.state,
    );
    expect(down.signals[0]!.body).toMatchObject({ current_level: 'LOW', risk_reason: 'ALLOW' });
  });

  it('a termination is a session-revoked with an English reason_admin', () => {
    const r = deriveSignals(
      record('session.terminated', { reasons: ['DEVICE_REVOKED'] }),
      facts,
      fresh,
    );
    expect(r.signals).toEqual([
      {
        rp: 'bank-a',
        sid: 's1',
        subject: 'alice',
        type: EVENT_TYPES.sessionRevoked,
        body: {
          initiating_entity: 'policy',
          reason_admin: { en: expect.stringContaining('DEVICE_REVOKED') },
          event_timestamp: expect.any(Number),
        },
        txn: `audit:${seq}`,
      },
    ]);
  });

  it('ignores records about no session', () => {
    expect(recordSid(record('device.enrolled', {}))).toBeUndefined();
    expect(recordSid(record('session.opened', {}))).toBeUndefined();
    expect(recordSid(record('policy.decision', {}))).toBe('s1');
  });
});
