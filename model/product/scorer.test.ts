import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOWER_CONFIG, createWindower, type FeatureWindow } from '../features/windower';
import { encoderFromJSON } from '../shared/encoder';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { TYPIST_A, syntheticKeystrokes, syntheticPointer } from '../testing/synthetic';
import { setKey, windowLlr } from './calibration';
import {
  PRODUCT,
  disposeProductModels,
  fitProductModels,
  productComponents,
  productLlr,
  productScore,
} from './scorer';

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
  it('ships 20-press and 64-event windows, 20 keystroke and 10 pointer enrolment windows, a 400-window false-alarm budget', () => {
    expect(PRODUCT.windows).toEqual(DEFAULT_WINDOWER_CONFIG);
    expect(PRODUCT.windows.keysPerWindow).toBe(20);
    // Non-overlapping keystroke windows: a hop of 5 or 10 keys measured no faster (§5a).
    expect(PRODUCT.windows.keyHop).toBe(20);
    expect(PRODUCT.windows.pointerEventsPerWindow).toBe(64);
    expect(PRODUCT.minEnrollWindows).toEqual({ keystroke: 20, pointer: 10 });
    expect(PRODUCT.decision.falseAlarmWindows).toBe(400);
    // Two windows at the LLR clamp still fire the decision: h = ln 400 < 2 × clamp.
    expect(Math.log(PRODUCT.decision.falseAlarmWindows)).toBeLessThan(
      2 * PRODUCT.calibration.clamp,
    );
    expect(Object.isFrozen(PRODUCT) && Object.isFrozen(PRODUCT.decision)).toBe(true);
    // The shipped calibration covers every component set the product meets.
    for (const modality of ['keystroke', 'pointer'] as const) {
      const sets = PRODUCT.calibration.modalities[modality]!.sets.map((s) => setKey(s.components));
      expect(sets).toEqual(expect.arrayContaining(['detector', 'detector+embedding']));
    }
    const pointerSets = PRODUCT.calibration.modalities.pointer!.sets.map((s) =>
      setKey(s.components),
    );
    expect(pointerSets).toEqual(
      expect.arrayContaining(['detector+block', 'detector+embedding+block']),
    );
  });
});

describe('fitProductModels and productScore', () => {
  const encoder = encoderFromJSON(keystrokeEncoderFile);
  /** Presses that make exactly the product's keystroke enrolment. */
  const ENROL = PRODUCT.minEnrollWindows.keystroke * PRODUCT.windows.keysPerWindow;

  it('refuses fewer windows than the product enrols on', async () => {
    await expect(
      fitProductModels('keystroke', windows(ENROL - 20, 1).map(scorable), encoder),
    ).rejects.toMatchObject({
      code: 'ERR_TOO_FEW_WINDOWS',
    });
  });

  it('fuses detector and embedding with the shipped calibration, the detector alone without steps', async () => {
    const models = await fitProductModels('keystroke', windows(ENROL, 2).map(scorable), encoder);
    expect(models.embedding).toBeDefined();
    const w = windows(40, 3)[0]!;
    const detector = models.detector.standardized(w.vector);
    const embedding = models.embedding!.standardized({ steps: w.steps, n: w.stepCount });
    expect(productComponents(models, scorable(w))).toEqual({ detector, embedding });
    const expected = windowLlr(PRODUCT.calibration, 'keystroke', { detector, embedding });
    expect(productLlr(models, scorable(w))).toBe(expected);
    expect(productScore(models, scorable(w))).toBeCloseTo(1 / (1 + Math.exp(-expected)), 12);
    const alone = windowLlr(PRODUCT.calibration, 'keystroke', { detector });
    expect(productLlr(models, { vector: w.vector })).toBe(alone);
    expect(productLlr(models, { vector: w.vector, sequence: { steps: w.steps, n: 1 } })).toBe(
      alone,
    );
    disposeProductModels(models);
  });

  it('gives the enrolled typist higher LLRs than another typist', async () => {
    const models = await fitProductModels(
      'keystroke',
      windows(ENROL + 100, 5).map(scorable),
      encoder,
    );
    const own = windows(200, 6).map((w) => productLlr(models, scorable(w)));
    const other = createWindower(PRODUCT.windows)
      .push(syntheticKeystrokes({ holdMs: 60, flightMs: 200 }, 200, { seed: 7 }))
      .filter((w) => w.modality === 'keystroke')
      .map((w) => productLlr(models, scorable(w)));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(own)).toBeGreaterThan(mean(other) + 1);
    disposeProductModels(models);
  });

  it('adds the block scorer for the pointer, from the block features every pointer window carries', async () => {
    const pointerWindows = (profile: { speedPxPerMs: number; curvature: number }, seed: number) =>
      createWindower(PRODUCT.windows)
        .push(syntheticPointer(profile, 64 * 16, { seed }))
        .filter((w) => w.modality === 'pointer');
    const mover = { speedPxPerMs: 0.8, curvature: 0.2 };
    const enrol = pointerWindows(mover, 11).slice(0, 12);
    expect(enrol.every((w) => w.block !== undefined)).toBe(true);
    const models = await fitProductModels(
      'pointer',
      enrol.map((w) => ({ vector: w.vector, block: w.block! })),
      undefined,
    );
    expect(models.block).toBeDefined();
    const w = pointerWindows(mover, 12)[0]!;
    const parts = productComponents(models, { vector: w.vector, block: w.block! });
    expect(Object.keys(parts).sort()).toEqual(['block', 'detector']);
    expect(parts.block).toBe(models.block!.score(w.block!));
    expect(productLlr(models, { vector: w.vector, block: w.block! })).toBe(
      windowLlr(PRODUCT.calibration, 'pointer', parts),
    );
    // No block scorer when asked for none (an ablation), or for keystrokes.
    const without = await fitProductModels(
      'pointer',
      enrol.map((x) => ({ vector: x.vector, block: x.block! })),
      undefined,
      { blockProjection: null },
    );
    expect(without.block).toBeUndefined();
    disposeProductModels(models);
    disposeProductModels(without);
  });

  it('fits the detector alone without a shared encoder for the modality', async () => {
    const models = await fitProductModels('keystroke', windows(ENROL, 4).map(scorable), undefined);
    expect(models.embedding).toBeUndefined();
    disposeProductModels(models);
  });
});
