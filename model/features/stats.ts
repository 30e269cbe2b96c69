/**
 * Small numeric helpers used by feature extraction and by the detector's normalisation. Every
 * function returns a finite number for empty input (the documented fallback) so that no NaN can
 * leak into a feature vector.
 */

/** Arithmetic mean; `fallback` (default 0) for an empty list. */
export function mean(values: readonly number[], fallback = 0): number {
  if (values.length === 0) return fallback;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Population standard deviation (divides by n); 0 for fewer than two values. */
export function std(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let sum = 0;
  for (const v of values) sum += (v - m) * (v - m);
  return Math.sqrt(sum / values.length);
}

/**
 * Quantile with linear interpolation between order statistics (the "type 7" rule of R and
 * NumPy's default); `fallback` (default 0) for an empty list. `q` is clamped to `[0, 1]`.
 */
export function quantile(values: readonly number[], q: number, fallback = 0): number {
  if (values.length === 0) return fallback;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = clamp(q, 0, 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Median (mean of the two middle values for an even count); `fallback` for an empty list. */
export function median(values: readonly number[], fallback = 0): number {
  return quantile(values, 0.5, fallback);
}

/** Clamps `value` to `[lo, hi]`; NaN becomes `lo` so that clamping doubles as sanitising. */
export function clamp(value: number, lo: number, hi: number): number {
  if (Number.isNaN(value)) return lo;
  return value < lo ? lo : value > hi ? hi : value;
}

/** True when `value` is a finite number (a type guard, unlike `Number.isFinite`). */
export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
