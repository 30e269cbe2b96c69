/**
 * The aggregator's side of a round, pure: the norm bound an honest update cannot exceed, and
 * robust means of the round's (dequantised) deltas. Used by `server/aggregator/` and by the
 * simulation (`npm run fl:sim`), which compares them.
 *
 * **Norm bounding: refuse, not clip.** A device clips its delta to C and adds Gaussian noise of
 * std σ_d = σ·C/√m_min per coordinate; quantisation adds less than one step per value. So an
 * honest update's L2 norm is below {@link updateNormBound} (C, plus the noise's norm at its
 * mean σ_d·√P plus 8 of its standard deviations σ_d/√2 — a tail below 1e-15 — plus the
 * quantisation's worst case) unless the device is broken or lying. The aggregator therefore
 * refuses such an update at upload (`ERR_UPDATE_NORM`) instead of scaling it down: the device
 * learns at once, nothing of it is stored, and a malicious update does not get a (clipped) vote
 * in the robust mean or count towards m_min. Clipping would be the choice if honest updates
 * could exceed the bound; by construction they cannot.
 *
 * **Robust means** (coordinate-wise over n deltas of P values):
 * - `trimmed-mean` (**default**): per coordinate, drop the ⌊βn⌋ largest and smallest values and
 *   average the rest (Yin et al., ICML 2018). Chosen because the updates are dominated by the
 *   devices' DP noise: the median (`median`) throws away most of the averaging that cancels
 *   that noise (its variance is π/2 times the mean's for Gaussian data, at β = 0.1 the trimmed
 *   mean's is ≈ 1.06 times), and centered clipping needs a radius τ on the scale of the noise.
 *   A fraction of attackers below β has a bounded per-coordinate influence.
 * - `median`: the coordinate-wise median (Yin et al. 2018), robust to any minority.
 * - `centered-clipping` (Karimireddy, He, Jaggi, ICML 2021): v ← v + (1/n) Σᵢ clip_τ(xᵢ − v),
 *   `iterations` times. Karimireddy et al. start from the previous round's aggregate (momentum);
 *   a stateless server has none, so v starts at the coordinate-wise median, and τ, unless given,
 *   is the median of the distances ‖xᵢ − v₀‖ (so half the updates move v unclipped).
 * - `mean`: plain FedAvg, the comparison baseline (norm bounding still applies).
 *
 * Privacy caveat (docs/federated.md): the accountant's ε is a proof for the plain mean (the
 * released sum carries noise ≥ σ·C). A robust mean is a different function of the individually
 * weakly noised updates; its ε is the same figure as an approximation, not a proof.
 *
 * @module
 */
import { assertInteger, assertNumber, quote } from '../assert';
import type { SharedEncoder } from '../shared/encoder';
import { applyDelta } from './parameters';
import { deviceNoiseStd, l2Norm } from './privatise';
import { DEFAULT_CHUNK_SIZE } from './update-format';

/** The robust mean of a round, and its setting. */
export type RobustAggregation =
  | { readonly method: 'mean' }
  /** `trimFraction` β: fraction of values dropped at each end per coordinate, [0, 0.5). */
  | { readonly method: 'trimmed-mean'; readonly trimFraction: number }
  | { readonly method: 'median' }
  /**
   * `tau`: clipping radius (L2, > 0), or absent for the median distance to the start;
   * `iterations`: 1–100 (default 3).
   */
  | { readonly method: 'centered-clipping'; readonly tau?: number; readonly iterations?: number };

/** The method names, as the simulation's `--aggregate` takes them. */
export const AGGREGATION_METHODS = ['trimmed-mean', 'median', 'centered-clipping', 'mean'] as const;

/** A method name with its default setting. */
export function aggregationByName(name: string): RobustAggregation {
  switch (name) {
    case 'trimmed-mean':
      return { method: 'trimmed-mean', trimFraction: 0.1 };
    case 'median':
      return { method: 'median' };
    case 'centered-clipping':
      return { method: 'centered-clipping', iterations: 3 };
    case 'mean':
      return { method: 'mean' };
    default:
      throw new RangeError(
        `aggregation must be one of ${AGGREGATION_METHODS.join(', ')}, got ${quote(name)}`,
      );
  }
}

/** What {@link updateNormBound} needs to know about the round. */
export interface NormBoundInput {
  /** The devices' clip norm C. */
  clipNorm: number;
  /** σ of the accountant. */
  noiseMultiplier: number;
  /** m_min the devices' noise is calibrated for. */
  minDevices: number;
  /** Parameter count P. */
  parameters: number;
  /** Quantisation chunk size (default 256). */
  chunkSize?: number;
}

/**
 * The largest L2 norm an honest, quantised update can have (module description): C + σ_d·(√P +
 * 8/√2) for the clipped delta plus noise, then quantisation, whose per-value error is below
 * that chunk's step max|v|/127 ≤ (its values' norm)/127, so below the norm/127 overall.
 */
export function updateNormBound(input: NormBoundInput): number {
  assertNumber('clipNorm', input.clipNorm, 0, 1e6, true);
  assertNumber('noiseMultiplier', input.noiseMultiplier, 0, 100);
  assertInteger('minDevices', input.minDevices, 1, 1e7);
  assertInteger('parameters', input.parameters, 1, 1 << 26);
  const std = deviceNoiseStd({
    clipNorm: input.clipNorm,
    noiseMultiplier: input.noiseMultiplier,
    minDevices: input.minDevices,
  });
  const beforeQuantisation = input.clipNorm + std * (Math.sqrt(input.parameters) + 8 / Math.SQRT2);
  // Per value |error| < step = max|v|/127 of its chunk; the steps' norm over a chunk of k values
  // is √k·max|v|/127 ≤ √k·‖chunk‖/127, hence the factor.
  const k = input.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return beforeQuantisation * (1 + Math.sqrt(k) / 127);
}

function checkDeltas(deltas: readonly Float32Array[]): number {
  if (deltas.length < 1) throw new RangeError('need at least 1 delta');
  const n = deltas[0]!.length;
  for (const d of deltas) {
    if (d.length !== n) throw new RangeError(`deltas differ in length: ${n} and ${d.length}`);
  }
  return n;
}

function validate(a: RobustAggregation): void {
  switch (a.method) {
    case 'trimmed-mean':
      assertNumber('trimFraction', a.trimFraction, 0, 0.4999999);
      return;
    case 'centered-clipping':
      if (a.tau !== undefined) assertNumber('tau', a.tau, 0, Number.MAX_VALUE, true);
      if (a.iterations !== undefined) assertInteger('iterations', a.iterations, 1, 100);
      return;
    case 'mean':
    case 'median':
      return;
    default:
      throw new RangeError(`unknown aggregation ${quote((a as { method: unknown }).method)}`);
  }
}

/** Coordinate-wise trimmed mean: ⌊β·n⌋ values dropped at each end of every coordinate. */
export function trimmedMean(deltas: readonly Float32Array[], trimFraction: number): Float32Array {
  const p = checkDeltas(deltas);
  assertNumber('trimFraction', trimFraction, 0, 0.4999999);
  const n = deltas.length;
  const k = Math.floor(trimFraction * n);
  const column = new Float64Array(n);
  const out = new Float32Array(p);
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < n; i++) column[i] = deltas[i]![j]!;
    column.sort();
    let s = 0;
    for (let i = k; i < n - k; i++) s += column[i]!;
    out[j] = s / (n - 2 * k);
  }
  return out;
}

/** Coordinate-wise median (the mean of the two middle values for an even count). */
export function coordinateMedian(deltas: readonly Float32Array[]): Float32Array {
  const p = checkDeltas(deltas);
  const n = deltas.length;
  const column = new Float64Array(n);
  const out = new Float32Array(p);
  const mid = n >> 1;
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < n; i++) column[i] = deltas[i]![j]!;
    column.sort();
    out[j] = n % 2 === 1 ? column[mid]! : (column[mid - 1]! + column[mid]!) / 2;
  }
  return out;
}

/** Centered clipping (module description); returns the aggregate and the τ used. */
export function centeredClipping(
  deltas: readonly Float32Array[],
  options: { tau?: number; iterations?: number; start?: Float32Array } = {},
): { mean: Float32Array; tau: number } {
  const p = checkDeltas(deltas);
  const iterations = options.iterations ?? 3;
  assertInteger('iterations', iterations, 1, 100);
  const v = Float64Array.from(options.start ?? coordinateMedian(deltas));
  if (v.length !== p) throw new RangeError(`start has ${v.length} values, deltas ${p}`);
  const distance = (d: Float32Array) => {
    let s = 0;
    for (let j = 0; j < p; j++) s += (d[j]! - v[j]!) ** 2;
    return Math.sqrt(s);
  };
  let tau = options.tau;
  if (tau === undefined) {
    const ds = deltas.map(distance).sort((a, b) => a - b);
    const m = ds.length >> 1;
    tau = ds.length % 2 === 1 ? ds[m]! : (ds[m - 1]! + ds[m]!) / 2;
  }
  assertNumber('tau', tau, 0, Number.MAX_VALUE);
  const n = deltas.length;
  for (let it = 0; it < iterations; it++) {
    const step = new Float64Array(p);
    for (const d of deltas) {
      const dist = distance(d);
      const f = dist > tau ? tau / dist : 1;
      for (let j = 0; j < p; j++) step[j] = step[j]! + f * (d[j]! - v[j]!);
    }
    for (let j = 0; j < p; j++) v[j] = v[j]! + step[j]! / n;
  }
  return { mean: Float32Array.from(v), tau };
}

/** Coordinate-wise mean in double precision. */
export function plainMean(deltas: readonly Float32Array[]): Float32Array {
  const p = checkDeltas(deltas);
  const sum = new Float64Array(p);
  for (const d of deltas) for (let j = 0; j < p; j++) sum[j] = sum[j]! + d[j]!;
  return Float32Array.from(sum, (s) => s / deltas.length);
}

/** The round's aggregate delta under `aggregation` (validated; RangeError quoting a bad value). */
export function robustMean(
  deltas: readonly Float32Array[],
  aggregation: RobustAggregation,
): Float32Array {
  validate(aggregation);
  switch (aggregation.method) {
    case 'mean':
      return plainMean(deltas);
    case 'trimmed-mean':
      return trimmedMean(deltas, aggregation.trimFraction);
    case 'median':
      return coordinateMedian(deltas);
    case 'centered-clipping':
      return centeredClipping(deltas, {
        ...(aggregation.tau !== undefined ? { tau: aggregation.tau } : {}),
        ...(aggregation.iterations !== undefined ? { iterations: aggregation.iterations } : {}),
      }).mean;
  }
}

/** Whether `delta`'s L2 norm is within `bound`. */
export function withinNormBound(delta: Float32Array, bound: number): boolean {
  return l2Norm(delta) <= bound;
}

/** `encoder` + η · robust mean of `deltas` (a new encoder). */
export function aggregateRobust(
  encoder: SharedEncoder,
  deltas: readonly Float32Array[],
  aggregation: RobustAggregation,
  serverLearningRate: number,
): SharedEncoder {
  assertNumber('serverLearningRate', serverLearningRate, 0, 100, true);
  return applyDelta(encoder, robustMean(deltas, aggregation), serverLearningRate);
}
