/**
 * Synthetic users for tests, the browser e2e and smoke evaluations: seeded `RawEvent` streams of
 * a typist with given hold and flight times, and of a pointer user with given speed and
 * curvature. Every duration gets multiplicative jitter (default ±15 %, uniform). These users are
 * far more regular than people: they prove the pipeline works, not how well it works.
 */
import type { KeyClass, RawEvent } from '../events/schema';
import { createRng, type Rng } from '../random';

/** How a synthetic typist types. Durations in ms. */
export interface TypistProfile {
  /** Mean hold (key down → up) of a letter. */
  holdMs: number;
  /** Mean up-down flight (previous key up → next key down) when keys do not overlap. */
  flightMs: number;
  /** Relative jitter of every duration: each is multiplied by U(1 − jitter, 1 + jitter). Default 0.15. */
  jitter?: number;
  /** Space-bar hold relative to a letter's. Default 1.15. */
  spaceHoldFactor?: number;
  /** Probability that the next key goes down before the previous one is up. Default 0.1. */
  rolloverRate?: number;
  /** Probability that a press is a backspace. Default 0.03. */
  backspaceRate?: number;
  /** Probability of a thinking pause before a press. Default 0.02. */
  pauseRate?: number;
  /** Mean thinking pause (ms), added to the flight. Default 1200. */
  pauseMs?: number;
}

/** How a synthetic pointer user moves. */
export interface PointerProfile {
  /** Mean speed of a movement (chord length / duration), px/ms. */
  speedPxPerMs: number;
  /** Bow of each movement: control-point offset as a fraction of the chord, ≥ 0. */
  curvature: number;
  /** Relative jitter of every duration and distance. Default 0.15. */
  jitter?: number;
  /** Mean time between pointer-move samples (ms). Default 8. */
  sampleMs?: number;
  /** Mean rest between movements (ms); must exceed 100 to count as a pause. Default 300. */
  restMs?: number;
  /** Probability of a click at the end of a movement. Default 0.4. */
  clickRate?: number;
  /** Mean click hold (ms). Default 110. */
  clickHoldMs?: number;
  /** Probability of a burst of 1–3 wheel events during a rest. Default 0.1. */
  wheelRate?: number;
}

/** Stream options shared by both generators. */
export interface StreamOptions {
  /** Seed of the stream: the same profile, count and seed give the same events. */
  seed: number;
  /** Time of the first event (ms). Default 1000. */
  startMs?: number;
}

/** A typist with average rhythm, the reference "user A" of the tests. */
export const TYPIST_A: Readonly<TypistProfile> = Object.freeze({ holdMs: 100, flightMs: 120 });

/** A pointer user with average speed and mild curvature, the reference "user A". */
export const POINTER_A: Readonly<PointerProfile> = Object.freeze({
  speedPxPerMs: 1,
  curvature: 0.15,
});

/**
 * Key events of `presses` presses by `profile`, sorted by time. Press ids start at
 * `options.firstId` (default 1) so streams can be concatenated.
 */
export function syntheticKeystrokes(
  profile: TypistProfile,
  presses: number,
  options: StreamOptions & { firstId?: number },
): RawEvent[] {
  const rng = createRng(options.seed);
  const jitter = profile.jitter ?? 0.15;
  const j = (v: number): number => v * (1 - jitter + 2 * jitter * rng());
  const events: RawEvent[] = [];
  let prevDown = -Infinity;
  let prevUp = 0;
  let prevHold = 0;
  for (let k = 0; k < presses; k++) {
    const c = keyClass(rng, k, profile.backspaceRate ?? 0.03);
    const hold = j(profile.holdMs) * (c === 'space' ? (profile.spaceHoldFactor ?? 1.15) : 1);
    let down: number;
    if (k === 0) down = options.startMs ?? 1000;
    else if (rng() < (profile.rolloverRate ?? 0.1)) {
      // Next key down during the previous hold, never before the previous down.
      down = Math.max(prevUp - prevHold * (0.1 + 0.4 * rng()), prevDown + 1);
    } else {
      down = prevUp + j(profile.flightMs);
      if (rng() < (profile.pauseRate ?? 0.02)) down += j(profile.pauseMs ?? 1200);
    }
    const up = down + hold;
    const id = (options.firstId ?? 1) + k;
    events.push({ t: round(down), k: 'kd', c, i: id }, { t: round(up), k: 'ku', c, i: id });
    prevDown = down;
    prevUp = up;
    prevHold = hold;
  }
  // Stable sort keeps kd before ku of the same press when they share a rounded timestamp.
  return events.sort((a, b) => a.t - b.t);
}

/** Pointer events (pm/pd/pu and occasional wh) of `profile` until `events` pm/pd/pu are made. */
export function syntheticPointer(
  profile: PointerProfile,
  events: number,
  options: StreamOptions,
): RawEvent[] {
  const rng = createRng(options.seed);
  const jitter = profile.jitter ?? 0.15;
  const j = (v: number): number => v * (1 - jitter + 2 * jitter * rng());
  const out: RawEvent[] = [];
  let counted = 0;
  let t = options.startMs ?? 1000;
  let x = 640;
  let y = 400;
  const emit = (e: RawEvent): void => {
    if (counted >= events) return;
    out.push(e);
    if (e.k !== 'wh') counted++;
  };
  while (counted < events) {
    // A target 120–500 px away, kept inside a 1280×800 viewport.
    const dist = 120 + 380 * rng();
    let angle = 2 * Math.PI * rng();
    let tx = x + dist * Math.cos(angle);
    let ty = y + dist * Math.sin(angle);
    if (tx < 0 || tx > 1280 || ty < 0 || ty > 800) {
      angle = Math.atan2(400 - y, 640 - x);
      tx = x + dist * Math.cos(angle);
      ty = y + dist * Math.sin(angle);
    }
    // Quadratic Bézier bowed sideways by `curvature`, walked with a minimum-jerk profile.
    const side = rng() < 0.5 ? -1 : 1;
    const bow = j(profile.curvature) * dist * side;
    const cx = (x + tx) / 2 - Math.sin(angle) * bow;
    const cy = (y + ty) / 2 + Math.cos(angle) * bow;
    const duration = dist / j(profile.speedPxPerMs);
    const x0 = x;
    const y0 = y;
    for (let el = 0; el < duration && counted < events;) {
      el = Math.min(el + j(profile.sampleMs ?? 8), duration);
      const tau = el / duration;
      const s = tau * tau * tau * (10 - 15 * tau + 6 * tau * tau);
      x = (1 - s) * (1 - s) * x0 + 2 * (1 - s) * s * cx + s * s * tx;
      y = (1 - s) * (1 - s) * y0 + 2 * (1 - s) * s * cy + s * s * ty;
      emit({ t: round(t + el), k: 'pm', x: round(x), y: round(y) });
    }
    t += duration;
    if (rng() < (profile.clickRate ?? 0.4)) {
      t += j(40);
      emit({ t: round(t), k: 'pd', x: round(x), y: round(y), b: 0 });
      t += j(profile.clickHoldMs ?? 110);
      emit({ t: round(t), k: 'pu', x: round(x), y: round(y), b: 0 });
    }
    const rest = j(profile.restMs ?? 300);
    if (rng() < (profile.wheelRate ?? 0.1)) {
      const n = 1 + Math.floor(3 * rng());
      for (let w = 1; w <= n; w++)
        emit({ t: round(t + (rest * w) / (n + 1)), k: 'wh', dx: 0, dy: 100 });
    }
    t += rest;
  }
  return out;
}

/** Letters, a space about every sixth key, a few digits and punctuation, some backspaces. */
function keyClass(rng: Rng, k: number, backspaceRate: number): KeyClass {
  const r = rng();
  if (r < backspaceRate) return 'backspace';
  if (k % 6 === 5) return 'space';
  if (r < backspaceRate + 0.05) return 'digit';
  if (r < backspaceRate + 0.07) return 'punct';
  return 'letter';
}

/** Rounds to 0.1 ms/px like the content script. */
function round(v: number): number {
  return Math.round(v * 10) / 10;
}
