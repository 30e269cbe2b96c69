/**
 * Block features: a classic mouse-dynamics description of one block of pointer events (one
 * pointer window, see `blocks.ts`), richer than the product's 20 window features
 * (`features/pointer.ts`): distributions (quantiles and histograms) of speed, acceleration,
 * jerk, turning, sampling intervals, step lengths and directions, plus click, drag, pause and
 * movement-segment statistics. The block projection (`block-projection.ts`) turns them into a
 * low-dimensional, user-discriminative vector.
 *
 * Pure and deterministic; every output is finite for any input (empty, one event, identical
 * timestamps, NaN coordinates).
 */
import { FLAG, type RawEvent } from '../events/schema';
import { isUsablePointerEvent, isUsableWheelEvent } from '../features/pointer';
import { clamp, isFiniteNumber, mean, std } from '../features/stats';

/** How the projection transforms a feature before standardising it. */
export type BlockFeatureTransform = 'none' | 'log';

/** One block feature: its name and its transform. */
export interface BlockFeatureSpec {
  /** Stable name; the order of {@link BLOCK_FEATURES} is the vector's order. */
  readonly name: string;
  /**
   * `'log'`: heavy-tailed (durations, speeds, lengths and their derivatives); the projection
   * applies `asinh(x / c)` (a log for large |x|, linear near 0, defined for signed values) with
   * `c` learned from the training blocks.
   */
  readonly transform: BlockFeatureTransform;
}

/** Version of the block feature definitions; bump on any change of meaning or order. */
export const BLOCK_FEATURE_VERSION = 1 as const;

/** Constants of the block features. */
export const BLOCK_LIMITS = Object.freeze({
  /** Samples closer than this (ms), incl. equal or decreasing timestamps, are merged. */
  minDtMs: 1,
  /** An interval longer than this (ms) is a pause: it carries no speed and ends a segment. */
  pauseMs: 100,
  /** A longer pause threshold (ms) for the long-pause fraction. */
  longPauseMs: 300,
  /** Steps shorter than this (px) have no reliable direction. */
  minStepPx: 0.5,
  /** Segments with a shorter path (px) are left out of the segment statistics. */
  minSegmentPx: 5,
  /** Speed clip (px/ms). */
  speedClip: 20,
  /** Acceleration clip (px/ms²). */
  accelClip: 2,
  /** Jerk clip (px/ms³). */
  jerkClip: 0.5,
  /** Angular velocity clip (rad/ms). */
  angularClip: 2,
  /** Curvature clip (rad/px). */
  curvatureClip: 3,
  /** Durations (holds, click intervals, pauses, spans) clip (ms). */
  durationClipMs: 10_000,
  /** Lengths (paths, boxes) clip (px). */
  lengthClipPx: 20_000,
});

/** Upper edges (ms, exclusive) of the sampling-interval histogram; a last bin takes the rest. */
const DT_EDGES = [1, 5, 9, 13, 17, 21, 34, 51, 101, 301] as const;
/** Upper edges (px, exclusive) of the step-length histogram; a last bin takes the rest. */
const STEP_EDGES = [0.5, 1.5, 2.5, 4.5, 8.5, 16.5, 32.5] as const;
/** Movement direction bins (centred on the axes and diagonals). */
const DIRECTION_BINS = 8;

const spec = (name: string, transform: BlockFeatureTransform = 'none'): BlockFeatureSpec => ({
  name,
  transform,
});
const specs = (
  prefix: string,
  stats: readonly string[],
  transform: BlockFeatureTransform,
): BlockFeatureSpec[] => stats.map((s) => spec(`${prefix}_${s}`, transform));

const histNames = (prefix: string, edges: readonly number[]): BlockFeatureSpec[] => [
  ...edges.map((e, j) => spec(`${prefix}_lt${e}${j === 0 ? '' : `_ge${edges[j - 1]}`}`)),
  spec(`${prefix}_ge${edges[edges.length - 1]}`),
];

/** Every block feature, in vector order. */
export const BLOCK_FEATURES: readonly BlockFeatureSpec[] = Object.freeze([
  ...specs('speed', ['mean', 'std', 'p10', 'p25', 'p50', 'p75', 'p90', 'max'], 'log'),
  ...specs('speed_x', ['mean', 'std', 'p50', 'p90'], 'log'),
  ...specs('speed_y', ['mean', 'std', 'p50', 'p90'], 'log'),
  ...specs('accel', ['mean', 'std', 'p10', 'p50', 'p90', 'abs_mean'], 'log'),
  ...specs('jerk', ['abs_mean', 'std', 'abs_p50'], 'log'),
  ...specs('turn', ['abs_mean', 'std', 'abs_p25', 'abs_p50', 'abs_p75'], 'none'),
  spec('turn_signed_mean'),
  ...specs('angular_speed', ['mean', 'std', 'p50'], 'log'),
  ...specs('curvature', ['mean', 'p50', 'p90'], 'log'),
  ...histNames('dt_hist', DT_EDGES),
  spec('dt_p50', 'log'),
  spec('dt_moving_mean', 'log'),
  ...histNames('step_hist', STEP_EDGES),
  ...Array.from({ length: DIRECTION_BINS }, (_, j) => spec(`dir_count_${j}`)),
  ...Array.from({ length: DIRECTION_BINS }, (_, j) => spec(`dir_dist_${j}`)),
  spec('clicks'),
  spec('hold_mean', 'log'),
  spec('hold_std', 'log'),
  spec('hold_p50', 'log'),
  spec('drag_fraction'),
  spec('click_interval_p50', 'log'),
  spec('non_left_press_fraction'),
  spec('drag_path_mean', 'log'),
  spec('pause_fraction'),
  spec('long_pause_fraction'),
  spec('pause_time_fraction'),
  spec('pause_mean', 'log'),
  spec('segments'),
  spec('straightness_mean'),
  spec('straightness_std'),
  spec('segment_duration_mean', 'log'),
  spec('segment_path_mean', 'log'),
  spec('segment_peak_speed_mean', 'log'),
  spec('segment_time_to_peak_mean'),
  spec('span', 'log'),
  spec('path', 'log'),
  spec('event_rate', 'log'),
  spec('box_width', 'log'),
  spec('box_height', 'log'),
  spec('net_over_path'),
  spec('still_fraction'),
  spec('horizontal_only_fraction'),
  spec('vertical_only_fraction'),
  spec('wheel_rate', 'log'),
  spec('wheel_share'),
]);

/** Names of {@link BLOCK_FEATURES}, in vector order. */
export const BLOCK_FEATURE_NAMES: readonly string[] = Object.freeze(
  BLOCK_FEATURES.map((f) => f.name),
);

interface Point {
  t: number;
  k: 'pm' | 'pd' | 'pu';
  x: number;
  y: number;
  b: number;
  drag: boolean;
}

interface Sample {
  t: number;
  x: number;
  y: number;
}

/** Quantile (type 7) of an ascending-sorted list; 0 when empty. */
function sq(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const ascending = (v: readonly number[]): number[] => [...v].sort((a, b) => a - b);

/** Index of the first edge `value` is below, or `edges.length`. */
function binOf(value: number, edges: readonly number[]): number {
  for (let j = 0; j < edges.length; j++) if (value < edges[j]!) return j;
  return edges.length;
}

/** Wraps an angle difference to `(-π, π]`. */
function wrapAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  else if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}

/**
 * The block feature vector ({@link BLOCK_FEATURES} order) of one block of raw events, e.g. one
 * of `pointerBlocks(...)`. Uses the usable pm/pd/pu events (and counts usable wheel events);
 * anything else is ignored. Events are taken in the given order. Always finite.
 */
export function blockFeatures(events: readonly RawEvent[]): Float64Array {
  const L = BLOCK_LIMITS;
  const pts: Point[] = [];
  let wheels = 0;
  for (const e of events) {
    if (isUsablePointerEvent(e)) {
      pts.push({
        t: e.t,
        k: e.k as Point['k'],
        x: e.x!,
        y: e.y!,
        b: isFiniteNumber(e.b) ? e.b : 0,
        drag: ((e.f ?? 0) & FLAG.drag) !== 0,
      });
    } else if (isUsableWheelEvent(e)) wheels++;
  }

  // Sampling intervals between consecutive pointer events, as delivered.
  const dtHist = new Array<number>(DT_EDGES.length + 1).fill(0);
  const rawDts: number[] = [];
  for (let j = 1; j < pts.length; j++) {
    const dt = Math.max(0, pts[j]!.t - pts[j - 1]!.t);
    rawDts.push(dt);
    dtHist[binOf(dt, DT_EDGES)]!++;
  }

  // Clicks, holds, drags.
  const downAt = new Map<number, { t: number; x: number; y: number; path: number }>();
  const holds: number[] = [];
  const dragPaths: number[] = [];
  const pressTimes: number[] = [];
  let presses = 0;
  let nonLeft = 0;
  let moves = 0;
  let dragMoves = 0;
  let prev: Point | undefined;
  for (const p of pts) {
    const step = prev === undefined ? 0 : Math.hypot(p.x - prev.x, p.y - prev.y);
    for (const d of downAt.values()) d.path += step;
    if (p.k === 'pd') {
      presses++;
      if (p.b !== 0) nonLeft++;
      pressTimes.push(p.t);
      downAt.set(p.b, { t: p.t, x: p.x, y: p.y, path: 0 });
    } else if (p.k === 'pu') {
      const d = downAt.get(p.b);
      if (d !== undefined) {
        holds.push(clamp(p.t - d.t, 0, L.durationClipMs));
        dragPaths.push(clamp(d.path, 0, L.lengthClipPx));
        downAt.delete(p.b);
      }
    } else {
      moves++;
      if (p.drag || downAt.size > 0) dragMoves++;
    }
    prev = p;
  }
  const clickIntervals: number[] = [];
  for (let j = 1; j < pressTimes.length; j++) {
    clickIntervals.push(clamp(pressTimes[j]! - pressTimes[j - 1]!, 0, L.durationClipMs));
  }

  // Motion samples (merged when closer than minDtMs, the later position winning).
  const s: Sample[] = [];
  for (const p of pts) {
    const last = s[s.length - 1];
    if (last !== undefined && p.t - last.t < L.minDtMs) {
      last.x = p.x;
      last.y = p.y;
    } else s.push({ t: p.t, x: p.x, y: p.y });
  }

  const speeds: number[] = [];
  const vxs: number[] = [];
  const vys: number[] = [];
  const accels: number[] = [];
  const jerks: number[] = [];
  const turns: number[] = [];
  const angular: number[] = [];
  const curvatures: number[] = [];
  const movingDts: number[] = [];
  const pauseLengths: number[] = [];
  const stepHist = new Array<number>(STEP_EDGES.length + 1).fill(0);
  const dirCount = new Array<number>(DIRECTION_BINS).fill(0);
  const dirDist = new Array<number>(DIRECTION_BINS).fill(0);
  let intervals = 0;
  let pauses = 0;
  let longPauses = 0;
  let pauseTime = 0;
  let still = 0;
  let horizontalOnly = 0;
  let verticalOnly = 0;
  let path = 0;
  let totalDist = 0;

  // Segments: runs of non-pause intervals.
  const straightness: number[] = [];
  const segDurations: number[] = [];
  const segPaths: number[] = [];
  const segPeaks: number[] = [];
  const segPeakAt: number[] = [];
  let segStart = 0; // sample index
  let segPath = 0;
  let segPeak = 0;
  let segPeakT = 0;
  const closeSegment = (end: number): void => {
    if (segPath >= L.minSegmentPx) {
      const a = s[segStart]!;
      const b = s[end]!;
      const duration = Math.max(b.t - a.t, L.minDtMs);
      straightness.push(clamp(Math.hypot(b.x - a.x, b.y - a.y) / segPath, 0, 1));
      segDurations.push(clamp(duration, 0, L.durationClipMs));
      segPaths.push(clamp(segPath, 0, L.lengthClipPx));
      segPeaks.push(segPeak);
      segPeakAt.push(clamp((segPeakT - a.t) / duration, 0, 1));
    }
    segPath = 0;
    segPeak = 0;
  };

  let prevV: { v: number; t: number } | undefined;
  let prevA: { a: number; t: number } | undefined;
  let prevAngle: { angle: number; dist: number } | undefined;
  for (let j = 1; j < s.length; j++) {
    const a = s[j - 1]!;
    const b = s[j]!;
    const dt = b.t - a.t;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const dist = Math.hypot(dx, dy);
    intervals++;
    totalDist += dist;
    if (dt > L.pauseMs) {
      pauses++;
      if (dt > L.longPauseMs) longPauses++;
      pauseTime += dt;
      pauseLengths.push(clamp(dt, 0, L.durationClipMs));
      closeSegment(j - 1);
      segStart = j;
      prevV = undefined;
      prevA = undefined;
      prevAngle = undefined;
      continue;
    }
    path += dist;
    segPath += dist;
    movingDts.push(dt);
    stepHist[binOf(dist, STEP_EDGES)]!++;
    if (dist === 0) still++;
    else if (dy === 0) horizontalOnly++;
    else if (dx === 0) verticalOnly++;

    const v = clamp(dist / dt, 0, L.speedClip);
    speeds.push(v);
    vxs.push(clamp(Math.abs(dx) / dt, 0, L.speedClip));
    vys.push(clamp(Math.abs(dy) / dt, 0, L.speedClip));
    if (v > segPeak) {
      segPeak = v;
      segPeakT = a.t + dt / 2;
    }
    const mid = a.t + dt / 2;
    if (prevV !== undefined) {
      const acc = clamp((v - prevV.v) / (mid - prevV.t), -L.accelClip, L.accelClip);
      accels.push(acc);
      const at = (mid + prevV.t) / 2;
      if (prevA !== undefined) {
        jerks.push(clamp((acc - prevA.a) / (at - prevA.t), -L.jerkClip, L.jerkClip));
      }
      prevA = { a: acc, t: at };
    }
    prevV = { v, t: mid };

    if (dist >= L.minStepPx) {
      const angle = Math.atan2(dy, dx);
      const bin =
        ((Math.round(angle / ((2 * Math.PI) / DIRECTION_BINS)) % DIRECTION_BINS) + DIRECTION_BINS) %
        DIRECTION_BINS;
      dirCount[bin]!++;
      dirDist[bin]! += dist;
      if (prevAngle !== undefined) {
        const turn = wrapAngle(angle - prevAngle.angle);
        turns.push(turn);
        angular.push(clamp(Math.abs(turn) / dt, 0, L.angularClip));
        curvatures.push(clamp(Math.abs(turn) / ((prevAngle.dist + dist) / 2), 0, L.curvatureClip));
      }
      prevAngle = { angle, dist };
    } else prevAngle = undefined;
  }
  if (s.length > 0) closeSegment(s.length - 1);

  let span = 0;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  if (pts.length > 0) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of pts) {
      lo = Math.min(lo, p.t);
      hi = Math.max(hi, p.t);
      minX = Math.min(minX, p.x);
      maxX = Math.max(maxX, p.x);
      minY = Math.min(minY, p.y);
      maxY = Math.max(maxY, p.y);
    }
    span = hi - lo;
  }
  const first = s[0];
  const last = s[s.length - 1];
  const net =
    first !== undefined && last !== undefined ? Math.hypot(last.x - first.x, last.y - first.y) : 0;

  const sp = ascending(speeds);
  const svx = ascending(vxs);
  const svy = ascending(vys);
  const sa = ascending(accels);
  const absJ = ascending(jerks.map(Math.abs));
  const absT = ascending(turns.map(Math.abs));
  const sw = ascending(angular);
  const sc = ascending(curvatures);
  const sHold = ascending(holds);
  const moving = Math.max(1, speeds.length);
  const stepTotal = Math.max(
    1,
    stepHist.reduce((x, y) => x + y, 0),
  );
  const dirTotal = Math.max(
    1,
    dirCount.reduce((x, y) => x + y, 0),
  );
  const dirDistTotal = dirDist.reduce((x, y) => x + y, 0);
  const frac = (n: number, d: number): number => (d > 0 ? n / d : 0);

  const values: number[] = [
    mean(speeds),
    std(speeds),
    sq(sp, 0.1),
    sq(sp, 0.25),
    sq(sp, 0.5),
    sq(sp, 0.75),
    sq(sp, 0.9),
    sq(sp, 1),
    mean(vxs),
    std(vxs),
    sq(svx, 0.5),
    sq(svx, 0.9),
    mean(vys),
    std(vys),
    sq(svy, 0.5),
    sq(svy, 0.9),
    mean(accels),
    std(accels),
    sq(sa, 0.1),
    sq(sa, 0.5),
    sq(sa, 0.9),
    mean(accels.map(Math.abs)),
    mean(absJ),
    std(jerks),
    sq(absJ, 0.5),
    mean(absT),
    std(turns),
    sq(absT, 0.25),
    sq(absT, 0.5),
    sq(absT, 0.75),
    mean(turns),
    mean(angular),
    std(angular),
    sq(sw, 0.5),
    mean(curvatures),
    sq(sc, 0.5),
    sq(sc, 0.9),
    ...dtHist.map((c) => frac(c, rawDts.length)),
    sq(ascending(rawDts), 0.5),
    mean(movingDts),
    ...stepHist.map((c) => c / stepTotal),
    ...dirCount.map((c) => c / dirTotal),
    ...dirDist.map((d) => frac(d, dirDistTotal)),
    presses,
    mean(holds),
    std(holds),
    sq(sHold, 0.5),
    frac(dragMoves, moves),
    sq(ascending(clickIntervals), 0.5),
    frac(nonLeft, presses),
    mean(dragPaths),
    frac(pauses, intervals),
    frac(longPauses, intervals),
    frac(Math.min(pauseTime, span), span),
    mean(pauseLengths),
    straightness.length,
    mean(straightness, 1),
    std(straightness),
    mean(segDurations),
    mean(segPaths),
    mean(segPeaks),
    mean(segPeakAt, 0.5),
    clamp(span, 0, L.durationClipMs * 10),
    clamp(path, 0, L.lengthClipPx * 10),
    clamp(frac(pts.length * 1000, span), 0, 1000),
    pts.length > 0 ? clamp(maxX - minX, 0, L.lengthClipPx) : 0,
    pts.length > 0 ? clamp(maxY - minY, 0, L.lengthClipPx) : 0,
    clamp(frac(net, totalDist), 0, 1),
    still / moving,
    horizontalOnly / moving,
    verticalOnly / moving,
    clamp(frac(wheels * 1000, span), 0, 1000),
    frac(wheels, wheels + pts.length),
  ];
  if (values.length !== BLOCK_FEATURES.length) {
    // A programming error (the spec list and the values drifted apart), never input-dependent.
    throw new Error(`block features: ${values.length} values for ${BLOCK_FEATURES.length} names`);
  }
  const out = new Float64Array(values.length);
  for (let j = 0; j < values.length; j++) {
    const v = values[j]!;
    out[j] = Number.isFinite(v) ? v : 0;
  }
  return out;
}
