/**
 * The learned part of the detector: a small dense autoencoder (d → h → b → h → d, tanh on the
 * outer hidden layers, linear bottleneck and output) trained with TensorFlow.js on a user's
 * z-scored windows, denoising (Gaussian input noise).
 *
 * Training fits K independent autoencoders at once — the final one on all windows and one per
 * cross-validation fold — as a batch of K weight sets in one graph: Adam is element-wise and the
 * loss is a sum of per-model losses, so this equals K separate trainings at the cost of about
 * one (tfjs spends most of a tiny model's step on per-op overhead).
 *
 * Inference is plain JavaScript over the trained weights: a forward pass is ~1k multiply-adds,
 * far below the cost of dispatching tfjs ops, it holds no tensors, and it gives the same numbers
 * whatever backend trained the model.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng, gaussian } from '../random';

/** Activation of a dense layer. */
export type Activation = 'tanh' | 'linear';

/** One trained dense layer: `out = act(in · weights + bias)`. */
export interface DenseLayer {
  /** Input width. */
  inputs: number;
  /** Output width. */
  units: number;
  activation: Activation;
  /** `inputs × units`, row-major (`weights[i * units + j]` links input i to unit j). */
  weights: Float32Array;
  /** `units` biases. */
  bias: Float32Array;
}

/** Layers in order; the last one's `units` equals the first one's `inputs`. */
export type DenseNet = DenseLayer[];

/** The fixed v1 architecture for input width `d`. */
export function architecture(
  d: number,
  hidden: number,
  bottleneck: number,
): { inputs: number; units: number; activation: Activation }[] {
  return [
    { inputs: d, units: hidden, activation: 'tanh' },
    { inputs: hidden, units: bottleneck, activation: 'linear' },
    { inputs: bottleneck, units: hidden, activation: 'tanh' },
    { inputs: hidden, units: d, activation: 'linear' },
  ];
}

/** Runs `net` on one input vector in plain JavaScript (float64 accumulation). */
export function forward(net: DenseNet, input: ArrayLike<number>): Float64Array {
  let a: ArrayLike<number> = input;
  for (const layer of net) {
    const out = new Float64Array(layer.units);
    for (let j = 0; j < layer.units; j++) out[j] = layer.bias[j]!;
    for (let i = 0; i < layer.inputs; i++) {
      const ai = a[i]!;
      if (ai === 0) continue;
      const row = i * layer.units;
      for (let j = 0; j < layer.units; j++) out[j] = out[j]! + ai * layer.weights[row + j]!;
    }
    if (layer.activation === 'tanh')
      for (let j = 0; j < out.length; j++) out[j] = Math.tanh(out[j]!);
    a = out;
  }
  return a as Float64Array;
}

/** Root-mean-square of `net(z) − z`. */
export function reconstructionError(net: DenseNet, z: ArrayLike<number>): number {
  const y = forward(net, z);
  let sum = 0;
  for (let j = 0; j < y.length; j++) sum += (y[j]! - z[j]!) * (y[j]! - z[j]!);
  return Math.sqrt(sum / y.length);
}

/** What {@link trainAutoencoders} needs. */
export interface TrainSpec {
  /** Number of models trained together. */
  models: number;
  /** Rows per model (every model sees the same row count; `mask` selects its training rows). */
  rows: number;
  /** Input width d. */
  width: number;
  /** `models × rows × width` inputs, model-major: model k's row i starts at `(k * rows + i) * width`. */
  inputs: Float32Array;
  /** `models × rows`: 1 where row i is a training row of model k, else 0. Each model needs ≥ 1. */
  mask: Float32Array;
  hiddenUnits: number;
  bottleneckUnits: number;
  epochs: number;
  learningRate: number;
  inputNoise: number;
  l2: number;
  seed: number;
}

/**
 * Trains `spec.models` autoencoders on the current tfjs backend and returns their weights.
 * Deterministic for a given spec on a given backend: initial weights and noise come from the
 * seeded JS generator. Every tensor it creates is disposed before it returns or throws.
 */
export function trainAutoencoders(spec: TrainSpec): DenseNet[] {
  const { models: K, rows: n, width: d } = spec;
  const arch = architecture(d, spec.hiddenUnits, spec.bottleneckUnits);
  const rng = createRng(spec.seed);

  // Glorot-uniform weights, zero biases, drawn per model so the result never depends on tfjs RNG.
  const initW = arch.map((l) => {
    const limit = Math.sqrt(6 / (l.inputs + l.units));
    const w = new Float32Array(K * l.inputs * l.units);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng() - 1) * limit;
    return w;
  });

  // Per-row loss weights: each model's loss is the mean squared error over its own rows.
  const lossWeights = new Float32Array(K * n);
  for (let k = 0; k < K; k++) {
    let count = 0;
    for (let i = 0; i < n; i++) count += spec.mask[k * n + i]!;
    if (count <= 0) throw new RangeError(`model ${k} has no training rows`);
    for (let i = 0; i < n; i++) lossWeights[k * n + i] = spec.mask[k * n + i]! / (count * d);
  }

  const tensors: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    tensors.push(t);
    return t;
  };
  const optimizer = tf.train.adam(spec.learningRate);
  try {
    const x = keep(tf.tensor3d(spec.inputs, [K, n, d]));
    const lw = keep(tf.tensor3d(lossWeights, [K, n, 1]));
    // The initial-value tensors are kept (and disposed) too: a variable does not own them.
    const ws = arch.map((l, i) =>
      keep(tf.variable(keep(tf.tensor3d(initW[i]!, [K, l.inputs, l.units])))),
    );
    const bs = arch.map((l) => keep(tf.variable(keep(tf.zeros([K, 1, l.units])))));
    const vars = [...ws, ...bs] as tf.Variable[];
    const noise = new Float32Array(K * n * d);

    for (let epoch = 0; epoch < spec.epochs; epoch++) {
      if (spec.inputNoise > 0)
        for (let i = 0; i < noise.length; i++) noise[i] = spec.inputNoise * gaussian(rng);
      tf.tidy(() => {
        const input = spec.inputNoise > 0 ? x.add(tf.tensor3d(noise, [K, n, d])) : x;
        optimizer.minimize(
          () => {
            let a: tf.Tensor = input;
            arch.forEach((l, i) => {
              a = tf.add(tf.matMul(a, ws[i]!), bs[i]!);
              if (l.activation === 'tanh') a = tf.tanh(a);
            });
            let loss = tf.sum(tf.mul(tf.squaredDifference(a, x), lw));
            if (spec.l2 > 0)
              loss = tf.add(loss, tf.mul(tf.addN(ws.map((w) => tf.sum(tf.square(w)))), spec.l2));
            return loss as tf.Scalar;
          },
          false,
          vars,
        );
      });
    }

    // One read per variable at the end, then split per model.
    const wData = ws.map((w) => w.dataSync() as Float32Array);
    const bData = bs.map((b) => b.dataSync() as Float32Array);
    const nets: DenseNet[] = [];
    for (let k = 0; k < K; k++) {
      nets.push(
        arch.map((l, i) => ({
          ...l,
          weights: wData[i]!.slice(k * l.inputs * l.units, (k + 1) * l.inputs * l.units),
          bias: bData[i]!.slice(k * l.units, (k + 1) * l.units),
        })),
      );
    }
    return nets;
  } finally {
    optimizer.dispose();
    for (const t of tensors) t.dispose();
  }
}
