import { describe, expect, it } from 'vitest';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import type { FeatureWindow } from '../features/windower';
import {
  FIELD_GAP_MS,
  type ScoredWindow,
  attackStream,
  formStream,
  genuineOutcome,
  keysIn,
  scoreStream,
  takeoverOutcome,
} from './takeover';

const FAST = { holdMs: 40, flightMs: 60 };
const decision = (falseAlarmWindows: number, weight = 1) => ({
  clamp: 3,
  weight,
  decision: { falseAlarmWindows, cap: 2 },
});

describe('formStream', () => {
  it('joins recordings as form fields: unique press ids, a focus change, the gap between', () => {
    const a = syntheticKeystrokes(TYPIST_A, 10, { seed: 1 });
    const b = syntheticKeystrokes(TYPIST_A, 10, { seed: 2 });
    const s = formStream([a, b], false);
    expect(keysIn(s)).toBe(20);
    const ids = s.filter((x) => x.e.k === 'kd').map((x) => x.e.i);
    expect(new Set(ids).size).toBe(20);
    const fc = s.findIndex((x) => x.e.k === 'fc');
    const endA = Math.max(...s.slice(0, fc).map((x) => x.e.t));
    expect(s[fc + 1]!.e.t).toBe(endA + FIELD_GAP_MS);
    expect(s.every((x, k) => k === 0 || x.e.t >= s[k - 1]!.e.t)).toBe(true);
  });

  it('keeps at most maxKeys presses, each with its release', () => {
    const a = syntheticKeystrokes(TYPIST_A, 10, { seed: 1 });
    const s = formStream([a, a], true, 15);
    expect(keysIn(s)).toBe(15);
    expect(s.filter((x) => x.e.k === 'ku')).toHaveLength(15);
    expect(s.every((x) => x.impostor)).toBe(true);
  });
});

describe('a takeover in the middle of a window', () => {
  const genuine = formStream([syntheticKeystrokes(TYPIST_A, 100, { seed: 3 })], false);
  const impostor = formStream([syntheticKeystrokes(FAST, 100, { seed: 4 })], true);
  const attack = attackStream(genuine, impostor, 50);
  const takeoverT = attack.find((x) => x.impostor)!.e.t;
  // A scorer that knows who typed: any window with an impostor key is unlike the user.
  const llr = (w: FeatureWindow) => (w.end > takeoverT ? -3 : 2);

  it('mixes both people in the window in progress', () => {
    expect(keysIn(attack)).toBe(150);
    const windows = scoreStream(attack, { keysPerWindow: 20 }, llr);
    expect(windows.map((w) => [w.keys, w.impostorKeys])).toEqual([
      [20, 0],
      [40, 0],
      [60, 10],
      [80, 30],
      [100, 50],
      [120, 70],
      [140, 90],
    ]);
  });

  it('fires on the second impostor window without overlap (budget 400: h ≈ 5.99 < 2 × 3)', () => {
    const windows = scoreStream(attack, { keysPerWindow: 20 }, llr);
    expect(takeoverOutcome(windows, decision(400))).toEqual({
      keysToFlag: 30,
      flaggedBefore: false,
    });
    // A budget above e^6 needs a third window.
    expect(takeoverOutcome(windows, decision(1000)).keysToFlag).toBe(50);
  });

  it('weights overlapping windows by hop / window: eight windows of −0.75 every 5 keys', () => {
    const windows = scoreStream(attack, { keysPerWindow: 20, keyHop: 5 }, llr);
    expect(windows[0]).toMatchObject({ keys: 20, impostorKeys: 0 });
    expect(takeoverOutcome(windows, decision(400, 5 / 20)).keysToFlag).toBe(40);
  });

  it('does not credit the impostor with a flag raised before the takeover', () => {
    const windows = scoreStream(attack, { keysPerWindow: 20 }, () => -3);
    expect(takeoverOutcome(windows, decision(400))).toEqual({
      keysToFlag: 10,
      flaggedBefore: true,
    });
  });
});

describe('genuineOutcome', () => {
  const at = (llrs: number[]): ScoredWindow[] =>
    llrs.map((llr, k) => ({ llr, keys: 20 * (k + 1), impostorKeys: 0 }));

  it('counts the first false flag and each episode of the statistic reaching h', () => {
    expect(genuineOutcome(at([2, 2, 2]), decision(400))).toEqual({
      keysToFalseFlag: null,
      episodes: 0,
    });
    expect(genuineOutcome(at([-3, -3, 3, 3, 3, -3, -3, -3]), decision(400))).toEqual({
      keysToFalseFlag: 40,
      episodes: 2,
    });
  });
});
