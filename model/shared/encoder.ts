/**
 * The shared encoder: a small 1-D convolutional network, learned across many users (the way
 * TypeNet learns an embedding), that maps a step sequence (features/sequence.ts) of any length
 * to a unit-length embedding. Users differ by where their embeddings fall; the per-user part
 * (`embedding-model.ts`) only keeps the user's own embeddings and a calibration.
 *
 * Architecture (all "same"-padded, stride 1, zero padding): conv(k) + ReLU, repeated; then the
 * mean and the standard deviation of each channel over time, concatenated; a dense layer; L2
 * normalisation. Because padding is zeros and training multiplies every conv output by the
 * sequence mask, a sequence scored alone gives exactly what it gave inside a padded batch.
 *
 * Inference here is plain JavaScript over Float32Arrays (no tensors, identical on every tfjs
 * backend, ≈ 0.1 ms for 20 steps); training (`train.ts`) uses TensorFlow.js with the same
 * weight layout.
 *
 * @module
 */
import { FeatureSchemaError, ModelFormatError, ModelVersionError } from '../errors';
import { base64ToFloat32, float32ToBase64 } from '../detector/base64';
import type { Modality } from '../features/schema';
import {
  type EmbeddingBackEnd,
  type EmbeddingBackEndJSON,
  backEndFromJSON,
  backEndToJSON,
} from './back-end';
import {
  KEY_STEP_FEATURES,
  POINTER_STEP_FEATURES,
  SEQUENCE_SCHEMA_VERSION,
} from '../features/sequence';

/** Format tag of a stored shared encoder. */
export const SHARED_ENCODER_FORMAT = 'tacit-shared-encoder' as const;
/** Current (and only readable) format version. */
export const SHARED_ENCODER_VERSION = 1 as const;

/** One convolution: `weights` is `(kernel · inputs) × units` row-major (im2col layout). */
export interface ConvLayer {
  kernel: number;
  inputs: number;
  units: number;
  weights: Float32Array;
  bias: Float32Array;
}

/** The projection after pooling: `inputs × units` row-major. */
export interface DenseLayer {
  inputs: number;
  units: number;
  weights: Float32Array;
  bias: Float32Array;
}

/** Where a shared encoder's weights came from (shown to users and in reports). */
export interface EncoderProvenance {
  /** Dataset name(s). */
  dataset: string;
  /** The data's licence: only permissively licensed data may be shipped in the product. */
  licence: string;
  /** Number of training users. */
  users: number;
  /** Training task name (`npm run train -- <task>`). */
  task: string;
  /** ISO date of training. */
  trainedAt: string;
  /** Free-form: epochs, seed, backend, wall time. */
  notes: string;
}

/** A shared encoder in memory. */
export interface SharedEncoder {
  modality: Modality;
  /** Step feature names in order (checked against this build on load). */
  stepFeatures: readonly string[];
  convs: ConvLayer[];
  dense: DenseLayer;
  provenance: EncoderProvenance;
  /**
   * Optional scoring back-end (`back-end.ts`), learned on the training users' embeddings and
   * applied by the per-user model before every comparison. Absent: embeddings are compared as
   * the encoder gives them (every encoder stored before back-ends existed).
   */
  backEnd?: EmbeddingBackEnd;
}

/** Stored form (JSON). Contains weights only: no user's data. */
export interface SharedEncoderJSON {
  format: typeof SHARED_ENCODER_FORMAT;
  version: typeof SHARED_ENCODER_VERSION;
  sequenceSchema: number;
  modality: Modality;
  stepFeatures: string[];
  convs: { kernel: number; inputs: number; units: number; weights: string; bias: string }[];
  dense: { inputs: number; units: number; weights: string; bias: string };
  provenance: EncoderProvenance;
  /** Optional: absent in files written before back-ends existed (they load as before). */
  backEnd?: EmbeddingBackEndJSON;
}

/** Step feature names of a modality. */
export function stepFeatureNames(modality: Modality): readonly string[] {
  return modality === 'keystroke' ? KEY_STEP_FEATURES : POINTER_STEP_FEATURES;
}

/** Embedding dimension of an encoder (what {@link encode} gives, before any back-end). */
export function embeddingDimension(encoder: SharedEncoder): number {
  return encoder.dense.units;
}

/** Dimension of the space the per-user model compares in: the back-end's output, if any. */
export function scoringDimension(encoder: SharedEncoder): number {
  return encoder.backEnd?.outputs ?? encoder.dense.units;
}

/**
 * Embeds a step sequence (`n × stepFeatures` row-major). Returns a unit-length vector; an empty
 * sequence gives the embedding of nothing (all channels' mean and std 0), still unit length
 * unless the projection's bias is exactly 0.
 */
export function encode(encoder: SharedEncoder, steps: Float32Array, n: number): Float32Array {
  if (steps.length !== n * encoder.stepFeatures.length) {
    throw new RangeError(`steps has ${steps.length} values, expected ${n} × ${encoder.stepFeatures.length}`);
  }
  let x = steps;
  let width = encoder.stepFeatures.length;
  for (const conv of encoder.convs) {
    x = convSame(x, n, width, conv);
    width = conv.units;
  }
  // Mean and population std over time per channel (n = 0 gives zeros).
  const pooled = new Float32Array(2 * width);
  if (n > 0) {
    for (let t = 0; t < n; t++) {
      const o = t * width;
      for (let c = 0; c < width; c++) pooled[c] += x[o + c]!;
    }
    for (let c = 0; c < width; c++) pooled[c] /= n;
    for (let t = 0; t < n; t++) {
      const o = t * width;
      for (let c = 0; c < width; c++) {
        const dv = x[o + c]! - pooled[c]!;
        pooled[width + c] += dv * dv;
      }
    }
    for (let c = 0; c < width; c++) pooled[width + c] = Math.sqrt(pooled[width + c]! / n + POOL_EPSILON);
  } else {
    for (let c = 0; c < width; c++) pooled[width + c] = Math.sqrt(POOL_EPSILON);
  }
  const d = encoder.dense;
  const out = new Float32Array(d.units);
  out.set(d.bias);
  for (let i = 0; i < d.inputs; i++) {
    const v = pooled[i]!;
    if (v === 0) continue;
    const row = i * d.units;
    for (let u = 0; u < d.units; u++) out[u] += v * d.weights[row + u]!;
  }
  return normalize(out);
}

/** Added to the variance before the square root, in training and inference alike. */
export const POOL_EPSILON = 1e-6;

/** Scales `v` to unit length in place (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const norm = Math.sqrt(s);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

/** Cosine similarity of two unit vectors (their dot product). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function convSame(x: Float32Array, n: number, width: number, conv: ConvLayer): Float32Array {
  const { kernel, units, weights, bias } = conv;
  const pad = (kernel - 1) >> 1;
  const out = new Float32Array(n * units);
  for (let t = 0; t < n; t++) {
    const o = t * units;
    for (let u = 0; u < units; u++) out[o + u] = bias[u]!;
    for (let j = 0; j < kernel; j++) {
      const src = t + j - pad;
      if (src < 0 || src >= n) continue;
      const xo = src * width;
      for (let i = 0; i < width; i++) {
        const v = x[xo + i]!;
        if (v === 0) continue;
        const row = (j * width + i) * units;
        for (let u = 0; u < units; u++) out[o + u] += v * weights[row + u]!;
      }
    }
    for (let u = 0; u < units; u++) if (out[o + u]! < 0) out[o + u] = 0;
  }
  return out;
}

/** Serialises an encoder (weights as base64 of little-endian float32). */
export function encoderToJSON(encoder: SharedEncoder): SharedEncoderJSON {
  return {
    format: SHARED_ENCODER_FORMAT,
    version: SHARED_ENCODER_VERSION,
    sequenceSchema: SEQUENCE_SCHEMA_VERSION,
    modality: encoder.modality,
    stepFeatures: [...encoder.stepFeatures],
    convs: encoder.convs.map((c) => ({
      kernel: c.kernel,
      inputs: c.inputs,
      units: c.units,
      weights: float32ToBase64(c.weights),
      bias: float32ToBase64(c.bias),
    })),
    dense: {
      inputs: encoder.dense.inputs,
      units: encoder.dense.units,
      weights: float32ToBase64(encoder.dense.weights),
      bias: float32ToBase64(encoder.dense.bias),
    },
    provenance: { ...encoder.provenance },
    ...(encoder.backEnd === undefined ? {} : { backEnd: backEndToJSON(encoder.backEnd) }),
  };
}

const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

function floats(text: unknown, length: number, what: string): Float32Array {
  if (typeof text !== 'string') throw new ModelFormatError(`${what} is not a string`);
  const a = base64ToFloat32(text);
  if (a === undefined || a.length !== length) throw new ModelFormatError(`${what} has the wrong length`);
  for (const v of a) if (!Number.isFinite(v)) throw new ModelFormatError(`${what} is not finite`);
  return a;
}

/**
 * Loads a stored encoder. Checks, in order: format tag (`ERR_MODEL_FORMAT`), version
 * (`ERR_MODEL_VERSION`), sequence schema version and step feature names (`ERR_FEATURE_SCHEMA`),
 * then every shape and value (`ERR_MODEL_FORMAT`), the optional scoring back-end included.
 */
export function encoderFromJSON(input: unknown): SharedEncoder {
  const json = (typeof input === 'string' ? JSON.parse(input) : input) as Partial<SharedEncoderJSON> | null;
  if (json === null || typeof json !== 'object' || json.format !== SHARED_ENCODER_FORMAT) {
    throw new ModelFormatError('not a Tacit shared encoder');
  }
  if (json.version !== SHARED_ENCODER_VERSION) throw new ModelVersionError('unsupported shared encoder version');
  if (json.modality !== 'keystroke' && json.modality !== 'pointer') {
    throw new ModelFormatError('bad modality');
  }
  const names = stepFeatureNames(json.modality);
  if (
    json.sequenceSchema !== SEQUENCE_SCHEMA_VERSION ||
    !Array.isArray(json.stepFeatures) ||
    json.stepFeatures.length !== names.length ||
    json.stepFeatures.some((n, i) => n !== names[i])
  ) {
    throw new FeatureSchemaError('shared encoder was trained on another sequence schema');
  }
  if (!Array.isArray(json.convs) || json.convs.length < 1 || json.convs.length > 8) {
    throw new ModelFormatError('bad convolution list');
  }
  let width = names.length;
  const convs: ConvLayer[] = json.convs.map((c, i) => {
    if (!isInt(c.kernel, 1, 15) || c.kernel % 2 !== 1 || c.inputs !== width || !isInt(c.units, 1, 512)) {
      throw new ModelFormatError(`bad convolution ${i}`);
    }
    width = c.units;
    return {
      kernel: c.kernel,
      inputs: c.inputs,
      units: c.units,
      weights: floats(c.weights, c.kernel * c.inputs * c.units, `conv ${i} weights`),
      bias: floats(c.bias, c.units, `conv ${i} bias`),
    };
  });
  const d = json.dense;
  if (d === undefined || d.inputs !== 2 * width || !isInt(d.units, 2, 512)) {
    throw new ModelFormatError('bad projection');
  }
  const p = json.provenance;
  if (p === undefined || typeof p.dataset !== 'string' || typeof p.licence !== 'string') {
    throw new ModelFormatError('missing provenance');
  }
  const backEnd = json.backEnd === undefined ? undefined : backEndFromJSON(json.backEnd, d.units);
  return {
    modality: json.modality,
    stepFeatures: names,
    convs,
    dense: {
      inputs: d.inputs,
      units: d.units,
      weights: floats(d.weights, d.inputs * d.units, 'projection weights'),
      bias: floats(d.bias, d.units, 'projection bias'),
    },
    provenance: {
      dataset: p.dataset,
      licence: p.licence,
      users: Number(p.users) || 0,
      task: String(p.task ?? ''),
      trainedAt: String(p.trainedAt ?? ''),
      notes: String(p.notes ?? ''),
    },
    ...(backEnd === undefined ? {} : { backEnd }),
  };
}
