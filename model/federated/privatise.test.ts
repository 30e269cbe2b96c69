import { describe, expect, it } from 'vitest';
import { createRng, gaussian } from '../random';
import {
  addGaussianNoise,
  clipDelta,
  deviceNoiseStd,
  l2Norm,
  privatiseDelta,
  resolvePrivatisationConfig,
  rngFromRandomValues,
} from './privatise';

const randomVector = (n: number, scale: number, seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * gaussian(rng));
};

describe('clipDelta()', () => {
  it('bounds the L2 norm by C on the float32 result, and keeps a smaller delta unchanged', () => {
    for (const [n, scale, clip] of [
      [10, 1, 0.5],
      [26592, 0.3, 1],
      [1000, 1e3, 1e-3],
      [7, 1e-30, 1e-31],
    ] as const) {
      for (let seed = 1; seed <= 5; seed++) {
        const d = randomVector(n, scale, seed);
        const c = clipDelta(d, clip);
        expect(l2Norm(c)).toBeLessThanOrEqual(clip);
        expect(l2Norm(c)).toBeGreaterThan(clip * (1 - 1e-5));
        // Same direction.
        expect(c[0]! * d[0]!).toBeGreaterThanOrEqual(0);
      }
    }
    const small = randomVector(100, 0.01, 9);
    expect(clipDelta(small, 10)).toEqual(small);
    expect(clipDelta(new Float32Array(5), 1)).toEqual(new Float32Array(5));
  });

  it('refuses a non-finite delta or a bad norm', () => {
    expect(() => clipDelta(Float32Array.from([1, NaN]), 1)).toThrow(TypeError);
    expect(() => clipDelta(Float32Array.from([1, Infinity]), 1)).toThrow(TypeError);
    expect(() => clipDelta(Float32Array.from([1]), 0)).toThrow(RangeError);
  });
});

describe('device noise', () => {
  it('has std σ·C/√m_min on each coordinate, zero mean (seeded; 4 % tolerance on the std)', () => {
    const config = resolvePrivatisationConfig({ clipNorm: 2, noiseMultiplier: 1.5, minDevices: 9 });
    expect(deviceNoiseStd(config)).toBeCloseTo(1, 12);
    const n = 20000;
    // A zero delta: what comes back is the noise alone.
    const noisy = privatiseDelta(new Float32Array(n), config, createRng(42));
    let sum = 0;
    let sq = 0;
    for (const v of noisy) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    // Standard error of the std ≈ σ/√(2n) = 0.005: 4 % is 8 standard errors.
    expect(Math.abs(std - 1)).toBeLessThan(0.04);
    expect(Math.abs(mean)).toBeLessThan(0.04);
    // The sum over m_min devices then carries std σ·C: what the accountant assumes.
    const devices = 9;
    const coords = 4000;
    const total = new Float64Array(coords);
    for (let k = 0; k < devices; k++) {
      const u = privatiseDelta(new Float32Array(coords), config, createRng(100 + k));
      for (let i = 0; i < coords; i++) total[i] = total[i]! + u[i]!;
    }
    const sumStd = Math.sqrt(total.reduce((s, v) => s + v * v, 0) / coords);
    expect(Math.abs(sumStd / (1.5 * 2) - 1)).toBeLessThan(0.06);
  });

  it('clips before noising, adds nothing at σ = 0, and is reproducible for a seed', () => {
    const d = randomVector(500, 1, 3);
    const clipped = privatiseDelta(
      d,
      { clipNorm: 1, noiseMultiplier: 0, minDevices: 1 },
      createRng(1),
    );
    expect(l2Norm(clipped)).toBeLessThanOrEqual(1);
    expect(clipped).toEqual(clipDelta(d, 1));
    const a = privatiseDelta(d, { clipNorm: 1, noiseMultiplier: 1, minDevices: 4 }, createRng(5));
    const b = privatiseDelta(d, { clipNorm: 1, noiseMultiplier: 1, minDevices: 4 }, createRng(5));
    expect(a).toEqual(b);
    expect(addGaussianNoise(d, 0, createRng(1))).toEqual(d);
  });

  it('validates its config, quoting the bad value', () => {
    expect(() => resolvePrivatisationConfig({ clipNorm: -1 })).toThrow(/clipNorm.*-1/);
    expect(() => resolvePrivatisationConfig({ noiseMultiplier: NaN })).toThrow(/noiseMultiplier/);
    expect(() => resolvePrivatisationConfig({ minDevices: 2.5 })).toThrow(/minDevices.*2\.5/);
    expect(() => resolvePrivatisationConfig({ sigma: 1 } as never)).toThrow(TypeError);
  });
});

describe('rngFromRandomValues()', () => {
  it('turns a source of 32-bit words into uniforms in [0, 1) with 53 random bits', () => {
    let calls = 0;
    const words = createRng(8);
    const rng = rngFromRandomValues((a) => {
      calls++;
      for (let i = 0; i < a.length; i++) a[i] = Math.floor(words() * 2 ** 32);
      return a;
    });
    const draws = Array.from({ length: 1000 }, rng);
    expect(calls).toBe(8);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    expect(Math.abs(draws.reduce((s, v) => s + v, 0) / 1000 - 0.5)).toBeLessThan(0.05);
    const ones = rngFromRandomValues((a) => a.fill(0xffffffff));
    expect(ones()).toBe(1 - 2 ** -53);
    expect(rngFromRandomValues((a) => a.fill(0))()).toBe(0);
  });
});
