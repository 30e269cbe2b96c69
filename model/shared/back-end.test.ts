import { describe, expect, it } from 'vitest';
import { float32ToBase64 } from '../detector/base64';
import {
  type EmbeddingBackEnd,
  applyBackEnd,
  backEndFingerprint,
  backEndFromJSON,
  backEndToJSON,
} from './back-end';

/** 3 → 2: y = Pᵀ (x − μ) with μ = (1, 0, 0), P = [[2, 0], [0, 1], [0, 0]]. */
const BACK_END: EmbeddingBackEnd = {
  method: 'lda',
  inputs: 3,
  outputs: 2,
  mean: Float32Array.from([1, 0, 0]),
  projection: Float32Array.from([2, 0, 0, 1, 0, 0]),
  shrinkage: 0.1,
  users: 4,
  samples: 20,
};

describe('applyBackEnd()', () => {
  it('centres, projects and scales to unit length (hand-computed)', () => {
    // x − μ = (0.5, 1.5, 7): y = (1, 1.5), |y| = √3.25; the third input has no weight.
    const y = applyBackEnd(BACK_END, Float32Array.from([1.5, 1.5, 7]));
    expect(y).toHaveLength(2);
    expect(y[0]).toBeCloseTo(1 / Math.sqrt(3.25), 6);
    expect(y[1]).toBeCloseTo(1.5 / Math.sqrt(3.25), 6);
  });

  it('maps the mean itself to the zero vector and refuses a wrong length', () => {
    expect(Array.from(applyBackEnd(BACK_END, Float32Array.from([1, 0, 3])))).toEqual([0, 0]);
    expect(() => applyBackEnd(BACK_END, new Float32Array(2))).toThrow(RangeError);
  });
});

describe('back-end JSON', () => {
  it('round-trips exactly', () => {
    const back = backEndFromJSON(JSON.parse(JSON.stringify(backEndToJSON(BACK_END))), 3);
    expect(back).toEqual(BACK_END);
    expect(backEndFingerprint(back)).toBe(backEndFingerprint(BACK_END));
  });

  it('refuses bad methods, shapes, weights and shrinkage with ERR_MODEL_FORMAT', () => {
    const json = backEndToJSON(BACK_END);
    const bad: unknown[] = [
      null,
      'lda',
      { ...json, method: 'plda' },
      { ...json, inputs: 4 },
      { ...json, outputs: 0 },
      { ...json, outputs: 4 },
      { ...json, method: 'whiten' }, // whitening keeps every dimension
      { ...json, mean: float32ToBase64(new Float32Array(2)) },
      { ...json, projection: 'AAAA' },
      { ...json, mean: float32ToBase64(Float32Array.from([0, NaN, 0])) },
      { ...json, shrinkage: 2 },
    ];
    for (const b of bad) {
      expect(() => backEndFromJSON(b, 3)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
    }
  });

  it('fingerprints the weights: any change gives another id', () => {
    const other = { ...BACK_END, projection: Float32Array.from([2, 0, 0, 1, 0, 1e-6]) };
    expect(backEndFingerprint(other)).not.toBe(backEndFingerprint(BACK_END));
    expect(backEndFingerprint(BACK_END)).toMatch(/^lda2-[0-9a-f]{8}$/);
  });
});
