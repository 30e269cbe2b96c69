/**
 * Takeover simulation at the keystroke level (pure): the product's windower, scorer and decision
 * over one continuous typing stream in which someone else takes over **at an arbitrary key**,
 * usually in the middle of a window — the condition a bank meets, which the window-aligned
 * simulation of continuous.ts does not model (there the impostor's first window starts clean).
 *
 * A user's recordings (one per typed text: an Aalto sentence) are joined as the fields of one
 * form: each keeps its own timing, the next one starts {@link FIELD_GAP_MS} after the previous
 * one ends, and a focus change (`fc`) between them keeps the flight across fields out of every
 * statistic, as the content script reports a field change. An attack is the genuine user's
 * stream up to the takeover key, a focus change, then the impostor's stream; the windower is not
 * reset at the takeover, so the window in progress mixes both people.
 *
 * Window LLRs are recorded **unclamped** with the impostor keys typed when each window
 * completes, so that one scoring pass serves every clamp, budget and hop of a grid
 * ({@link takeoverOutcome}, {@link genuineOutcome}).
 */
import type { RawEvent } from '../events/schema';
import { type WindowerConfig, createWindower, type FeatureWindow } from '../features/windower';
import {
  type DecisionConfig,
  type DecisionState,
  EMPTY_DECISION_STATE,
  updateDecision,
} from '../product/decision';

/** Milliseconds between the end of one field's typing and the start of the next. */
export const FIELD_GAP_MS = 600;

/** Key events of a stream, each marked with who typed it. */
export interface TypedEvent {
  readonly e: RawEvent;
  readonly impostor: boolean;
}

/**
 * Joins recordings as the fields of one form, keeping at most `maxKeys` key presses (a press
 * counts at its key-down, in time order). Only `kd`/`ku` events are kept; press ids are
 * renumbered so that they stay unique across fields.
 */
export function formStream(
  recordings: readonly (readonly RawEvent[])[],
  impostor: boolean,
  maxKeys = Infinity,
): TypedEvent[] {
  const out: TypedEvent[] = [];
  let end = 0;
  let ids = 0;
  let keys = 0;
  for (const rec of recordings) {
    const keyEvents = rec.filter((e) => e.k === 'kd' || e.k === 'ku');
    if (keyEvents.length === 0 || keys >= maxKeys) continue;
    const t0 = Math.min(...keyEvents.map((e) => e.t));
    const shift = out.length === 0 ? -t0 : end + FIELD_GAP_MS - t0;
    if (out.length > 0) out.push({ e: { t: end + FIELD_GAP_MS / 2, k: 'fc' }, impostor });
    const kept = new Map<number, number>();
    for (const e of keyEvents) {
      if (e.k === 'kd' && !kept.has(e.i!) && keys < maxKeys) {
        kept.set(e.i!, ++ids);
        keys++;
      }
      const id = kept.get(e.i!);
      if (id === undefined) continue;
      const t = e.t + shift;
      out.push({ e: { ...e, t, i: id }, impostor });
      end = Math.max(end, t);
    }
  }
  return out;
}

/** Key presses (key-downs) in a stream. */
export function keysIn(stream: readonly TypedEvent[]): number {
  return stream.filter((x) => x.e.k === 'kd').length;
}

/**
 * The session of an attack: the genuine stream's first `takeoverKey` presses, a focus change,
 * then the impostor's stream, shifted to start {@link FIELD_GAP_MS} after the genuine part.
 */
export function attackStream(
  genuine: readonly TypedEvent[],
  impostor: readonly TypedEvent[],
  takeoverKey: number,
): TypedEvent[] {
  const head: TypedEvent[] = [];
  const kept = new Set<number>();
  for (const x of genuine) {
    if (x.e.k === 'kd' && kept.size < takeoverKey) kept.add(x.e.i!);
    if ((x.e.k === 'kd' || x.e.k === 'ku') && kept.has(x.e.i!)) head.push(x);
  }
  const end = head.reduce((m, x) => Math.max(m, x.e.t), 0);
  const t0 = impostor.reduce((m, x) => Math.min(m, x.e.t), Infinity);
  const shift = end + FIELD_GAP_MS - (Number.isFinite(t0) ? t0 : 0);
  const idBase = head.reduce((m, x) => Math.max(m, x.e.i ?? 0), 0);
  return [
    ...head,
    { e: { t: end + FIELD_GAP_MS / 2, k: 'fc' }, impostor: true },
    ...impostor.map((x) => ({
      e: { ...x.e, t: x.e.t + shift, ...(x.e.i === undefined ? {} : { i: x.e.i + idBase }) },
      impostor: true,
    })),
  ];
}

/** One scored window of a stream. */
export interface ScoredWindow {
  /** The window's LLR, unclamped. */
  readonly llr: number;
  /** Impostor key presses completed when the window completed (0: before the takeover). */
  readonly impostorKeys: number;
  /** All key presses completed when the window completed. */
  readonly keys: number;
}

/**
 * Streams a session through a windower with `windows` (the product's, or one with another
 * `keyHop`) and scores each keystroke window with `llr`, in order.
 */
export function scoreStream(
  stream: readonly TypedEvent[],
  windows: Partial<WindowerConfig>,
  llr: (w: FeatureWindow) => number,
): ScoredWindow[] {
  const windower = createWindower(windows);
  const out: ScoredWindow[] = [];
  let keys = 0;
  let impostorKeys = 0;
  for (const x of stream) {
    if (x.e.k === 'ku') {
      keys++;
      if (x.impostor) impostorKeys++;
    }
    for (const w of windower.push([x.e])) {
      if (w.modality === 'keystroke') out.push({ llr: llr(w), impostorKeys, keys });
    }
  }
  return out;
}

/** How window LLRs enter the decision in a simulation. */
export interface TakeoverDecision {
  /** The decision's settings. */
  readonly decision: Readonly<DecisionConfig>;
  /** Each LLR is clamped to ±this first (the calibration's clamp). */
  readonly clamp: number;
  /**
   * Each clamped LLR is multiplied by this: `keyHop / keysPerWindow` for overlapping windows,
   * so that each key's evidence counts about once; 1 for the product's windows.
   */
  readonly weight: number;
}

function fold(state: DecisionState, llr: number, d: TakeoverDecision): DecisionState {
  const v = d.weight * Math.min(d.clamp, Math.max(-d.clamp, llr));
  return updateDecision(state, 'keystroke', v, d.decision);
}

/** An attack's outcome. */
export interface TakeoverOutcome {
  /** Impostor keys typed when the decision fired; null: not within the impostor's keys. */
  keysToFlag: number | null;
  /** Whether the decision had fired before the takeover (a genuine false flag). */
  flaggedBefore: boolean;
}

/**
 * The decision over an attack's windows. As in continuous.ts, a flag raised before the takeover
 * is not credited to the impostor: the statistic is kept, the flag cleared at the takeover.
 */
export function takeoverOutcome(
  windows: readonly ScoredWindow[],
  d: TakeoverDecision,
): TakeoverOutcome {
  let state: DecisionState = EMPTY_DECISION_STATE;
  let flaggedBefore = false;
  let started = false;
  for (const w of windows) {
    if (w.impostorKeys > 0 && !started) {
      started = true;
      flaggedBefore = state.takeover;
      state = { ...state, takeover: false };
    }
    state = fold(state, w.llr, d);
    if (started && state.takeover) return { keysToFlag: w.impostorKeys, flaggedBefore };
  }
  return { keysToFlag: null, flaggedBefore: flaggedBefore || (!started && state.takeover) };
}

/** A genuine session's outcome. */
export interface GenuineSessionOutcome {
  /** Keys typed when the first false flag fired; null: none. */
  keysToFalseFlag: number | null;
  /** Times the statistic reached h from below. */
  episodes: number;
}

/** The decision over a genuine session's windows. */
export function genuineOutcome(
  windows: readonly ScoredWindow[],
  d: TakeoverDecision,
): GenuineSessionOutcome {
  let state: DecisionState = EMPTY_DECISION_STATE;
  let first: number | null = null;
  let episodes = 0;
  let above = false;
  const h = Math.log(d.decision.falseAlarmWindows);
  for (const w of windows) {
    state = fold(state, w.llr, d);
    const now = state.s >= h;
    if (now && !above) episodes++;
    if (now && first === null) first = w.keys;
    above = now;
  }
  return { keysToFalseFlag: first, episodes };
}
