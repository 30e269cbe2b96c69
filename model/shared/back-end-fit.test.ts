import { describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { keystrokeSteps } from '../features/sequence';
import { createRng } from '../random';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { applyBackEnd } from './back-end';
import { fitBackEnd, trainingEmbeddings } from './back-end-fit';
import type { SharedEncoder } from './encoder';

const v = (...x: number[]): Float32Array => Float32Array.from(x);
/** Four points around a centre: ±2 along x, ±1 along y. Per-user covariance diag(2, 0.5). */
const cross = (cx: number, cy: number): Float32Array[] => [
  v(cx + 2, cy),
  v(cx - 2, cy),
  v(cx, cy + 1),
  v(cx, cy - 1),
];
/** Two users with means (1, 1) and (−1, −1): μ = 0, Sw = diag(2, 0.5), Sb = [[1, 1], [1, 1]]. */
const GROUPS = [cross(1, 1), cross(-1, -1)];

const cos = (a: Float32Array, b: Float32Array): number => a[0]! * b[0]! + a[1]! * b[1]!;
/** Pᵀ S P for a 2-row projection stored row-major with `k` columns. */
function congruence(p: Float32Array, k: number, s: number[][]): number[][] {
  const out = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++)
      for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) out[a]![b]! += p[i * k + a]! * s[i]![j]! * p[j * k + b]!;
  return out;
}

describe('fitBackEnd()', () => {
  it('whitening makes the within-user covariance the identity (shrinkage 0)', () => {
    const b = fitBackEnd(GROUPS, { method: 'whiten', shrinkage: 0 });
    expect(b).toMatchObject({ method: 'whiten', inputs: 2, outputs: 2, users: 2, samples: 8 });
    expect(Array.from(b.mean)).toEqual([0, 0]);
    const w = congruence(b.projection, 2, [
      [2, 0],
      [0, 0.5],
    ]);
    expect(w[0]![0]).toBeCloseTo(1, 6);
    expect(w[1]![1]).toBeCloseTo(1, 6);
    expect(w[0]![1]).toBeCloseTo(0, 6);
    // (3, 1) and (1, 3) whiten to (3/√2, √2) and (1/√2, 3√2): cosine 7.5 / √(6.5 · 18.5).
    const c = cos(applyBackEnd(b, v(3, 1)), applyBackEnd(b, v(1, 3)));
    expect(c).toBeCloseTo(7.5 / Math.sqrt(6.5 * 18.5), 6);
  });

  it('with shrinkage 1 only centres (cosines of the centred embeddings)', () => {
    // Sw → tr(Sw)/2 · I = 1.25 I: a multiple of the identity does not change a cosine.
    const b = fitBackEnd(GROUPS, { method: 'whiten', shrinkage: 1 });
    expect(cos(applyBackEnd(b, v(3, 1)), applyBackEnd(b, v(1, 3)))).toBeCloseTo(0.6, 6);
  });

  it('shrinkage 0.5 whitens the halfway covariance diag(1.625, 0.875)', () => {
    const b = fitBackEnd(GROUPS, { method: 'whiten', shrinkage: 0.5 });
    const x = [3 / Math.sqrt(1.625), 1 / Math.sqrt(0.875)];
    const y = [1 / Math.sqrt(1.625), 3 / Math.sqrt(0.875)];
    const expected = (x[0]! * y[0]! + x[1]! * y[1]!) / (Math.hypot(x[0]!, x[1]!) * Math.hypot(y[0]!, y[1]!));
    expect(cos(applyBackEnd(b, v(3, 1)), applyBackEnd(b, v(1, 3)))).toBeCloseTo(expected, 6);
  });

  it('LDA finds Fisher’s direction Sw⁻¹(μ₁ − μ₂) ∝ (1, 4), with unit within-user variance', () => {
    const b = fitBackEnd(GROUPS, { method: 'lda', shrinkage: 0 });
    expect(b.outputs).toBe(1); // 2 users: one discriminant direction
    const [p0, p1] = [b.projection[0]!, b.projection[1]!];
    expect(p1 / p0).toBeCloseTo(4, 6);
    expect(2 * p0 * p0 + 0.5 * p1 * p1).toBeCloseTo(1, 6); // pᵀ Sw p = 1
    // One dimension, then unit length: every embedding is ±1, on its user's side.
    const side = applyBackEnd(b, v(1.2, 0.9))[0]!;
    expect(Math.abs(side)).toBeCloseTo(1, 6);
    expect(applyBackEnd(b, v(-1.2, -0.9))[0]).toBeCloseTo(-side, 6);
  });

  it('weighs users equally whatever their number of embeddings', () => {
    const many = [[...cross(1, 1), ...cross(1, 1), ...cross(1, 1)], cross(-1, -1)];
    const a = fitBackEnd(GROUPS, { method: 'whiten', shrinkage: 0 });
    const b = fitBackEnd(many, { method: 'whiten', shrinkage: 0 });
    expect(Array.from(b.mean)).toEqual(Array.from(a.mean));
    expect(cos(applyBackEnd(b, v(3, 1)), applyBackEnd(b, v(1, 3)))).toBeCloseTo(
      cos(applyBackEnd(a, v(3, 1)), applyBackEnd(a, v(1, 3))),
      6,
    );
  });

  it('refuses bad settings and too little data', () => {
    expect(() => fitBackEnd([cross(0, 0)])).toThrow(RangeError);
    expect(() => fitBackEnd([cross(0, 0), [v(1, 1)]])).toThrow(RangeError);
    expect(() => fitBackEnd(GROUPS, { shrinkage: 1.5 })).toThrow(RangeError);
    expect(() => fitBackEnd(GROUPS, { method: 'lda', dimensions: 2 })).toThrow(RangeError);
    expect(() => fitBackEnd([cross(0, 0), [v(1, 1, 1), v(0, 0, 0)]])).toThrow(RangeError);
  });
});

describe('trainingEmbeddings()', () => {
  const encoder: SharedEncoder = (() => {
    const rng = createRng(2);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng() - 0.5);
    return {
      modality: 'keystroke',
      stepFeatures: [],
      convs: [{ kernel: 3, inputs: 14, units: 4, weights: rand(3 * 14 * 4), bias: rand(4) }],
      dense: { inputs: 8, units: 3, weights: rand(24), bias: rand(3) },
      provenance: { dataset: 't', licence: 't', users: 0, task: 't', trainedAt: '', notes: '' },
    };
  })();
  encoder.stepFeatures = new Array<string>(14).fill('f');
  const seq = (presses: number, seed: number) =>
    keystrokeSteps(pairKeyPresses(syntheticKeystrokes(TYPIST_A, presses, { seed })));

  it('embeds each sequence once whole and `crops` times cropped, deterministically', () => {
    const users = [{ sequences: [seq(30, 1), seq(12, 2), seq(1, 3)] }, { sequences: [seq(60, 4)] }];
    const a = trainingEmbeddings(encoder, users, { crops: 3, minLength: 5, maxLength: 20 });
    expect(a.map((g) => g.length)).toEqual([8, 4]); // the 1-press sequence is skipped
    expect(a).toEqual(trainingEmbeddings(encoder, users, { crops: 3, minLength: 5, maxLength: 20 }));
    expect(a[0]![0]).not.toEqual(a[0]![1]);
  });
});
