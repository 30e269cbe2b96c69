/**
 * The feature-extraction benchmark's input and timing loop, shared verbatim by the Node run and
 * the Web Worker bundle so both measure the same thing on the same events.
 */
import type { RawEvent } from '../../model/events/schema';
import { createWindower } from '../../model/features/windower';
import {
  POINTER_A,
  TYPIST_A,
  syntheticKeystrokes,
  syntheticPointer,
} from '../../model/testing/synthetic';

export interface FeatureInputOptions {
  /** Raw events in the stream: half key events, half pointer (pm/pd/pu/wh). */
  events: number;
  /** Events per `push` call (the content script flushes every 256). */
  batchSize: number;
  seed: number;
}

export interface FeatureRunOptions extends FeatureInputOptions {
  /** Untimed passes before timing (at least 1 is always run). */
  warmup: number;
  /** Timed passes. */
  reps: number;
}

export interface FeatureRunResult {
  /** Wall time of each timed pass, ms. */
  timesMs: number[];
  events: number;
  keyEvents: number;
  pointerEvents: number;
  /** Windows one pass completes, per modality. */
  windows: { keystroke: number; pointer: number };
  /** Sum of every feature value of one pass: the same input must give the same features. */
  vectorSum: number;
  /** Sum of every input timestamp: proves both runtimes got the same input. */
  inputChecksum: number;
}

/**
 * A seeded stream from model/testing/synthetic: a typist (TYPIST_A) and a pointer user
 * (POINTER_A) on the same clock, merged by time. The pointer stream is denser, so it ends
 * first and the tail is typing only. Cut into batches of `batchSize`.
 */
export function buildFeatureInput(options: FeatureInputOptions): RawEvent[][] {
  const keyCount = Math.floor(options.events / 2);
  const keys = syntheticKeystrokes(TYPIST_A, Math.ceil(keyCount / 2), { seed: options.seed }).slice(
    0,
    keyCount,
  );
  const pointer = syntheticPointer(POINTER_A, options.events - keyCount, {
    seed: options.seed + 1,
  });
  const merged: RawEvent[] = [];
  let i = 0;
  let j = 0;
  while (merged.length < options.events && (i < keys.length || j < pointer.length)) {
    if (j >= pointer.length || (i < keys.length && keys[i]!.t <= pointer[j]!.t))
      merged.push(keys[i++]!);
    else merged.push(pointer[j++]!);
  }
  const batches: RawEvent[][] = [];
  for (let b = 0; b < merged.length; b += options.batchSize)
    batches.push(merged.slice(b, b + options.batchSize));
  return batches;
}

/** Times `reps` passes of a fresh `createWindower()` over the input (after `warmup` passes). */
export function runFeatureExtraction(
  options: FeatureRunOptions,
  now: () => number,
): FeatureRunResult {
  const batches = buildFeatureInput(options);
  let events = 0;
  let keyEvents = 0;
  let inputChecksum = 0;
  for (const batch of batches) {
    for (const e of batch) {
      events++;
      if (e.k === 'kd' || e.k === 'ku') keyEvents++;
      inputChecksum += e.t;
    }
  }
  // Only the untimed first pass sums the vectors; timed passes just count windows.
  const pass = (
    sum: boolean,
  ): { windows: { keystroke: number; pointer: number }; vectorSum: number } => {
    const windower = createWindower();
    const windows = { keystroke: 0, pointer: 0 };
    let vectorSum = 0;
    for (const batch of batches) {
      for (const w of windower.push(batch)) {
        windows[w.modality]++;
        if (sum) for (let k = 0; k < w.vector.length; k++) vectorSum += w.vector[k]!;
      }
    }
    return { windows, vectorSum };
  };
  const first = pass(true);
  for (let w = 1; w < options.warmup; w++) pass(false);
  const timesMs: number[] = [];
  let windows = first.windows;
  for (let r = 0; r < options.reps; r++) {
    const t0 = now();
    windows = pass(false).windows;
    timesMs.push(now() - t0);
  }
  return {
    timesMs,
    events,
    keyEvents,
    pointerEvents: events - keyEvents,
    windows,
    vectorSum: first.vectorSum,
    inputChecksum,
  };
}
