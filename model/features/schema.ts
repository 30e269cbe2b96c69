/**
 * Feature schema v2: the names, order, units and outlier limits of the feature vectors. See
 * docs/protocol.md §2 and docs/model.md. Any change of meaning (a new feature, another order,
 * another clip limit) is a new `FEATURE_SCHEMA_VERSION`, a new golden file, and re-enrolment:
 * stored models refuse vectors of another version.
 */

/** Version of the feature vectors produced by this module. */
export const FEATURE_SCHEMA_VERSION = 2 as const;

/** The two behavioural modalities Tacit scores, one model per modality. */
export type Modality = 'keystroke' | 'pointer';

/** Every modality, in a fixed order. */
export const MODALITIES: readonly Modality[] = Object.freeze(['keystroke', 'pointer'] as const);

/** One element of a feature vector. */
export interface FeatureSpec {
  /** Stable snake_case name; its position in the list is its index in the vector. */
  readonly name: string;
  /** Unit of the value (`ms`, `px/ms`, `ratio`, …). */
  readonly unit: string;
  /** What is measured, including the fallback used when the window has no data for it. */
  readonly description: string;
  /**
   * Smallest difference that is behaviourally meaningful, in `unit`. The detector never scales
   * this feature by less, so a feature that happened to be constant during enrolment (no
   * backspace in 6 windows) cannot turn one later occurrence into an enormous z-score.
   */
  readonly minScale: number;
}

/** Outlier limits of the keystroke features (part of the schema: changing one is a new version). */
export const KEYSTROKE_LIMITS = Object.freeze({
  /** Hold times are clipped to `[0, holdClipMs]` ms: a key held for seconds is not typing rhythm. */
  holdClipMs: 1000,
  /**
   * Flight times are clipped to `[-flightClipMs, flightClipMs]` ms (down-down and down-up to
   * `[0, flightClipMs]`), so one 3-second pause moves a mean by at most 1.5 s / n.
   */
  flightClipMs: 1500,
  /**
   * An up-down gap longer than this (ms) is a pause: counted in `pause_fraction`, kept out of the
   * flight and digraph statistics, and the boundary between two typing bursts.
   */
  pauseMs: 1000,
  /** Upper clip of `typing_rate` (keys/s). */
  maxRateKps: 50,
});

/** Outlier limits of the pointer features (part of the schema). */
export const POINTER_LIMITS = Object.freeze({
  /**
   * Samples closer in time than this (ms) to the previous kept sample, including identical or
   * decreasing timestamps, are merged into it (the later position wins), so no speed is ever
   * computed over a zero or negative interval.
   */
  minDtMs: 1,
  /** An interval longer than this (ms) is a pause: it ends a movement segment. */
  pauseMs: 100,
  /** Speeds are clipped to `[0, speedClip]` px/ms. */
  speedClip: 10,
  /** Accelerations are clipped to `[-accelClip, accelClip]` px/ms². */
  accelClip: 1,
  /** Jerks are clipped to `[-jerkClip, jerkClip]` px/ms³. */
  jerkClip: 0.1,
  /** Steps shorter than this (px) have no reliable direction and are left out of angle features. */
  minStepPx: 0.5,
  /** Curvature per step is clipped to `[0, curvatureClip]` rad/px. */
  curvatureClip: 1,
  /** Movement segments shorter than this path length (px) are left out of `straightness`. */
  minSegmentPx: 5,
  /** Click hold times are clipped to `[0, clickHoldClipMs]` ms. */
  clickHoldClipMs: 2000,
  /** The window span used for `wheel_rate` is at least this (ms). */
  minSpanMs: 100,
  /** Upper clip of `wheel_rate` (events/s). */
  wheelRateClip: 100,
  /** Intervals between consecutive clicks are clipped to `[0, clickIntervalClipMs]` ms. */
  clickIntervalClipMs: 5000,
  /** One wheel event's |delta| (px) is clipped to `[0, wheelDeltaClipPx]` (non-finite counts 0). */
  wheelDeltaClipPx: 2000,
  /** Upper clip of `wheel_speed` (px/s). */
  wheelSpeedClip: 20000,
  /**
   * Wheel events further apart than this (ms) belong to different scroll gestures: that gap is
   * left out of `wheel_interval_mean`, which measures the rhythm within a gesture.
   */
  wheelGestureGapMs: 1000,
  /** The approach to a click is at most this long (ms) before the click. */
  approachMs: 1000,
});

const ms = 'ms';

/**
 * Keystroke features v2, in vector order. A window is a run of complete presses sorted by key
 * down time; "flight" pairs are consecutive presses in that order (k-1, k). A pair across a focus
 * change (the later press has `focusBreak`) is not a typing rhythm: it is in no statistic at all.
 * The other pairs are *rhythm pairs*; a rhythm pair with an up-down gap > 1000 ms is a *pause*.
 * Flight and digraph statistics use the rhythm pairs that are not pauses. Holds and flights are
 * clipped per {@link KEYSTROKE_LIMITS} before any statistic; std is the population std. Every
 * statistic over an empty set is 0 unless a fallback is stated.
 */
export const KEYSTROKE_FEATURES: readonly FeatureSpec[] = Object.freeze([
  {
    name: 'hold_mean',
    unit: ms,
    description: 'mean hold (up − down) over all presses',
    minScale: 4,
  },
  { name: 'hold_std', unit: ms, description: 'std of hold', minScale: 5 },
  { name: 'hold_median', unit: ms, description: 'median hold', minScale: 4 },
  {
    name: 'hold_letter_mean',
    unit: ms,
    description: 'mean hold of letter keys; hold_mean if none',
    minScale: 4,
  },
  {
    name: 'hold_space_mean',
    unit: ms,
    description: 'mean hold of the space bar; hold_mean if none',
    minScale: 10,
  },
  {
    name: 'hold_other_mean',
    unit: ms,
    description: 'mean hold of all other key classes; hold_mean if none',
    minScale: 10,
  },
  {
    name: 'dd_mean',
    unit: ms,
    description: 'mean down-down flight (down_k − down_k-1), clipped to [0, 1500]',
    minScale: 8,
  },
  { name: 'dd_std', unit: ms, description: 'std of down-down flight', minScale: 15 },
  { name: 'dd_median', unit: ms, description: 'median down-down flight', minScale: 8 },
  {
    name: 'ud_mean',
    unit: ms,
    description: 'mean up-down flight (down_k − up_k-1; negative on roll-over), clipped to ±1500',
    minScale: 8,
  },
  { name: 'ud_std', unit: ms, description: 'std of up-down flight', minScale: 15 },
  { name: 'ud_median', unit: ms, description: 'median up-down flight', minScale: 8 },
  {
    name: 'uu_mean',
    unit: ms,
    description: 'mean up-up flight (up_k − up_k-1), clipped to ±1500',
    minScale: 8,
  },
  { name: 'uu_std', unit: ms, description: 'std of up-up flight', minScale: 15 },
  {
    name: 'du_mean',
    unit: ms,
    description: 'mean down-up span (up_k − down_k-1), clipped to [0, 1500]',
    minScale: 8,
  },
  { name: 'du_std', unit: ms, description: 'std of down-up span', minScale: 15 },
  {
    name: 'typing_rate',
    unit: 'keys/s',
    description:
      '(n − focus breaks) × 1000 / (Σ clipped down-down over rhythm pairs, pauses included, + clipped hold of the last press); 0 if that is 0; clipped to 50',
    minScale: 0.1,
  },
  {
    name: 'backspace_fraction',
    unit: 'ratio',
    description: 'backspace presses / presses',
    minScale: 0.05,
  },
  {
    name: 'rollover_fraction',
    unit: 'ratio',
    description:
      'rhythm pairs whose next key goes down before the previous one is up / rhythm pairs; 0 if none',
    minScale: 0.05,
  },
  {
    name: 'pause_fraction',
    unit: 'ratio',
    description: 'rhythm pairs with an up-down gap > 1000 ms / rhythm pairs; 0 if none',
    minScale: 0.05,
  },
  {
    name: 'dd_letter_letter_mean',
    unit: ms,
    description:
      'mean down-down (clipped like dd) of letter→letter rhythm pairs that are not pauses; dd_mean if none',
    minScale: 8,
  },
  {
    name: 'dd_letter_space_mean',
    unit: ms,
    description: 'mean down-down of letter→space rhythm pairs that are not pauses; dd_mean if none',
    minScale: 10,
  },
  {
    name: 'dd_space_letter_mean',
    unit: ms,
    description: 'mean down-down of space→letter rhythm pairs that are not pauses; dd_mean if none',
    minScale: 10,
  },
  {
    name: 'trigraph_letter_mean',
    unit: ms,
    description:
      'mean first-down → third-down of three consecutive letters whose two pairs are rhythm pairs and not pauses (sum of the two clipped dd); 2 × dd_mean if none',
    minScale: 15,
  },
]);

/**
 * Pointer features v2, in vector order. Samples are the window's pm/pd/pu events with finite
 * coordinates, merged per {@link POINTER_LIMITS.minDtMs}; an interval is two consecutive samples;
 * intervals longer than {@link POINTER_LIMITS.pauseMs} are pauses and carry no speed. Wheel
 * events only feed the `wheel_*` features. Every statistic over an empty set is 0 unless stated.
 */
export const POINTER_FEATURES: readonly FeatureSpec[] = Object.freeze([
  {
    name: 'speed_mean',
    unit: 'px/ms',
    description: 'mean speed over moving (non-pause) intervals, clipped to [0, 10]',
    minScale: 0.05,
  },
  { name: 'speed_std', unit: 'px/ms', description: 'std of speed', minScale: 0.05 },
  { name: 'speed_p50', unit: 'px/ms', description: 'median speed', minScale: 0.05 },
  {
    name: 'speed_p90',
    unit: 'px/ms',
    description: '90th percentile of speed (linear interpolation)',
    minScale: 0.05,
  },
  {
    name: 'accel_mean_abs',
    unit: 'px/ms²',
    description:
      'mean |Δspeed / Δt| between consecutive moving intervals (Δt between interval midpoints), clipped to ±1',
    minScale: 0.002,
  },
  {
    name: 'accel_std',
    unit: 'px/ms²',
    description: 'std of the signed acceleration',
    minScale: 0.002,
  },
  {
    name: 'jerk_mean_abs',
    unit: 'px/ms³',
    description:
      'mean |Δaccel / Δt| between consecutive accelerations (Δt between their times), clipped to ±0.1',
    minScale: 0.0002,
  },
  {
    name: 'angle_change_mean',
    unit: 'rad',
    description: 'mean |turn| between consecutive moving steps of ≥ 0.5 px, in [0, π]',
    minScale: 0.005,
  },
  {
    name: 'curvature_mean',
    unit: 'rad/px',
    description: 'mean of |turn| / mean length of the two steps, clipped to [0, 1]',
    minScale: 0.0005,
  },
  {
    name: 'straightness',
    unit: 'ratio',
    description:
      'mean chord / path length of movement segments (runs between pauses) of ≥ 5 px; 1 if none',
    minScale: 0.005,
  },
  {
    name: 'pause_fraction',
    unit: 'ratio',
    description: 'pause intervals (> 100 ms) / intervals',
    minScale: 0.02,
  },
  {
    name: 'click_hold_mean',
    unit: ms,
    description: 'mean pd→pu time of the same button within the window, clipped to [0, 2000]',
    minScale: 10,
  },
  { name: 'click_count', unit: 'count', description: 'pd events in the window', minScale: 1 },
  {
    name: 'drag_fraction',
    unit: 'ratio',
    description: 'pm events flagged drag or made while a button is down / pm events',
    minScale: 0.02,
  },
  {
    name: 'wheel_rate',
    unit: 'events/s',
    description: 'wheel events × 1000 / max(window span, 100 ms), clipped to 100',
    minScale: 0.2,
  },
  {
    name: 'click_interval_mean',
    unit: ms,
    description:
      'mean time between consecutive pd events (any button), each clipped to [0, 5000]; 0 if < 2 clicks',
    minScale: 50,
  },
  {
    name: 'click_interval_std',
    unit: ms,
    description: 'std of the inter-click intervals; 0 if < 2 clicks',
    minScale: 50,
  },
  {
    name: 'wheel_speed',
    unit: 'px/s',
    description:
      'Σ |wheel delta| (√(dx² + dy²) per event, clipped to [0, 2000]) × 1000 / max(window span, 100 ms), clipped to 20000',
    minScale: 20,
  },
  {
    name: 'wheel_interval_mean',
    unit: ms,
    description:
      'mean time between consecutive wheel events ≤ 1000 ms apart (within a scroll gesture); 0 if none',
    minScale: 10,
  },
  {
    name: 'precision_index',
    unit: 'ratio',
    description:
      'mean over clicks of the approach efficiency: chord / path length of the movement that led to the pd (see pointer.ts); 1 = perfectly direct; straightness if no click has an approach of ≥ 5 px',
    minScale: 0.02,
  },
]);

/** Feature specs per modality. */
export const FEATURE_SPECS: Readonly<Record<Modality, readonly FeatureSpec[]>> = Object.freeze({
  keystroke: KEYSTROKE_FEATURES,
  pointer: POINTER_FEATURES,
});

/** Feature names per modality, in vector order. */
export const FEATURE_NAMES: Readonly<Record<Modality, readonly string[]>> = Object.freeze({
  keystroke: Object.freeze(KEYSTROKE_FEATURES.map((f) => f.name)),
  pointer: Object.freeze(POINTER_FEATURES.map((f) => f.name)),
});

/** Length of the feature vector of `modality`. */
export function featureDimension(modality: Modality): number {
  return FEATURE_SPECS[modality].length;
}

/** True when `value` names a modality. */
export function isModality(value: unknown): value is Modality {
  return value === 'keystroke' || value === 'pointer';
}
