import { describe, expect, it } from 'vitest';
import {
  ASSURANCE,
  assess,
  confirmedLast,
  decay,
  levelOf,
  nextEwma,
  type AssuranceState,
} from './assurance';

const T = 1_700_000_000_000;
const scoring = (ewma: number, at = T): AssuranceState => ({
  attestations: 3,
  ewma,
  lastState: 'scoring',
  lastAttestationAt: at,
});

describe('nextEwma', () => {
  it("takes the device's stated confidence as it is (α = 1: no second smoothing)", () => {
    expect(ASSURANCE.alpha).toBe(1);
    expect(nextEwma(null, 0.9)).toBe(0.9);
    expect(nextEwma(0.9, 0.7)).toBeCloseTo(0.7, 12);
    expect(nextEwma(0.8, 0)).toBe(0);
  });
});

describe('decay', () => {
  it('is flat during the 30 s grace period', () => {
    for (const age of [0, 1, 15_000, 30_000]) expect(decay(0.8, age)).toBe(0.8);
  });
  it('then multiplies by exp(-(age - 30 s) / 60 s)', () => {
    expect(decay(0.8, 90_000)).toBeCloseTo(0.8 * Math.exp(-1), 12);
    expect(decay(0.8, 150_000)).toBeCloseTo(0.8 * Math.exp(-2), 12);
  });
  it('treats a clock step back as no age', () => {
    expect(decay(0.8, -5_000)).toBe(0.8);
  });
});

describe('levelOf', () => {
  it.each([
    [1, 'high'],
    [0.8, 'high'],
    [0.7999, 'medium'],
    [0.5, 'medium'],
    [0.4999, 'low'],
    [0, 'low'],
  ] as const)('%s → %s', (value, level) => {
    expect(levelOf(value)).toBe(level);
  });
});

describe('assess', () => {
  it('none before any attestation', () => {
    const empty: AssuranceState = {
      attestations: 0,
      ewma: null,
      lastState: null,
      lastAttestationAt: null,
    };
    expect(assess(empty, T)).toEqual({ assurance: null, level: 'none', state: null });
  });

  it('enrolling while the last attestation says so, even after scoring ones', () => {
    const state: AssuranceState = {
      attestations: 5,
      ewma: 0.9,
      lastState: 'enrolling',
      lastAttestationAt: T,
    };
    expect(assess(state, T)).toEqual({ assurance: null, level: 'enrolling', state: 'enrolling' });
  });

  it('rounds to 4 decimals before choosing the level (no 0.7999999 → medium)', () => {
    const ewma = 0.7 + 0.1; // 0.7999999999999999 in binary floating point
    expect(assess(scoring(ewma), T)).toEqual({ assurance: 0.8, level: 'high', state: 'scoring' });
  });

  it('does not decay within the grace period', () => {
    expect(assess(scoring(0.9), T + 30_000)).toEqual({
      assurance: 0.9,
      level: 'high',
      state: 'scoring',
    });
  });

  it('decay reaches medium and low at the expected ages', () => {
    // 0.9 · exp(-(age-30)/60) < 0.8 once age > 30 + 60·ln(0.9/0.8) ≈ 37.07 s
    expect(assess(scoring(0.9), T + 37_000).level).toBe('high');
    expect(assess(scoring(0.9), T + 37_200).level).toBe('medium');
    // < 0.5 once age > 30 + 60·ln(1.8) ≈ 65.27 s
    expect(assess(scoring(0.9), T + 65_200).level).toBe('medium');
    expect(assess(scoring(0.9), T + 65_400).level).toBe('low');
    expect(assess(scoring(0.9), T + 3_600_000).assurance).toBe(0);
  });
});

describe('strong-factor confirmation', () => {
  it('is the latest evidence until an attestation is accepted after it', () => {
    expect(confirmedLast({ confirmedAt: null, lastAttestationAt: T })).toBe(false);
    expect(confirmedLast({ lastAttestationAt: T })).toBe(false);
    expect(confirmedLast({ confirmedAt: T, lastAttestationAt: null })).toBe(true);
    expect(confirmedLast({ confirmedAt: T + 1, lastAttestationAt: T })).toBe(true);
    expect(confirmedLast({ confirmedAt: T, lastAttestationAt: T })).toBe(true);
    expect(confirmedLast({ confirmedAt: T, lastAttestationAt: T + 1 })).toBe(false);
  });

  it('replaces a low assurance with the confirmed one, which decays from the confirmation', () => {
    const low = { ...scoring(0.3), confirmedAt: T + 5_000 };
    expect(assess(low, T + 5_000)).toEqual({
      assurance: ASSURANCE.confirmed,
      level: 'high',
      state: 'scoring',
    });
    expect(assess(low, T + 5_000 + 90_000).assurance).toBeCloseTo(
      ASSURANCE.confirmed * Math.exp(-1),
      4,
    );
    // An attestation after it speaks again (here: the person changed again).
    expect(assess({ ...low, lastAttestationAt: T + 6_000 }, T + 6_000).assurance).toBe(0.3);
  });

  it('vouches for a session whose device is still enrolling, or has not attested yet', () => {
    const enrolling: AssuranceState = {
      attestations: 2,
      ewma: null,
      lastState: 'enrolling',
      lastAttestationAt: T,
      confirmedAt: T + 1,
    };
    expect(assess(enrolling, T + 1)).toMatchObject({ level: 'high', state: 'enrolling' });
    const none: AssuranceState = {
      attestations: 0,
      ewma: null,
      lastState: null,
      lastAttestationAt: null,
      confirmedAt: T,
    };
    expect(assess(none, T)).toEqual({ assurance: ASSURANCE.confirmed, level: 'high', state: null });
  });
});
