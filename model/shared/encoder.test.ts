import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { keystrokeSteps } from '../features/sequence';
import { createRng } from '../random';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { EmbeddingUserModel } from './embedding-model';
import { type SharedEncoder, encode, encoderFromJSON, encoderToJSON } from './encoder';
import {
  type TrainingUser,
  forwardTf,
  learningRateAt,
  resolveEncoderTrainConfig,
  trainEncoder,
} from './train';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomEncoder(seed: number): SharedEncoder {
  const rng = createRng(seed);
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => (rng() - 0.5) * 0.6);
  const convs = [
    { kernel: 3, inputs: 14, units: 8, weights: rand(3 * 14 * 8), bias: rand(8) },
    { kernel: 5, inputs: 8, units: 6, weights: rand(5 * 8 * 6), bias: rand(6) },
  ];
  return {
    modality: 'keystroke',
    stepFeatures: ['hold', 'dd', 'ud', 'uu', 'start', ...['letter', 'digit', 'space', 'punct', 'enter', 'backspace', 'modifier', 'nav', 'other'].map((c) => `class_${c}`)],
    convs,
    dense: { inputs: 12, units: 5, weights: rand(60), bias: rand(5) },
    provenance: { dataset: 'test', licence: 'test', users: 0, task: 'test', trainedAt: '2026-11-25', notes: '' },
  };
}

const typist = (holdMs: number, flightMs: number, presses: number, seed: number) =>
  keystrokeSteps(pairKeyPresses(syntheticKeystrokes({ ...TYPIST_A, holdMs, flightMs }, presses, { seed })));

describe('encode()', () => {
  it('equals the TensorFlow.js graph on a padded, masked batch (training and inference agree)', () => {
    const encoder = randomEncoder(3);
    const seqs = [typist(100, 120, 7, 1), typist(80, 200, 12, 2), typist(140, 90, 3, 3)];
    const T = 12;
    const F = 14;
    const x = new Float32Array(seqs.length * T * F);
    const mask = new Float32Array(seqs.length * T);
    seqs.forEach((s, b) => {
      x.set(s.steps, b * T * F);
      mask.fill(1, b * T, b * T + s.n);
    });
    const out = tf.tidy(() =>
      forwardTf(
        tf.tensor3d(x, [seqs.length, T, F]),
        tf.tensor3d(mask, [seqs.length, T, 1]),
        tf.tensor2d(seqs.map((s) => s.n), [seqs.length, 1]),
        encoder.convs.map((c) => ({ kernel: c.kernel, w: tf.tensor2d(c.weights, [c.kernel * c.inputs, c.units]), b: tf.tensor1d(c.bias) })),
        tf.tensor2d(encoder.dense.weights, [12, 5]),
        tf.tensor1d(encoder.dense.bias),
      ).arraySync(),
    );
    seqs.forEach((s, b) => {
      const e = encode(encoder, s.steps, s.n);
      expect(Math.hypot(...e)).toBeCloseTo(1, 5);
      e.forEach((v, i) => expect(v).toBeCloseTo(out[b]![i]!, 4));
    });
  });

  it('rejects a steps array of the wrong length', () => {
    expect(() => encode(randomEncoder(1), new Float32Array(13), 1)).toThrow(RangeError);
  });
});

describe('encoder JSON', () => {
  it('round-trips and refuses other formats, versions and step schemas', () => {
    const encoder = randomEncoder(5);
    const json = encoderToJSON(encoder);
    const back = encoderFromJSON(JSON.stringify(json));
    const s = typist(100, 120, 9, 4);
    expect(encode(back, s.steps, s.n)).toEqual(encode(encoder, s.steps, s.n));
    expect(() => encoderFromJSON({ ...json, format: 'x' })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
    expect(() => encoderFromJSON({ ...json, version: 2 })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_VERSION' }));
    expect(() => encoderFromJSON({ ...json, sequenceSchema: 0 })).toThrow(expect.objectContaining({ code: 'ERR_FEATURE_SCHEMA' }));
    expect(() => encoderFromJSON({ ...json, stepFeatures: json.stepFeatures.slice(1) })).toThrow(expect.objectContaining({ code: 'ERR_FEATURE_SCHEMA' }));
    expect(() => encoderFromJSON({ ...json, dense: { ...json.dense, weights: 'AAAA' } })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
  });
});

describe('trainEncoder + EmbeddingUserModel', () => {
  it('learns to separate typists, leaks no tensor, and the per-user model scores the holder above others', async () => {
    // Six synthetic typists; each gives 12 sequences of 30 presses.
    const profiles = [[100, 120], [60, 200], [150, 90], [90, 300], [130, 150], [70, 80]] as const;
    const users: TrainingUser[] = profiles.map(([h, f], u) => ({
      userId: `u${u}`,
      sequences: Array.from({ length: 12 }, (_, k) => typist(h, f, 30, 100 * u + k)),
    }));
    const before = tf.memory().numTensors;
    const { encoder, history } = await trainEncoder(
      'keystroke',
      users,
      { epochs: 150, batchSize: 32, embedding: 8, convs: [{ kernel: 3, units: 16 }], minLength: 10, maxLength: 30, learningRate: 0.02, margin: 0.1, scale: 10 },
      { dataset: 'synthetic', licence: 'test', task: 'test' },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(history).toHaveLength(150);
    expect(history[149]!.loss).toBeLessThan(history[0]!.loss);
    expect(encoder.provenance.users).toBe(6);

    const model = new EmbeddingUserModel(encoder);
    expect(() => model.score(typist(100, 120, 20, 1))).toThrow(expect.objectContaining({ code: 'ERR_NOT_FITTED' }));
    expect(() => model.fit([typist(100, 120, 20, 1)])).toThrow(expect.objectContaining({ code: 'ERR_TOO_FEW_WINDOWS' }));
    model.fit(Array.from({ length: 10 }, (_, k) => typist(100, 120, 20, 5000 + k)));
    const own = Array.from({ length: 10 }, (_, k) => model.score(typist(100, 120, 20, 6000 + k)));
    const other = Array.from({ length: 10 }, (_, k) => model.score(typist(60, 200, 20, 7000 + k)));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(own)).toBeGreaterThan(0.5);
    expect(mean(other)).toBeLessThan(mean(own) - 0.3);

    const restored = EmbeddingUserModel.fromJSON(encoder, model.toJSON());
    const probe = typist(100, 120, 20, 9);
    expect(restored.score(probe)).toBeCloseTo(model.score(probe), 6);
    expect(restored.standardized(probe)).toBeCloseTo(model.standardized(probe), 4);
    const otherEncoder = { ...encoder, provenance: { ...encoder.provenance, task: 'another' } };
    expect(() => EmbeddingUserModel.fromJSON(otherEncoder, model.toJSON())).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
  }, 60_000);
});

describe('scoring back-end in the encoder and the per-user model', () => {
  const profiles = [[100, 120], [60, 200], [150, 90], [90, 300]] as const;
  const users: TrainingUser[] = profiles.map(([h, f], u) => ({
    userId: `u${u}`,
    sequences: Array.from({ length: 6 }, (_, k) => typist(h, f, 30, 100 * u + k)),
  }));
  const small = { epochs: 3, batchSize: 8, embedding: 6, convs: [{ kernel: 3, units: 8 }], minLength: 10, maxLength: 30 };
  const provenance = { dataset: 'synthetic', licence: 'test', task: 'test' };

  it('is fitted after training when asked, stored, and applied before every comparison', async () => {
    const before = tf.memory().numTensors;
    const { encoder } = await trainEncoder('keystroke', users, { ...small, backEnd: 'lda', backEndShrinkage: 0.2 }, provenance);
    expect(tf.memory().numTensors).toBe(before);
    expect(encoder.backEnd).toMatchObject({ method: 'lda', inputs: 6, outputs: 3, shrinkage: 0.2, users: 4, samples: 4 * 6 * 5 });
    const back = encoderFromJSON(JSON.stringify(encoderToJSON(encoder)));
    expect(back.backEnd).toEqual(encoder.backEnd);

    const model = new EmbeddingUserModel(back);
    const probe = typist(100, 120, 20, 9);
    expect(model.embed(probe)).toHaveLength(3);
    model.fit(Array.from({ length: 8 }, (_, k) => typist(100, 120, 20, 5000 + k)));
    const json = model.toJSON();
    expect(json.encoderId).toMatch(/:lda3-[0-9a-f]{8}$/);
    expect(EmbeddingUserModel.fromJSON(back, json).score(probe)).toBeCloseTo(model.score(probe), 6);
    // Enrolled in the back-end's space: refused by the same encoder without it.
    const { backEnd: _, ...bare } = back;
    expect(() => EmbeddingUserModel.fromJSON(bare, json)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }));
    expect(() => encoderFromJSON({ ...encoderToJSON(encoder), backEnd: { method: 'lda' } })).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }),
    );
  }, 60_000);

  it('leaves an encoder without one exactly as before (file, id and scores)', async () => {
    const { encoder } = await trainEncoder('keystroke', users, small, provenance);
    expect(encoder.backEnd).toBeUndefined();
    const json = encoderToJSON(encoder);
    expect('backEnd' in json).toBe(false);
    const model = new EmbeddingUserModel(encoderFromJSON(json));
    model.fit(Array.from({ length: 8 }, (_, k) => typist(100, 120, 20, 5000 + k)));
    expect(model.toJSON().encoderId).toBe(`keystroke:test:${encoder.provenance.trainedAt}:4:6`);
    const probe = typist(100, 120, 20, 9);
    expect(Array.from(model.embed(probe))).toEqual(Array.from(encode(encoder, probe.steps, probe.n)));
  }, 60_000);
});

describe('training schedule and batches', () => {
  const cfg = { learningRate: 0.01, epochs: 10, warmupFraction: 0.1 };

  it('step: × 0.5 from 60 % and × 0.25 from 85 % of the epochs, by step', () => {
    const at = (step: number) => learningRateAt({ ...cfg, schedule: 'step' }, step, 4);
    // 10 epochs of 4 steps: epochs 6–7 (steps 24–31) at half, epochs 8–9 (steps 32–39) at a quarter.
    expect([0, 23, 24, 31, 32, 39].map(at)).toEqual([0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]);
  });

  it('cosine: linear warm-up, the peak, then down to 1 % of it at the last step', () => {
    const at = (step: number) => learningRateAt({ ...cfg, schedule: 'cosine' }, step, 4);
    // 40 steps, 4 of warm-up, then 36 steps of cosine from 1 to 0.01.
    expect(at(0)).toBeCloseTo(0.0025, 12);
    expect(at(3)).toBeCloseTo(0.01, 12);
    expect(at(4)).toBeCloseTo(0.01, 12);
    expect(at(4 + 17.5)).toBeCloseTo(0.01 * (0.01 + 0.99 / 2), 12);
    expect(at(39)).toBeCloseTo(0.0001, 12);
  });

  it('refuses batches that are not whole users and unknown schedules or back-ends', () => {
    expect(() => resolveEncoderTrainConfig({ batchSize: 30, cropsPerUser: 4 })).toThrow(RangeError);
    expect(() => resolveEncoderTrainConfig({ cropsPerUser: 0 })).toThrow(RangeError);
    expect(() => resolveEncoderTrainConfig({ schedule: 'linear' as 'step' })).toThrow(RangeError);
    expect(() => resolveEncoderTrainConfig({ backEnd: 'plda' as 'lda' })).toThrow(RangeError);
    expect(() => resolveEncoderTrainConfig({ backEndShrinkage: -0.1 })).toThrow(RangeError);
    expect(resolveEncoderTrainConfig({ batchSize: 32, cropsPerUser: 4 }).cropsPerUser).toBe(4);
  });

  it('trains with several crops per user per batch without leaking tensors', async () => {
    const users: TrainingUser[] = [0, 1, 2].map((u) => ({
      userId: `u${u}`,
      sequences: Array.from({ length: 4 }, (_, k) => typist(80 + 30 * u, 150, 25, 10 * u + k)),
    }));
    const before = tf.memory().numTensors;
    const { history } = await trainEncoder(
      'keystroke',
      users,
      { epochs: 2, batchSize: 8, cropsPerUser: 4, schedule: 'cosine', embedding: 4, convs: [{ kernel: 3, units: 4 }] },
      { dataset: 'synthetic', licence: 'test', task: 'test' },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(history).toHaveLength(2);
  }, 60_000);
});
