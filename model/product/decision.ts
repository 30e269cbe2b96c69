/**
 * The session decision: a CUSUM test (Page 1954) over calibrated per-window log-likelihood
 * ratios, across windows and modalities. Pure: the state is an immutable value.
 *
 *   S_0 = 0,   S_n = min(cap, max(0, S_{n−1} − llr_n)),   takeover once S_n ≥ h
 *
 * `llr_n` is the window's LLR of "the enrolled user" against "someone else" (calibration.ts), so
 * −llr_n is the evidence for a change of person. Evidence *accumulates*: three windows that are
 * each only somewhat unlike the user add up, where an average of bounded confidences would not;
 * and the statistic stays at 0 while the user is genuine, so a long genuine session does not
 * build up a debt. For a calibrated LLR, Lorden's bound gives a mean run length between false
 * alarms of at least e^h windows for the genuine user: the **false-alarm budget** is the setting
 * `falseAlarmWindows` (h = ln of it), documented in docs/model.md and measured on public users.
 *
 * The session confidence shown and attested is a monotone function of S that crosses 0.5 — the
 * server's default step-up threshold — exactly where the test fires, so a relying party that
 * reads only `conf` acts at the same point as one that reads the decision:
 *
 *   confidence = σ(CONFIDENCE_SCALE · (1 − S / h))      (0.95 at S = 0, 0.5 at S = h)
 *
 * Once fired, the decision stays `takeover` for the session (only the bank can clear it, by a
 * strong factor) and the confidence never rises above {@link TAKEOVER_CEILING} again, so a server
 * that holds only the latest confidence keeps stepping up; S keeps moving, capped at `cap`·h.
 */
import type { Modality } from '../features/schema';

/** Settings of the decision. */
export interface DecisionConfig {
  /**
   * The false-alarm budget: mean number of genuine windows between false takeover decisions
   * (Lorden's bound for a calibrated LLR); h = ln(falseAlarmWindows). Range (1, 1e9].
   */
  falseAlarmWindows: number;
  /** S never exceeds `cap` × h (so the confidence can recover after a takeover). ≥ 1. */
  cap: number;
}

/** σ(CONFIDENCE_SCALE) ≈ 0.95 is the confidence of a session with no evidence against the user. */
export const CONFIDENCE_SCALE = 3;

/** Highest confidence of a session whose decision has fired: below the default step-up level. */
export const TAKEOVER_CEILING = 0.49;

/** A session's decision state; start from {@link EMPTY_DECISION_STATE}. */
export interface DecisionState {
  /** The CUSUM statistic S ≥ 0. */
  readonly s: number;
  /** Whether the test has fired in this session (sticky). */
  readonly takeover: boolean;
  /** Windows folded in, per modality. */
  readonly windows: Readonly<Record<Modality, number>>;
}

/** No window yet. */
export const EMPTY_DECISION_STATE: DecisionState = Object.freeze({
  s: 0,
  takeover: false,
  windows: Object.freeze({ keystroke: 0, pointer: 0 }),
});

/** The CUSUM threshold h of a configuration. */
export function decisionThreshold(config: Readonly<DecisionConfig>): number {
  return Math.log(config.falseAlarmWindows);
}

/** Validates a configuration (a `RangeError` quotes the bad value). */
export function checkDecisionConfig(config: Readonly<DecisionConfig>): Readonly<DecisionConfig> {
  if (!(config.falseAlarmWindows > 1 && config.falseAlarmWindows <= 1e9)) {
    throw new RangeError(`falseAlarmWindows must be in (1, 1e9], got ${config.falseAlarmWindows}`);
  }
  if (!(config.cap >= 1 && config.cap <= 100))
    throw new RangeError(`cap must be in [1, 100], got ${config.cap}`);
  return config;
}

/** Folds one window's LLR into the state (NaN counts as strong evidence against the user). */
export function updateDecision(
  state: DecisionState,
  modality: Modality,
  llr: number,
  config: Readonly<DecisionConfig>,
): DecisionState {
  const h = decisionThreshold(config);
  const evidence = Number.isNaN(llr) ? h : -llr;
  const s = Math.min(config.cap * h, Math.max(0, state.s + evidence));
  return {
    s,
    takeover: state.takeover || s >= h,
    windows: { ...state.windows, [modality]: state.windows[modality] + 1 },
  };
}

/** The confidence in [0, 1] a state stands for (see the module comment). */
export function decisionConfidence(state: DecisionState, config: Readonly<DecisionConfig>): number {
  const h = decisionThreshold(config);
  const c = 1 / (1 + Math.exp(-CONFIDENCE_SCALE * (1 - state.s / h)));
  return state.takeover ? Math.min(c, TAKEOVER_CEILING) : c;
}
