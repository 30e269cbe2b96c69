import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, gaussian } from '../random';
import { type DenseNet, forward, reconstructionError, trainAutoencoders } from './autoencoder';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The same network evaluated with tfjs ops, to compare with the JS forward pass. */
function tfForward(net: DenseNet, input: Float32Array): Float32Array {
  return tf.tidy(() => {
    let a: tf.Tensor = tf.tensor2d(input, [1, input.length]);
    for (const l of net) {
      a = tf.add(tf.matMul(a, tf.tensor2d(l.weights, [l.inputs, l.units])), l.bias);
      if (l.activation === 'tanh') a = tf.tanh(a);
    }
    return a.dataSync() as Float32Array;
  });
}

describe('autoencoder', () => {
  const rng = createRng(3);
  const rows = 12;
  const width = 5;
  // Rank-2 data: the 6-unit bottleneck can learn it.
  const data = new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    const a = gaussian(rng);
    const b = gaussian(rng);
    [a, b, a + b, a - b, 0.5 * a].forEach((v, j) => (data[i * width + j] = v));
  }
  const spec = {
    rows,
    width,
    hiddenUnits: 16,
    bottleneckUnits: 6,
    epochs: 300,
    learningRate: 0.02,
    inputNoise: 0,
    l2: 0,
    seed: 1,
  };

  it('learns to reconstruct its training data', () => {
    const [net] = trainAutoencoders({
      ...spec,
      models: 1,
      inputs: data,
      mask: new Float32Array(rows).fill(1),
    });
    const errors = Array.from({ length: rows }, (_, i) =>
      reconstructionError(net!, data.subarray(i * width, (i + 1) * width)),
    );
    const untrained = trainAutoencoders({
      ...spec,
      epochs: 1,
      models: 1,
      inputs: data,
      mask: new Float32Array(rows).fill(1),
    })[0]!;
    const before = Array.from({ length: rows }, (_, i) =>
      reconstructionError(untrained, data.subarray(i * width, (i + 1) * width)),
    );
    expect(Math.max(...errors)).toBeLessThan(0.25);
    expect(errors.reduce((a, b) => a + b)).toBeLessThan(0.2 * before.reduce((a, b) => a + b));
  });

  it('computes in JavaScript what tfjs computes for the same weights', () => {
    const [net] = trainAutoencoders({
      ...spec,
      epochs: 20,
      models: 1,
      inputs: data,
      mask: new Float32Array(rows).fill(1),
    });
    for (let i = 0; i < rows; i++) {
      const x = data.subarray(i * width, (i + 1) * width);
      const js = forward(net!, x);
      const ref = tfForward(net!, Float32Array.from(x));
      js.forEach((v, j) => expect(v).toBeCloseTo(ref[j]!, 5));
    }
  });

  it('trains batched models independently: a model equals the same model trained alone', () => {
    // Model 0 sees rows 0–5, model 1 all rows; model 1 alone must come out the same.
    const mask = new Float32Array(2 * rows);
    for (let i = 0; i < rows; i++) {
      mask[i] = i < 6 ? 1 : 0;
      mask[rows + i] = 1;
    }
    const inputs = new Float32Array(2 * rows * width);
    inputs.set(data, 0);
    inputs.set(data, rows * width);
    const [partial, both] = trainAutoencoders({ ...spec, epochs: 30, models: 2, inputs, mask });
    const [full, alone] = trainAutoencoders({
      ...spec,
      epochs: 30,
      models: 2,
      inputs,
      mask: new Float32Array(2 * rows).fill(1),
    });
    // Same initial weights for model index 1 in both runs; only model 0's mask differs...
    both!.forEach((l, k) =>
      l.weights.forEach((w, j) => expect(w).toBeCloseTo(alone![k]!.weights[j]!, 5)),
    );
    // ...and that mask does change model 0.
    expect(Array.from(partial![0]!.weights)).not.toEqual(Array.from(full![0]!.weights));
  });

  it('rejects a model without training rows and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    expect(() =>
      trainAutoencoders({ ...spec, models: 1, inputs: data, mask: new Float32Array(rows) }),
    ).toThrow(RangeError);
    trainAutoencoders({
      ...spec,
      epochs: 3,
      inputNoise: 0.3,
      l2: 0.01,
      models: 1,
      inputs: data,
      mask: new Float32Array(rows).fill(1),
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
