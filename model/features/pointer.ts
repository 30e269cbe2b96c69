/**
 * Pointer features: the v2 feature vector of a window of pointer events (see
 * {@link POINTER_FEATURES} for every definition and {@link POINTER_LIMITS} for the limits).
 */
import { FLAG, type RawEvent } from '../events/schema';
import { POINTER_FEATURES, POINTER_LIMITS } from './schema';
import { clamp, isFiniteNumber, mean, median, quantile, std } from './stats';

/** A pointer event (pm/pd/pu) with finite time and coordinates. */
interface PointerPoint {
  t: number;
  k: 'pm' | 'pd' | 'pu';
  x: number;
  y: number;
  b: number;
  f: number;
}

/**
 * Flags that make a pointer or wheel event unusable: synthetic events are not the user, and an
 * event flagged paste or autofill is part of a text change without the user's own movement.
 */
export const IGNORED_POINTER_FLAGS = FLAG.untrusted | FLAG.paste | FLAG.autofill;

/** True when `e` is a usable pm/pd/pu with finite time and coordinates (counts toward a window). */
export function isUsablePointerEvent(e: RawEvent): boolean {
  return (
    (e.k === 'pm' || e.k === 'pd' || e.k === 'pu') &&
    isFiniteNumber(e.t) &&
    isFiniteNumber(e.x) &&
    isFiniteNumber(e.y) &&
    ((e.f ?? 0) & IGNORED_POINTER_FLAGS) === 0
  );
}

/** True when `e` is a usable wheel event with a finite time. */
export function isUsableWheelEvent(e: RawEvent): boolean {
  return e.k === 'wh' && isFiniteNumber(e.t) && ((e.f ?? 0) & IGNORED_POINTER_FLAGS) === 0;
}

/** A motion sample after merging. */
interface Sample {
  t: number;
  x: number;
  y: number;
}

interface Interval {
  dt: number;
  dx: number;
  dy: number;
  dist: number;
  pause: boolean;
  /** Midpoint time, for accelerations. */
  mid: number;
}

/**
 * The v2 pointer feature vector of one window of raw events (pm, pd, pu and wh; other kinds,
 * flagged events and events with non-finite time or coordinates are ignored). Events are taken
 * in the given order. Every output is finite for any input, including an empty list, a single
 * event, identical timestamps and NaN coordinates.
 */
export function pointerFeatures(events: readonly RawEvent[]): Float32Array {
  const L = POINTER_LIMITS;
  const pts: PointerPoint[] = [];
  const wheels: { t: number; delta: number }[] = [];
  for (const e of events) {
    if (isUsableWheelEvent(e)) {
      // Non-finite deltas count 0; the hypot of huge ones is Infinity, which the clamp caps.
      const delta = clamp(Math.hypot(finiteOr0(e.dx), finiteOr0(e.dy)), 0, L.wheelDeltaClipPx);
      wheels.push({ t: e.t, delta });
    } else if (isUsablePointerEvent(e)) {
      pts.push({ t: e.t, k: e.k as PointerPoint['k'], x: e.x!, y: e.y!, b: e.b ?? 0, f: e.f ?? 0 });
    }
  }

  // Clicks and drags use the raw events: a pd/pu pair may share its timestamp with a move.
  const downAt = new Map<number, number>();
  let clicks = 0;
  let lastClickT: number | undefined;
  const clickIntervals: number[] = [];
  const holds: number[] = [];
  let moves = 0;
  let dragMoves = 0;
  for (const p of pts) {
    if (p.k === 'pd') {
      clicks++;
      if (lastClickT !== undefined) {
        clickIntervals.push(clamp(p.t - lastClickT, 0, L.clickIntervalClipMs));
      }
      lastClickT = p.t;
      downAt.set(p.b, p.t);
    } else if (p.k === 'pu') {
      const d = downAt.get(p.b);
      if (d !== undefined) {
        holds.push(clamp(p.t - d, 0, L.clickHoldClipMs));
        downAt.delete(p.b);
      }
    } else {
      moves++;
      if ((p.f & FLAG.drag) !== 0 || downAt.size > 0) dragMoves++;
    }
  }

  // Motion samples: merge samples closer than minDtMs (incl. equal or decreasing timestamps).
  const s: Sample[] = [];
  const clickSamples: number[] = [];
  for (const p of pts) {
    const last = s[s.length - 1];
    if (last !== undefined && p.t - last.t < L.minDtMs) {
      last.x = p.x;
      last.y = p.y;
    } else s.push({ t: p.t, x: p.x, y: p.y });
    if (p.k === 'pd') clickSamples.push(s.length - 1);
  }

  const iv: Interval[] = [];
  for (let j = 1; j < s.length; j++) {
    const a = s[j - 1]!;
    const b = s[j]!;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const dt = b.t - a.t;
    iv.push({ dt, dx, dy, dist: Math.hypot(dx, dy), pause: dt > L.pauseMs, mid: a.t + dt / 2 });
  }

  const speeds: number[] = [];
  const accels: number[] = [];
  const jerks: number[] = [];
  const turns: number[] = [];
  const curvatures: number[] = [];
  const straightness: number[] = [];
  let pauses = 0;
  let prevSpeed: { v: number; mid: number } | undefined;
  let prevAccel: { a: number; t: number } | undefined;
  let prevStep: { angle: number; dist: number } | undefined;
  let segPath = 0;
  let segStart = s[0];
  let segEnd = s[0];
  const closeSegment = (): void => {
    if (segStart !== undefined && segEnd !== undefined && segPath >= L.minSegmentPx) {
      const chord = Math.hypot(segEnd.x - segStart.x, segEnd.y - segStart.y);
      straightness.push(clamp(chord / segPath, 0, 1));
    }
    segPath = 0;
  };

  for (let j = 0; j < iv.length; j++) {
    const it = iv[j]!;
    if (it.pause) {
      pauses++;
      closeSegment();
      segStart = s[j + 1];
      segEnd = s[j + 1];
      prevSpeed = undefined;
      prevAccel = undefined;
      prevStep = undefined;
      continue;
    }
    segPath += it.dist;
    segEnd = s[j + 1];

    const v = clamp(it.dist / it.dt, 0, L.speedClip);
    speeds.push(v);
    if (prevSpeed !== undefined) {
      const at = prevSpeed.mid + (it.mid - prevSpeed.mid) / 2;
      const a = clamp((v - prevSpeed.v) / (it.mid - prevSpeed.mid), -L.accelClip, L.accelClip);
      accels.push(a);
      if (prevAccel !== undefined) {
        jerks.push(clamp((a - prevAccel.a) / (at - prevAccel.t), -L.jerkClip, L.jerkClip));
      }
      prevAccel = { a, t: at };
    }
    prevSpeed = { v, mid: it.mid };

    if (it.dist >= L.minStepPx) {
      const angle = Math.atan2(it.dy, it.dx);
      if (prevStep !== undefined) {
        const turn = Math.abs(wrapAngle(angle - prevStep.angle));
        turns.push(turn);
        curvatures.push(clamp(turn / ((prevStep.dist + it.dist) / 2), 0, L.curvatureClip));
      }
      prevStep = { angle, dist: it.dist };
    } else prevStep = undefined;
  }
  closeSegment();

  let span: number = L.minSpanMs;
  if (pts.length > 0) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of pts) {
      lo = Math.min(lo, p.t);
      hi = Math.max(hi, p.t);
    }
    span = Math.max(hi - lo, L.minSpanMs);
  }

  const wheelIntervals: number[] = [];
  let wheelDelta = 0;
  for (let j = 0; j < wheels.length; j++) {
    wheelDelta += wheels[j]!.delta;
    if (j === 0) continue;
    const dt = Math.max(0, wheels[j]!.t - wheels[j - 1]!.t);
    if (dt <= L.wheelGestureGapMs) wheelIntervals.push(dt);
  }

  const efficiencies: number[] = [];
  for (const j of clickSamples) {
    const e = approachEfficiency(s, j);
    if (e !== undefined) efficiencies.push(e);
  }
  const straightnessMean = mean(straightness, 1);

  const values = [
    mean(speeds),
    std(speeds),
    median(speeds),
    quantile(speeds, 0.9),
    mean(accels.map(Math.abs)),
    std(accels),
    mean(jerks.map(Math.abs)),
    mean(turns),
    mean(curvatures),
    straightnessMean,
    iv.length > 0 ? pauses / iv.length : 0,
    mean(holds),
    clicks,
    moves > 0 ? dragMoves / moves : 0,
    clamp((wheels.length * 1000) / span, 0, L.wheelRateClip),
    mean(clickIntervals),
    std(clickIntervals),
    clamp((wheelDelta * 1000) / span, 0, L.wheelSpeedClip),
    mean(wheelIntervals),
    // Without a click the window's general movement efficiency stands in, so that a window
    // without clicks does not look like an anomaly.
    mean(efficiencies, straightnessMean),
  ];
  const out = new Float32Array(POINTER_FEATURES.length);
  for (let j = 0; j < values.length; j++) out[j] = values[j]!;
  return out;
}

/**
 * Efficiency of the approach to the click at sample `j`: chord / path length of the movement
 * that led to it, in `[0, 1]` (1 = perfectly direct), or `undefined` when that movement is
 * shorter than {@link POINTER_LIMITS.minSegmentPx}. The approach is found walking back from the
 * click, only over samples at most {@link POINTER_LIMITS.approachMs} before it:
 * 1. first over the *dwell*: intervals that moved less than `minStepPx` (however long: people
 *    stop on the target before they press);
 * 2. then over the movement proper, up to the last pause (an interval > `pauseMs`).
 */
function approachEfficiency(s: readonly Sample[], j: number): number | undefined {
  const L = POINTER_LIMITS;
  const since = s[j]!.t - L.approachMs;
  let end = j;
  while (end > 0 && s[end - 1]!.t >= since && dist(s[end - 1]!, s[end]!) < L.minStepPx) end--;
  let start = end;
  let path = 0;
  while (start > 0 && s[start - 1]!.t >= since && s[start]!.t - s[start - 1]!.t <= L.pauseMs) {
    path += dist(s[start - 1]!, s[start]!);
    start--;
  }
  if (!(path >= L.minSegmentPx)) return undefined;
  return clamp(dist(s[start]!, s[end]!) / path, 0, 1);
}

function dist(a: Sample, b: Sample): number {
  return Math.hypot(b.x - a.x, b.y - a.y);
}

function finiteOr0(v: number | undefined): number {
  return isFiniteNumber(v) ? v : 0;
}

/** Wraps an angle difference to `(-π, π]`. */
function wrapAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  else if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}
