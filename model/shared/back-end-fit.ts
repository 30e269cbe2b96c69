/**
 * Fitting of the scoring back-end (`back-end.ts`) on labelled embeddings of the training users.
 * Runs once, at the end of `npm run train`; the worker only applies the result.
 *
 * Every user weighs the same (their mean embedding and their own covariance count once,
 * whatever their number of sequences), as in encoder training. The within-class covariance is
 * shrunk towards `tr(Sw)/d · I`: it is estimated on users the encoder was trained on, whose
 * embeddings are tighter than an unseen user's, and its smallest eigenvalues would otherwise
 * stretch directions that are noise for everyone else.
 *
 * The symmetric eigen-decompositions come from `ml-matrix` (pure JavaScript, no native code).
 *
 * @module
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { createRng } from '../random';
import { type BackEndMethod, type EmbeddingBackEnd, BACK_END_METHODS } from './back-end';
import { type CropSource, cropSteps, randomCrop } from './crops';
import { type SharedEncoder, encode } from './encoder';

/** Settings of {@link fitBackEnd}; every field documents its default and valid range. */
export interface BackEndFitConfig {
  /** `whiten` (all dimensions) or `lda`. Default `lda`. */
  method: BackEndMethod;
  /**
   * LDA output dimensions, integer 1–min(inputs, users − 1); 0 = that maximum. Ignored by
   * `whiten`. Default 0.
   */
  dimensions: number;
  /** Shrinkage α of the within-class covariance: (1 − α)·Sw + α·tr(Sw)/d·I, [0, 1]. Default 0.1. */
  shrinkage: number;
}

/** Defaults of {@link BackEndFitConfig}. */
export const DEFAULT_BACK_END_FIT_CONFIG: Readonly<BackEndFitConfig> = Object.freeze({
  method: 'lda',
  dimensions: 0,
  shrinkage: 0.1,
});

/** Eigenvalues below this fraction of the largest are raised to it (a singular Sw). */
const MIN_RELATIVE_EIGENVALUE = 1e-8;

/** Symmetric eigen-decomposition, eigenvalues in descending order with their vectors. */
function eigenSymmetric(m: Matrix): { values: number[]; vectors: Matrix } {
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const values = evd.realEigenvalues;
  const order = values.map((_, i) => i).sort((a, b) => values[b]! - values[a]!);
  const v = evd.eigenvectorMatrix;
  const vectors = new Matrix(m.rows, m.rows);
  order.forEach((src, dst) => {
    for (let r = 0; r < m.rows; r++) vectors.set(r, dst, v.get(r, src));
  });
  return { values: order.map((i) => values[i]!), vectors };
}

/**
 * Fits a back-end on `groups`, one array of embeddings (all of one length) per training user.
 * Users with a single embedding still count towards the mean and the between-user scatter, not
 * the within-user one.
 * @throws RangeError for a bad config, fewer than 2 users with ≥ 2 embeddings, or ragged input.
 */
export function fitBackEnd(
  groups: readonly (readonly Float32Array[])[],
  overrides: Partial<BackEndFitConfig> = {},
): EmbeddingBackEnd {
  const c = { ...DEFAULT_BACK_END_FIT_CONFIG, ...overrides };
  if (!BACK_END_METHODS.includes(c.method)) throw new RangeError(`method must be one of ${BACK_END_METHODS.join(', ')}, got ${c.method}`);
  if (!(c.shrinkage >= 0 && c.shrinkage <= 1)) throw new RangeError(`shrinkage must be in [0, 1], got ${c.shrinkage}`);
  const users = groups.filter((g) => g.length > 0);
  if (users.filter((g) => g.length >= 2).length < 2) {
    throw new RangeError('need at least 2 users with 2 or more embeddings');
  }
  const d = users[0]![0]!.length;
  for (const g of users) for (const e of g) if (e.length !== d) throw new RangeError('embeddings differ in length');
  const maxDims = Math.min(d, users.length - 1);
  const dims = c.method === 'whiten' ? d : c.dimensions === 0 ? maxDims : c.dimensions;
  if (c.method === 'lda' && (!Number.isInteger(dims) || dims < 1 || dims > maxDims)) {
    throw new RangeError(`dimensions must be an integer in [1, ${maxDims}] or 0, got ${c.dimensions}`);
  }

  const means = users.map((g) => {
    const m = new Float64Array(d);
    for (const e of g) for (let i = 0; i < d; i++) m[i] += e[i]!;
    for (let i = 0; i < d; i++) m[i] /= g.length;
    return m;
  });
  const mu = new Float64Array(d);
  for (const m of means) for (let i = 0; i < d; i++) mu[i] += m[i]! / means.length;

  const sw = Matrix.zeros(d, d);
  let within = 0;
  users.forEach((g, u) => {
    if (g.length < 2) return;
    within++;
    const m = means[u]!;
    const local = Matrix.zeros(d, d);
    for (const e of g) {
      for (let i = 0; i < d; i++) {
        const a = e[i]! - m[i]!;
        for (let j = i; j < d; j++) local.set(i, j, local.get(i, j) + a * (e[j]! - m[j]!));
      }
    }
    sw.add(local.div(g.length));
  });
  sw.div(within);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) sw.set(i, j, sw.get(j, i));
  const scale = sw.trace() / d;
  sw.mul(1 - c.shrinkage);
  for (let i = 0; i < d; i++) sw.set(i, i, sw.get(i, i) + c.shrinkage * scale);

  // W = V Λ^(−1/2): Wᵀ Sw W = I.
  const { values, vectors } = eigenSymmetric(sw);
  const floor = Math.max(values[0]!, 0) * MIN_RELATIVE_EIGENVALUE || MIN_RELATIVE_EIGENVALUE;
  const w = vectors.clone();
  for (let k = 0; k < d; k++) {
    const f = 1 / Math.sqrt(Math.max(values[k]!, floor));
    for (let r = 0; r < d; r++) w.set(r, k, w.get(r, k) * f);
  }

  let projection = w;
  if (c.method === 'lda') {
    const sb = Matrix.zeros(d, d);
    for (const m of means) {
      const diff = Matrix.columnVector(Array.from(m, (v, i) => v - mu[i]!));
      sb.add(diff.mmul(diff.transpose()));
    }
    sb.div(means.length);
    // Between-user scatter in the whitened space; its leading eigenvectors are LDA's directions.
    const b = w.transpose().mmul(sb).mmul(w);
    const bs = b.add(b.transpose()).div(2);
    const { vectors: u } = eigenSymmetric(bs);
    projection = w.mmul(u.subMatrix(0, d - 1, 0, dims - 1));
  }

  const p = new Float32Array(d * dims);
  for (let r = 0; r < d; r++) for (let k = 0; k < dims; k++) p[r * dims + k] = projection.get(r, k);
  return {
    method: c.method,
    inputs: d,
    outputs: dims,
    mean: Float32Array.from(mu),
    projection: p,
    shrinkage: c.shrinkage,
    users: users.length,
    samples: users.reduce((s, g) => s + g.length, 0),
  };
}

/** How {@link trainingEmbeddings} samples each training sequence. */
export interface BackEndSampling {
  /** Random crops per sequence besides the sequence itself, integer 0–100. Default 4. */
  crops: number;
  /** Crop lengths (steps) and the cut of the whole sequence: the encoder's training crops. */
  minLength: number;
  maxLength: number;
  /** Seed of the crops. Default 1. */
  seed: number;
}

/**
 * The encoder's embeddings (before any back-end) of each user's sequences: each sequence's first
 * `maxLength` steps, plus `crops` random crops of it, so that the within-user scatter includes
 * what differs between a 10-step window and a 50-step sequence of the same person.
 * Deterministic for a seed. Sequences with fewer than 2 steps are skipped.
 */
export function trainingEmbeddings(
  encoder: SharedEncoder,
  users: readonly { sequences: readonly CropSource[] }[],
  sampling: Partial<BackEndSampling> & Pick<BackEndSampling, 'minLength' | 'maxLength'>,
): Float32Array[][] {
  const crops = sampling.crops ?? 4;
  if (!Number.isInteger(crops) || crops < 0 || crops > 100) throw new RangeError(`crops must be an integer in [0, 100], got ${crops}`);
  const rng = createRng(sampling.seed ?? 1);
  const embed = (s: CropSource): Float32Array => encode(encoder, s.steps, s.n);
  return users.map((u) =>
    u.sequences
      .filter((s) => s.n >= 2)
      .flatMap((s) => {
        const out = [embed(cropSteps(encoder.modality, s, 0, Math.min(s.n, sampling.maxLength)))];
        for (let k = 0; k < crops; k++) {
          const { start, length } = randomCrop(s.n, sampling.minLength, sampling.maxLength, rng);
          out.push(embed(cropSteps(encoder.modality, s, start, length)));
        }
        return out;
      }),
  );
}
