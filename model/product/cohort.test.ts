import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createWindower } from '../features/windower';
import { encoderFromJSON } from '../shared/encoder';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import cohortFile from '../shared/default-keystroke-cohort.json';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import {
  CohortNorm,
  type CohortFileJSON,
  cohortRecording,
  cohortRecordingEvents,
  cohortWithout,
  parseCohort,
} from './cohort';
import { PRODUCT, disposeProductModels, fitProductModels, shippedKeystrokeCohort } from './scorer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const keystrokeWindows = (events: Parameters<ReturnType<typeof createWindower>['push']>[0]) =>
  createWindower(PRODUCT.windows)
    .push(events)
    .filter((w) => w.modality === 'keystroke');

describe('the shipped keystroke cohort', () => {
  it('holds the first 5 usable windows of each of the 60 pohmm fixed-text people', () => {
    const cohort = shippedKeystrokeCohort();
    expect(cohort.people).toHaveLength(60);
    expect(cohort.people.every((p) => p.windows.length === 5)).toBe(true);
    expect(new Set(cohort.people.map((p) => p.id)).size).toBe(60);
    expect((cohortFile as CohortFileJSON).provenance.licence).toBe('BSD-3-Clause');
  });

  it('stores key classes and timings that give back the same windows', () => {
    const events = syntheticKeystrokes(TYPIST_A, 100, { seed: 3 });
    const stored = cohortRecording(events);
    expect(stored.c).toMatch(/^[0-8]{100}$/);
    const a = keystrokeWindows(events);
    const b = keystrokeWindows(cohortRecordingEvents(stored));
    expect(b).toHaveLength(a.length);
    // Times are kept to 0.1 ms: the features agree to that precision.
    b.forEach((w, i) => w.vector.forEach((v, j) => expect(v).toBeCloseTo(a[i]!.vector[j]!, 1)));
  });

  it('leaves people out by id', () => {
    const cohort = shippedKeystrokeCohort();
    const first = cohort.people[0]!.id;
    expect(cohortWithout(cohort, new Set([first])).people.map((p) => p.id)).not.toContain(first);
  });

  it('refuses malformed files with ERR_MODEL_FORMAT', () => {
    const good = cohortFile as CohortFileJSON;
    const person = good.people[0]!;
    const bad: unknown[] = [
      null,
      { ...good, version: 2 },
      { ...good, extra: 1 },
      { ...good, people: [person] },
      { ...good, people: [person, { id: 'x', recordings: [{ c: '9', t: [0, 50] }] }] },
      { ...good, people: [person, { id: 'x', recordings: [{ c: '00', t: [0, 50] }] }] },
      { ...good, people: [person, { id: 'x', recordings: [{ c: '0', t: [0, -1] }] }] },
      { ...good, people: [person, { id: 'x', recordings: [] }] },
    ];
    for (const value of bad)
      expect(() => parseCohort(value, PRODUCT.windows)).toThrow(
        expect.objectContaining({ code: 'ERR_MODEL_FORMAT' }),
      );
  });
});

describe('CohortNorm', () => {
  const encoder = encoderFromJSON(keystrokeEncoderFile);

  it('puts the cohort itself at mean 0 and spread 1, for the detector and the embedding', async () => {
    const enrol = keystrokeWindows(syntheticKeystrokes(TYPIST_A, 200, { seed: 2 }));
    const models = await fitProductModels(
      'keystroke',
      enrol.map((w) => ({ vector: w.vector, sequence: { steps: w.steps, n: w.stepCount } })),
      encoder,
    );
    const cohort = shippedKeystrokeCohort();
    const norm = CohortNorm.fit(cohort, models.detector, models.embedding);
    const all = cohort.people.flatMap((p) => p.windows);
    const det = all.map((w) => norm.detector(models.detector.standardized(w.vector)));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const std = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
    expect(mean(det)).toBeCloseTo(0, 9);
    expect(std(det)).toBeCloseTo(1, 9);
    // The embedding's S-norm is the mean of a Z-norm (0 / 1 over the cohort) and a T-norm.
    const emb = all.map((w) =>
      norm.embedding(models.embedding!, models.embedding!.embed({ steps: w.steps, n: w.n })),
    );
    expect(Math.abs(mean(emb))).toBeLessThan(1);
    // The user's own windows score well above the cohort on both.
    const own = keystrokeWindows(syntheticKeystrokes(TYPIST_A, 100, { seed: 9 }));
    for (const w of own) {
      expect(norm.detector(models.detector.standardized(w.vector))).toBeGreaterThan(1);
      expect(
        norm.embedding(
          models.embedding!,
          models.embedding!.embed({ steps: w.steps, n: w.stepCount }),
        ),
      ).toBeGreaterThan(mean(emb));
    }
    expect(() =>
      CohortNorm.fit(cohort, models.detector, undefined).embedding(
        models.embedding!,
        new Float32Array(48),
      ),
    ).toThrow(TypeError);
    disposeProductModels(models);
  });
});
