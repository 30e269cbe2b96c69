import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLAG, RAW_EVENT_SCHEMA_VERSION, type RawEvent } from '../../model/events/schema';
import {
  EMPTY_DECISION_STATE,
  PRODUCT,
  createWindower,
  disposeProductModels,
  encoderFromJSON,
  fitProductModels,
  productConfidence,
  productDecide,
  productLlr,
  type FeatureWindow,
} from '../../model';
import keystrokeEncoderFile from '../../model/shared/default-keystroke.json';
import pointerEncoderFile from '../../model/shared/default-pointer.json';
import {
  POINTER_A,
  TYPIST_A,
  syntheticKeystrokes,
  syntheticPointer,
} from '../../model/testing/synthetic';
import { DRIFT } from '../../model/product/drift';
import { AdaptiveUser } from '../../model/eval/drift-sim';
import { Engine } from './engine';
import { ModelStore } from './model-store';

const batch = (events: RawEvent[]) => ({ schema: RAW_EVENT_SCHEMA_VERSION, events, dropped: 0 });
/** 20 presses make a keystroke window; `PRODUCT.minEnrollWindows.keystroke` (20) windows train a model. */
const ENROL_WINDOWS = PRODUCT.minEnrollWindows.keystroke;
const ENROL_PRESSES = ENROL_WINDOWS * PRODUCT.windows.keysPerWindow;
const typing = (presses: number, seed: number) =>
  batch(syntheticKeystrokes(TYPIST_A, presses, { seed }));
const ALICE = { subjectKey: 'alice-at-server' };
const BOB = { subjectKey: 'bob-at-server' };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Engine: learning only for a vouched subject', () => {
  it('learns nothing and scores nothing without a learning context', async () => {
    const store = await ModelStore.open('engine-test-none');
    const engine = Engine.withStore(store, 'cpu');
    const update = await engine.ingest(typing(ENROL_PRESSES + 30, 1), 'sid-login', null);
    expect(update).toMatchObject({
      learning: false,
      confidence: null,
      windowsScored: 0,
      counts: { k: 0, p: 0 },
    });
    expect(await store.counts()).toEqual({ windows: {}, models: {} });
    expect((await engine.status(null)).subject).toBe(false);
  });

  it("keeps one model per subject: a second subject on the device never reaches the first one's", async () => {
    const name = 'engine-test-two';
    const store = await ModelStore.open(name);
    const engine = Engine.withStore(store, 'cpu');
    // Events before the session was vouched for are dropped, not windowed into later windows.
    await engine.ingest(typing(15, 2), 'sid-1', null);
    const alice = await engine.ingest(typing(ENROL_PRESSES + 30, 3), 'sid-1', ALICE);
    expect(alice).toMatchObject({
      learning: true,
      state: 'scoring',
      progress: 1,
      counts: { k: 2 * (ENROL_PRESSES + 30), p: 0 },
    });
    const aliceWindows = (await store.counts()).windows[ALICE.subjectKey];
    expect(aliceWindows).toBe(ENROL_WINDOWS);

    const bob = await engine.ingest(typing(65, 4), 'sid-2', BOB);
    expect(bob).toMatchObject({
      learning: true,
      state: 'enrolling',
      confidence: null,
      windowsScored: 0,
    });
    expect(bob.progress).toBeCloseTo(3 / ENROL_WINDOWS); // 65 presses: 3 windows
    expect(await store.counts()).toEqual({
      windows: { [ALICE.subjectKey]: aliceWindows, [BOB.subjectKey]: 3 },
      models: { [ALICE.subjectKey]: 1 },
    });
    expect((await engine.status(BOB)).modalities.keystroke).toEqual({
      trained: false,
      enrolWindows: 3,
    });

    // Alice's later windows are scored, not stored.
    const scored = await engine.ingest(typing(45, 5), 'sid-1', ALICE);
    expect(scored.windowsScored).toBe(2);
    expect(scored.confidence).not.toBeNull();
    expect((await store.counts()).windows[ALICE.subjectKey]).toBe(aliceWindows);

    // A restarted worker finds each subject's own model again.
    store.close();
    const restarted = Engine.withStore(await ModelStore.open(name), 'cpu');
    expect((await restarted.status(ALICE)).modalities.keystroke).toEqual({
      trained: true,
      enrolWindows: ENROL_WINDOWS,
    });
    expect((await restarted.status(BOB)).modalities.keystroke).toEqual({
      trained: false,
      enrolWindows: 3,
    });
  }, 120_000);

  it("erases every subject's windows and models, and learns again afterwards", async () => {
    const store = await ModelStore.open('engine-test-erase');
    const engine = Engine.withStore(store, 'cpu');
    await engine.ingest(typing(65, 6), 'sid-1', ALICE);
    expect(await engine.counts()).toEqual({ windows: { [ALICE.subjectKey]: 3 }, models: {} });
    await engine.eraseAll();
    expect(await engine.counts()).toEqual({ windows: {}, models: {} });
    expect((await engine.status(ALICE)).modalities.keystroke.enrolWindows).toBe(0);
    await engine.ingest(typing(25, 7), 'sid-1', ALICE);
    expect(await engine.counts()).toEqual({ windows: { [ALICE.subjectKey]: 1 }, models: {} });
  });

  it('retention: expired enrolment windows no longer count towards enrolment', async () => {
    const engine = Engine.withStore(await ModelStore.open('engine-test-retention'), 'cpu');
    await engine.ingest(typing(65, 8), 'sid-1', ALICE);
    expect(await engine.applyRetention(60_000)).toEqual({ windows: 0, models: 0 });
    expect(await engine.applyRetention(-1)).toEqual({ windows: 3, models: 0 });
    expect((await engine.status(ALICE)).modalities.keystroke.enrolWindows).toBe(0);
  });
});

describe('Engine: session signals', () => {
  it('reports each session its own signals, learning context or not; untrusted events count there only', async () => {
    const store = await ModelStore.open('engine-test-signals');
    const engine = Engine.withStore(store, 'cpu');
    const scripted = syntheticKeystrokes(TYPIST_A, 10, { seed: 7 }).map((e) => ({
      ...e,
      f: (e.f ?? 0) | FLAG.untrusted,
    }));
    const before = await engine.ingest(batch(scripted), 'sid-scripted', null);
    expect(before.signals).toEqual({ bot: 1, remote: 0, paste: 0, otp: 0, syn: 20 });
    // The untrusted events trained nothing.
    const after = await engine.ingest(typing(30, 8), 'sid-scripted', ALICE);
    expect(after.counts.k).toBe(60);
    expect(after.signals).toEqual({ bot: 1, remote: 0, paste: 0, otp: 0, syn: 20 });
    // Another session starts from nothing; no session id, no signals.
    expect((await engine.ingest(typing(30, 9), 'sid-other', ALICE)).signals).toEqual({
      bot: 0,
      remote: 0,
      paste: 0,
      otp: 0,
      syn: 0,
    });
    expect((await engine.ingest(typing(5, 10), null, null)).signals).toBeUndefined();
    const automated = await engine.ingest({ ...typing(5, 11), automation: true }, 'sid-3', null);
    expect(automated.signals?.bot).toBe(1);
  });
});

describe('Engine: the product scorer, the same as the evaluation’s', () => {
  it('gives the confidence and decision the evaluation path computes from the same raw events', async () => {
    const events = syntheticKeystrokes(TYPIST_A, ENROL_PRESSES + 120, { seed: 31 });
    const store = await ModelStore.open('engine-test-same-as-eval');
    const engine = Engine.withStore(store, 'cpu');
    // The worker: two batches, cut anywhere (the windower streams).
    await engine.ingest(batch(events.slice(0, 333)), 'sid-eval', ALICE);
    const worker = await engine.ingest(batch(events.slice(333)), 'sid-eval', ALICE);
    expect(worker.state).toBe('scoring');

    // The evaluation's path: the product's windower, scorer and decision, in Node, on the same events.
    const windows = createWindower(PRODUCT.windows)
      .push(events)
      .filter((w) => w.modality === 'keystroke');
    const scorable = (w: FeatureWindow) => ({
      vector: w.vector,
      sequence: { steps: w.steps, n: w.stepCount },
    });
    const enrol = windows.slice(0, ENROL_WINDOWS);
    const models = await fitProductModels(
      'keystroke',
      enrol.map(scorable),
      encoderFromJSON(keystrokeEncoderFile),
    );
    let state = EMPTY_DECISION_STATE;
    const later = windows.slice(ENROL_WINDOWS);
    expect(later.length).toBeGreaterThanOrEqual(5);
    for (const w of later)
      state = productDecide(state, 'keystroke', productLlr(models, scorable(w)));
    expect(models.embedding).toBeDefined();
    expect(worker.confidence).not.toBeNull();
    expect(worker.confidence!).toBeCloseTo(productConfidence(state), 12);
    expect(worker.decision).toEqual({
      takeover: state.takeover,
      windows: { k: state.windows.keystroke, p: state.windows.pointer },
    });
    disposeProductModels(models);
  });
});

describe('Engine: the pointer, with its block scorer', () => {
  it('gives the confidence and decision the evaluation path computes from the same pointer events', async () => {
    const events = syntheticPointer(POINTER_A, 64 * 16, { seed: 51 });
    const engine = Engine.withStore(await ModelStore.open('engine-test-pointer-eval'), 'cpu');
    await engine.ingest(batch(events.slice(0, 500)), 'sid-p', ALICE);
    const worker = await engine.ingest(batch(events.slice(500)), 'sid-p', ALICE);
    expect(worker.state).toBe('scoring');

    const windows = createWindower(PRODUCT.windows)
      .push(events)
      .filter((w) => w.modality === 'pointer');
    const scorable = (w: FeatureWindow) => ({
      vector: w.vector,
      sequence: { steps: w.steps, n: w.stepCount },
      block: w.block!,
    });
    const models = await fitProductModels(
      'pointer',
      windows.slice(0, PRODUCT.minEnrollWindows.pointer).map(scorable),
      encoderFromJSON(pointerEncoderFile),
    );
    expect(models.block).toBeDefined();
    let state = EMPTY_DECISION_STATE;
    for (const w of windows.slice(PRODUCT.minEnrollWindows.pointer))
      state = productDecide(state, 'pointer', productLlr(models, scorable(w)));
    expect(worker.confidence!).toBeCloseTo(productConfidence(state), 12);
    expect(worker.decision).toEqual({
      takeover: state.takeover,
      windows: { k: state.windows.keystroke, p: state.windows.pointer },
    });
    disposeProductModels(models);
  });
});

describe('Engine: a changed shared model', () => {
  it('rebuilds a refused embedding model from the stored step sequences instead of dropping it', async () => {
    const name = 'engine-test-encoder-change';
    const store = await ModelStore.open(name);
    const first = Engine.withStore(store, 'cpu');
    const trained = await first.ingest(typing(ENROL_PRESSES + 30, 61), 'sid-e', ALICE);
    expect(trained.modelVersion).toMatch(/\+K$/); // keystroke scored with the shared encoder
    // What a device holds after the shipped encoder changed: the embedding model no longer
    // loads (here: it is gone), the detector does, the windows keep their steps.
    const stored = await store.loadModel(ALICE.subjectKey, 'keystroke');
    await store.saveModel(ALICE.subjectKey, 'keystroke', stored!.json, undefined, {
      featureSchema: 2,
    });
    const next = Engine.withStore(store, 'cpu');
    const update = await next.ingest(typing(25, 62), 'sid-e2', ALICE);
    expect(update.modelVersion).toMatch(/\+K$/);
    expect((await store.loadModel(ALICE.subjectKey, 'keystroke'))!.embedding).toBeDefined();
  });
});

describe('Engine: template growth', () => {
  const counts = async (store: ModelStore) => (await store.counts()).windows[ALICE.subjectKey] ?? 0;
  const settle = async (engine: Engine) => void (await engine.status(ALICE));
  /**
   * An engine whose subject enrolled on the first presses of the seeded typist's `presses`
   * (enrolment plus `more`); the raw events are returned for the sessions after it.
   */
  const enrolled = async (name: string, more: number, seed: number) => {
    const store = await ModelStore.open(name);
    const engine = Engine.withStore(store, 'cpu');
    const events = syntheticKeystrokes(TYPIST_A, ENROL_PRESSES + more, { seed });
    await engine.ingest(batch(events.slice(0, 2 * ENROL_PRESSES)), 'sid-enrol', ALICE);
    expect(await counts(store)).toBe(ENROL_WINDOWS);
    return { store, engine, events, from: 2 * ENROL_PRESSES };
  };
  /** Feeds `events[from, to)` to session `sid` 40 events (one window) at a time; the confidences. */
  const typeOn = async (
    engine: Engine,
    events: RawEvent[],
    from: number,
    to: number,
    sid: string,
  ) => {
    const confidences: number[] = [];
    for (let i = from; i < to; i += 40) {
      const update = await engine.ingest(batch(events.slice(i, Math.min(i + 40, to))), sid, ALICE);
      if (update.confidence !== null) confidences.push(update.confidence);
    }
    return confidences;
  };

  it('grows the enrolment from a session that stays above the safe level, refits, keeps the previous model', async () => {
    // A seed whose synthetic session never dips below the drift rule's learnConfidence (the
    // precondition is asserted below): one chance window under it ends learning for the session.
    const { store, engine, events, from } = await enrolled('engine-test-growth', 20 * 25, 141);
    const confidences = await typeOn(engine, events, from, events.length, 'sid-g');
    await settle(engine);
    // One window per batch: the windows scored before the session first fused below the safe
    // level are the ones that may grow the enrolment, in batches of `refitEvery`; the drift rule
    // (model/product/drift.ts) admits a batch whole or not at all, and only while the session
    // stays at or above its stricter `learnConfidence`.
    const { refitEvery } = PRODUCT.growth;
    const firstBelow = (level: number) => {
      const i = confidences.findIndex((c) => c < level);
      return i < 0 ? confidences.length : i;
    };
    const above = firstBelow(PRODUCT.growth.safeLevel);
    const learnable = firstBelow(DRIFT.learnConfidence);
    console.info('growth session', above, 'windows above the safe level of', confidences.length);
    expect(learnable).toBeGreaterThanOrEqual(refitEvery);
    const grown = (await counts(store)) - ENROL_WINDOWS;
    expect(grown % refitEvery).toBe(0);
    expect(grown).toBeGreaterThanOrEqual(refitEvery);
    expect(grown).toBeLessThanOrEqual(Math.floor(learnable / refitEvery) * refitEvery);
    expect(await store.rollbackModel(ALICE.subjectKey, 'keystroke')).toBe(true);
  });

  it('short sessions add up: a batch completes across two sessions of the same subject', async () => {
    const { store, engine, events, from } = await enrolled(
      'engine-test-growth-across',
      20 * 12,
      141,
    );
    // Two sessions of 6 windows each (fewer than refitEvery, 10): neither alone makes a batch.
    const half = from + 2 * 20 * 6;
    const first = await typeOn(engine, events, from, half, 'sid-a');
    await settle(engine);
    expect(await counts(store)).toBe(ENROL_WINDOWS);
    const second = await typeOn(engine, events, half, events.length, 'sid-b');
    await settle(engine);
    // The same typist throughout (the seed's sessions stay above the drift rule's floor).
    expect(Math.min(...first, ...second)).toBeGreaterThanOrEqual(DRIFT.learnConfidence);
    expect(await counts(store)).toBe(ENROL_WINDOWS + PRODUCT.growth.refitEvery);
  });

  it('learns nothing more from a session once it fell below the safe level', async () => {
    const store = await ModelStore.open('engine-test-no-growth');
    const engine = Engine.withStore(store, 'cpu');
    await engine.ingest(typing(ENROL_PRESSES, 42), 'sid-a', ALICE);
    expect(await counts(store)).toBe(ENROL_WINDOWS);
    // Someone else takes over the session: three times slower flights.
    const other = syntheticKeystrokes({ ...TYPIST_A, flightMs: TYPIST_A.flightMs * 3 }, 200, {
      seed: 43,
    });
    const low = await engine.ingest(batch(other), 'sid-a', ALICE);
    expect(low.confidence!).toBeLessThan(PRODUCT.growth.safeLevel);
    // The holder comes back in the same session: still nothing is added.
    await engine.ingest(typing(400, 44), 'sid-a', ALICE);
    await settle(engine);
    expect(await counts(store)).toBe(ENROL_WINDOWS);
    expect(await store.rollbackModel(ALICE.subjectKey, 'keystroke')).toBe(false);
  });

  it('after a strong-factor confirmation: a new decision epoch, and growth from the windows after it only', async () => {
    const store = await ModelStore.open('engine-test-confirmed');
    const engine = Engine.withStore(store, 'cpu');
    await engine.ingest(typing(ENROL_PRESSES, 45), 'sid-c', ALICE);
    expect(await counts(store)).toBe(ENROL_WINDOWS);
    // Someone else types: the session falls below the safe level and the decision fires.
    const other = syntheticKeystrokes({ ...TYPIST_A, flightMs: TYPIST_A.flightMs * 3 }, 200, {
      seed: 46,
    });
    const low = await engine.ingest(batch(other), 'sid-c', ALICE);
    expect(low.confidence!).toBeLessThan(0.5);
    expect(low.decision).toMatchObject({ takeover: true, dipped: true });
    // The bank confirms the holder with a passkey; the other session is not touched.
    expect(await engine.confirmSession('sid-c', ALICE)).toEqual({ reset: true });
    expect(await engine.confirmSession('sid-never-scored', ALICE)).toEqual({ reset: false });
    // The holder types after the confirmation: confidence of no evidence, growth again.
    const events = syntheticKeystrokes(TYPIST_A, 20 * 2 * PRODUCT.growth.refitEvery, { seed: 47 });
    const confidences: number[] = [];
    let first;
    for (let i = 0; i < events.length; i += 40) {
      const update = await engine.ingest(batch(events.slice(i, i + 40)), 'sid-c', ALICE);
      first ??= update;
      if (update.confidence !== null) confidences.push(update.confidence);
    }
    expect(first!.decision).toMatchObject({ takeover: false, windows: { k: 1, p: 0 } });
    expect(first!.decision).not.toHaveProperty('dipped');
    expect(first!.confidence!).toBeGreaterThan(0.8); // high again, from ≈ 0.95 less one window
    await settle(engine);
    const dip = confidences.findIndex((c) => c < PRODUCT.growth.safeLevel);
    const above = dip < 0 ? confidences.length : dip;
    expect(above).toBeGreaterThanOrEqual(PRODUCT.growth.refitEvery);
    // Only windows typed after the confirmation were added (never the other typist's).
    const { refitEvery } = PRODUCT.growth;
    expect(await counts(store)).toBe(ENROL_WINDOWS + Math.floor(above / refitEvery) * refitEvery);
  });

  it('runs the session code the drift simulation runs: the same step-up, confirmation, growth and model', async () => {
    // The worker and the simulation's user (model/eval/drift-sim.ts) both go through
    // model/product/session.ts; the same windows must give the same decision, the same template
    // and a model that scores a new window the same.
    const store = await ModelStore.open('engine-test-sim');
    const engine = Engine.withStore(store, 'cpu');
    const enrolEvents = syntheticKeystrokes(TYPIST_A, ENROL_PRESSES, { seed: 52 });
    await engine.ingest(batch(enrolEvents), 'sid-enrol', ALICE);
    const enrolWindows = createWindower(PRODUCT.windows).push(enrolEvents);
    expect(enrolWindows).toHaveLength(ENROL_WINDOWS);
    const user = await AdaptiveUser.enrol('keystroke', enrolWindows, 'safeguarded', {
      encoder: encoderFromJSON(keystrokeEncoderFile),
    });
    // A session: another typist until the decision fires, then the bank's confirmation, then
    // the holder. At most one window per ingest (10 presses), so the worker refits before the
    // next window as the simulation does.
    const simWindows: FeatureWindow[] = [];
    const feed = async (events: RawEvent[], windower: ReturnType<typeof createWindower>) => {
      const made = windower.push(events);
      expect(made.length).toBeLessThanOrEqual(1);
      simWindows.push(...made);
      return engine.ingest(batch(events), 'sid-s', ALICE);
    };
    const other = syntheticKeystrokes({ ...TYPIST_A, flightMs: TYPIST_A.flightMs * 3 }, 200, {
      seed: 53,
    });
    const before = createWindower(PRODUCT.windows);
    let fired = false;
    for (let i = 0; i < other.length && !fired; i += 20)
      fired = (await feed(other.slice(i, i + 20), before)).decision?.takeover === true;
    expect(fired).toBe(true);
    expect(await engine.confirmSession('sid-s', ALICE)).toEqual({ reset: true });
    const holder = syntheticKeystrokes(TYPIST_A, 20 * 14, { seed: 54 });
    const after = createWindower(PRODUCT.windows);
    for (let i = 0; i < holder.length; i += 20) await feed(holder.slice(i, i + 20), after);
    await settle(engine);

    const outcome = await user.session(
      simWindows.map((features) => ({ features, foreign: false })),
      { onStepUp: 'confirm', confirmDelayWindows: 0 },
    );
    expect(outcome).toMatchObject({ flagged: true, stepUps: 1, confirmations: 1, cut: false });
    expect(outcome.stored).toBeGreaterThanOrEqual(PRODUCT.growth.refitEvery);
    expect(await counts(store)).toBe(outcome.template);
    // The grown models agree: a new window scores the same on both. A window unlike the holder
    // (LLR < 0), since the confidence of a first window with LLR > 0 is ≈ 0.95 whatever it is.
    const probe = syntheticKeystrokes({ ...TYPIST_A, flightMs: TYPIST_A.flightMs * 1.5 }, 20, {
      seed: 55,
    });
    const window = createWindower(PRODUCT.windows).push(probe)[0]!;
    const worker = await engine.ingest(batch(probe), 'sid-probe', ALICE);
    const sim = productConfidence(
      productDecide(EMPTY_DECISION_STATE, 'keystroke', user.llr(window)),
    );
    expect(sim).toBeLessThan(0.9);
    expect(worker.confidence!).toBeCloseTo(sim, 10);
    user.dispose();
  });
});
