/**
 * One device's local round of federated training of a shared encoder: fine-tune the encoder's
 * parameters on the device user's own step sequences, and return the new parameters and the
 * delta (new − old) in the order of `parameters.ts`. The delta is then privatised
 * (`privatise.ts`) and quantised (`update-format.ts`) before it leaves the device.
 *
 * Objective `frozen-centres` (the first session's; docs/federated.md "Positive-only remedy"): CosFace
 * (the shipped training's loss, `cosFaceLoss` of `shared/train.ts`) over the classes [the user's
 * own centre, then the frozen public centres], every sample the user's own (label 0). The own
 * centre is the normalised mean of the user's embeddings under the round's starting encoder
 * (`userCentre`), computed here and never returned; no centre is trained; only the encoder's
 * convolutions and projection change. A device's data thus pulls its embeddings towards its
 * own centre *and* away from every public user's, which is what keeps users apart when the
 * deltas of many one-user devices are averaged.
 *
 * Objective `positive-only` pulls embeddings towards the own centre only (loss 1 − cos). With
 * the own centre recomputed under every round's encoder it is the naive baseline of Yu et al.
 * (ICML 2020): averaged over devices it collapses the embedding (every input maps to one
 * point), and tests show that. Towards a target the device keeps across rounds and that differs
 * between devices (`ownCentre` from `device-target.ts`: anchor + secret code word, FedUV-style)
 * it does not collapse, because the targets do not move with the encoder: that is what ships
 * (`FEDERATED_DEFAULTS`), and `positive-only` without an `ownCentre` is refused
 * (`ERR_NO_DEVICE_TARGET`) unless a test opts into the baseline.
 *
 * `randomNegatives` k > 0 turns the `positive-only` pull into a margin loss over code words:
 * CosFace over [the device's target, k fresh random unit vectors drawn every step]. Other
 * devices' code words are independent random unit vectors, so fresh draws stand for them without
 * the device learning any of them: the loss adds the push away from "someone else's code word"
 * and CosFace's margin, which the plain 1 − cos pull lacks, and reads no public centres.
 *
 * Batches are random crops of the user's sequences built exactly as in training (`writeCrop`),
 * and the graph is training's (`forwardTf`), so a fine-tuned encoder still computes in `encode()`
 * what it was trained to compute.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs';
import { assertInteger, assertKnownKeys, assertNumber, quote } from '../assert';
import { MissingDeviceTargetError, NotEnoughWindowsError } from '../errors';
import type { Rng } from '../random';
import { type SharedEncoder, embeddingDimension } from '../shared/encoder';
import {
  type CropBatch,
  type StepSequence,
  cosFaceLoss,
  forwardTf,
  writeCrop,
} from '../shared/train';
import { codeWord } from './device-target';
import { flattenParameters, unflattenParameters } from './parameters';
import { type PublicCentres, userCentre } from './public-centres';

/** The local objective (see the module description). */
export type LocalObjective = 'frozen-centres' | 'positive-only';

/** Settings of a local round; every field documents its range and default. */
export interface LocalUpdateConfig {
  /**
   * `frozen-centres`, or `positive-only` (towards a device-kept target, what ships; without one
   * the collapsing baseline, refused). Default `frozen-centres`.
   */
  objective: LocalObjective;
  /** Optimiser steps in the round, integer 1–10000. Default 20. */
  steps: number;
  /** Crops per step, integer 1–1024. Default 32. */
  batchSize: number;
  /** `adam` (fresh moments every round) or `sgd`. Default `adam`. */
  optimizer: 'adam' | 'sgd';
  /** Learning rate, (0, 1]. Default 0.001. */
  learningRate: number;
  /** CosFace scale s, (0, 100]. Default 16 (as the shipped encoders were trained). */
  scale: number;
  /** CosFace margin m, [0, 1). Default 0.1. */
  margin: number;
  /** Shortest random crop (steps), 2–maxLength. Default 10. */
  minLength: number;
  /** Longest crop and padded length, 2–1024. Default 50. */
  maxLength: number;
  /** Std of Gaussian noise added to the timing features of each crop, [0, 1]. Default 0.01. */
  inputNoise: number;
  /**
   * FedProx proximal weight μ, [0, 100]: adds μ/2 · ‖w − w_round‖² to the loss (Li et al.,
   * MLSys 2020), holding the local round near the version it started from. Default 0.
   */
  proximal: number;
  /**
   * With `positive-only`: k fresh random unit vectors drawn every step as CosFace negatives
   * beside the target (the module description), integer 0–4096. Default 0 (the plain 1 − cos
   * pull). Optional so that settings written before it stay complete.
   */
  randomNegatives?: number;
}

/** Defaults of {@link LocalUpdateConfig}. */
export const DEFAULT_LOCAL_UPDATE_CONFIG: Readonly<LocalUpdateConfig> = Object.freeze({
  objective: 'frozen-centres',
  steps: 20,
  batchSize: 32,
  optimizer: 'adam',
  learningRate: 0.001,
  scale: 16,
  margin: 0.1,
  minLength: 10,
  maxLength: 50,
  inputNoise: 0.01,
  proximal: 0,
});

/** Merges overrides into the defaults and validates them (RangeError quoting the bad value). */
export function resolveLocalUpdateConfig(
  overrides: Partial<LocalUpdateConfig> = {},
): LocalUpdateConfig {
  assertKnownKeys('local update config', overrides, [
    ...Object.keys(DEFAULT_LOCAL_UPDATE_CONFIG),
    'randomNegatives',
  ]);
  const c = { ...DEFAULT_LOCAL_UPDATE_CONFIG, ...overrides };
  if (c.objective !== 'frozen-centres' && c.objective !== 'positive-only') {
    throw new RangeError(
      `objective must be frozen-centres or positive-only, got ${quote(c.objective)}`,
    );
  }
  if (c.optimizer !== 'adam' && c.optimizer !== 'sgd') {
    throw new RangeError(`optimizer must be adam or sgd, got ${quote(c.optimizer)}`);
  }
  assertInteger('steps', c.steps, 1, 10000);
  assertInteger('batchSize', c.batchSize, 1, 1024);
  assertNumber('learningRate', c.learningRate, 0, 1, true);
  assertNumber('scale', c.scale, 0, 100, true);
  assertNumber('margin', c.margin, 0, 0.999999);
  assertInteger('maxLength', c.maxLength, 2, 1024);
  assertInteger('minLength', c.minLength, 2, c.maxLength);
  assertNumber('inputNoise', c.inputNoise, 0, 1);
  assertNumber('proximal', c.proximal, 0, 100);
  if (c.randomNegatives !== undefined) {
    assertInteger('randomNegatives', c.randomNegatives, 0, 4096);
    if (c.randomNegatives > 0 && c.objective !== 'positive-only') {
      throw new RangeError(
        `randomNegatives needs the positive-only objective, got ${quote(c.objective)}`,
      );
    }
  }
  return c;
}

/** What a local round gives back. Only `delta`, privatised, may leave the device. */
export interface LocalUpdateResult {
  /** The fine-tuned encoder (architecture, provenance and back-end of the input). */
  encoder: SharedEncoder;
  /** New − old parameters, `parameters.ts` order. */
  delta: Float32Array;
  /** Mean loss of the first and of the last step (for diagnostics; stays on the device). */
  loss: { first: number; last: number };
}

/** Device state a local round may use besides its data (never sent). */
export interface LocalUpdateOptions {
  /**
   * The device's **anchor**: the own centre to train towards, kept on the device from the
   * version it first trained (`userCentre` then). Without it the own centre is recomputed under
   * the round's encoder, which lets every device's target drift with the encoder (the common
   * drift of docs/federated.md "Learning on real users"). Unit length, the encoder's dimension.
   */
  ownCentre?: Float32Array;
  /**
   * Tests that show the collapse only: let `positive-only` run without `ownCentre`, towards the
   * own centre recomputed under every round's encoder (Yu et al.'s baseline). Without it that
   * combination is refused (`ERR_NO_DEVICE_TARGET`).
   */
  collapsingBaseline?: true;
}

/**
 * Runs one local round (see the module description) on the tfjs backend the caller set.
 * `sequences` are the device user's step sequences (those of fewer than 2 steps are ignored;
 * none left: `NotEnoughWindowsError`); `centres` must have been computed with this `encoder`
 * (same dimension; the `positive-only` objective ignores them). `rng` draws crops and input
 * noise; deterministic for a seed on a given backend. Every tensor it creates is disposed
 * before it returns or throws.
 */
export async function localUpdate(
  encoder: SharedEncoder,
  sequences: readonly StepSequence[],
  centres: PublicCentres,
  overrides: Partial<LocalUpdateConfig>,
  rng: Rng,
  options: LocalUpdateOptions = {},
): Promise<LocalUpdateResult> {
  const cfg = resolveLocalUpdateConfig(overrides);
  if (
    cfg.objective === 'positive-only' &&
    options.ownCentre === undefined &&
    options.collapsingBaseline !== true
  ) {
    throw new MissingDeviceTargetError();
  }
  const d = embeddingDimension(encoder);
  if (centres.dimension !== d || centres.centres.some((c) => c.length !== d)) {
    throw new RangeError(`public centres have dimension ${centres.dimension}, the encoder ${d}`);
  }
  if (options.ownCentre !== undefined && options.ownCentre.length !== d) {
    throw new RangeError(`own centre has dimension ${options.ownCentre.length}, the encoder ${d}`);
  }
  const usable = sequences.filter((s) => s.n >= 2);
  const current = userCentre(encoder, usable);
  if (current === undefined) throw new NotEnoughWindowsError('no sequence of at least 2 steps');
  const own = options.ownCentre ?? current;

  const negatives = cfg.randomNegatives ?? 0;
  const classes = cfg.objective === 'frozen-centres' ? [own, ...centres.centres] : [own];
  // Random negatives are appended as columns K0…K−1 and redrawn before every step.
  const K0 = classes.length;
  const K = K0 + negatives;
  const centreMatrix = new Float32Array(d * K);
  classes.forEach((c, k) => {
    for (let i = 0; i < d; i++) centreMatrix[i * K + k] = c[i]!;
  });

  const F = encoder.stepFeatures.length;
  const T = cfg.maxLength;
  const B = cfg.batchSize;
  const batch: CropBatch = {
    x: new Float32Array(B * T * F),
    mask: new Float32Array(B * T),
    count: new Float32Array(B),
    length: T,
    features: F,
  };
  const before = flattenParameters(encoder);
  const tensors: tf.Tensor[] = [];
  const keep = <X extends tf.Tensor>(t: X): X => {
    tensors.push(t);
    return t;
  };
  const optimizer =
    cfg.optimizer === 'adam' ? tf.train.adam(cfg.learningRate) : tf.train.sgd(cfg.learningRate);
  try {
    const convs = encoder.convs.map((c) => ({
      kernel: c.kernel,
      w: keep(tf.variable(keep(tf.tensor2d(c.weights, [c.kernel * c.inputs, c.units])))),
      b: keep(tf.variable(keep(tf.tensor1d(c.bias)))),
    }));
    const denseW = keep(
      tf.variable(keep(tf.tensor2d(encoder.dense.weights, [encoder.dense.inputs, d]))),
    );
    const denseB = keep(tf.variable(keep(tf.tensor1d(encoder.dense.bias))));
    // Parameters in `parameters.ts` order: conv weights, conv bias, …, dense weights, bias.
    const vars: tf.Variable[] = [...convs.flatMap((c) => [c.w, c.b]), denseW, denseB];
    // The round's starting values, for the proximal term (none kept when μ = 0).
    const starts = cfg.proximal > 0 ? vars.map((v) => keep(tf.clone(v))) : [];
    const centresT = negatives === 0 ? keep(tf.tensor2d(centreMatrix, [d, K])) : undefined;
    // Every sample is the user's own: label 0 (a one-hot column; tf.oneHot needs depth ≥ 2).
    const labels = keep(tf.tidy(() => tf.concat([tf.ones([B, 1]), tf.zeros([B, K - 1])], 1)));

    let first = NaN;
    let last = NaN;
    for (let step = 0; step < cfg.steps; step++) {
      for (let slot = 0; slot < B; slot++) {
        const seq = usable[Math.floor(rng() * usable.length)]!;
        writeCrop(batch, slot, seq, encoder.modality, cfg, rng);
      }
      if (negatives > 0) drawNegatives(centreMatrix, d, K0, K, rng);
      last = tf.tidy(() => {
        const targets = centresT ?? tf.tensor2d(centreMatrix, [d, K]);
        const x = tf.tensor3d(batch.x, [B, T, F]);
        const mask = tf.tensor3d(batch.mask, [B, T, 1]);
        const count = tf.tensor2d(batch.count, [B, 1]);
        const lossT = optimizer.minimize(
          () => {
            const e = forwardTf(x, mask, count, convs, denseW, denseB);
            const cos = tf.matMul(e, targets);
            const loss =
              cfg.objective === 'frozen-centres' || negatives > 0
                ? cosFaceLoss(cos, labels, cfg)
                : (tf.mean(tf.sub(1, cos)) as tf.Scalar);
            if (starts.length === 0) return loss;
            const drift = tf.addN(vars.map((v, i) => tf.sum(tf.square(tf.sub(v, starts[i]!)))));
            return tf.add(loss, tf.mul(drift, cfg.proximal / 2)) as tf.Scalar;
          },
          true,
          vars,
        )!;
        return lossT.dataSync()[0]!;
      });
      if (step === 0) first = last;
      // Let other promise work run between steps.
      await Promise.resolve();
    }

    const after = new Float32Array(before.length);
    let o = 0;
    for (const v of vars) {
      const values = v.dataSync() as Float32Array;
      after.set(values, o);
      o += values.length;
    }
    const delta = new Float32Array(before.length);
    for (let i = 0; i < delta.length; i++) delta[i] = after[i]! - before[i]!;
    return { encoder: unflattenParameters(encoder, after), delta, loss: { first, last } };
  } finally {
    optimizer.dispose();
    for (const t of tensors) t.dispose();
  }
}

/**
 * Overwrites columns `from`…`to − 1` of the d × K column-major-by-class matrix (`[i * K + k]`)
 * with fresh random unit vectors (`codeWord`'s distribution).
 */
function drawNegatives(matrix: Float32Array, d: number, from: number, to: number, rng: Rng): void {
  for (let k = from; k < to; k++) {
    const w = codeWord(d, rng);
    for (let i = 0; i < d; i++) matrix[i * to + k] = w[i]!;
  }
}
