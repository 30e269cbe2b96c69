/**
 * The scoring back-end of a shared encoder: a fixed linear map learned once, at the end of
 * training, on the training users' embeddings, and applied to every embedding before the
 * per-user model compares them (`embedding-model.ts`). It is the speaker-verification recipe
 * (centre, within-class whitening or LDA, length normalisation) in front of cosine scoring:
 * directions in which one person's embeddings vary a lot (session, text, crop length) are
 * shrunk, directions that separate people are kept, so a cosine counts the evidence that tells
 * people apart instead of every direction equally.
 *
 * `y = normalize(Pᵀ (x − μ))`, with μ the mean of the training users' mean embeddings and P an
 * `inputs × outputs` projection. This file only applies and (de)serialises; fitting needs an
 * eigen-decomposition and lives in `back-end-fit.ts`, so the worker's bundle never carries it.
 *
 * @module
 */
import { ModelFormatError } from '../errors';
import { base64ToFloat32, float32ToBase64 } from '../detector/base64';

/** Back-end methods: within-class whitening (all dimensions) or LDA (the most discriminant ones). */
export const BACK_END_METHODS = ['whiten', 'lda'] as const;
/** One of {@link BACK_END_METHODS}. */
export type BackEndMethod = (typeof BACK_END_METHODS)[number];

/** A fitted back-end in memory. */
export interface EmbeddingBackEnd {
  method: BackEndMethod;
  /** Embedding size it takes (the encoder's `dense.units`). */
  inputs: number;
  /** Size of what it gives, 1–`inputs` (= `inputs` for whitening). */
  outputs: number;
  /** μ, `inputs` values. */
  mean: Float32Array;
  /** P, `inputs × outputs` row-major. */
  projection: Float32Array;
  /** Shrinkage of the within-class covariance towards a multiple of the identity, [0, 1]. */
  shrinkage: number;
  /** Training users and embeddings it was fitted on (provenance, not used for scoring). */
  users: number;
  samples: number;
}

/** Stored form: the `backEnd` member of a `tacit-shared-encoder` file (optional). */
export interface EmbeddingBackEndJSON {
  method: BackEndMethod;
  inputs: number;
  outputs: number;
  /** base64 of little-endian float32, like every weight of the encoder. */
  mean: string;
  projection: string;
  shrinkage: number;
  users: number;
  samples: number;
}

/**
 * Maps an encoder embedding into the back-end's space and scales it to unit length. The result
 * is a new array; a point exactly at μ maps to the zero vector (cosine 0 with everything).
 */
export function applyBackEnd(backEnd: EmbeddingBackEnd, x: Float32Array): Float32Array {
  const { inputs, outputs, mean, projection } = backEnd;
  if (x.length !== inputs) throw new RangeError(`embedding has ${x.length} values, expected ${inputs}`);
  // Accumulate in float64: the projection of a whitening back-end has large entries in the
  // directions it stretches, and the centred input is small there.
  const y = new Float64Array(outputs);
  for (let i = 0; i < inputs; i++) {
    const v = x[i]! - mean[i]!;
    if (v === 0) continue;
    const row = i * outputs;
    for (let o = 0; o < outputs; o++) y[o] += v * projection[row + o]!;
  }
  let s = 0;
  for (const v of y) s += v * v;
  const norm = Math.sqrt(s);
  const out = new Float32Array(outputs);
  if (norm > 0) for (let o = 0; o < outputs; o++) out[o] = y[o]! / norm;
  return out;
}

/** Serialises a back-end. */
export function backEndToJSON(b: EmbeddingBackEnd): EmbeddingBackEndJSON {
  return {
    method: b.method,
    inputs: b.inputs,
    outputs: b.outputs,
    mean: float32ToBase64(b.mean),
    projection: float32ToBase64(b.projection),
    shrinkage: b.shrinkage,
    users: b.users,
    samples: b.samples,
  };
}

/**
 * Loads a stored back-end for an encoder whose embeddings have `inputs` values.
 * @throws ModelFormatError for any bad member, shape or non-finite value.
 */
export function backEndFromJSON(input: unknown, inputs: number): EmbeddingBackEnd {
  const j = input as Partial<EmbeddingBackEndJSON> | null;
  if (j === null || typeof j !== 'object') throw new ModelFormatError('bad scoring back-end');
  if (!BACK_END_METHODS.includes(j.method as BackEndMethod)) {
    throw new ModelFormatError('unknown scoring back-end method');
  }
  const outputs = j.outputs;
  if (
    j.inputs !== inputs ||
    typeof outputs !== 'number' ||
    !Number.isInteger(outputs) ||
    outputs < 1 ||
    outputs > inputs ||
    (j.method === 'whiten' && outputs !== inputs)
  ) {
    throw new ModelFormatError('bad scoring back-end shape');
  }
  const floats = (text: unknown, length: number): Float32Array => {
    const a = typeof text === 'string' ? base64ToFloat32(text) : undefined;
    if (a === undefined || a.length !== length || a.some((v) => !Number.isFinite(v))) {
      throw new ModelFormatError('bad scoring back-end weights');
    }
    return a;
  };
  const shrinkage = j.shrinkage;
  if (typeof shrinkage !== 'number' || !(shrinkage >= 0 && shrinkage <= 1)) {
    throw new ModelFormatError('bad scoring back-end shrinkage');
  }
  return {
    method: j.method!,
    inputs,
    outputs,
    mean: floats(j.mean, inputs),
    projection: floats(j.projection, inputs * outputs),
    shrinkage,
    users: Number(j.users) || 0,
    samples: Number(j.samples) || 0,
  };
}

/**
 * A short, stable fingerprint of a back-end's weights (FNV-1a style over the float32 bit
 * patterns of μ and P, read as numbers so the byte order of the platform does not matter): part
 * of the encoder id, so that a per-user model enrolled in one back-end's space is never scored in
 * another's.
 */
export function backEndFingerprint(b: EmbeddingBackEnd): string {
  let h = 0x811c9dc5;
  const bits = new Uint32Array(1);
  const view = new Float32Array(bits.buffer);
  for (const a of [b.mean, b.projection]) {
    for (const v of a) {
      view[0] = v;
      h = Math.imul(h ^ bits[0]!, 0x01000193) >>> 0;
    }
  }
  return `${b.method}${b.outputs}-${h.toString(16).padStart(8, '0')}`;
}
