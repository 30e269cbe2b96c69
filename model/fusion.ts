/**
 * Session-level confidence: an exponentially weighted average of per-window confidences over
 * time and across modalities. Pure: the state is an immutable value, so the worker can keep one
 * per session and tests can replay sequences.
 *
 *   confidence = Σ_i ω(m_i) λ^(age_i) c_i / Σ_i ω(m_i) λ^(age_i),   λ = 2^(−1 / halfLifeWindows)
 *
 * where age_i counts the windows of *any* modality scored after window i. Evidence therefore
 * fades at the same pace whichever modality keeps arriving, and a modality that stops (the user
 * switches from typing to the mouse) does not keep its old weight forever.
 */
import { assertKnownKeys, assertNumber, quote } from './assert';
import type { Modality } from './features/schema';

/** Fusion parameters. */
export interface FusionConfig {
  /**
   * After this many further windows (any modality) a window's weight has halved. Default 8;
   * in (0, 10000].
   */
  halfLifeWindows: number;
  /**
   * Relative trust per modality (keystroke dynamics discriminate users better than pointer
   * movement in the literature). Defaults keystroke 1, pointer 0.5; each in [0, 100], not both 0.
   */
  weights: Readonly<Record<Modality, number>>;
}

/** Default fusion parameters. */
export const DEFAULT_FUSION_CONFIG: Readonly<FusionConfig> = Object.freeze({
  halfLifeWindows: 8,
  weights: Object.freeze({ keystroke: 1, pointer: 0.5 }),
});

/** One scored window. */
export interface ScoredWindow {
  modality: Modality;
  /** The model's confidence in [0, 1]; values outside are clamped, NaN counts as 0 (fail closed). */
  confidence: number;
}

/** Fusion state; start from {@link EMPTY_FUSION_STATE}. */
export interface FusionState {
  /** Decayed, weighted sum of confidences. */
  readonly num: number;
  /** Decayed sum of weights. */
  readonly den: number;
  /** Windows folded in so far, per modality. */
  readonly counts: Readonly<Record<Modality, number>>;
}

/** What the session currently looks like. */
export interface FusionResult {
  /** Fused confidence in [0, 1], or `null` before any window with a non-zero weight. */
  confidence: number | null;
  /** Windows behind it (all modalities). */
  windows: number;
}

/** The state of a session with no window yet. */
export const EMPTY_FUSION_STATE: FusionState = Object.freeze({
  num: 0,
  den: 0,
  counts: Object.freeze({ keystroke: 0, pointer: 0 }),
});

/** Validates a partial config and fills in defaults; throws a `RangeError` quoting a bad value. */
export function resolveFusionConfig(
  config: Partial<Omit<FusionConfig, 'weights'>> & {
    weights?: Partial<Record<Modality, number>>;
  } = {},
): Readonly<FusionConfig> {
  assertKnownKeys('FusionConfig', config, ['halfLifeWindows', 'weights']);
  const halfLifeWindows = config.halfLifeWindows ?? DEFAULT_FUSION_CONFIG.halfLifeWindows;
  assertNumber('halfLifeWindows', halfLifeWindows, 0, 10000, true);
  const weights = { ...DEFAULT_FUSION_CONFIG.weights, ...config.weights };
  assertKnownKeys('FusionConfig.weights', weights, ['keystroke', 'pointer']);
  assertNumber('weights.keystroke', weights.keystroke, 0, 100);
  assertNumber('weights.pointer', weights.pointer, 0, 100);
  if (weights.keystroke + weights.pointer <= 0) {
    throw new RangeError(`weights must not all be 0, got ${quote(weights)}`);
  }
  return Object.freeze({ halfLifeWindows, weights: Object.freeze(weights) });
}

/** Folds one scored window into `state`, returning the new state (`state` is not modified). */
export function updateFusion(
  state: FusionState,
  scored: ScoredWindow,
  config: Readonly<FusionConfig> = DEFAULT_FUSION_CONFIG,
): FusionState {
  const decay = Math.pow(2, -1 / config.halfLifeWindows);
  const w = config.weights[scored.modality];
  if (w === undefined) throw new TypeError(`unknown modality ${quote(scored.modality)}`);
  const c = Number.isNaN(scored.confidence) ? 0 : Math.min(1, Math.max(0, scored.confidence));
  return {
    num: state.num * decay + w * c,
    den: state.den * decay + w,
    counts: { ...state.counts, [scored.modality]: state.counts[scored.modality] + 1 },
  };
}

/** The fused confidence of `state`. */
export function fusionResult(state: FusionState): FusionResult {
  const windows = state.counts.keystroke + state.counts.pointer;
  // den underflows to 0 only after thousands of zero-weight windows; treat it as "no evidence".
  const confidence = state.den > 0 ? Math.min(1, Math.max(0, state.num / state.den)) : null;
  return { confidence, windows };
}

/** Fuses a whole sequence of scored windows (oldest first). */
export function fuseWindows(
  windows: Iterable<ScoredWindow>,
  config: Readonly<FusionConfig> = DEFAULT_FUSION_CONFIG,
): FusionResult {
  let state = EMPTY_FUSION_STATE;
  for (const w of windows) state = updateFusion(state, w, config);
  return fusionResult(state);
}
