import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { keystrokeSteps } from '../features/sequence';
import { createRng } from '../random';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { type SharedEncoder, cosine, encode, encoderFromJSON } from '../shared/encoder';
import type { StepSequence, TrainingUser } from '../shared/train';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { deviceTarget } from './device-target';
import {
  type LocalObjective,
  type LocalUpdateConfig,
  localUpdate,
  resolveLocalUpdateConfig,
} from './local-update';
import { aggregateMean } from './mean-aggregate';
import { flattenParameters } from './parameters';
import { privatiseDelta } from './privatise';
import {
  computePublicCentres,
  publicCentresFromJSON,
  publicCentresToJSON,
  userCentre,
} from './public-centres';
import { dequantise, parseUpdate, quantise, serialiseUpdate } from './update-format';

// The wasm backend: 4–8× faster than cpu on these small batches, and what the worker uses.
beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
});

const typist = (holdMs: number, flightMs: number, presses: number, seed: number): StepSequence =>
  keystrokeSteps(
    pairKeyPresses(syntheticKeystrokes({ ...TYPIST_A, holdMs, flightMs }, presses, { seed })),
  );

/** The shipped keystroke encoder: the starting point of every federated run. */
const shipped = encoderFromJSON(keystrokeEncoderFile);

/** 24 public typists spread over holds 50–190 ms and flights 60–340 ms. */
const publicUsers: TrainingUser[] = Array.from({ length: 24 }, (_, u) => ({
  userId: `public${u}`,
  sequences: Array.from({ length: 3 }, (_, k) =>
    typist(50 + ((u * 37) % 140), 60 + ((u * 71) % 280), 30, 1000 * u + k),
  ),
}));

/** Six device users, other profiles than the public ones: 6 sequences each, 4 held out. */
const deviceProfiles = [
  [80, 100],
  [120, 250],
  [160, 140],
  [50, 60],
  [110, 180],
  [140, 320],
] as const;
const devices = deviceProfiles.map(([h, f], u) =>
  Array.from({ length: 6 }, (_, k) => typist(h, f, 30, 50000 + 100 * u + k)),
);
const heldOut = deviceProfiles.map(([h, f], u) =>
  Array.from({ length: 4 }, (_, k) => typist(h, f, 20, 90000 + 100 * u + k)),
);

/** Mean cosine between held-out embeddings of the same user (intra) and of different users (inter). */
function separation(encoder: SharedEncoder): { intra: number; inter: number } {
  const e = heldOut.map((seqs) => seqs.map((s) => encode(encoder, s.steps, s.n)));
  const intra: number[] = [];
  const inter: number[] = [];
  e.forEach((a, u) =>
    a.forEach((x, i) =>
      e.forEach((b, v) =>
        b.forEach((y, j) => {
          if (v < u || (v === u && j <= i)) return;
          (u === v ? intra : inter).push(cosine(x, y));
        }),
      ),
    ),
  );
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return { intra: mean(intra), inter: mean(inter) };
}

/**
 * Federated rounds through the real client path: local round, clip, (no) noise, quantise,
 * serialise, parse, dequantise; then the plain mean (`aggregateMean`). The publisher recomputes
 * the public centres for every new encoder. σ = 0: six devices could not hide anything, and
 * this test is about the objective; the noise has its own tests.
 */
async function simulate(
  objective: LocalObjective,
  rounds: number,
  codeWordWeight?: number,
  extra: Partial<LocalUpdateConfig> = {},
): Promise<SharedEncoder> {
  let encoder = shipped;
  const rng = createRng(3);
  // With a code-word weight, every device keeps the target of its first round (its anchor
  // mixed with its own secret code word): experiment.ts's `anchorOwnCentre`.
  const targets =
    codeWordWeight === undefined
      ? undefined
      : devices.map((sequences) => deviceTarget(shipped, sequences, codeWordWeight, rng));
  for (let round = 1; round <= rounds; round++) {
    const centres = computePublicCentres(encoder, publicUsers, `sim:${round}`);
    const deltas: Float32Array[] = [];
    for (const [u, sequences] of devices.entries()) {
      const target = targets?.[u];
      const { delta } = await localUpdate(
        encoder,
        sequences,
        centres,
        { objective, steps: 2, batchSize: 8, maxLength: 20, learningRate: 0.01, ...extra },
        rng,
        // Without a kept target, `positive-only` is the collapsing baseline: opted into here,
        // where showing the collapse is the point.
        target === undefined ? { collapsingBaseline: true } : { ownCentre: target },
      );
      const noised = privatiseDelta(delta, { clipNorm: 2, noiseMultiplier: 0, minDevices: 6 }, rng);
      const meta = { encoderId: centres.encoderId, round };
      const bytes = serialiseUpdate(quantise(noised, meta, rng));
      const policy = { ...meta, parameters: delta.length };
      deltas.push(dequantise(parseUpdate(bytes, policy)));
    }
    encoder = aggregateMean(encoder, deltas);
  }
  return encoder;
}

describe('federated training with one user per device (Yu et al., ICML 2020)', () => {
  const start = separation(shipped);

  it('keeps users apart with the frozen public centres', async () => {
    // Measured (wasm): start intra 0.884, inter 0.225; after 5 rounds about 0.89 / 0.27.
    const end = separation(await simulate('frozen-centres', 5));
    expect(start.intra - start.inter).toBeGreaterThan(0.5);
    expect(end.inter).toBeLessThan(Math.min(0.45, start.inter + 0.15));
    expect(end.intra - end.inter).toBeGreaterThan(0.4);
  });

  it('collapses with the naive positive-only objective (every user maps to one point)', async () => {
    // Measured (wasm): after 5 rounds intra 0.998, inter 0.977.
    const end = separation(await simulate('positive-only', 5));
    expect(end.inter).toBeGreaterThan(0.95);
    expect(end.intra - end.inter).toBeLessThan(0.05);
  });

  it('does not collapse when each device keeps its own target (anchor + secret code word)', async () => {
    // The same positive-only pull as above, but towards targets that stay put and differ by
    // device (FedUV-style, device-target.ts, γ = 3). Measured (wasm): after 5 rounds intra
    // 0.939, inter 0.468 — users stay apart (the plain pull reaches 0.998 / 0.977), though at
    // this toy's learning rate the inter-user cosine still rises from 0.225.
    const end = separation(await simulate('positive-only', 5, 3));
    expect(end.inter).toBeLessThan(0.6);
    expect(end.intra - end.inter).toBeGreaterThan(0.4);
  });

  it('does not collapse with the margin loss over code words (kept targets + random negatives)', async () => {
    // CosFace over [target, 16 fresh random unit vectors per step]: the push the plain pull
    // lacks. Measured (wasm): after 5 rounds intra 0.936, inter 0.462 (the plain pull towards
    // the same targets: 0.939 / 0.468).
    const end = separation(await simulate('positive-only', 5, 3, { randomNegatives: 16 }));
    expect(end.inter).toBeLessThan(0.6);
    expect(end.intra - end.inter).toBeGreaterThan(0.4);
  });
});

describe('localUpdate()', () => {
  const centres = computePublicCentres(shipped, publicUsers.slice(0, 4));
  const config = { steps: 2, batchSize: 4, maxLength: 20 };

  it('returns new − old parameters, changes only the encoder, leaks no tensor, and repeats for a seed', async () => {
    const before = tf.memory().numTensors;
    const a = await localUpdate(shipped, devices[0]!, centres, config, createRng(1));
    expect(tf.memory().numTensors).toBe(before);
    const old = flattenParameters(shipped);
    const now = flattenParameters(a.encoder);
    expect(a.delta).toHaveLength(26592);
    let moved = 0;
    for (let i = 0; i < old.length; i++) {
      expect(Math.abs(old[i]! + a.delta[i]! - now[i]!)).toBeLessThan(1e-6);
      if (a.delta[i] !== 0) moved++;
    }
    expect(moved).toBeGreaterThan(5000); // (dead ReLU units and always-zero inputs get no gradient)
    expect(a.encoder.provenance).toEqual(shipped.provenance);
    expect(Number.isFinite(a.loss.first) && Number.isFinite(a.loss.last)).toBe(true);
    const b = await localUpdate(shipped, devices[0]!, centres, config, createRng(1));
    expect(b.delta.every((v, i) => v === a.delta[i])).toBe(true);
  });

  it('trains towards the given own centre, and the proximal term shortens the step', async () => {
    const free = await localUpdate(shipped, devices[0]!, centres, config, createRng(1));
    const target = deviceTarget(shipped, devices[0]!, 1, createRng(9));
    const aimed = await localUpdate(shipped, devices[0]!, centres, config, createRng(1), {
      ownCentre: target,
    });
    expect(aimed.delta.some((v, i) => v !== free.delta[i])).toBe(true);
    const norm = (d: Float32Array) => Math.hypot(...d);
    const sgd = { ...config, optimizer: 'sgd' as const, learningRate: 0.05, steps: 4 };
    const plain = await localUpdate(shipped, devices[0]!, centres, sgd, createRng(1));
    const held = await localUpdate(
      shipped,
      devices[0]!,
      centres,
      { ...sgd, proximal: 5 },
      createRng(1),
    );
    expect(norm(held.delta)).toBeLessThan(norm(plain.delta));
  });

  it('with random negatives, pulls towards the target by a margin loss, repeats for a seed and leaks no tensor', async () => {
    const target = deviceTarget(shipped, devices[1]!, 3, createRng(9));
    const meanCos = (encoder: SharedEncoder) => {
      const cs = devices[1]!.map((s) => cosine(encode(encoder, s.steps, s.n), target));
      return cs.reduce((x, y) => x + y, 0) / cs.length;
    };
    const margin = { ...config, objective: 'positive-only' as const, randomNegatives: 8 };
    const sgd = { ...margin, optimizer: 'sgd' as const, learningRate: 0.05, steps: 6 };
    const before = tf.memory().numTensors;
    const a = await localUpdate(shipped, devices[1]!, centres, sgd, createRng(2), {
      ownCentre: target,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(meanCos(a.encoder)).toBeGreaterThan(meanCos(shipped) + 0.01);
    // A CosFace loss over 1 + 8 classes: the plain pull's loss (1 − cos) is below 2, this one
    // starts above log(9) − s·(cos − m) only when the target is far; it is a softmax CE, so > 0.
    expect(a.loss.first).toBeGreaterThan(0);
    const b = await localUpdate(shipped, devices[1]!, centres, sgd, createRng(2), {
      ownCentre: target,
    });
    expect(b.delta.every((v, i) => v === a.delta[i])).toBe(true);
    const plain = await localUpdate(
      shipped,
      devices[1]!,
      centres,
      { ...sgd, randomNegatives: 0 },
      createRng(2),
      { ownCentre: target },
    );
    expect(plain.delta.some((v, i) => v !== a.delta[i])).toBe(true);
    expect(() => resolveLocalUpdateConfig({ randomNegatives: 4 })).toThrow(/positive-only/);
    expect(() =>
      resolveLocalUpdateConfig({ objective: 'positive-only', randomNegatives: 1.5 }),
    ).toThrow(/randomNegatives/);
    // Settings written without the field stay as they were (FEDERATED_DEFAULTS' check).
    expect(resolveLocalUpdateConfig({})).not.toHaveProperty('randomNegatives');
  });

  it('refuses a device without a usable sequence, centres of another dimension and bad config', async () => {
    const one = { steps: 1, batchSize: 2, maxLength: 20 };
    await expect(
      localUpdate(shipped, [typist(100, 120, 1, 1)], centres, one, createRng(1)),
    ).rejects.toMatchObject({ code: 'ERR_TOO_FEW_WINDOWS' });
    const wrong = { ...centres, dimension: 8, centres: [new Float32Array(8)] };
    await expect(localUpdate(shipped, devices[0]!, wrong, one, createRng(1))).rejects.toThrow(
      RangeError,
    );
    expect(() => resolveLocalUpdateConfig({ objective: 'softmax' as never })).toThrow(/softmax/);
    expect(() => resolveLocalUpdateConfig({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => resolveLocalUpdateConfig({ minLength: 60 })).toThrow(/minLength/);
    expect(() => resolveLocalUpdateConfig({ step: 3 } as never)).toThrow(TypeError);
    expect(() => resolveLocalUpdateConfig({ proximal: -1 })).toThrow(/proximal/);
    await expect(
      localUpdate(shipped, devices[0]!, centres, one, createRng(1), {
        ownCentre: new Float32Array(8),
      }),
    ).rejects.toThrow(RangeError);
    // The collapsing baseline never runs by accident: positive-only needs a device-kept target.
    await expect(
      localUpdate(
        shipped,
        devices[0]!,
        centres,
        { ...one, objective: 'positive-only' },
        createRng(1),
      ),
    ).rejects.toMatchObject({ code: 'ERR_NO_DEVICE_TARGET' });
  });
});

describe('public centres', () => {
  const centres = computePublicCentres(shipped, publicUsers.slice(0, 5));

  it('are the unit mean embeddings of each public user, keyed by the encoder id', () => {
    expect(centres.centres).toHaveLength(5);
    expect(centres.encoderId).toBe('keystroke:keystroke-pohmm:2026-11-25:90:48');
    for (const c of centres.centres) expect(Math.hypot(...c)).toBeCloseTo(1, 5);
    expect(centres.centres[2]).toEqual(userCentre(shipped, publicUsers[2]!.sequences));
    expect(userCentre(shipped, [])).toBeUndefined();
  });

  it('round-trip through JSON and are refused for another encoder or when malformed', () => {
    const json = publicCentresToJSON(centres);
    const expected = { encoderId: centres.encoderId, dimension: 48 };
    expect(publicCentresFromJSON(JSON.stringify(json), expected)).toEqual(centres);
    const cases: [unknown, string][] = [
      [{ ...json, format: 'x' }, 'ERR_MODEL_FORMAT'],
      [null, 'ERR_MODEL_FORMAT'],
      [{ ...json, version: 2 }, 'ERR_MODEL_VERSION'],
      [{ ...json, encoderId: 'keystroke:other' }, 'ERR_MODEL_FORMAT'],
      [{ ...json, dimension: 47 }, 'ERR_MODEL_FORMAT'],
      [{ ...json, count: 6 }, 'ERR_MODEL_FORMAT'],
      [{ ...json, count: 0 }, 'ERR_MODEL_FORMAT'],
      [{ ...json, centres: 'AAAA' }, 'ERR_MODEL_FORMAT'],
      [
        publicCentresToJSON({
          ...centres,
          centres: centres.centres.map((c) => c.map((v) => v * 2)),
        }),
        'ERR_MODEL_FORMAT',
      ],
    ];
    for (const [input, code] of cases) {
      expect(() => publicCentresFromJSON(input, expected)).toThrow(
        expect.objectContaining({ code }),
      );
    }
  });
});
