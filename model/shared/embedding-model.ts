/**
 * The per-user part on top of a shared encoder: the user's own enrolment embeddings and a
 * calibration learned from them. Enrolment is cheap (one encoder pass per window, no training),
 * so it fits in milliseconds on the device.
 *
 * Similarity of a window = its embedding's mean cosine with the enrolment embeddings (TypeNet's
 * mean distance to the gallery; with unit vectors this is the dot product with their mean).
 * When the encoder carries a scoring back-end (`back-end.ts`: whitening or LDA learned on the
 * training users), every embedding, enrolment and query alike, is mapped by it first.
 * Calibration, like the detector's, uses only the user's own data: each enrolment embedding is
 * scored against the others (leave-one-out); with m = median and s = clamp(1.4826 · MAD) of
 * those similarities, `confidence = 1 / (1 + exp(−(sim − (m − margin · s)) / (s / sharpness)))`.
 * It is monotone in the similarity and user-relative, not a probability.
 *
 * @module
 */
import { ModelFormatError, ModelStateError, NotEnoughWindowsError } from '../errors';
import { base64ToFloat32, float32ToBase64 } from '../detector/base64';
import { applyBackEnd, backEndFingerprint } from './back-end';
import { type SharedEncoder, encode, scoringDimension } from './encoder';

/** Settings of the per-user embedding model; defaults and ranges documented per field. */
export interface EmbeddingModelConfig {
  /** Fewest enrolment windows, integer 3–100000. Default 6. */
  minEnrollWindows: number;
  /** Most enrolment embeddings kept (newest win), integer ≥ minEnrollWindows. Default 200. */
  maxEnrollWindows: number;
  /** Calibration margin in spreads below the median, 0–10. Default 2. */
  margin: number;
  /** Calibration sharpness, (0, 100]. Default 2. */
  sharpness: number;
  /** Spread floor / ceiling (cosine units). Defaults 0.02 / 0.3. */
  minSpread: number;
  maxSpread: number;
}

/** Defaults of {@link EmbeddingModelConfig}. */
export const DEFAULT_EMBEDDING_MODEL_CONFIG: Readonly<EmbeddingModelConfig> = Object.freeze({
  minEnrollWindows: 6,
  maxEnrollWindows: 200,
  margin: 2,
  sharpness: 2,
  minSpread: 0.02,
  maxSpread: 0.3,
});

/** A step sequence (a window's `steps` and `stepCount`). */
export interface Steps {
  steps: Float32Array;
  n: number;
}

/** Stored form. The mean embedding is a behavioural template: it stays on the device. */
export interface EmbeddingModelJSON {
  format: 'tacit-embedding-model';
  version: 1;
  modality: string;
  /** Provenance task + date of the encoder it was enrolled with (re-enrol when it changes). */
  encoderId: string;
  windows: number;
  mean: string;
  calibration: { center: number; width: number };
  config: EmbeddingModelConfig;
}

/**
 * A stable id of an encoder (its provenance, plus its back-end's fingerprint when it has one),
 * stored with enrolments made with it. Without a back-end it is what it always was, so users
 * enrolled with an older encoder file keep their models.
 */
export function encoderId(encoder: SharedEncoder): string {
  const p = encoder.provenance;
  const id = `${encoder.modality}:${p.task}:${p.trainedAt}:${p.users}:${encoder.dense.units}`;
  return encoder.backEnd === undefined ? id : `${id}:${backEndFingerprint(encoder.backEnd)}`;
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Per-user model over a shared encoder. */
export class EmbeddingUserModel {
  readonly config: EmbeddingModelConfig;
  private mean: Float32Array | undefined;
  private calibration: { center: number; width: number } | undefined;
  /** Median and spread of the leave-one-out similarities (for {@link standardized}). */
  private reference: { median: number; spread: number } | undefined;
  private windows = 0;

  constructor(
    readonly encoder: SharedEncoder,
    config: Partial<EmbeddingModelConfig> = {},
  ) {
    const c = { ...DEFAULT_EMBEDDING_MODEL_CONFIG, ...config };
    if (!Number.isInteger(c.minEnrollWindows) || c.minEnrollWindows < 3 || c.minEnrollWindows > 100000) {
      throw new RangeError(`minEnrollWindows must be an integer in [3, 100000], got ${c.minEnrollWindows}`);
    }
    if (!Number.isInteger(c.maxEnrollWindows) || c.maxEnrollWindows < c.minEnrollWindows) {
      throw new RangeError(`maxEnrollWindows must be an integer ≥ minEnrollWindows, got ${c.maxEnrollWindows}`);
    }
    if (!(c.margin >= 0 && c.margin <= 10)) throw new RangeError(`margin must be in [0, 10], got ${c.margin}`);
    if (!(c.sharpness > 0 && c.sharpness <= 100)) throw new RangeError(`sharpness must be in (0, 100], got ${c.sharpness}`);
    if (!(c.minSpread > 0 && c.maxSpread >= c.minSpread && c.maxSpread <= 2)) {
      throw new RangeError(`spreads must satisfy 0 < minSpread ≤ maxSpread ≤ 2, got ${c.minSpread}, ${c.maxSpread}`);
    }
    this.config = c;
  }

  /** True once fitted (or loaded). */
  get fitted(): boolean {
    return this.mean !== undefined;
  }

  /**
   * The embedding of a window, in the space similarities are computed in: the encoder's unit
   * embedding, mapped by the encoder's scoring back-end (unit length again) when it has one.
   */
  embed(seq: Steps): Float32Array {
    const e = encode(this.encoder, seq.steps, seq.n);
    return this.encoder.backEnd === undefined ? e : applyBackEnd(this.encoder.backEnd, e);
  }

  /**
   * Enrols from the user's windows (the newest `maxEnrollWindows`). Windows without steps are
   * ignored. @throws NotEnoughWindowsError below `minEnrollWindows` usable windows.
   */
  fit(sequences: readonly Steps[]): { windows: number; heldOutMedian: number } {
    const usable = sequences.filter((s) => s.n >= 2).slice(-this.config.maxEnrollWindows);
    if (usable.length < this.config.minEnrollWindows) throw new NotEnoughWindowsError();
    const embeddings = usable.map((s) => this.embed(s));
    const d = scoringDimension(this.encoder);
    const sum = new Float32Array(d);
    for (const e of embeddings) for (let i = 0; i < d; i++) sum[i] += e[i]!;
    const k = embeddings.length;
    // Leave-one-out: similarity of each enrolment embedding to the mean of the others.
    const sims = embeddings.map((e) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += e[i]! * (sum[i]! - e[i]!);
      return s / (k - 1);
    });
    const m = median(sims);
    const mad = median(sims.map((x) => Math.abs(x - m)));
    const s = Math.min(this.config.maxSpread, Math.max(this.config.minSpread, 1.4826 * mad));
    const mean = new Float32Array(d);
    for (let i = 0; i < d; i++) mean[i] = sum[i]! / k;
    this.mean = mean;
    this.calibration = { center: m - this.config.margin * s, width: s / this.config.sharpness };
    this.reference = { median: m, spread: s };
    this.windows = k;
    return { windows: k, heldOutMedian: m };
  }

  /** Mean cosine similarity of a window's embedding with the enrolment embeddings. */
  similarity(seq: Steps): number {
    if (this.mean === undefined) throw new ModelStateError('ERR_NOT_FITTED', 'embedding model is not fitted');
    const e = this.embed(seq);
    let s = 0;
    for (let i = 0; i < e.length; i++) s += e[i]! * this.mean[i]!;
    return s;
  }

  /**
   * The similarity in units of the user's own spread: (sim − median) / spread of the enrolment
   * leave-one-out similarities (z-normalisation). The confidence is a logistic function of it,
   * σ(sharpness · (z + margin)); unlike the confidence it does not saturate, so it is what the
   * benchmark protocols average over blocks and pool into one global ROC.
   */
  standardized(seq: Steps): number {
    const sim = this.similarity(seq);
    const r = this.reference!;
    return (sim - r.median) / r.spread;
  }

  /** Calibrated confidence in [0, 1] that the window is the enrolled user's. */
  score(seq: Steps): number {
    const sim = this.similarity(seq);
    const c = this.calibration!;
    return 1 / (1 + Math.exp(-(sim - c.center) / c.width));
  }

  toJSON(): EmbeddingModelJSON {
    if (this.mean === undefined || this.calibration === undefined) {
      throw new ModelStateError('ERR_NOT_FITTED', 'embedding model is not fitted');
    }
    return {
      format: 'tacit-embedding-model',
      version: 1,
      modality: this.encoder.modality,
      encoderId: encoderId(this.encoder),
      windows: this.windows,
      mean: float32ToBase64(this.mean),
      calibration: { ...this.calibration },
      config: { ...this.config },
    };
  }

  /**
   * Loads a stored model for `encoder`. @throws ModelFormatError when it was enrolled with
   * another encoder (re-enrol) or is malformed.
   */
  static fromJSON(encoder: SharedEncoder, json: EmbeddingModelJSON): EmbeddingUserModel {
    if (json?.format !== 'tacit-embedding-model' || json.version !== 1) throw new ModelFormatError('not an embedding model');
    if (json.encoderId !== encoderId(encoder)) throw new ModelFormatError('enrolled with another shared encoder');
    const mean = base64ToFloat32(json.mean);
    if (mean === undefined || mean.length !== scoringDimension(encoder) || mean.some((v) => !Number.isFinite(v))) {
      throw new ModelFormatError('bad mean embedding');
    }
    const c = json.calibration;
    if (!Number.isFinite(c?.center) || !(c.width > 0)) throw new ModelFormatError('bad calibration');
    const model = new EmbeddingUserModel(encoder, json.config);
    model.mean = mean;
    model.calibration = { center: c.center, width: c.width };
    // center = m − margin·s and width = s / sharpness, so the reference follows from them.
    const spread = c.width * model.config.sharpness;
    model.reference = { median: c.center + model.config.margin * spread, spread };
    model.windows = json.windows;
    return model;
  }
}
