/**
 * Step sequences: the per-event input of the shared encoders (model/shared). Where the window
 * features of `keystroke.ts`/`pointer.ts` summarise a window in one vector, a step sequence keeps
 * one small vector per key press (or pointer event), in time order, so a learned encoder can see
 * rhythm patterns that a mean hides. Same privacy rule as everything else here: the only thing
 * known about a key is its class.
 *
 * These functions are part of the one feature-extraction implementation: the windower, the
 * training CLI and evaluation all call them. Changing a step feature, its scale or clip is a new
 * `SEQUENCE_SCHEMA_VERSION` (shared encoders record the version they were trained on).
 *
 * @module
 */
import { FLAG, KEY_CLASSES, type RawEvent } from '../events/schema';
import { type KeyPress, pairKeyPresses } from './keystroke';
import { KEYSTROKE_LIMITS, POINTER_LIMITS } from './schema';

/** Version of the step definitions below. */
export const SEQUENCE_SCHEMA_VERSION = 1 as const;

/**
 * Keystroke step features, in order. Times are clipped with the window features' limits (hold
 * to [0, 1 s], flights to ±1.5 s, down-down to [0, 1.5 s]: `KEYSTROKE_LIMITS`) and then
 * log-compressed ({@link compress}). `start` is 1 on the first press and after a focus break: its flights are
 * 0 (the flight into it is no typing rhythm). Then one-hot of the key class.
 */
export const KEY_STEP_FEATURES: readonly string[] = Object.freeze([
  'hold',
  'dd',
  'ud',
  'uu',
  'start',
  ...KEY_CLASSES.map((c) => `class_${c}`),
]);

/**
 * Pointer step features, in order: per kept sample (samples closer than `POINTER_LIMITS.minDtMs`
 * merge, as in `pointer.ts`), dx and dy in px / 100 clipped to ±5 (500 px), dt in s clipped to
 * [0, 0.5], log-speed ln(1 + px/ms) clipped to [0, ln 11], then whether the event is a press, a
 * release, a drag (button held), and `start` (first sample, or after a pause > 100 ms).
 */
export const POINTER_STEP_FEATURES: readonly string[] = Object.freeze([
  'dx',
  'dy',
  'dt',
  'log_speed',
  'press',
  'release',
  'drag',
  'start',
]);

/**
 * Signed log compression of a time in ms: sign(t) · ln(1 + |t| / 100). 100 ms → 0.69, 1 s → 2.4,
 * so typical timings are O(1) inputs and a long flight does not dwarf the rest.
 */
export function compress(ms: number): number {
  return Math.sign(ms) * Math.log1p(Math.abs(ms) / 100);
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/**
 * Keystroke steps of a run of presses (sorted by `down`; presses with a non-finite time are
 * dropped): a row-major `n × KEY_STEP_FEATURES.length` array. Always finite.
 */
export function keystrokeSteps(presses: readonly KeyPress[]): { steps: Float32Array; n: number } {
  const L = KEYSTROKE_LIMITS;
  const ps = presses
    .filter((p) => Number.isFinite(p.down) && Number.isFinite(p.up))
    .slice()
    .sort((a, b) => a.down - b.down);
  const d = KEY_STEP_FEATURES.length;
  const out = new Float32Array(ps.length * d);
  for (let k = 0; k < ps.length; k++) {
    const p = ps[k]!;
    const o = k * d;
    out[o] = compress(clamp(p.up - p.down, 0, L.holdClipMs));
    const prev = k > 0 ? ps[k - 1] : undefined;
    if (prev === undefined || p.focusBreak === true) {
      out[o + 4] = 1;
    } else {
      out[o + 1] = compress(clamp(p.down - prev.down, 0, L.flightClipMs));
      out[o + 2] = compress(clamp(p.down - prev.up, -L.flightClipMs, L.flightClipMs));
      out[o + 3] = compress(clamp(p.up - prev.up, -L.flightClipMs, L.flightClipMs));
    }
    const c = KEY_CLASSES.indexOf(p.c);
    out[o + 5 + (c < 0 ? KEY_CLASSES.length - 1 : c)] = 1;
  }
  return { steps: out, n: ps.length };
}

/** True for a pointer event the step sequence uses (pm/pd/pu with finite time and position). */
function usablePointer(e: RawEvent): boolean {
  return (
    (e.k === 'pm' || e.k === 'pd' || e.k === 'pu') &&
    Number.isFinite(e.t) &&
    Number.isFinite(e.x) &&
    Number.isFinite(e.y)
  );
}

/**
 * Keystroke step sequence of one raw-event stream (all its complete presses): what training,
 * evaluation and the federated publisher's public centres embed. Here, with the features, so
 * that the aggregator reaches it without the evaluation code (and TensorFlow.js).
 */
export function keySequence(events: readonly RawEvent[]): { steps: Float32Array; n: number } {
  return keystrokeSteps(pairKeyPresses(events));
}

/**
 * Pointer steps of a window's events (pm/pd/pu; others ignored; the caller has already dropped
 * flagged events, as the windower does): a row-major `n × POINTER_STEP_FEATURES.length` array.
 * Always finite.
 */
export function pointerSteps(events: readonly RawEvent[]): { steps: Float32Array; n: number } {
  const P = POINTER_LIMITS;
  const d = POINTER_STEP_FEATURES.length;
  // Kept samples first: one closer than minDtMs to the previous kept one merges into it (the
  // later position wins, the event kinds add up), exactly as pointer.ts keeps them.
  const kept: { t: number; x: number; y: number; press: number; release: number; drag: number }[] =
    [];
  for (const e of events) {
    if (!usablePointer(e)) continue;
    const s = {
      t: e.t,
      x: e.x as number,
      y: e.y as number,
      press: e.k === 'pd' ? 1 : 0,
      release: e.k === 'pu' ? 1 : 0,
      drag: e.k === 'pm' && ((e.f ?? 0) & FLAG.drag) !== 0 ? 1 : 0,
    };
    const last = kept[kept.length - 1];
    if (last !== undefined && s.t - last.t < P.minDtMs) {
      last.x = s.x;
      last.y = s.y;
      last.press = Math.max(last.press, s.press);
      last.release = Math.max(last.release, s.release);
      last.drag = Math.max(last.drag, s.drag);
    } else {
      kept.push(s);
    }
  }
  const out = new Float32Array(kept.length * d);
  for (let k = 0; k < kept.length; k++) {
    const s = kept[k]!;
    const o = k * d;
    out[o + 4] = s.press;
    out[o + 5] = s.release;
    out[o + 6] = s.drag;
    const prev = k > 0 ? kept[k - 1] : undefined;
    if (prev === undefined) {
      out[o + 7] = 1;
      continue;
    }
    const dt = s.t - prev.t;
    const dx = s.x - prev.x;
    const dy = s.y - prev.y;
    const pause = dt > P.pauseMs;
    out[o] = clamp(dx / 100, -5, 5);
    out[o + 1] = clamp(dy / 100, -5, 5);
    out[o + 2] = clamp(dt / 1000, 0, 0.5);
    out[o + 3] = pause ? 0 : clamp(Math.log1p(Math.hypot(dx, dy) / dt), 0, Math.log(11));
    out[o + 7] = pause ? 1 : 0;
  }
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) out[i] = 0;
  return { steps: out, n: kept.length };
}
