import { describe, expect, it } from 'vitest';
import {
  EMPTY_DECISION_STATE,
  TAKEOVER_CEILING,
  checkDecisionConfig,
  decisionConfidence,
  decisionThreshold,
  updateDecision,
  type DecisionState,
} from './decision';

const config = { falseAlarmWindows: 1000, cap: 2 };
const h = Math.log(1000);
const run = (llrs: number[], from: DecisionState = EMPTY_DECISION_STATE) =>
  llrs.reduce((s, llr) => updateDecision(s, 'keystroke', llr, config), from);

describe('the CUSUM decision', () => {
  it('has h = ln(false-alarm budget)', () => {
    expect(decisionThreshold(config)).toBeCloseTo(h, 12);
  });

  it('stays at 0 while the evidence favours the user (no debt from a long genuine session)', () => {
    const s = run(new Array(500).fill(1.5));
    expect(s.s).toBe(0);
    expect(s.takeover).toBe(false);
    expect(s.windows).toEqual({ keystroke: 500, pointer: 0 });
  });

  it('accumulates windows that are each only somewhat unlike the user', () => {
    const weak = -1; // one window alone is far from h
    const s = run(new Array(6).fill(weak));
    expect(s.s).toBeCloseTo(6, 12);
    expect(s.takeover).toBe(false);
    expect(run(new Array(7).fill(weak)).takeover).toBe(true);
  });

  it('is sticky once fired, caps S at cap·h, and keeps the confidence below the step-up level', () => {
    const fired = run(new Array(30).fill(-3));
    expect(fired.s).toBeCloseTo(2 * h, 12);
    const back = run(new Array(30).fill(3), fired);
    expect(back.s).toBe(0);
    expect(back.takeover).toBe(true);
    expect(decisionConfidence(back, config)).toBe(TAKEOVER_CEILING);
  });

  it('maps S to a confidence: 0.95 with no evidence, 0.5 at h, falling beyond', () => {
    const at = (s: number) => decisionConfidence({ ...EMPTY_DECISION_STATE, s }, config);
    expect(at(0)).toBeCloseTo(1 / (1 + Math.exp(-3)), 12);
    expect(at(h)).toBeCloseTo(0.5, 12);
    expect(at(2 * h)).toBeLessThan(0.05);
  });

  it('counts NaN as evidence against the user (fail closed)', () => {
    expect(run([Number.NaN]).takeover).toBe(true);
  });

  it('refuses budgets and caps out of range', () => {
    expect(() => checkDecisionConfig({ falseAlarmWindows: 1, cap: 2 })).toThrow(RangeError);
    expect(() => checkDecisionConfig({ falseAlarmWindows: 100, cap: 0.5 })).toThrow(RangeError);
  });
});
