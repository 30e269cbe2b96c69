/**
 * The per-user, per-modality one-class detector. It learns one user's feature windows and scores
 * new windows with a calibrated confidence that they come from that user.
 *
 * Anomaly score of a window x (z = clipped robust z-scores of x against the user's medians):
 *   anomaly = (1 − w) · mean|z|  +  w · RMS(autoencoder(z) − z),   w = reconstructionWeight
 * The first term is the scaled Manhattan distance (Killourhy & Maxion's strongest simple
 * keystroke detector); the second catches combinations of feature values the user never
 * produces even when each value alone is typical. The confidence is the calibrated map of the
 * anomaly (see calibration.ts), fitted on cross-validated scores of the enrolment windows.
 */
import { ModelStateError, NotEnoughWindowsError } from '../errors';
import { FEATURE_SPECS, type Modality, featureDimension, isModality } from '../features/schema';
import { mean, median, std } from '../features/stats';
import { type DenseNet, reconstructionError, trainAutoencoders } from './autoencoder';
import { type Calibration, calibrate, fitCalibration, standardizedLikeness } from './calibration';
import { type DetectorConfig, resolveDetectorConfig } from './config';
import { type Normalization, fitNormalization, zScores } from './normalize';
import {
  type FittedState,
  type UserModelJSON,
  parseUserModelJSON,
  toUserModelJSON,
} from './serialization';

/** What {@link UserModel.fit} learned, for logs and enrolment progress displays. */
export interface FitReport {
  /** Enrolment windows used. */
  windows: number;
  /** Cross-validation folds used for calibration. */
  folds: number;
  /** Training steps per autoencoder. */
  epochs: number;
  /** Mean squared reconstruction error (z units²) of the final autoencoder on its clean inputs. */
  trainLoss: number;
  /** Median and std of the held-out log anomaly scores the calibration was fitted on. */
  heldOutLogAnomaly: { median: number; std: number };
  /**
   * Mean confidence the model gives the held-out enrolment windows: an estimate of what the user
   * will see. Low values (< 0.5) mean inconsistent enrolment data.
   */
  heldOutConfidence: number;
  /** Wall time of `fit` (ms). */
  durationMs: number;
}

/** The parts of a score, for evaluation and debugging. */
export interface ScoreDetail {
  /** Calibrated confidence in [0, 1] that the window is the enrolled user's. */
  confidence: number;
  /** Combined anomaly score (≥ 0; larger is less like the user). */
  anomaly: number;
  /** Mean |z| (scaled Manhattan distance to the user's medians). */
  distance: number;
  /** RMS autoencoder reconstruction error in z units. */
  reconstruction: number;
}

/** A per-user one-class model for one modality. */
export class UserModel {
  /** The modality whose feature vectors this model scores. */
  readonly modality: Modality;
  /** The resolved configuration. */
  readonly config: Readonly<DetectorConfig>;
  private state: FittedState | undefined;
  private disposed = false;
  private readonly z: Float64Array;

  /**
   * @param modality which feature vectors the model scores.
   * @param config overrides of {@link DEFAULT_DETECTOR_CONFIG}; validated here (`RangeError`).
   */
  constructor(modality: Modality, config: Partial<DetectorConfig> = {}) {
    if (!isModality(modality)) throw new TypeError(`unknown modality ${String(modality)}`);
    this.modality = modality;
    this.config = resolveDetectorConfig(config);
    this.z = new Float64Array(featureDimension(modality));
  }

  /** Feature vector length this model expects. */
  get dimension(): number {
    return this.z.length;
  }

  /** True once `fit` or `fromJSON` gave the model its parameters (and until `dispose`). */
  get fitted(): boolean {
    return this.state !== undefined && !this.disposed;
  }

  /** Number of enrolment windows behind the fitted model (0 before fitting). */
  get windows(): number {
    return this.state?.windows ?? 0;
  }

  /**
   * Fits the model on one user's enrolment windows (replacing any earlier fit). Trains on the
   * current tfjs backend; all tensors are released before the promise settles.
   * @throws {NotEnoughWindowsError} `ERR_TOO_FEW_WINDOWS` below `minEnrollWindows`.
   * @throws {TypeError} for a vector of the wrong length or with a non-finite value.
   */
  async fit(vectors: readonly Float32Array[]): Promise<FitReport> {
    this.assertUsable();
    const started = Date.now();
    const cfg = this.config;
    const d = this.dimension;
    const n = vectors.length;
    if (n < cfg.minEnrollWindows) throw new NotEnoughWindowsError();
    vectors.forEach((v) => this.assertVector(v, true));
    const specs = FEATURE_SPECS[this.modality];

    // Folds interleave (window i in fold i mod F) so each fold spans the whole enrolment period.
    const folds = Math.min(cfg.calibrationFolds, n);
    const K = folds + 1; // model `folds` is the final one, trained on every window
    const norms: Normalization[] = [];
    for (let k = 0; k < K; k++) {
      const train = vectors.filter((_, i) => k === folds || i % folds !== k);
      norms.push(fitNormalization(train, specs, cfg.relativeScaleFloor));
    }
    const inputs = new Float32Array(K * n * d);
    const mask = new Float32Array(K * n);
    const z = new Float64Array(d);
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < n; i++) {
        inputs.set(zScores(vectors[i]!, norms[k]!, cfg.zClip, z), (k * n + i) * d);
        mask[k * n + i] = k === folds || i % folds !== k ? 1 : 0;
      }
    }

    const nets = trainAutoencoders({
      models: K,
      rows: n,
      width: d,
      inputs,
      mask,
      hiddenUnits: cfg.hiddenUnits,
      bottleneckUnits: cfg.bottleneckUnits,
      epochs: cfg.epochs,
      learningRate: cfg.learningRate,
      inputNoise: cfg.inputNoise,
      l2: cfg.l2,
      seed: cfg.seed,
    });

    const heldOut = vectors.map(
      (v, i) => this.anomaly(v, norms[i % folds]!, nets[i % folds]!).anomaly,
    );
    const calibration = fitCalibration(heldOut, {
      margin: cfg.calibrationMargin,
      sharpness: cfg.calibrationSharpness,
      minLogSpread: cfg.minLogSpread,
      maxLogSpread: cfg.maxLogSpread,
    });
    const finalNet = nets[folds]!;
    const finalNorm = norms[folds]!;
    const trainLoss = mean(
      vectors.map((v) => reconstructionError(finalNet, zScores(v, finalNorm, cfg.zClip, z)) ** 2),
    );
    this.state = { normalization: finalNorm, net: finalNet, calibration, windows: n };

    const logs = heldOut.map((s) => Math.log(s + 1e-6));
    return {
      windows: n,
      folds,
      epochs: cfg.epochs,
      trainLoss,
      heldOutLogAnomaly: { median: median(logs), std: std(logs) },
      heldOutConfidence: mean(heldOut.map((s) => calibrate(calibration, s))),
      durationMs: Date.now() - started,
    };
  }

  /**
   * Calibrated confidence in [0, 1] that `vector` comes from the enrolled user. Pure JavaScript
   * (no tensors), a few microseconds per call.
   * @throws {ModelStateError} `ERR_NOT_FITTED` / `ERR_DISPOSED`.
   * @throws {TypeError} for a vector of the wrong length.
   */
  score(vector: ArrayLike<number>): number {
    return this.scoreDetail(vector).confidence;
  }

  /** Like {@link score}, with the parts of the anomaly score. Non-finite features count as maximally unlike the user. */
  scoreDetail(vector: ArrayLike<number>): ScoreDetail {
    const s = this.fittedState();
    this.assertVector(vector, false);
    const a = this.anomaly(vector, s.normalization, s.net);
    return { confidence: calibrate(s.calibration, a.anomaly), ...a };
  }

  /**
   * The window's standardized likeness (the calibration's logit, see `standardizedLikeness`):
   * what the product scorer fuses with the other per-user models.
   * @throws {ModelStateError} `ERR_NOT_FITTED` / `ERR_DISPOSED`.
   */
  standardized(vector: ArrayLike<number>): number {
    const s = this.fittedState();
    this.assertVector(vector, false);
    return standardizedLikeness(
      s.calibration,
      this.anomaly(vector, s.normalization, s.net).anomaly,
    );
  }

  /** The calibration in use (for diagnostics). */
  get calibration(): Readonly<Calibration> | undefined {
    return this.state?.calibration;
  }

  /**
   * The versioned, self-contained stored form (JSON-safe: `JSON.stringify` it as is).
   * @throws {ModelStateError} `ERR_NOT_FITTED` / `ERR_DISPOSED`.
   */
  toJSON(): UserModelJSON {
    return toUserModelJSON(this.modality, this.config, this.fittedState());
  }

  /**
   * Restores a model from {@link toJSON} output (object or JSON text). The result scores exactly
   * like the model that was saved.
   * @throws {FeatureSchemaError} `ERR_FEATURE_SCHEMA` when it was trained on another feature schema.
   * @throws {ModelVersionError} `ERR_MODEL_VERSION` for another model format version.
   * @throws {ModelFormatError} `ERR_MODEL_FORMAT` for anything malformed.
   */
  static fromJSON(json: unknown): UserModel {
    const parsed = parseUserModelJSON(json);
    const model = new UserModel(parsed.modality, parsed.config);
    model.state = parsed.state;
    return model;
  }

  /**
   * Releases the model. It holds no tensors between calls (training releases its own), so this
   * drops the parameters and makes later use throw `ERR_DISPOSED`. Idempotent.
   */
  dispose(): void {
    this.disposed = true;
    this.state = undefined;
  }

  private anomaly(
    vector: ArrayLike<number>,
    norm: Normalization,
    net: DenseNet,
  ): Omit<ScoreDetail, 'confidence'> {
    const z = zScores(vector, norm, this.config.zClip, this.z);
    let distance = 0;
    for (let j = 0; j < z.length; j++) distance += Math.abs(z[j]!);
    distance /= z.length;
    const reconstruction = reconstructionError(net, z);
    const w = this.config.reconstructionWeight;
    return { anomaly: (1 - w) * distance + w * reconstruction, distance, reconstruction };
  }

  private assertUsable(): void {
    if (this.disposed) throw new ModelStateError('ERR_DISPOSED', 'user model was disposed');
  }

  private fittedState(): FittedState {
    this.assertUsable();
    if (this.state === undefined)
      throw new ModelStateError('ERR_NOT_FITTED', 'user model is not fitted');
    return this.state;
  }

  private assertVector(v: ArrayLike<number>, finite: boolean): void {
    if (v === null || typeof v !== 'object' || v.length !== this.dimension) {
      throw new TypeError(
        `${this.modality} vectors must have length ${this.dimension}, got ${String(v?.length)}`,
      );
    }
    if (finite) {
      for (let j = 0; j < v.length; j++) {
        if (!Number.isFinite(v[j])) throw new TypeError('enrolment vectors must be finite');
      }
    }
  }
}
