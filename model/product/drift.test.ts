import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FEATURE_SPECS } from '../features/schema';
import { createRng, gaussian } from '../random';
import {
  DRIFT,
  EMPTY_DRIFT_STATE,
  admitGrowth,
  checkDriftConfig,
  templateAnchor,
  templateDistance,
  updateDrift,
  windowsToReplace,
  type DriftState,
} from './drift';

const D = FEATURE_SPECS.keystroke.length;
const rng = createRng(7);
/** Windows around `centre` (per feature) with unit spread per feature, in the features' units. */
const windows = (n: number, shift = 0, scale = 1): Float32Array[] =>
  Array.from({ length: n }, () =>
    Float32Array.from({ length: D }, () => 100 + scale * 20 * (gaussian(rng) + shift)),
  );
const enrolment = windows(40);
const anchor = templateAnchor('keystroke', enrolment);
const batch = (vs: Float32Array[], llr: number | number[]) =>
  vs.map((vector, i) => ({ vector, llr: Array.isArray(llr) ? llr[i]! : llr }));

describe('the drift rule’s settings', () => {
  it('ships valid settings and refuses bad ones, quoting the value', () => {
    expect(checkDriftConfig(DRIFT)).toBe(DRIFT);
    expect(() => checkDriftConfig({ ...DRIFT, maxStep: 0 })).toThrow(/maxStep.*got 0/);
    expect(() => checkDriftConfig({ ...DRIFT, maxDistance: 0.1 })).toThrow(/maxDistance/);
    expect(() => checkDriftConfig({ ...DRIFT, driftLearnLlr: 2 })).toThrow(/driftLearnLlr/);
    expect(() => checkDriftConfig({ ...DRIFT, learnConfidence: 0.4 })).toThrow(/learnConfidence/);
    expect(() => checkDriftConfig({ ...DRIFT, driftLearnConfidence: 0.3 })).toThrow(
      /driftLearnConfidence.*got 0.3/,
    );
    expect(() => checkDriftConfig({ ...DRIFT, referenceBatches: 1.5 })).toThrow(/referenceBatches/);
  });
});

describe('template distance', () => {
  it('is about 0 for the enrolment itself and grows with a shift, in enrolment spreads', () => {
    expect(templateDistance(anchor, enrolment)).toBeLessThan(0.3);
    const shifted = enrolment.map((v) => v.map((x) => x + 2 * 20));
    // Every feature moved by about two robust spreads (σ ≈ 20 in these units).
    expect(templateDistance(anchor, shifted)).toBeGreaterThan(1.6);
    expect(templateDistance(anchor, shifted)).toBeLessThan(2.4);
  });
});

describe('admitGrowth', () => {
  const like = windows(10);
  it('admits a whole batch like the user, from a session well inside the safe region', () => {
    const a = admitGrowth(anchor, enrolment, batch(like, 1.5), 0.95, { drifted: false });
    expect(a).toMatchObject({ admitted: true, reason: 'admitted', gate: DRIFT.learnLlr });
  });

  it('refuses a batch of a session that came near a step-up, whatever its windows score', () => {
    const a = admitGrowth(anchor, enrolment, batch(like, 3), DRIFT.learnConfidence - 0.01, {
      drifted: false,
    });
    expect(a).toMatchObject({ admitted: false, reason: 'confidence' });
  });

  it('needs three quarters of a batch to favour the user: half foreign windows refuse it', () => {
    const fewLow = [2, 2, 2, 2, 2, 2, 2, 2, -3, -3];
    expect(
      admitGrowth(anchor, enrolment, batch(like, fewLow), 0.9, { drifted: false }).admitted,
    ).toBe(true);
    // Half the batch an attacker's: its median (1.0) would pass a median gate; the rule does not.
    const halfLow = [2, 2, 2, 2, 2, 0, -0.5, -0.5, -1, -1];
    expect(
      admitGrowth(anchor, enrolment, batch(like, halfLow), 0.9, { drifted: false }).reason,
    ).toBe('llr');
  });

  it('lowers the gate only while the user’s own scores have drifted', () => {
    const lowish = batch(like, (DRIFT.learnLlr + DRIFT.driftLearnLlr) / 2);
    expect(admitGrowth(anchor, enrolment, lowish, 0.9, { drifted: false }).reason).toBe('llr');
    expect(admitGrowth(anchor, enrolment, lowish, 0.9, { drifted: true })).toMatchObject({
      admitted: true,
      gate: DRIFT.driftLearnLlr,
    });
  });

  it('lowers the confidence floor only while drifted, to the drifted floor and no further', () => {
    const config = { ...DRIFT, learnConfidence: 0.8, driftLearnConfidence: 0.7 };
    const good = batch(like, 1.5);
    expect(admitGrowth(anchor, enrolment, good, 0.75, { drifted: false }, config)).toMatchObject({
      reason: 'confidence',
      floor: 0.8,
    });
    expect(admitGrowth(anchor, enrolment, good, 0.75, { drifted: true }, config)).toMatchObject({
      admitted: true,
      floor: 0.7,
    });
    expect(admitGrowth(anchor, enrolment, good, 0.69, { drifted: true }, config).reason).toBe(
      'confidence',
    );
    // A drifted floor above the usual one never raises it.
    const higher = { ...DRIFT, learnConfidence: 0.8, driftLearnConfidence: 0.9 };
    expect(admitGrowth(anchor, enrolment, good, 0.85, { drifted: true }, higher).admitted).toBe(
      true,
    );
  });

  it('judges a batch typed after a strong-factor confirmation by its own gate and floor, under the same caps', () => {
    const config = { ...DRIFT, confirmedLearnLlr: -1, confirmedLearnConfidence: 0.7 };
    const low = batch(like, -0.8);
    const plain = { drifted: false };
    const confirmed = { drifted: false, confirmed: true };
    expect(admitGrowth(anchor, enrolment, low, 0.9, plain, config).reason).toBe('llr');
    expect(admitGrowth(anchor, enrolment, low, 0.75, plain, config).reason).toBe('confidence');
    expect(admitGrowth(anchor, enrolment, low, 0.75, confirmed, config)).toMatchObject({
      admitted: true,
      gate: -1,
    });
    expect(admitGrowth(anchor, enrolment, low, 0.69, confirmed, config).reason).toBe('confidence');
    // A passkey vouches for who typed, not for how far one batch may move the template.
    const far = windows(10, 3);
    expect(
      admitGrowth(anchor, enrolment.slice(0, 10), batch(far, 2), 0.95, confirmed, config).reason,
    ).toBe('step');
  });

  it('refuses a batch that would move the template too far in one refit', () => {
    const far = windows(10, 3);
    const a = admitGrowth(anchor, enrolment.slice(0, 10), batch(far, 2), 0.95, { drifted: true });
    expect(a).toMatchObject({ admitted: false, reason: 'step' });
    expect(a.step).toBeGreaterThan(DRIFT.maxStep);
  });

  it('never lets admitted batches take the template beyond maxDistance (any batch sequence)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 30, maxLength: 30 }),
        (shifts, llrs) => {
          const template = enrolment.slice(0, 10);
          shifts.forEach((shift, i) => {
            const b = batch(windows(10, shift, 0.5), llrs[i]!);
            const a = admitGrowth(anchor, template, b, 1, { drifted: true });
            if (a.admitted) {
              expect(a.step).toBeLessThanOrEqual(DRIFT.maxStep);
              template.push(...b.map((c) => c.vector as Float32Array));
            }
            expect(templateDistance(anchor, template)).toBeLessThanOrEqual(
              Math.max(DRIFT.maxDistance, templateDistance(anchor, enrolment.slice(0, 10))) + 1e-9,
            );
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('windowsToReplace', () => {
  it('replaces nothing while there is room, then the oldest grown windows, never enrolment', () => {
    expect(windowsToReplace(50, 10, 10, 100)).toBe(0);
    expect(windowsToReplace(95, 10, 10, 100)).toBe(5);
    expect(windowsToReplace(100, 10, 10, 100)).toBe(10);
    expect(windowsToReplace(12, 10, 10, 12)).toBe(2);
  });
});

describe('the drift monitor', () => {
  const feed = (medians: number[], from: DriftState = EMPTY_DRIFT_STATE): DriftState =>
    medians.reduce((s, m) => updateDrift(s, new Array(10).fill(m)), from);

  it('takes its reference from the first batch, then stays quiet while the scores do', () => {
    const s = feed([1.5, 1.5, 1.4, 1.6, 1.5, 1.5]);
    expect(s.reference).toBe(1.5);
    expect(s.d).toBe(0);
    expect(s.drifted).toBe(false);
    expect(s.batches).toBe(6);
  });

  it('says drifted after a sustained fall of the user’s median score, and recovers', () => {
    const fallen = feed([1.5, 1.0, 0.9, 0.8, 0.7]);
    expect(fallen.drifted).toBe(true);
    expect(feed([1.5, 1.5, 1.5, 1.5], fallen).drifted).toBe(false);
  });

  it('is not moved by a minority of foreign windows in otherwise genuine batches', () => {
    let s = feed([1.5]);
    for (let i = 0; i < 20; i++) s = updateDrift(s, [1.5, 1.5, 1.5, 1.5, 1.5, 1.5, -3, -3, -3, -3]);
    expect(s.d).toBe(0);
    expect(s.drifted).toBe(false);
  });

  it('ignores an empty batch', () => {
    expect(updateDrift(EMPTY_DRIFT_STATE, [])).toBe(EMPTY_DRIFT_STATE);
  });
});
