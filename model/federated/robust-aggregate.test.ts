import { describe, expect, it } from 'vitest';
import { createRng, gaussian } from '../random';
import { addGaussianNoise, clipDelta, deviceNoiseStd, l2Norm } from './privatise';
import { dequantise, quantise } from './update-format';
import {
  aggregationByName,
  centeredClipping,
  coordinateMedian,
  plainMean,
  robustMean,
  trimmedMean,
  updateNormBound,
  type RobustAggregation,
} from './robust-aggregate';

const distance = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
};

/**
 * 45 honest devices: a common direction of norm 1 plus each its own Gaussian noise (std 0.05
 * per coordinate over 400 coordinates, norm ≈ 1); 5 attackers (10 %).
 */
function round(attack: 'scale' | 'sign-flip', seed = 7) {
  const rng = createRng(seed);
  const p = 400;
  const direction = Float32Array.from({ length: p }, () => gaussian(rng));
  const norm = l2Norm(direction);
  for (let i = 0; i < p; i++) direction[i] = direction[i]! / norm;
  const honest = Array.from({ length: 45 }, () =>
    Float32Array.from(direction, (v) => v + 0.05 * gaussian(rng)),
  );
  const honestMean = plainMean(honest);
  // Scaled: the honest direction boosted 20×. Sign-flipped: −10× the honest direction (the
  // attackers know the honest mean, the strongest case for them).
  const attackers = Array.from({ length: 5 }, () =>
    Float32Array.from(direction, (v) => (attack === 'scale' ? 20 * v : -10 * v)),
  );
  return { honestMean, all: [...honest, ...attackers], honestNorm: l2Norm(honestMean) };
}

const ROBUST: RobustAggregation[] = [
  { method: 'trimmed-mean', trimFraction: 0.1 },
  { method: 'median' },
  { method: 'centered-clipping', iterations: 3 },
];

describe('robust means against 10 % attackers', () => {
  for (const attack of ['scale', 'sign-flip'] as const) {
    it(`${attack}: every robust mean stays near the honest mean, the plain mean does not`, () => {
      const { honestMean, all, honestNorm } = round(attack);
      const plain = distance(plainMean(all), honestMean);
      // The plain mean moves by 10 % × (20 − 1) = 1.9 (scale) or 10 % × 11 = 1.1 (sign-flip)
      // times the honest norm.
      expect(plain).toBeGreaterThan(honestNorm);
      for (const a of ROBUST) {
        const d = distance(robustMean(all, a), honestMean);
        // What is left is the bias of trimming honest values on one side only (≈ 0.2 here).
        expect(d, a.method).toBeLessThan(0.3 * honestNorm);
        expect(d, a.method).toBeLessThan(plain / 4);
      }
    });
  }

  it('without attackers every robust mean is close to the mean', () => {
    const rng = createRng(3);
    const honest = Array.from({ length: 50 }, () =>
      Float32Array.from({ length: 300 }, () => 0.1 + gaussian(rng)),
    );
    const mean = plainMean(honest);
    for (const a of ROBUST) {
      // Per coordinate the mean's std is 1/√50 ≈ 0.14; the estimators differ by less than that.
      expect(distance(robustMean(honest, a), mean) / Math.sqrt(300), a.method).toBeLessThan(0.14);
    }
  });
});

describe('the estimators', () => {
  const deltas = [
    Float32Array.of(1, 10),
    Float32Array.of(2, 20),
    Float32Array.of(3, 30),
    Float32Array.of(4, 40),
    Float32Array.of(100, -1000),
  ];
  it('trimmed mean drops ⌊βn⌋ at each end', () => {
    expect([...trimmedMean(deltas, 0.2)]).toEqual([3, 20]);
    expect([...trimmedMean(deltas, 0)]).toEqual([...plainMean(deltas)]);
  });
  it('median of odd and even counts', () => {
    expect([...coordinateMedian(deltas)]).toEqual([3, 20]);
    expect([...coordinateMedian(deltas.slice(0, 4))]).toEqual([2.5, 25]);
  });
  it('centered clipping with a huge τ is the mean, with a tiny τ stays at the start', () => {
    const mean = plainMean(deltas);
    const wide = centeredClipping(deltas, { tau: 1e9, iterations: 1 }).mean;
    expect(distance(wide, mean)).toBeLessThan(1e-3);
    const narrow = centeredClipping(deltas, { tau: 1e-9, iterations: 5 }).mean;
    expect(distance(narrow, coordinateMedian(deltas))).toBeLessThan(1e-6);
  });
  it('refuses empty or ragged input and bad settings, quoting the value', () => {
    expect(() => plainMean([])).toThrow(RangeError);
    expect(() => trimmedMean([Float32Array.of(1), Float32Array.of(1, 2)], 0.1)).toThrow(
      /differ in length/,
    );
    expect(() => robustMean(deltas, { method: 'trimmed-mean', trimFraction: 0.5 })).toThrow(
      /trimFraction.*0\.5/,
    );
    expect(() => robustMean(deltas, { method: 'centered-clipping', tau: -1 })).toThrow(/tau/);
    expect(() => aggregationByName('krum')).toThrow(/"krum"/);
    for (const name of ['trimmed-mean', 'median', 'centered-clipping', 'mean']) {
      expect(aggregationByName(name).method).toBe(name);
    }
  });
});

describe('updateNormBound', () => {
  it('holds for honest clipped, noised, quantised updates and is not loose by much', () => {
    const config = { clipNorm: 1, noiseMultiplier: 1, minDevices: 100 };
    const p = 26_592;
    const bound = updateNormBound({ ...config, parameters: p });
    const std = deviceNoiseStd(config);
    const rng = createRng(11);
    let largest = 0;
    for (let k = 0; k < 20; k++) {
      const raw = Float32Array.from({ length: p }, () => 10 * gaussian(rng));
      const noisy = addGaussianNoise(clipDelta(raw, config.clipNorm), std, rng);
      const sent = dequantise(quantise(noisy, { round: 1, encoderId: 'e' }, rng));
      largest = Math.max(largest, l2Norm(sent));
    }
    expect(largest).toBeLessThan(bound);
    // The bound is within 25 % of what honest updates reach: a scaled attacker gains little.
    expect(bound / largest).toBeLessThan(1.25);
  });
  it('is C plus a little without noise', () => {
    const b = updateNormBound({ clipNorm: 2, noiseMultiplier: 0, minDevices: 5, parameters: 99 });
    expect(b).toBeGreaterThan(2);
    expect(b).toBeLessThan(2 * 1.13);
  });
});
