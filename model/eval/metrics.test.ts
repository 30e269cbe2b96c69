import { describe, expect, it } from 'vitest';
import {
  auc,
  distribution,
  eer,
  frrAtFarFromRoc,
  quantile,
  rocCurve,
  thinRoc,
  verificationMetrics,
} from './metrics';

describe('rocCurve', () => {
  it('steps through every distinct score, ties moving both rates at once', () => {
    // genuine 3, 2, 1; impostor 2, 0 (worked by hand)
    expect(rocCurve([3, 2, 1], [2, 0])).toEqual([
      { threshold: Infinity, far: 0, frr: 1 },
      { threshold: 3, far: 0, frr: 2 / 3 },
      { threshold: 2, far: 0.5, frr: 1 / 3 },
      { threshold: 1, far: 0.5, frr: 0 },
      { threshold: 0, far: 1, frr: 0 },
    ]);
  });

  it('refuses empty score lists', () => {
    expect(() => rocCurve([], [1])).toThrow(RangeError);
    expect(() => auc([1], [])).toThrow(RangeError);
  });
});

describe('eer', () => {
  it('is 0 for perfect separation', () => {
    expect(eer([0.9, 0.8, 0.7], [0.1, 0.2])).toBe(0);
  });

  it('is 0.5 when every score is equal', () => {
    expect(eer([0.5, 0.5], [0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('interpolates along a diagonal (tied) segment', () => {
    // From (FAR 0, FRR 2/3) to (1/2, 1/3): FRR − FAR goes 2/3 → −1/6, crossing at t = 0.8.
    expect(eer([3, 2, 1], [2, 0])).toBeCloseTo(0.4, 12);
  });

  it('lands on a point where FAR = FRR exactly', () => {
    expect(eer([4, 2], [3, 1])).toBe(0.5);
  });

  it('is 1 when every impostor beats every genuine score', () => {
    expect(eer([0.1, 0.2], [0.8, 0.9])).toBe(1);
  });

  it('treats NaN as the lowest score', () => {
    expect(eer([1, NaN], [0])).toBeCloseTo(eer([1, -Infinity], [0]), 12);
  });
});

describe('auc', () => {
  it('is 1 for perfect separation, 0 for perfect inversion', () => {
    expect(auc([0.9, 0.8], [0.1, 0.2, 0.3])).toBe(1);
    expect(auc([0.1], [0.9, 0.8])).toBe(0);
  });

  it('counts ties as one half', () => {
    // pairs: 3>2, 3>0, 2=2 (½), 2>0, 1<2, 1>0 → 4.5 / 6
    expect(auc([3, 2, 1], [2, 0])).toBe(0.75);
    expect(auc([0.5, 0.5], [0.5, 0.5, 0.5])).toBe(0.5);
  });

  it('matches a brute-force pair count on random scores with ties', () => {
    const g = [1, 3, 3, 5, 2, 2, 8, 0];
    const im = [2, 3, 1, 1, 4, 0, 0, 3, 7];
    let wins = 0;
    for (const a of g) for (const b of im) wins += a > b ? 1 : a === b ? 0.5 : 0;
    expect(auc(g, im)).toBeCloseTo(wins / (g.length * im.length), 12);
  });
});

describe('frrAtFarFromRoc', () => {
  it('takes the lowest FRR at a threshold whose FAR does not exceed the target', () => {
    const roc = rocCurve([3, 2, 1], [2, 0]);
    expect(frrAtFarFromRoc(roc, 0.01)).toBeCloseTo(2 / 3, 12);
    expect(frrAtFarFromRoc(roc, 0.5)).toBe(0);
    expect(frrAtFarFromRoc(rocCurve([0.5], [0.5]), 0.01)).toBe(1);
  });

  it('resolves FAR 1 % only with enough impostors', () => {
    const impostor = Array.from({ length: 200 }, (_, k) => k / 200); // 0 … 0.995
    const genuine = [0.999, 0.994, 0.5]; // 0.994 is beaten by 1 impostor (0.995): FAR 0.5 %
    const m = verificationMetrics(genuine, impostor);
    expect(m.frrAtFar1).toBeCloseTo(1 / 3, 12);
    expect(m.frrAtFar01).toBeCloseTo(2 / 3, 12);
  });
});

describe('thinRoc', () => {
  it('keeps both ends and at most the requested points', () => {
    const g = Array.from({ length: 1000 }, (_, k) => k);
    const im = Array.from({ length: 1000 }, (_, k) => k + 0.5);
    const full = rocCurve(g, im);
    const thin = thinRoc(full, 50);
    expect(thin.length).toBeLessThanOrEqual(50);
    expect(thin[0]).toEqual(full[0]);
    expect(thin[thin.length - 1]).toEqual(full[full.length - 1]);
  });
});

describe('distribution helpers', () => {
  it('interpolates quantiles linearly between order statistics', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.9)).toBeCloseTo(3.7, 12);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('summarizes per-user EERs', () => {
    const d = distribution([0, 0.1, 0.2, 0.5]);
    expect(d.n).toBe(4);
    expect(d.mean).toBeCloseTo(0.2, 12);
    expect(d.median).toBeCloseTo(0.15, 12);
    expect(d.p90).toBeCloseTo(0.41, 12); // position 2.7: 0.2 + 0.7 · 0.3
    expect(distribution([]).mean).toBeNaN();
  });
});
