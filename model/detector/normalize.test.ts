import { describe, expect, it } from 'vitest';
import type { FeatureSpec } from '../features/schema';
import { fitNormalization, zScores } from './normalize';

const spec = (minScale: number): FeatureSpec => ({
  name: 'f',
  unit: 'ms',
  description: 'test feature',
  minScale,
});

describe('robust normalisation', () => {
  it('centres on the median and scales by IQR / 1.349 with the floors', () => {
    const rows = [
      [1, 100, 0],
      [2, 100, 0],
      [3, 100, 0],
      [4, 100, 0],
      [100, 100, 1],
    ];
    const n = fitNormalization(rows, [spec(0.1), spec(1), spec(0.05)], 0.1);
    expect(Array.from(n.center)).toEqual([3, 100, 0]);
    // quartiles 2 and 4 → IQR 2; constant column → max(minScale 1, 0.1 × 100); zeros → minScale.
    expect(n.scale[0]).toBeCloseTo(2 / 1.349, 12);
    expect(n.scale[1]).toBe(10);
    expect(n.scale[2]).toBe(0.05);
  });

  it('clips z-scores and maps non-finite features to +zClip (fail closed)', () => {
    const n = { center: Float64Array.of(0, 0, 0, 0), scale: Float64Array.of(1, 1, 1, 1) };
    const z = zScores([2, -50, NaN, Infinity], n, 5, new Float64Array(4));
    expect(Array.from(z)).toEqual([2, -5, 5, 5]);
  });
});
