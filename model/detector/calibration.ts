/**
 * Confidence calibration from the user's own held-out enrolment scores. There are no impostor
 * samples on the device, so the confidence is not a probability of identity: it is a monotone
 * map that puts the user's typical held-out window near 1, falls to 0.5 at `margin` spreads
 * above it (in log anomaly), and approaches 0 for clearly different behaviour.
 */
import { mean, median } from '../features/stats';

/** Log-logistic calibration: `confidence = 1 / (1 + exp((ln(anomaly + ε) − center) / width))`. */
export interface Calibration {
  /** Always `'log-logistic'` in model format v1. */
  method: 'log-logistic';
  /** ln anomaly at which confidence is 0.5. */
  center: number;
  /** Width of the logistic in ln anomaly units (> 0). */
  width: number;
}

/** Keeps ln() finite for a perfect match. */
const EPS = 1e-6;

/** Parameters of {@link fitCalibration}; see the matching {@link DetectorConfig} fields. */
export interface CalibrationParams {
  margin: number;
  sharpness: number;
  minLogSpread: number;
  maxLogSpread: number;
}

/**
 * Robust spread of held-out log anomalies: 1.4826 × MAD (the normal-consistent median absolute
 * deviation), clamped. With 6–10 enrolment windows one odd window (the only one with a pause or
 * a click) would inflate a plain std and make the model accept almost anything; the clamp keeps
 * a handful of near-identical windows from making the curve a step.
 */
export function logSpread(
  logs: readonly number[],
  p: Pick<CalibrationParams, 'minLogSpread' | 'maxLogSpread'>,
): number {
  const m = median(logs);
  const mad = median(logs.map((v) => Math.abs(v - m)));
  return Math.min(Math.max(1.4826 * mad, p.minLogSpread), p.maxLogSpread);
}

/** Fits the calibration on held-out anomaly scores of genuine windows (at least one). */
export function fitCalibration(heldOut: readonly number[], p: CalibrationParams): Calibration {
  const logs = heldOut.map((s) => Math.log(Math.max(s, 0) + EPS));
  const spread = logSpread(logs, p);
  return {
    method: 'log-logistic',
    center: median(logs) + p.margin * spread,
    width: spread / p.sharpness,
  };
}

/** Confidence in [0, 1] for an anomaly score (≥ 0; NaN counts as infinitely anomalous). */
export function calibrate(c: Calibration, anomaly: number): number {
  if (Number.isNaN(anomaly)) return 0;
  const u = (Math.log(Math.max(anomaly, 0) + EPS) - c.center) / c.width;
  // exp overflows to Infinity for large u, giving exactly 0: still finite and in range.
  return 1 / (1 + Math.exp(u));
}

/**
 * The calibration's logit, −(ln anomaly − center) / width: the anomaly in units of the user's
 * own held-out spread, shifted by the margin (higher = more like the user; NaN → −Infinity).
 * Unlike {@link calibrate} it does not saturate: it is what the product scorer fuses.
 */
export function standardizedLikeness(c: Calibration, anomaly: number): number {
  if (Number.isNaN(anomaly)) return -Infinity;
  return -(Math.log(Math.max(anomaly, 0) + EPS) - c.center) / c.width;
}

/** Mean confidence of a list of anomaly scores (0 for an empty list). */
export function meanConfidence(c: Calibration, anomalies: readonly number[]): number {
  return mean(anomalies.map((s) => calibrate(c, s)));
}
