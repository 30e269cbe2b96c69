/**
 * Robust per-feature normalisation (median / IQR), fitted on one user's enrolment windows and
 * stored in the model, so scoring uses exactly the statistics the model was trained with.
 */
import type { FeatureSpec } from '../features/schema';
import { median, quantile } from '../features/stats';

/** Per-feature centre and scale, in the feature's unit. */
export interface Normalization {
  /** Median of each feature over the enrolment windows. */
  center: Float64Array;
  /** max(IQR / 1.349, spec.minScale, relativeScaleFloor × |median|), always > 0. */
  scale: Float64Array;
}

/** IQR / 1.349 estimates the standard deviation of a normal distribution, robustly. */
const IQR_TO_SIGMA = 1.349;

/** Fits {@link Normalization} on `rows` (all of length `specs.length`). */
export function fitNormalization(
  rows: readonly ArrayLike<number>[],
  specs: readonly FeatureSpec[],
  relativeScaleFloor: number,
): Normalization {
  const d = specs.length;
  const center = new Float64Array(d);
  const scale = new Float64Array(d);
  const column: number[] = new Array<number>(rows.length);
  for (let j = 0; j < d; j++) {
    for (let i = 0; i < rows.length; i++) column[i] = rows[i]![j]!;
    const med = median(column);
    const iqr = quantile(column, 0.75) - quantile(column, 0.25);
    center[j] = med;
    scale[j] = Math.max(iqr / IQR_TO_SIGMA, specs[j]!.minScale, relativeScaleFloor * Math.abs(med));
  }
  return { center, scale };
}

/**
 * Writes the clipped z-scores of `x` into `out`. A non-finite feature gets +zClip: an input that
 * cannot be measured is treated as maximally unlike the user (fail closed), never as typical.
 */
export function zScores(
  x: ArrayLike<number>,
  norm: Normalization,
  zClip: number,
  out: Float64Array,
): Float64Array {
  for (let j = 0; j < out.length; j++) {
    const z = (x[j]! - norm.center[j]!) / norm.scale[j]!;
    out[j] = Number.isFinite(z) ? Math.max(-zClip, Math.min(zClip, z)) : zClip;
  }
  return out;
}
