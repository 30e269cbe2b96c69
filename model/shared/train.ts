/**
 * Training of a shared encoder (encoder.ts) across many users with TensorFlow.js, on whatever
 * backend the caller set (wasm or cpu in Node; the CLI is `npm run train`).
 *
 * Objective: additive-margin softmax (CosFace, Wang et al. 2018) over the training users: every
 * user has a learned unit "centre"; the loss pushes a sequence's embedding towards its user's
 * centre and away from the others by a cosine margin. It learns a metric space like TypeNet's
 * triplet loss, but every batch compares each sequence with every training user, so it needs far
 * fewer steps (this runs on 2 CPU cores, not a GPU).
 *
 * Inputs are random crops (length `minLength`…`maxLength`, so the encoder serves 10-key windows
 * as well as 50-key sequences) padded to `maxLength` with a mask: each conv output is multiplied
 * by the mask, and pooling is masked, so a padded batch computes exactly what the plain-JS
 * `encode()` computes on the unpadded sequence.
 *
 * Class imbalance: users contribute different numbers of sequences; batches draw users uniformly
 * first and then one of that user's sequences, so every user weighs the same in the loss
 * (instead of SMOTE-style oversampling: synthetic timing sequences would teach the encoder
 * interpolated people).
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import type { Modality } from '../features/schema';
import { createRng, gaussian, type Rng } from '../random';
import { type BackEndMethod, BACK_END_METHODS } from './back-end';
import { fitBackEnd, trainingEmbeddings } from './back-end-fit';
import { markStart, randomCrop } from './crops';
import {
  POOL_EPSILON,
  type ConvLayer,
  type EncoderProvenance,
  type SharedEncoder,
  stepFeatureNames,
} from './encoder';

/** One step sequence (features/sequence.ts output). */
export interface StepSequence {
  steps: Float32Array;
  n: number;
}

/** A training user: their sequences. At least 2 are needed to be useful. */
export interface TrainingUser {
  userId: string;
  sequences: StepSequence[];
}

/** Training settings; every field documents its default and valid range. */
export interface EncoderTrainConfig {
  /** Convolutions (kernel odd 1–15, units 1–512). Default [{5, 48}, {5, 48}, {3, 48}]. */
  convs: { kernel: number; units: number }[];
  /** Embedding size, 2–512. Default 48. */
  embedding: number;
  /** Passes over the users (each user once per epoch, in batches). Default 300; 1–10000. */
  epochs: number;
  /** Sequences per batch, 8–4096, a multiple of `cropsPerUser`. Default 64. */
  batchSize: number;
  /**
   * Crops per user in a batch (each from a sequence of the user drawn at random), integer
   * 1–16. Each epoch still visits every user once, so an epoch costs `cropsPerUser` × the
   * batches of 1. Default 1.
   */
  cropsPerUser: number;
  /** Peak Adam learning rate, (0, 1]. Default 0.01. */
  learningRate: number;
  /**
   * Learning-rate schedule over the training steps, one Adam optimiser throughout (its moment
   * estimates are never reset): `step` = × 0.5 from 60 % and × 0.25 from 85 % of the epochs;
   * `cosine` = linear warm-up over the first `warmupFraction` of the steps, then a cosine decay
   * to 1 % of the peak. Default `step`.
   */
  schedule: 'step' | 'cosine';
  /** Warm-up fraction of the `cosine` schedule, [0, 0.5]. Default 0.05. */
  warmupFraction: number;
  /** CosFace scale s, (0, 100]. Default 16. */
  scale: number;
  /** CosFace margin m, [0, 1). Default 0.1. */
  margin: number;
  /** Shortest random crop (steps), 2–maxLength. Default 10. */
  minLength: number;
  /** Longest crop and padded length, 2–1024. Default 50. */
  maxLength: number;
  /** Std of Gaussian noise added to the timing features of each input (0 = none). Default 0.01. */
  inputNoise: number;
  /** Seed of initial weights, batches, crops and noise. Default 1. */
  seed: number;
  /**
   * Scoring back-end fitted on the training users' embeddings after training and stored with
   * the encoder (`back-end.ts`): `none`, `whiten` or `lda`. Default `none`.
   */
  backEnd: 'none' | BackEndMethod;
  /** Back-end shrinkage of the within-user covariance, [0, 1]. Default 0.3. */
  backEndShrinkage: number;
  /** LDA output dimensions, 0 = all (≤ embedding, < users). Default 0. */
  backEndDimensions: number;
  /** Random crops per training sequence embedded for the back-end, 0–100. Default 4. */
  backEndCrops: number;
}

/** Defaults of {@link EncoderTrainConfig}. */
export const DEFAULT_ENCODER_TRAIN_CONFIG: Readonly<EncoderTrainConfig> = Object.freeze({
  convs: [
    { kernel: 5, units: 48 },
    { kernel: 5, units: 48 },
    { kernel: 3, units: 48 },
  ],
  embedding: 48,
  epochs: 300,
  batchSize: 64,
  cropsPerUser: 1,
  learningRate: 0.01,
  schedule: 'step',
  warmupFraction: 0.05,
  scale: 16,
  margin: 0.1,
  minLength: 10,
  maxLength: 50,
  inputNoise: 0.01,
  seed: 1,
  backEnd: 'none',
  backEndShrinkage: 0.3,
  backEndDimensions: 0,
  backEndCrops: 4,
});

/** Merges overrides into the defaults and validates (RangeError quoting the bad value). */
export function resolveEncoderTrainConfig(
  overrides: Partial<EncoderTrainConfig> = {},
): EncoderTrainConfig {
  const c = { ...DEFAULT_ENCODER_TRAIN_CONFIG, ...overrides };
  const int = (name: keyof EncoderTrainConfig, lo: number, hi: number) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('embedding', 2, 512);
  int('epochs', 1, 10000);
  int('batchSize', 8, 4096);
  int('maxLength', 2, 1024);
  int('minLength', 2, c.maxLength);
  int('seed', 0, 2 ** 32 - 1);
  int('cropsPerUser', 1, 16);
  if (c.batchSize % c.cropsPerUser !== 0) throw new RangeError(`batchSize must be a multiple of cropsPerUser, got ${c.batchSize} and ${c.cropsPerUser}`);
  if (c.schedule !== 'step' && c.schedule !== 'cosine') throw new RangeError(`schedule must be step or cosine, got ${String(c.schedule)}`);
  if (!(c.warmupFraction >= 0 && c.warmupFraction <= 0.5)) throw new RangeError(`warmupFraction must be in [0, 0.5], got ${c.warmupFraction}`);
  if (c.backEnd !== 'none' && !BACK_END_METHODS.includes(c.backEnd)) throw new RangeError(`backEnd must be none, ${BACK_END_METHODS.join(' or ')}, got ${String(c.backEnd)}`);
  if (!(c.backEndShrinkage >= 0 && c.backEndShrinkage <= 1)) throw new RangeError(`backEndShrinkage must be in [0, 1], got ${c.backEndShrinkage}`);
  int('backEndDimensions', 0, c.embedding);
  int('backEndCrops', 0, 100);
  if (!(c.learningRate > 0 && c.learningRate <= 1)) throw new RangeError(`learningRate must be in (0, 1], got ${c.learningRate}`);
  if (!(c.scale > 0 && c.scale <= 100)) throw new RangeError(`scale must be in (0, 100], got ${c.scale}`);
  if (!(c.margin >= 0 && c.margin < 1)) throw new RangeError(`margin must be in [0, 1), got ${c.margin}`);
  if (!(c.inputNoise >= 0 && c.inputNoise <= 1)) throw new RangeError(`inputNoise must be in [0, 1], got ${c.inputNoise}`);
  if (!Array.isArray(c.convs) || c.convs.length < 1 || c.convs.length > 8) throw new RangeError('convs must have 1–8 layers');
  for (const l of c.convs) {
    if (!Number.isInteger(l.kernel) || l.kernel < 1 || l.kernel > 15 || l.kernel % 2 !== 1) throw new RangeError(`conv kernel must be odd in [1, 15], got ${l.kernel}`);
    if (!Number.isInteger(l.units) || l.units < 1 || l.units > 512) throw new RangeError(`conv units must be in [1, 512], got ${l.units}`);
  }
  return { ...c, convs: c.convs.map((l) => ({ ...l })) };
}

/**
 * The encoder's graph in TensorFlow.js on a padded batch: `x` [B, T, F], `mask` [B, T, 1] (1 on
 * real steps), `count` [B, 1] (real steps per row, ≥ 1). The same computation as `encode()`.
 */
export function forwardTf(
  x: tf.Tensor3D,
  mask: tf.Tensor3D,
  count: tf.Tensor2D,
  convs: readonly { kernel: number; w: tf.Tensor2D; b: tf.Tensor1D }[],
  denseW: tf.Tensor2D,
  denseB: tf.Tensor1D,
): tf.Tensor2D {
  const T = x.shape[1];
  let a: tf.Tensor3D = x;
  let width = x.shape[2];
  for (const l of convs) {
    const units = l.w.shape[1];
    // "same" convolution as im2col + matMul: every op here has a gradient on the wasm backend
    // (which lacks Conv2DBackpropFilter), and the layout is encode()'s.
    const pad = (l.kernel - 1) >> 1;
    const padded = tf.pad(a, [[0, 0], [pad, pad], [0, 0]]);
    const cols: tf.Tensor3D[] = [];
    for (let j = 0; j < l.kernel; j++) cols.push(tf.slice(padded, [0, j, 0], [-1, T, width]));
    const unfolded = (l.kernel === 1 ? cols[0]! : tf.concat(cols, 2)).reshape([-1, l.kernel * width]);
    const y = tf.relu(tf.add(tf.matMul(unfolded, l.w), l.b)).reshape([-1, T, units]);
    a = tf.mul(y, mask) as tf.Tensor3D;
    width = units;
  }
  const mean = tf.div(tf.sum(a, 1), count);
  const centred = tf.mul(tf.sub(a, mean.expandDims(1)), mask);
  const std = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(centred), 1), count), POOL_EPSILON));
  const e = tf.add(tf.matMul(tf.concat([mean, std], 1), denseW), denseB);
  return tf.div(e, tf.norm(e, 2, 1, true)) as tf.Tensor2D;
}

/**
 * CosFace loss (Wang et al. 2018) of cosines `cos` [B, U] to unit class centres, one-hot labels
 * `y` [B, U]: softmax cross-entropy of `scale · (cos − margin · y)`, averaged over the batch.
 */
export function cosFaceLoss(
  cos: tf.Tensor,
  y: tf.Tensor,
  cfg: Pick<EncoderTrainConfig, 'scale' | 'margin'>,
): tf.Scalar {
  const logits = tf.mul(tf.sub(cos, tf.mul(y, cfg.margin)), cfg.scale);
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

/** Progress of one epoch. */
export interface EpochReport {
  epoch: number;
  loss: number;
  /** Fraction of the epoch's sequences whose nearest user centre is their own. */
  trainAccuracy: number;
  seconds: number;
}

/**
 * Learning rate of training step `step` (0-based) of `totalSteps`, `stepsPerEpoch` per epoch,
 * under `cfg.schedule` (see {@link EncoderTrainConfig.schedule}).
 */
export function learningRateAt(
  cfg: Pick<EncoderTrainConfig, 'learningRate' | 'schedule' | 'warmupFraction' | 'epochs'>,
  step: number,
  stepsPerEpoch: number,
): number {
  const total = cfg.epochs * stepsPerEpoch;
  if (cfg.schedule === 'step') {
    const epoch = Math.floor(step / stepsPerEpoch);
    if (epoch >= Math.floor(cfg.epochs * 0.85) && epoch > 0) return cfg.learningRate * 0.25;
    if (epoch >= Math.floor(cfg.epochs * 0.6) && epoch > 0) return cfg.learningRate * 0.5;
    return cfg.learningRate;
  }
  const warm = Math.floor(total * cfg.warmupFraction);
  if (step < warm) return (cfg.learningRate * (step + 1)) / warm;
  const progress = total - warm <= 1 ? 1 : (step - warm) / (total - warm - 1);
  const floor = 0.01;
  return cfg.learningRate * (floor + ((1 - floor) * (1 + Math.cos(Math.PI * Math.min(1, progress)))) / 2);
}

/** Number of timing (non-categorical) step features per modality: the ones noise is added to. */
const TIMING_FEATURES: Record<Modality, number> = { keystroke: 4, pointer: 4 };

/**
 * A padded batch being filled for {@link forwardTf}: `x` is `B × length × features`, `mask`
 * `B × length` (1 on real steps), `count` `B` (real steps per row).
 */
export interface CropBatch {
  x: Float32Array;
  mask: Float32Array;
  count: Float32Array;
  /** Padded length T (the config's `maxLength`). */
  length: number;
  /** Step features per row F. */
  features: number;
}

/**
 * Writes a random crop of `seq` into row `slot` of `batch`, as training takes it: length and
 * start from `randomCrop` (`minLength`…`batch.length`), first step marked as a start when the
 * crop does not begin the sequence, Gaussian noise of std `inputNoise` on the non-zero timing
 * features, the rest of the row zero and masked out. Draws from `rng` in a fixed order.
 */
export function writeCrop(
  batch: CropBatch,
  slot: number,
  seq: StepSequence,
  modality: Modality,
  cfg: Pick<EncoderTrainConfig, 'minLength' | 'inputNoise'>,
  rng: Rng,
): void {
  const { x, mask, count, length: T, features: F } = batch;
  const { start, length: len } = randomCrop(seq.n, cfg.minLength, T, rng);
  x.fill(0, slot * T * F, (slot + 1) * T * F);
  mask.fill(0, slot * T, (slot + 1) * T);
  const view = x.subarray(slot * T * F, (slot + 1) * T * F);
  view.set(seq.steps.subarray(start * F, (start + len) * F));
  // The crop's first step has no flight into it: mark it as a start, as in a real window.
  if (start > 0) markStart(modality, view);
  if (cfg.inputNoise > 0) {
    for (let t = 0; t < len; t++) {
      const o = (slot * T + t) * F;
      for (let f = 0; f < TIMING_FEATURES[modality]; f++) {
        if (x[o + f] !== 0) x[o + f] = x[o + f]! + cfg.inputNoise * gaussian(rng);
      }
    }
  }
  for (let t = 0; t < len; t++) mask[slot * T + t] = 1;
  count[slot] = len;
}

/**
 * Trains an encoder. Deterministic for a config on a given backend (weights, batches, crops and
 * noise come from the seeded JS generator). Every tensor it creates is disposed before it
 * returns or throws.
 */
export async function trainEncoder(
  modality: Modality,
  users: readonly TrainingUser[],
  overrides: Partial<EncoderTrainConfig>,
  provenance: Omit<EncoderProvenance, 'users' | 'trainedAt' | 'notes'> & { notes?: string },
  onEpoch?: (report: EpochReport) => void,
): Promise<{ encoder: SharedEncoder; history: EpochReport[] }> {
  const cfg = resolveEncoderTrainConfig(overrides);
  const usable = users.filter((u) => u.sequences.some((s) => s.n >= 2));
  if (usable.length < 2) throw new RangeError(`need at least 2 users with sequences, got ${usable.length}`);
  const names = stepFeatureNames(modality);
  const F = names.length;
  const T = cfg.maxLength;
  const B = cfg.batchSize;
  const U = usable.length;
  const rng = createRng(cfg.seed);

  const glorot = (fanIn: number, fanOut: number, size: number): Float32Array => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(size);
    for (let i = 0; i < size; i++) w[i] = (2 * rng() - 1) * limit;
    return w;
  };

  const tensors: tf.Tensor[] = [];
  const keep = <X extends tf.Tensor>(t: X): X => {
    tensors.push(t);
    return t;
  };
  // One optimiser for the whole run: the schedule changes its rate in place, so Adam's moment
  // estimates carry over (re-creating it at each stage, as this code once did, restarted them
  // from zero, with the bias correction's large first steps).
  const optimizer = tf.train.adam(cfg.learningRate);
  const setRate = (lr: number): void => {
    // tfjs declares learningRate protected but reads it on every update (adam_optimizer.js).
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
  };
  const history: EpochReport[] = [];
  try {
    let width = F;
    const convW: tf.Variable[] = [];
    const convB: tf.Variable[] = [];
    for (const l of cfg.convs) {
      convW.push(keep(tf.variable(keep(tf.tensor2d(glorot(l.kernel * width, l.units, l.kernel * width * l.units), [l.kernel * width, l.units])))));
      convB.push(keep(tf.variable(keep(tf.zeros([l.units])))));
      width = l.units;
    }
    const denseW = keep(tf.variable(keep(tf.tensor2d(glorot(2 * width, cfg.embedding, 2 * width * cfg.embedding), [2 * width, cfg.embedding]))));
    const denseB = keep(tf.variable(keep(tf.zeros([cfg.embedding]))));
    const centres = keep(tf.variable(keep(tf.tensor2d(glorot(cfg.embedding, U, cfg.embedding * U), [cfg.embedding, U]))));
    const vars = [...convW, ...convB, denseW, denseB, centres] as tf.Variable[];

    const embed = (x: tf.Tensor3D, mask: tf.Tensor3D, count: tf.Tensor2D): tf.Tensor2D =>
      forwardTf(x, mask, count, cfg.convs.map((l, i) => ({ kernel: l.kernel, w: convW[i] as tf.Tensor as tf.Tensor2D, b: convB[i] as tf.Tensor as tf.Tensor1D })), denseW as tf.Tensor as tf.Tensor2D, denseB as tf.Tensor as tf.Tensor1D);

    const xBuf = new Float32Array(B * T * F);
    const mBuf = new Float32Array(B * T);
    const cBuf = new Float32Array(B);
    const labels = new Int32Array(B);
    const usableSeqs = usable.map((u) => u.sequences.filter((s) => s.n >= 2));
    const batch: CropBatch = { x: xBuf, mask: mBuf, count: cBuf, length: T, features: F };
    const fill = (slot: number, user: number, r: Rng): void => {
      const seqs = usableSeqs[user]!;
      writeCrop(batch, slot, seqs[Math.floor(r() * seqs.length)]!, modality, cfg, r);
      labels[slot] = user;
    };

    const K = cfg.cropsPerUser;
    const usersPerBatch = B / K;
    const stepsPerEpoch = Math.max(1, Math.ceil(U / usersPerBatch));
    let globalStep = 0;
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const t0 = Date.now();
      // Every user once per epoch in a shuffled order (class balance), then batches.
      const order = Array.from({ length: U }, (_, i) => i);
      for (let i = U - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let step = 0; step < stepsPerEpoch; step++) {
        setRate(learningRateAt(cfg, globalStep++, stepsPerEpoch));
        for (let j = 0; j < usersPerBatch; j++) {
          const idx = step * usersPerBatch + j;
          const user = idx < U ? order[idx]! : Math.floor(rng() * U);
          for (let k = 0; k < K; k++) fill(j * K + k, user, rng);
        }
        const { loss, acc } = tf.tidy(() => {
          const x = tf.tensor3d(xBuf, [B, T, F]);
          const mask = tf.tensor3d(mBuf, [B, T, 1]);
          const count = tf.tensor2d(cBuf, [B, 1]);
          const y = tf.oneHot(tf.tensor1d(labels, 'int32'), U);
          let accT: tf.Scalar = tf.scalar(0);
          const lossT = optimizer.minimize(
            () => {
              const e = embed(x, mask, count);
              const c = tf.div(centres, tf.norm(centres, 2, 0, true));
              const cos = tf.matMul(e, c);
              // Kept out of the gradient scope's tidy; disposed after reading below.
              accT = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(cos, 1), tf.argMax(y, 1)), 'float32')) as tf.Scalar);
              return cosFaceLoss(cos, y, cfg);
            },
            true,
            vars,
          )!;
          const result = { loss: lossT.dataSync()[0]!, acc: accT.dataSync()[0]! };
          accT.dispose();
          return result;
        });
        lossSum += loss * B;
        correct += acc * B;
        seen += B;
      }
      const report: EpochReport = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        trainAccuracy: correct / seen,
        seconds: (Date.now() - t0) / 1000,
      };
      history.push(report);
      onEpoch?.(report);
      // Let other promise work run between epochs.
      await Promise.resolve();
    }

    const convs: ConvLayer[] = [];
    let inputs = F;
    cfg.convs.forEach((l, i) => {
      convs.push({
        kernel: l.kernel,
        inputs,
        units: l.units,
        weights: convW[i]!.dataSync() as Float32Array,
        bias: convB[i]!.dataSync() as Float32Array,
      });
      inputs = l.units;
    });
    const encoder: SharedEncoder = {
      modality,
      stepFeatures: names,
      convs: convs.map((c) => ({ ...c, weights: Float32Array.from(c.weights), bias: Float32Array.from(c.bias) })),
      dense: {
        inputs: 2 * inputs,
        units: cfg.embedding,
        weights: Float32Array.from(denseW.dataSync() as Float32Array),
        bias: Float32Array.from(denseB.dataSync() as Float32Array),
      },
      provenance: {
        dataset: provenance.dataset,
        licence: provenance.licence,
        task: provenance.task,
        users: U,
        trainedAt: new Date().toISOString().slice(0, 10),
        notes:
          `${cfg.epochs} epochs, batch ${B} (${K} crops per user), ${cfg.schedule} schedule, CosFace s ${cfg.scale} m ${cfg.margin}, crops ${cfg.minLength}-${cfg.maxLength}, seed ${cfg.seed}` +
          (cfg.backEnd === 'none' ? '' : `, back-end ${cfg.backEnd} (shrinkage ${cfg.backEndShrinkage})`) +
          (provenance.notes ? `; ${provenance.notes}` : ''),
      },
    };
    if (cfg.backEnd !== 'none') {
      // Fitted on the same users and the same kind of crops the encoder was trained on.
      const groups = trainingEmbeddings(encoder, usable, {
        crops: cfg.backEndCrops,
        minLength: cfg.minLength,
        maxLength: cfg.maxLength,
        seed: cfg.seed,
      });
      encoder.backEnd = fitBackEnd(groups, {
        method: cfg.backEnd,
        shrinkage: cfg.backEndShrinkage,
        dimensions: Math.min(cfg.backEndDimensions, groups.length - 1),
      });
    }
    return { encoder, history };
  } finally {
    optimizer.dispose();
    for (const t of tensors) t.dispose();
  }
}
