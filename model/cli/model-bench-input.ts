/**
 * Input and timing loop of the model benchmark (`npm run bench -- model`), shared verbatim by the
 * Node run and the Chromium worker bundle (`e2e/bench/page/model-worker.ts`): no Node, no DOM;
 * the clock is injected.
 */
import { keystrokeFeatures, pairKeyPresses } from '../features/keystroke';
import { pointerFeatures } from '../features/pointer';
import { keystrokeSteps, pointerSteps } from '../features/sequence';
import type { UserModel } from '../detector/user-model';
import type { BlockScorer } from '../pointer/block-scorer';
import { blockFeatures } from '../pointer/block-features';
import { productScore } from '../product/scorer';
import type { EmbeddingUserModel } from '../shared/embedding-model';
import type { Modality } from '../features/schema';
import type { RawEvent } from '../events/schema';
import { POINTER_A, TYPIST_A, syntheticKeystrokes, syntheticPointer } from '../testing/synthetic';

/** Events of `count` single windows of the product's size (20 key presses, 64 pointer events), one seed each. */
export function windowEvents(modality: Modality, count: number, seed: number): RawEvent[][] {
  return Array.from({ length: count }, (_, k) =>
    modality === 'keystroke'
      ? syntheticKeystrokes(TYPIST_A, 20, { seed: seed * 100_003 + k })
      : syntheticPointer(POINTER_A, 64, { seed: seed * 100_003 + k }),
  );
}

/** What the windower computes for a window: its feature vector, step sequence and (pointer) block features. */
export interface BenchWindow {
  vector: Float32Array;
  steps: Float32Array;
  n: number;
  block?: Float64Array;
}

/** Feature extraction of one window's events (what the windower does when a window completes). */
export function featuresOf(modality: Modality, events: readonly RawEvent[]): BenchWindow {
  if (modality === 'keystroke') {
    const presses = pairKeyPresses(events);
    const seq = keystrokeSteps(presses);
    return { vector: keystrokeFeatures(presses), steps: seq.steps, n: seq.n };
  }
  const seq = pointerSteps(events);
  return {
    vector: pointerFeatures(events),
    steps: seq.steps,
    n: seq.n,
    block: blockFeatures(events),
  };
}

/** Anything that scores a window. */
export interface Scorer {
  score(window: BenchWindow): number;
}

/**
 * The product's per-window scoring (model/product/scorer.ts, as the worker runs it): the detector
 * on the vector, and the modality's other components (`PRODUCT.components`): for keystrokes the
 * embedding model on the step sequence (a shared-encoder forward pass), for the pointer the
 * block scorer on the block features; fused by the shipped calibration.
 */
export function productScorer(
  detector: UserModel,
  embedding?: EmbeddingUserModel,
  block?: BlockScorer,
): Scorer {
  const models = {
    detector,
    ...(embedding === undefined ? {} : { embedding }),
    ...(block === undefined ? {} : { block }),
  };
  return {
    score: (w) =>
      productScore(models, {
        vector: w.vector,
        sequence: { steps: w.steps, n: w.n },
        ...(w.block === undefined ? {} : { block: w.block }),
      }),
  };
}

/** Options of {@link timeScoring}. */
export interface ScoringTimingOptions {
  /** Windows per timed batch (a coarse clock is divided by it). */
  batch: number;
  /** Timed batches. */
  batches: number;
  /** Untimed batches first. */
  warmup: number;
}

/** Per-window µs of each timed batch, for scoring and for its baseline, feature extraction. */
export interface ScoringTiming {
  scoreUs: number[];
  featuresUs: number[];
  /** Sum of every confidence of one pass over the windows: the same everywhere. */
  scoreSum: number;
}

/**
 * Times `score` and, as the baseline, feature extraction of the same windows: batch by batch,
 * features then scores of the same `batch` windows, so drift hits both alike.
 */
export function timeScoring(
  model: Scorer,
  modality: Modality,
  events: readonly (readonly RawEvent[])[],
  options: ScoringTimingOptions,
  now: () => number,
): ScoringTiming {
  const vectors = events.map((e) => featuresOf(modality, e));
  let scoreSum = 0;
  for (const v of vectors) scoreSum += model.score(v);
  const scoreUs: number[] = [];
  const featuresUs: number[] = [];
  let sink = 0;
  let next = 0;
  for (let b = 0; b < options.warmup + options.batches; b++) {
    const start = next;
    next = (next + options.batch) % events.length;
    const t0 = now();
    for (let k = 0; k < options.batch; k++)
      sink += featuresOf(modality, events[(start + k) % events.length]!).vector[0]!;
    const t1 = now();
    for (let k = 0; k < options.batch; k++)
      sink += model.score(vectors[(start + k) % vectors.length]!);
    const t2 = now();
    if (b >= options.warmup) {
      featuresUs.push(((t1 - t0) * 1000) / options.batch);
      scoreUs.push(((t2 - t1) * 1000) / options.batch);
    }
  }
  if (Number.isNaN(sink)) throw new Error('non-finite features or scores');
  return { scoreUs, featuresUs, scoreSum };
}
