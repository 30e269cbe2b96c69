/**
 * Privatisation of a device's update before it leaves the device: L2 clipping to `C`, then
 * Gaussian noise of standard deviation `σ·C/√m_min` on every coordinate (distributed DP).
 *
 * Why `√m_min`: the aggregator sums the updates of a round. When at least `m_min` honest devices
 * contribute, each adding independent N(0, σ²C²/m_min) noise, the sum carries noise of variance
 * ≥ m_min · σ²C²/m_min = σ²C², i.e. std ≥ σ·C with every device's contribution clipped to `C`:
 * exactly the Sampled Gaussian Mechanism of noise multiplier `σ` that the privacy accountant
 * (`accountant.ts`, docs/federated.md) assumes. The aggregator must therefore refuse to release
 * a round with fewer than `m_min` contributions, and account with this `σ` (not `σ·√n` for the
 * n that happened to show up). No single update is private on its own at level `σ`: it carries
 * only `1/√m_min` of the noise, and secrecy of the individual update against the server rests on
 * the aggregator's honesty (or on secure aggregation, which does not exist yet).
 *
 * Randomness: every function takes an {@link Rng} (uniform in [0, 1)). Tests and the simulation
 * pass the seeded `createRng` of `model/random.ts`; **production must pass a cryptographically
 * secure source**, e.g. {@link rngFromRandomValues} over `crypto.getRandomValues`: noise drawn
 * from a predictable generator can be subtracted by anyone who knows the seed, and then protects
 * nothing.
 *
 * @module
 */
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';
import { type Rng, gaussian } from '../random';

/** Privatisation settings; every field documents its range and default. */
export interface PrivatisationConfig {
  /** L2 clipping norm `C` of a device's delta, (0, 1e6]. Default 1. */
  clipNorm: number;
  /**
   * Noise multiplier `σ` of the round's sum (the accountant's `σ`), [0, 100]. 0 adds no noise
   * and gives no privacy: for simulations and tests only. Default 1.
   */
  noiseMultiplier: number;
  /**
   * Guaranteed minimum number of honest contributions to a released round `m_min`, integer
   * 1–10⁷: each device adds `1/√m_min` of the round's noise. Default 100.
   */
  minDevices: number;
}

/** Defaults of {@link PrivatisationConfig}. */
export const DEFAULT_PRIVATISATION_CONFIG: Readonly<PrivatisationConfig> = Object.freeze({
  clipNorm: 1,
  noiseMultiplier: 1,
  minDevices: 100,
});

/** Merges overrides into the defaults and validates them (RangeError quoting the bad value). */
export function resolvePrivatisationConfig(
  overrides: Partial<PrivatisationConfig> = {},
): PrivatisationConfig {
  assertKnownKeys('privatisation config', overrides, Object.keys(DEFAULT_PRIVATISATION_CONFIG));
  const c = { ...DEFAULT_PRIVATISATION_CONFIG, ...overrides };
  assertNumber('clipNorm', c.clipNorm, 0, 1e6, true);
  assertNumber('noiseMultiplier', c.noiseMultiplier, 0, 100);
  assertInteger('minDevices', c.minDevices, 1, 1e7);
  return c;
}

/** Standard deviation of the noise one device adds to each coordinate: `σ·C/√m_min`. */
export function deviceNoiseStd(config: PrivatisationConfig): number {
  return (config.noiseMultiplier * config.clipNorm) / Math.sqrt(config.minDevices);
}

/** L2 norm of a vector, accumulated in double precision. */
export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/**
 * A copy of `delta` scaled by `min(1, C/‖delta‖)`. The bound holds on the float32 result itself
 * (rounding is corrected for), since the privacy guarantee rests on it. A non-finite value
 * throws a `TypeError` (a training bug; never send it).
 */
export function clipDelta(delta: Float32Array, clipNorm: number): Float32Array {
  assertNumber('clipNorm', clipNorm, 0, 1e6, true);
  for (let i = 0; i < delta.length; i++) {
    if (!Number.isFinite(delta[i])) throw new TypeError(`delta value ${i} is not finite`);
  }
  const out = Float32Array.from(delta);
  let norm = l2Norm(out);
  let factor = clipNorm / norm;
  while (norm > clipNorm) {
    for (let i = 0; i < out.length; i++) out[i] = delta[i]! * factor;
    norm = l2Norm(out);
    factor *= 1 - 2 ** -20;
  }
  return out;
}

/** A copy of `values` with independent N(0, std²) noise added to every coordinate. */
export function addGaussianNoise(values: Float32Array, std: number, rng: Rng): Float32Array {
  assertNumber('std', std, 0, Number.MAX_VALUE);
  const out = Float32Array.from(values);
  if (std === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! + std * gaussian(rng);
  return out;
}

/**
 * Clips `delta` to `config.clipNorm` and adds the device's share of the round's noise
 * ({@link deviceNoiseStd}). `rng` must be cryptographically secure in production
 * ({@link rngFromRandomValues}); a seeded one is for tests and simulations.
 */
export function privatiseDelta(
  delta: Float32Array,
  config: Partial<PrivatisationConfig>,
  rng: Rng,
): Float32Array {
  const c = resolvePrivatisationConfig(config);
  return addGaussianNoise(clipDelta(delta, c.clipNorm), deviceNoiseStd(c), rng);
}

/**
 * An {@link Rng} over a source of random 32-bit words, for production noise and rounding: the
 * worker passes `(a) => crypto.getRandomValues(a)`. Each draw takes 53 random bits (a uniform
 * double in [0, 1) with every bit random); words are fetched 256 at a time.
 */
export function rngFromRandomValues(fill: (words: Uint32Array) => Uint32Array): Rng {
  const words = new Uint32Array(256);
  let next = words.length;
  const word = (): number => {
    if (next === words.length) {
      fill(words);
      next = 0;
    }
    return words[next++]!;
  };
  return () => ((word() >>> 5) * 67108864 + (word() >>> 6)) / 9007199254740992;
}
