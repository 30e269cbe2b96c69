import { describe, expect, it } from 'vitest';
import { createRng } from '../random';
import { symmetricEigen } from './eigen';

describe('symmetricEigen', () => {
  it('solves a known 3×3 matrix', () => {
    // [[2, -1, 0], [-1, 2, -1], [0, -1, 2]]: eigenvalues 2 + √2, 2, 2 − √2.
    const { values, vectors } = symmetricEigen([2, -1, 0, -1, 2, -1, 0, -1, 2], 3);
    expect(values[0]).toBeCloseTo(2 + Math.SQRT2, 12);
    expect(values[1]).toBeCloseTo(2, 12);
    expect(values[2]).toBeCloseTo(2 - Math.SQRT2, 12);
    // The top eigenvector is ±(1/2, −√2/2, 1/2).
    const s = Math.sign(vectors[0]!);
    expect(s * vectors[0]!).toBeCloseTo(0.5, 12);
    expect(s * vectors[3]!).toBeCloseTo(-Math.SQRT1_2, 12);
    expect(s * vectors[6]!).toBeCloseTo(0.5, 12);
  });

  it('decomposes a random symmetric matrix: A V = V Λ with orthonormal V', () => {
    const n = 30;
    const rng = createRng(5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const v = rng() * 2 - 1;
        a[i * n + j] = v;
        a[j * n + i] = v;
      }
    }
    const { values, vectors } = symmetricEigen(a, n);
    for (let k = 1; k < n; k++) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[j * n + c]!;
        expect(av).toBeCloseTo(values[c]! * vectors[i * n + c]!, 9);
      }
      for (let d = 0; d < n; d++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += vectors[i * n + c]! * vectors[i * n + d]!;
        expect(dot).toBeCloseTo(c === d ? 1 : 0, 9);
      }
    }
  });

  it('handles a diagonal matrix and rejects a wrong shape', () => {
    expect(Array.from(symmetricEigen([1, 0, 0, 3], 2).values)).toEqual([3, 1]);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(RangeError);
  });
});
