/**
 * The streaming windower: turns successive batches of raw events into feature windows, keeping
 * partial windows between calls. It is the only way the worker, training and evaluation make
 * feature vectors (STYLE.md point 10).
 */
import { keystrokeSteps, pointerSteps } from './sequence';
import { FLAG, type RawEvent } from '../events/schema';
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';
import { KeyPairer, type KeyPress, keystrokeFeatures } from './keystroke';
import { isUsablePointerEvent, isUsableWheelEvent, pointerFeatures } from './pointer';
import { blockFeatures } from '../pointer/block-features';
import { FEATURE_SCHEMA_VERSION, type Modality } from './schema';

/** Key-down flags that mean the text changed without the keys' rhythm. */
const TEXT_FLAGS = FLAG.paste | FLAG.autofill;

/** Windowing parameters. Training and scoring must use the same values. */
export interface WindowerConfig {
  /** Complete key presses per keystroke window. Default 20; integer in [2, 1000]. */
  keysPerWindow: number;
  /**
   * Key presses between the ends of successive keystroke windows. Equal to `keysPerWindow`
   * (the default, 20): windows do not overlap. Smaller: each window keeps the last
   * `keysPerWindow − keyHop` presses of the previous one, so a decision can be taken every
   * `keyHop` keys on a full-size window (the product's decision weighs such windows by
   * `keyHop / keysPerWindow`, see model/product/decision.ts). Integer in [1, keysPerWindow].
   */
  keyHop: number;
  /** Pointer events (pm, pd, pu; wheel events are not counted) per pointer window. Default 64; integer in [4, 10000]. */
  pointerEventsPerWindow: number;
  /**
   * Longest silence (ms) a window may span, per modality. When the next event of a modality
   * comes more than this after its previous one, the pending partial window of that modality
   * is discarded (never emitted) and a new one starts with that event: a window never straddles
   * a break such as switching fields for a while, and a partial window is never padded.
   * A key held longer than this also discards the keystroke window. Default 5000; in [100, 3600000].
   */
  maxPauseMs: number;
}

/** Default windowing parameters. */
export const DEFAULT_WINDOWER_CONFIG: Readonly<WindowerConfig> = Object.freeze({
  keysPerWindow: 20,
  keyHop: 20,
  pointerEventsPerWindow: 64,
  maxPauseMs: 5000,
});

/**
 * Timestamps may step back this much (ms) within a modality without being treated as a new
 * page timeline; the small regressions seen between coalesced events are clamped instead.
 */
export const TIMELINE_TOLERANCE_MS = 50;

/** One feature vector and where it came from. */
export interface FeatureWindow {
  /** Which modality (and model) the vector belongs to. */
  modality: Modality;
  /** The feature vector, {@link FEATURE_NAMES}`[modality]` order. */
  vector: Float32Array;
  /** Key presses (keystroke) or pm/pd/pu events (pointer) behind the vector. */
  count: number;
  /** First key-down / first pointer event time (ms, page timeline of the events). */
  start: number;
  /** Last key-up / last pointer event time (ms). */
  end: number;
  /** {@link FEATURE_SCHEMA_VERSION} of `vector`, for anything that stores windows. */
  schema: typeof FEATURE_SCHEMA_VERSION;
  /**
   * Keystroke windows: text changes without usable keystrokes (trusted `in` events, and key
   * downs flagged paste or autofill) since the previous keystroke window, `br` or `reset()` (a
   * long pause keeps the count: a paste during the pause belongs to the next window). A side
   * note, not a feature: such input is "no data", never evidence. Always 0 for pointer windows.
   */
  textInputs: number;
  /**
   * The window's step sequence (features/sequence.ts: one row per key press or kept pointer
   * sample, `steps.length / stepCount` values each), the input of the shared encoder. Computed
   * from exactly the presses or events behind `vector`.
   */
  steps: Float32Array;
  /** Rows in `steps`. */
  stepCount: number;
  /**
   * Pointer windows: the block features of the same events (model/pointer/block-features.ts),
   * the input of the pointer block scorer. Absent on keystroke windows.
   */
  block?: Float64Array;
}

/** A stateful windower; see {@link createWindower}. */
export interface Windower {
  /** The resolved configuration. */
  readonly config: Readonly<WindowerConfig>;
  /**
   * Feeds the next batch of events (in capture order) and returns the windows it completed, in
   * completion order. Untrusted events, key auto-repeat, IME composition, paste and autofill
   * events never form windows. A `br` (page blurred or hidden) discards both pending windows;
   * an `fc` (focus change) keeps the keystroke window but keeps the flight across it out of
   * every statistic; `in` events are only counted ({@link FeatureWindow.textInputs}). A
   * timestamp more than {@link TIMELINE_TOLERANCE_MS} before the previous one of its modality
   * means a new page timeline: that modality starts afresh.
   */
  push(events: readonly RawEvent[]): FeatureWindow[];
  /** Units pending in the current partial windows (for progress displays). */
  pending(): { keystroke: number; pointer: number };
  /** Discards all pending state (e.g. when the tab or page changes). */
  reset(): void;
}

/** Validates a partial config and fills in defaults; throws a `RangeError` quoting a bad value. */
export function resolveWindowerConfig(
  config: Partial<WindowerConfig> = {},
): Readonly<WindowerConfig> {
  assertKnownKeys('WindowerConfig', config, Object.keys(DEFAULT_WINDOWER_CONFIG));
  const c = { ...DEFAULT_WINDOWER_CONFIG, ...config };
  assertInteger('keysPerWindow', c.keysPerWindow, 2, 1000);
  // A hop left at the default follows a changed window size (no overlap unless asked for).
  if (config.keyHop === undefined) c.keyHop = c.keysPerWindow;
  assertInteger('keyHop', c.keyHop, 1, c.keysPerWindow);
  assertInteger('pointerEventsPerWindow', c.pointerEventsPerWindow, 4, 10000);
  assertNumber('maxPauseMs', c.maxPauseMs, 100, 3_600_000);
  return Object.freeze(c);
}

/** Creates a streaming windower with `config` (defaults: {@link DEFAULT_WINDOWER_CONFIG}). */
export function createWindower(config: Partial<WindowerConfig> = {}): Windower {
  const cfg = resolveWindowerConfig(config);

  // Keystroke state.
  const pairer = new KeyPairer();
  let presses: KeyPress[] = [];
  let lastKeyT: number | undefined;
  let textInputs = 0;

  // Pointer state: pending window events (incl. wheel), and how many of them count.
  let pointerEvents: RawEvent[] = [];
  let pointerCount = 0;
  let lastPointerT: number | undefined;

  const resetKeys = (): void => {
    pairer.reset();
    presses = [];
    lastKeyT = undefined;
  };
  const resetPointer = (): void => {
    pointerEvents = [];
    pointerCount = 0;
    lastPointerT = undefined;
  };

  const onKey = (e: RawEvent, out: FeatureWindow[]): void => {
    // Ignored events (flagged, stray, duplicate) must not move the clock or reset anything:
    // a page script could otherwise disturb the state with synthetic events.
    if (!pairer.wouldUse(e)) return;
    if (lastKeyT !== undefined) {
      const silence = e.t - lastKeyT;
      const heldSince = pairer.oldestOpenDown();
      if (
        silence < -TIMELINE_TOLERANCE_MS ||
        silence > cfg.maxPauseMs ||
        (heldSince !== undefined && e.t - heldSince > cfg.maxPauseMs)
      ) {
        resetKeys();
      }
    }
    const completed = pairer.push(e);
    lastKeyT = Math.max(e.t, lastKeyT ?? e.t);
    for (const press of completed) {
      presses.push(press);
      if (presses.length === cfg.keysPerWindow) {
        let end = -Infinity;
        for (const p of presses) end = Math.max(end, p.up);
        const seq = keystrokeSteps(presses);
        out.push({
          modality: 'keystroke',
          steps: seq.steps,
          stepCount: seq.n,
          vector: keystrokeFeatures(presses),
          count: presses.length,
          start: presses[0]!.down,
          end,
          schema: FEATURE_SCHEMA_VERSION,
          textInputs,
        });
        // Overlapping windows keep their shared presses; `count` stays the window's size.
        presses = presses.slice(cfg.keyHop);
        textInputs = 0;
      }
    }
  };

  const onPointer = (e: RawEvent, counts: boolean, out: FeatureWindow[]): void => {
    if (lastPointerT !== undefined) {
      const silence = e.t - lastPointerT;
      if (silence < -TIMELINE_TOLERANCE_MS || silence > cfg.maxPauseMs) resetPointer();
    }
    lastPointerT = Math.max(e.t, lastPointerT ?? e.t);
    pointerEvents.push(e);
    if (!counts) return;
    pointerCount++;
    if (pointerCount === cfg.pointerEventsPerWindow) {
      let start = Infinity;
      let end = -Infinity;
      for (const p of pointerEvents) {
        if (isUsablePointerEvent(p)) {
          start = Math.min(start, p.t);
          end = Math.max(end, p.t);
        }
      }
      const seq = pointerSteps(pointerEvents);
      out.push({
        modality: 'pointer',
        steps: seq.steps,
        stepCount: seq.n,
        vector: pointerFeatures(pointerEvents),
        block: blockFeatures(pointerEvents),
        count: pointerCount,
        start,
        end,
        schema: FEATURE_SCHEMA_VERSION,
        textInputs: 0,
      });
      pointerEvents = [];
      pointerCount = 0;
    }
  };

  /** `in`, `fc` and `br`: no window data of their own. */
  const onMarker = (e: RawEvent): void => {
    if (e.k === 'in') textInputs++;
    else if (e.k === 'fc') pairer.push(e);
    else {
      // Like a long pause: a window never straddles a tab switch, in either modality.
      resetKeys();
      resetPointer();
      textInputs = 0;
    }
  };

  return {
    config: cfg,
    push(events) {
      const out: FeatureWindow[] = [];
      for (const e of events) {
        const f = e.f ?? 0;
        const trusted = (f & FLAG.untrusted) === 0;
        if (e.k === 'kd' || e.k === 'ku') {
          // Flagged key events go to the pairer too: a flagged ku must cancel its open press.
          if (e.k === 'kd' && trusted && (f & TEXT_FLAGS) !== 0) textInputs++;
          onKey(e, out);
        } else if (e.k === 'in' || e.k === 'fc' || e.k === 'br') {
          // Synthetic events must not be able to discard, split or annotate windows.
          if (trusted) onMarker(e);
        } else if (isUsablePointerEvent(e)) onPointer(e, true, out);
        else if (isUsableWheelEvent(e)) onPointer(e, false, out);
      }
      return out;
    },
    pending() {
      return { keystroke: presses.length + pairer.pending, pointer: pointerCount };
    },
    reset() {
      resetKeys();
      resetPointer();
      textInputs = 0;
    },
  };
}
