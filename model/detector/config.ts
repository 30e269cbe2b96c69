/**
 * Detector configuration: every field documents its unit, default and valid range; a resolved
 * config is validated once and frozen (STYLE.md point 11).
 */
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';

/** Configuration of a {@link UserModel}. Distances are in z units (robust standard deviations). */
export interface DetectorConfig {
  /** Fewest windows `fit` accepts. Default 6; integer in [3, 100000]. */
  minEnrollWindows: number;
  /** Units of the autoencoder's outer hidden layers (d → hidden → bottleneck → hidden → d). Default 16; integer in [2, 256]. */
  hiddenUnits: number;
  /** Units of the autoencoder's bottleneck. Default 6; integer in [1, 64]. */
  bottleneckUnits: number;
  /** Full-batch Adam steps. Default 100; integer in [1, 5000]. */
  epochs: number;
  /** Adam learning rate. Default 0.02; in (0, 1]. */
  learningRate: number;
  /** Std of the Gaussian noise added to the inputs while training (denoising), z units. Default 0.2; in [0, 5]. */
  inputNoise: number;
  /** L2 penalty on the weight matrices. Default 1e-4; in [0, 1]. */
  l2: number;
  /** z-scores are clipped to ±zClip, so no single feature can dominate a score. Default 5; in [1, 100]. */
  zClip: number;
  /**
   * A feature's scale is at least this fraction of its |median| (besides its schema `minScale`
   * and its IQR / 1.349), so a few very regular enrolment windows cannot make ordinary
   * variation look alien. Default 0.1; in [0, 1].
   */
  relativeScaleFloor: number;
  /**
   * Weight of the autoencoder's reconstruction RMSE in the anomaly score; the rest goes to the
   * mean absolute z-score (scaled Manhattan distance to the user's median). Default 0.5; in [0, 1].
   */
  reconstructionWeight: number;
  /**
   * Cross-validation folds whose held-out anomaly scores calibrate the confidence; capped at the
   * number of windows. Each fold trains one more (small) autoencoder alongside the final one.
   * Default 4; integer in [2, 20].
   */
  calibrationFolds: number;
  /**
   * Where confidence crosses 0.5, in spreads of the held-out log anomaly above its median.
   * Larger is more lenient. Default 2.5; in [0, 10].
   */
  calibrationMargin: number;
  /**
   * Steepness of the confidence curve: the logistic's width is spread / sharpness. Default 2;
   * in (0, 100].
   */
  calibrationSharpness: number;
  /**
   * Floor of the spread (robust std of held-out log anomaly scores), so a handful of near-identical
   * enrolment windows cannot make the curve a step. Default 0.2; in (0, 5].
   */
  minLogSpread: number;
  /**
   * Cap of that spread, so inconsistent enrolment data cannot make the model accept almost
   * anything. Default 0.3; in [minLogSpread, 5].
   */
  maxLogSpread: number;
  /** Seed of weight initialisation and training noise. Default 1; integer in [0, 4294967295]. */
  seed: number;
}

/** Default detector configuration. */
export const DEFAULT_DETECTOR_CONFIG: Readonly<DetectorConfig> = Object.freeze({
  minEnrollWindows: 6,
  hiddenUnits: 16,
  bottleneckUnits: 6,
  epochs: 100,
  learningRate: 0.02,
  inputNoise: 0.2,
  l2: 1e-4,
  zClip: 5,
  relativeScaleFloor: 0.1,
  reconstructionWeight: 0.5,
  calibrationFolds: 4,
  calibrationMargin: 2.5,
  calibrationSharpness: 2,
  minLogSpread: 0.2,
  maxLogSpread: 0.3,
  seed: 1,
});

/** Validates a partial config and fills in defaults; throws a `RangeError` quoting a bad value. */
export function resolveDetectorConfig(
  config: Partial<DetectorConfig> = {},
): Readonly<DetectorConfig> {
  assertKnownKeys('DetectorConfig', config, Object.keys(DEFAULT_DETECTOR_CONFIG));
  const c = { ...DEFAULT_DETECTOR_CONFIG, ...config };
  assertInteger('minEnrollWindows', c.minEnrollWindows, 3, 100000);
  assertInteger('hiddenUnits', c.hiddenUnits, 2, 256);
  assertInteger('bottleneckUnits', c.bottleneckUnits, 1, 64);
  assertInteger('epochs', c.epochs, 1, 5000);
  assertNumber('learningRate', c.learningRate, 0, 1, true);
  assertNumber('inputNoise', c.inputNoise, 0, 5);
  assertNumber('l2', c.l2, 0, 1);
  assertNumber('zClip', c.zClip, 1, 100);
  assertNumber('relativeScaleFloor', c.relativeScaleFloor, 0, 1);
  assertNumber('reconstructionWeight', c.reconstructionWeight, 0, 1);
  assertInteger('calibrationFolds', c.calibrationFolds, 2, 20);
  assertNumber('calibrationMargin', c.calibrationMargin, 0, 10);
  assertNumber('calibrationSharpness', c.calibrationSharpness, 0, 100, true);
  assertNumber('minLogSpread', c.minLogSpread, 0, 5, true);
  assertNumber('maxLogSpread', c.maxLogSpread, c.minLogSpread, 5);
  assertInteger('seed', c.seed, 0, 4294967295);
  return Object.freeze(c);
}
