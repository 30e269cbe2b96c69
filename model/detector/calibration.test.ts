import { describe, expect, it } from 'vitest';
import { calibrate, fitCalibration, logSpread } from './calibration';

const params = { margin: 2.5, sharpness: 2, minLogSpread: 0.2, maxLogSpread: 0.3 };

describe('calibration', () => {
  it('puts 0.5 at margin spreads above the median held-out log anomaly', () => {
    const heldOut = [0.5, 0.6, 0.7, 0.8, 1.0];
    const c = fitCalibration(heldOut, params);
    const spread = logSpread(
      heldOut.map((s) => Math.log(s + 1e-6)),
      params,
    );
    expect(c.center).toBeCloseTo(Math.log(0.7) + 2.5 * spread, 5);
    expect(c.width).toBeCloseTo(spread / 2, 12);
    expect(calibrate(c, Math.exp(c.center) - 1e-6)).toBeCloseTo(0.5, 9);
    // At the median: logistic(margin · sharpness) = logistic(5).
    expect(calibrate(c, 0.7)).toBeCloseTo(1 / (1 + Math.exp(-5)), 4);
  });

  it('clamps the spread (robust MAD) between its floor and its cap', () => {
    expect(logSpread([0, 0, 0, 0], params)).toBe(0.2);
    expect(logSpread([-3, 0, 3, 6, -6], params)).toBe(0.3);
    expect(logSpread([0, 0.15, -0.15, 0.15, -0.15], params)).toBeCloseTo(0.15 * 1.4826, 6);
    // One wild window among consistent ones does not widen the curve.
    expect(logSpread([0, 0.01, -0.01, 0.02, 9], params)).toBe(0.2);
  });

  it('is decreasing in the anomaly and stays in [0, 1]', () => {
    const c = fitCalibration([0.6, 0.7, 0.8], params);
    const xs = [0, 1e-12, 0.1, 0.5, 0.7, 1, 2, 5, 1e3, 1e300, Infinity];
    const ys = xs.map((x) => calibrate(c, x));
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeLessThanOrEqual(ys[i - 1]!);
    for (const y of ys) expect(y >= 0 && y <= 1).toBe(true);
    expect(calibrate(c, Infinity)).toBe(0);
    expect(calibrate(c, NaN)).toBe(0);
    expect(calibrate(c, -5)).toBe(calibrate(c, 0));
  });
});
