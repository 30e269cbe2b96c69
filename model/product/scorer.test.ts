import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOWER_CONFIG, createWindower, type FeatureWindow } from '../features/windower';
import { encoderFromJSON } from '../shared/encoder';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { PRODUCT, disposeProductModels, fitProductModels, productScore } from './scorer';

const scorable = (w: FeatureWindow) => ({
  vector: w.vector,
  sequence: { steps: w.steps, n: w.stepCount },
});
const windows = (presses: number, seed: number) =>
  createWindower(PRODUCT.windows)
    .push(syntheticKeystrokes(TYPIST_A, presses, { seed }))
    .filter((w) => w.modality === 'keystroke');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('PRODUCT', () => {
  it('ships 20-press and 64-event windows, 10 enrolment windows, a 3-window fusion half-life', () => {
    expect(PRODUCT.windows).toEqual(DEFAULT_WINDOWER_CONFIG);
    expect(PRODUCT.windows.keysPerWindow).toBe(20);
    expect(PRODUCT.windows.pointerEventsPerWindow).toBe(64);
    expect(PRODUCT.minEnrollWindows).toBe(10);
    expect(PRODUCT.fusion.halfLifeWindows).toBe(3);
    expect(Object.isFrozen(PRODUCT) && Object.isFrozen(PRODUCT.fusion)).toBe(true);
  });
});

describe('fitProductModels and productScore', () => {
  const encoder = encoderFromJSON(keystrokeEncoderFile);

  it('refuses fewer windows than the product enrols on', async () => {
    await expect(
      fitProductModels('keystroke', windows(180, 1).map(scorable), encoder),
    ).rejects.toMatchObject({
      code: 'ERR_TOO_FEW_WINDOWS',
    });
  });

  it('scores a window as the mean of detector and embedding model, the detector alone without steps', async () => {
    const models = await fitProductModels('keystroke', windows(200, 2).map(scorable), encoder);
    expect(models.embedding).toBeDefined();
    const w = windows(40, 3)[0]!;
    const detector = models.detector.score(w.vector);
    const embedding = models.embedding!.score({ steps: w.steps, n: w.stepCount });
    expect(productScore(models, scorable(w))).toBeCloseTo((detector + embedding) / 2, 12);
    expect(productScore(models, { vector: w.vector })).toBe(detector);
    expect(productScore(models, { vector: w.vector, sequence: { steps: w.steps, n: 1 } })).toBe(
      detector,
    );
    disposeProductModels(models);
  });

  it('fits the detector alone without a shared encoder for the modality', async () => {
    const models = await fitProductModels('keystroke', windows(200, 4).map(scorable), undefined);
    expect(models.embedding).toBeUndefined();
    disposeProductModels(models);
  });
});
