import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EMPTY_DECISION_STATE,
  decisionConfidence,
  decisionThreshold,
} from '../../../model/product/decision';
import { PRODUCT } from '../../../model/product/scorer';
import type { Assessment } from './assurance';
import {
  DEFAULT_POLICY,
  DEFAULT_THRESHOLDS,
  PolicyError,
  decide,
  loadPolicyFile,
  mostSevere,
  parsePolicy,
  sharedDeviceScope,
  sharedDevicesFor,
  thresholdsFor,
  type DecisionInput,
} from './decision';

const NOW = 1_000_000_000;

// The device's confidence crosses the server's default step-up threshold where its sequential
// decision fires, so a bank reading only the assurance acts where the device decided;
// model/ imports nothing from the server, so the check lives here.
describe('the product’s decision', () => {
  it('crosses the default step-up threshold exactly where it fires', () => {
    const h = decisionThreshold(PRODUCT.decision);
    const at = (s: number) => decisionConfidence({ ...EMPTY_DECISION_STATE, s }, PRODUCT.decision);
    expect(at(h)).toBeCloseTo(DEFAULT_THRESHOLDS.stepUpBelow, 12);
    expect(at(h * 0.99)).toBeGreaterThan(DEFAULT_THRESHOLDS.stepUpBelow);
    expect(at(h * 1.01)).toBeLessThan(DEFAULT_THRESHOLDS.stepUpBelow);
  });
});
const scoring = (assurance: number): Assessment => ({
  assurance,
  level: assurance >= 0.8 ? 'high' : assurance >= 0.5 ? 'medium' : 'low',
  state: 'scoring',
});
const input = (over: Partial<DecisionInput> = {}): DecisionInput => ({
  bound: true,
  deviceRevoked: false,
  attestations: 3,
  lastAttestationAt: NOW - 5_000,
  assessment: scoring(0.9),
  ...over,
});

describe('decide', () => {
  const t = DEFAULT_THRESHOLDS;
  it.each([
    ['high assurance', input(), 'allow', []],
    ['exactly at stepUpBelow', input({ assessment: scoring(0.5) }), 'allow', []],
    [
      'below stepUpBelow',
      input({ assessment: scoring(0.49) }),
      'step-up',
      ['ASSURANCE_BELOW_STEP_UP'],
    ],
    [
      'exactly at terminateBelow',
      input({ assessment: scoring(0.2) }),
      'step-up',
      ['ASSURANCE_BELOW_STEP_UP'],
    ],
    [
      'below terminateBelow',
      input({ assessment: scoring(0.19) }),
      'terminate',
      ['ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
    ],
    [
      'enrolling',
      input({ assessment: { assurance: null, level: 'enrolling', state: 'enrolling' } }),
      'step-up',
      ['ENROLLING'],
    ],
    [
      'no attestation yet',
      input({
        attestations: 0,
        lastAttestationAt: null,
        assessment: { assurance: null, level: 'none', state: null },
      }),
      'step-up',
      ['NO_ATTESTATION'],
    ],
    [
      'unbound',
      input({
        bound: false,
        attestations: 0,
        lastAttestationAt: null,
        assessment: { assurance: null, level: 'none', state: null },
      }),
      'step-up',
      ['SESSION_NOT_BOUND', 'NO_ATTESTATION'],
    ],
    ['device revoked', input({ deviceRevoked: true }), 'terminate', ['DEVICE_REVOKED']],
    ['stale, exactly at the limit', input({ lastAttestationAt: NOW - 120_000 }), 'allow', []],
    ['stale', input({ lastAttestationAt: NOW - 120_001 }), 'step-up', ['SESSION_STALE']],
    [
      'stale and below terminate',
      input({ lastAttestationAt: NOW - 600_000, assessment: scoring(0.1) }),
      'terminate',
      ['SESSION_STALE', 'ASSURANCE_BELOW_STEP_UP', 'ASSURANCE_BELOW_TERMINATE'],
    ],
  ] as const)('%s → %s %j', (_name, facts, action, reasons) => {
    const d = decide(t, facts, NOW);
    expect(d.action).toBe(action);
    expect(d.reasons).toEqual(reasons);
    expect(d.assurance).toBe(facts.assessment.assurance);
    expect(d.level).toBe(facts.assessment.level);
    expect(d.policy).toEqual(t);
  });

  it('a confirmation after the last attestation is the latest evidence: staleness counts from it', () => {
    const confirmed = scoring(0.95);
    // Confirmed long after a low attestation: allowed, not stale.
    expect(
      decide(
        t,
        input({
          lastAttestationAt: NOW - 600_000,
          confirmedAt: NOW - 1_000,
          assessment: confirmed,
        }),
        NOW,
      ),
    ).toMatchObject({ action: 'allow', reasons: [] });
    // Confirmed before any attestation: no NO_ATTESTATION step-up.
    expect(
      decide(
        t,
        input({
          attestations: 0,
          lastAttestationAt: null,
          confirmedAt: NOW,
          assessment: confirmed,
        }),
        NOW,
      ).action,
    ).toBe('allow');
    // Confirmation older than the staleness limit, with nothing since: stale.
    expect(
      decide(t, input({ confirmedAt: NOW - 120_001, lastAttestationAt: NOW - 130_000 }), NOW)
        .reasons,
    ).toContain('SESSION_STALE');
    // An attestation after the confirmation rules again.
    expect(
      decide(
        t,
        input({
          confirmedAt: NOW - 10_000,
          lastAttestationAt: NOW - 5_000,
          assessment: scoring(0.3),
        }),
        NOW,
      ).action,
    ).toBe('step-up');
    // It does not make an unbound session bound, nor a revoked device active.
    expect(decide(t, input({ bound: false, confirmedAt: NOW }), NOW).action).toBe('step-up');
    expect(decide(t, input({ deviceRevoked: true, confirmedAt: NOW }), NOW).action).toBe(
      'terminate',
    );
  });

  it('configured actions apply to enrolling, stale and no-attestation sessions', () => {
    const strictT = {
      ...t,
      enrollingAction: 'terminate',
      staleAction: 'allow',
      noAttestationAction: 'allow',
    } as const;
    const enrolling = input({
      assessment: { assurance: null, level: 'enrolling', state: 'enrolling' },
    });
    expect(decide(strictT, enrolling, NOW).action).toBe('terminate');
    expect(decide(strictT, input({ lastAttestationAt: NOW - 200_000 }), NOW)).toMatchObject({
      action: 'allow',
      reasons: ['SESSION_STALE'],
    });
    const none = input({ attestations: 0, lastAttestationAt: null });
    expect(decide(strictT, none, NOW)).toMatchObject({
      action: 'allow',
      reasons: ['NO_ATTESTATION'],
    });
  });

  it('mostSevere orders allow < step-up < terminate', () => {
    expect(mostSevere([])).toBe('allow');
    expect(mostSevere(['step-up', 'allow'])).toBe('step-up');
    expect(mostSevere(['allow', 'terminate', 'step-up'])).toBe('terminate');
  });
});

describe('parsePolicy', () => {
  it('an empty file is the defaults; overrides merge: built-in ← default ← relying party', () => {
    expect(parsePolicy({})).toEqual(DEFAULT_POLICY);
    const p = parsePolicy({
      version: 1,
      default: { stepUpBelow: 0.6 },
      relyingParties: { 'bank-a': { terminateBelow: 0.4, enrollingAction: 'allow' } },
    });
    expect(p.default).toEqual({ ...DEFAULT_THRESHOLDS, stepUpBelow: 0.6 });
    expect(thresholdsFor(p, 'bank-a')).toEqual({
      ...DEFAULT_THRESHOLDS,
      stepUpBelow: 0.6,
      terminateBelow: 0.4,
      enrollingAction: 'allow',
    });
    expect(thresholdsFor(p, 'bank-b')).toBe(p.default);
    // Inherited object members are not relying parties.
    expect(thresholdsFor(p, 'constructor')).toBe(p.default);
  });

  it('sharedDevices: false unless the default or the relying party says so', () => {
    expect(DEFAULT_POLICY.sharedDevices).toEqual({ default: false, relyingParties: {} });
    const off = parsePolicy({
      relyingParties: { 'bank-a': { sharedDevices: true }, 'bank-b': { stepUpBelow: 0.6 } },
    });
    // Not a threshold: the decision's `policy` does not show it.
    expect(thresholdsFor(off, 'bank-a')).toEqual(DEFAULT_THRESHOLDS);
    expect(sharedDevicesFor(off, 'bank-a')).toBe(true);
    expect(sharedDevicesFor(off, 'bank-b')).toBe(false);
    expect(sharedDevicesFor(off, 'bank-c')).toBe(false);
    expect(sharedDevicesFor(off, 'constructor')).toBe(false);
    expect(sharedDeviceScope(off)).toEqual({ sharedDeviceRps: ['bank-a'], exclusiveDeviceRps: [] });
    const on = parsePolicy({
      default: { sharedDevices: true },
      relyingParties: { 'bank-a': { sharedDevices: false }, 'bank-b': {} },
    });
    expect(sharedDevicesFor(on, 'bank-a')).toBe(false);
    expect(sharedDevicesFor(on, 'bank-b')).toBe(true);
    expect(sharedDevicesFor(on, 'bank-c')).toBe(true);
    expect(sharedDeviceScope(on)).toEqual({
      sharedDeviceRps: ['*'],
      exclusiveDeviceRps: ['bank-a'],
    });
    expect(() => parsePolicy({ default: { sharedDevices: 'yes' } })).toThrow(PolicyError);
    expect(() => parsePolicy({ relyingParties: { x: { sharedDevices: 1 } } })).toThrow(PolicyError);
  });

  it.each([
    ['not an object', []],
    ['unknown member', { defaults: {} }],
    ['unknown threshold', { default: { stepUp: 0.5 } }],
    ['threshold above 1', { default: { stepUpBelow: 1.5 } }],
    ['negative threshold', { default: { terminateBelow: -0.1 } }],
    ['threshold as string', { default: { stepUpBelow: '0.5' } }],
    ['unknown action', { default: { enrollingAction: 'deny' } }],
    ['fractional seconds', { default: { staleAfterSeconds: 1.5 } }],
    ['zero seconds', { default: { staleAfterSeconds: 0 } }],
    ['bad relying-party id', { relyingParties: { 'Bank A': {} } }],
    ['wrong version', { version: 2 }],
    ['terminate above step-up', { default: { terminateBelow: 0.6 } }],
    ['terminate above step-up for one rp', { relyingParties: { x: { stepUpBelow: 0.1 } } }],
  ])('refuses %s', (_name, value) => {
    expect(() => parsePolicy(value)).toThrow(PolicyError);
  });
});

describe('loadPolicyFile', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'tacit-policy-'));
    dirs.push(dir);
    const path = join(dir, 'policy.json');
    writeFileSync(path, text);
    return path;
  };

  it('reads a valid file', () => {
    const p = loadPolicyFile(file('{"default": {"staleAfterSeconds": 30}}'));
    expect(p.default.staleAfterSeconds).toBe(30);
  });

  it('missing file, bad JSON and bad content are PolicyErrors', () => {
    expect(() => loadPolicyFile('/nonexistent/tacit-policy.json')).toThrow(/ENOENT/);
    expect(() => loadPolicyFile(file('{nope'))).toThrow(PolicyError);
    expect(() => loadPolicyFile(file('{"default": {"stepUpBelow": 2}}'))).toThrow(
      /default\.stepUpBelow/,
    );
  });
});
