/**
 * Continuous-authentication figures (pure): how many actions an impostor gets through before the
 * product decides the person has changed, and how often the genuine user is flagged.
 *
 * What is simulated, exactly: the product's session decision (`model/product/decision.ts`, a
 * CUSUM over calibrated window LLRs with the product's false-alarm budget,
 * {@link PRODUCT}`.decision`) over the product scorer's window LLRs. A flag is the decision
 * firing. The device attests at once when it fires and the server takes the device's decision
 * as stated, so nothing else stands between the decision and the bank.
 *
 * The scorer is pluggable ({@link WindowScorer}): any enrolled model that turns windows into
 * LLRs (the product scorer, or one component alone for an ablation).
 */
import type { Modality } from '../features/schema';
import {
  type DecisionConfig,
  type DecisionState,
  EMPTY_DECISION_STATE,
  checkDecisionConfig,
  decisionThreshold,
  updateDecision,
} from '../product/decision';
import { PRODUCT } from '../product/scorer';

/**
 * Window LLRs (enrolled user against someone else; positive = like the user) of an enrolled
 * model for a list of windows, one per window, in order. May be asynchronous.
 */
export type WindowScorer<W = Float32Array> = (
  windows: readonly W[],
) => readonly number[] | PromiseLike<readonly number[]>;

/**
 * One person's windows in the order they were produced, with the actions behind them. A window
 * is whatever the scorer takes: a feature vector for `UserModel` (default), or e.g. a sequence
 * of per-key steps for a sequence encoder.
 */
export interface ActionStream<W = Float32Array> {
  /** Windows, in order. */
  windows: readonly W[];
  /**
   * Actions (complete key presses, or counted pointer events) of the stream when window i
   * completes: non-decreasing, one per window. Actions in partial windows that were discarded
   * (a sentence's last keys, a pause) count where the next stream segment starts.
   */
  actionsAt: readonly number[];
  /** Actions in the whole stream, those in no window included (≥ the last `actionsAt`). */
  actions: number;
}

/** Settings of the simulation. */
export interface ContinuousOptions {
  /** The session decision. Default: the product's ({@link PRODUCT}`.decision`). */
  decision: Readonly<DecisionConfig>;
  /**
   * Genuine windows folded into the session before an impostor takes over (the start state of
   * an attack): the first `warmupWindows` windows of the user's own held-out stream, or all of
   * them when it has fewer. Default 5; integer ≥ 1.
   */
  warmupWindows: number;
}

/** Defaults of {@link ContinuousOptions}. */
export const DEFAULT_CONTINUOUS_OPTIONS: Readonly<ContinuousOptions> = Object.freeze({
  decision: PRODUCT.decision,
  warmupWindows: 5,
});

/** Resolves and checks options (a `RangeError` quotes a bad value). */
export function resolveContinuousOptions(
  options: Partial<ContinuousOptions> = {},
): Readonly<ContinuousOptions> {
  const o = { ...DEFAULT_CONTINUOUS_OPTIONS, ...options };
  checkDecisionConfig(o.decision);
  if (!Number.isInteger(o.warmupWindows) || o.warmupWindows < 1) {
    throw new RangeError(`warmupWindows must be an integer ≥ 1, got ${o.warmupWindows}`);
  }
  return o;
}

/** The genuine user's own held-out stream, from an empty session state. */
export interface GenuineOutcome {
  /** Actions up to and including the window of the first false flag; null: none in the stream. */
  actionsToFlag: number | null;
  /** Actions in the stream. */
  actions: number;
  /** Windows scored. */
  windows: number;
  /** False-flag episodes: windows where the CUSUM statistic reached the threshold h from below. */
  flagEpisodes: number;
  /** Windows after which the statistic was at or above h. */
  windowsBelow: number;
}

/** One impostor stream after the genuine warm-up. */
export interface ImpostorOutcome {
  /** Impostor actions up to and including the window of the first flag; null: never flagged. */
  actionsToFlag: number | null;
  /** Impostor actions available. */
  actions: number;
  /** Impostor windows scored. */
  windows: number;
  /** Whether the decision had already fired during the genuine warm-up. */
  startFlagged: boolean;
}

/** Raw outcomes of one or more enrolled users (concatenate to pool). */
export interface ContinuousTrials {
  genuine: GenuineOutcome[];
  impostor: ImpostorOutcome[];
  /** Enrolled users with at least one outcome. */
  users: number;
  /** The settings the outcomes were simulated with. */
  settings: Readonly<ContinuousOptions>;
}

/** An empty {@link ContinuousTrials}. */
export function emptyTrials(
  settings: Readonly<ContinuousOptions> = DEFAULT_CONTINUOUS_OPTIONS,
): ContinuousTrials {
  return { genuine: [], impostor: [], users: 0, settings };
}

/** Appends `b`'s outcomes to `a` (returns `a`); `a` takes `b`'s settings while it is empty. */
export function mergeTrials(a: ContinuousTrials, b: ContinuousTrials): ContinuousTrials {
  if (a.users === 0) a.settings = b.settings;
  for (const g of b.genuine) a.genuine.push(g);
  for (const i of b.impostor) a.impostor.push(i);
  a.users += b.users;
  return a;
}

async function scoresOf<W>(
  score: WindowScorer<W>,
  windows: readonly W[],
): Promise<readonly number[]> {
  if (windows.length === 0) return [];
  const s = await score(windows);
  if (s.length !== windows.length)
    throw new TypeError(`scorer returned ${s.length} LLRs for ${windows.length} windows`);
  return s;
}

/**
 * Runs one enrolled user's trials: the genuine session (its own held-out stream from an empty
 * decision state) and one attack per impostor stream (the session after the first
 * `warmupWindows` genuine windows, then the impostor's windows). A user whose own stream has no
 * window gives no outcome (there is no genuine session state to start an attack from).
 */
export async function continuousTrials<W>(
  score: WindowScorer<W>,
  modality: Modality,
  own: ActionStream<W>,
  impostors: readonly ActionStream<W>[],
  options: Partial<ContinuousOptions> = {},
): Promise<ContinuousTrials> {
  const o = resolveContinuousOptions(options);
  if (own.windows.length === 0) return emptyTrials(o);
  const ownScores = await scoresOf(score, own.windows);
  const h = decisionThreshold(o.decision);

  let state: DecisionState = EMPTY_DECISION_STATE;
  let actionsToFlag: number | null = null;
  let flagEpisodes = 0;
  let windowsBelow = 0;
  let wasBelow = false;
  let warm: DecisionState = EMPTY_DECISION_STATE;
  const warmup = Math.min(o.warmupWindows, own.windows.length);
  for (let k = 0; k < ownScores.length; k++) {
    state = updateDecision(state, modality, ownScores[k]!, o.decision);
    if (k === warmup - 1) warm = state;
    const isBelow = state.s >= h;
    if (isBelow) {
      windowsBelow++;
      if (!wasBelow) flagEpisodes++;
      if (actionsToFlag === null) actionsToFlag = own.actionsAt[k]!;
    }
    wasBelow = isBelow;
  }
  const genuine: GenuineOutcome = {
    actionsToFlag,
    actions: own.actions,
    windows: own.windows.length,
    flagEpisodes,
    windowsBelow,
  };

  const impostor: ImpostorOutcome[] = [];
  for (const stream of impostors) {
    if (stream.windows.length === 0) continue;
    const s = await scoresOf(score, stream.windows);
    // The attack starts from the genuine warm-up's statistic, not from a fired decision: a
    // session the decision had already flagged would credit the impostor with the user's flag.
    let st: DecisionState = { ...warm, takeover: false };
    let flaggedAt: number | null = null;
    for (let k = 0; k < s.length && flaggedAt === null; k++) {
      st = updateDecision(st, modality, s[k]!, o.decision);
      if (st.takeover) flaggedAt = stream.actionsAt[k]!;
    }
    impostor.push({
      actionsToFlag: flaggedAt,
      actions: stream.actions,
      windows: stream.windows.length,
      startFlagged: warm.takeover,
    });
  }
  return { genuine: [genuine], impostor, users: 1, settings: o };
}

/**
 * Builds an {@link ActionStream} from consecutive segments (sentences, sessions) that were
 * windowed separately: each segment's windows with their action counts, and the segment's
 * total actions. Within a segment, window i completes after the actions of windows 0..i.
 */
export function actionStream<W = Float32Array>(
  segments: readonly { windows: readonly { window: W; count: number }[]; actions: number }[],
): ActionStream<W> {
  const windows: W[] = [];
  const actionsAt: number[] = [];
  let offset = 0;
  for (const seg of segments) {
    let inSeg = 0;
    for (const w of seg.windows) {
      inSeg += w.count;
      windows.push(w.window);
      actionsAt.push(offset + inSeg);
    }
    offset += Math.max(seg.actions, inSeg);
  }
  return { windows, actionsAt, actions: offset };
}

/** Nearest-rank quantile of numbers where `null` (never reached) ranks above everything; null if it lands there. */
export function censoredQuantile(values: readonly (number | null)[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) =>
    a === null ? (b === null ? 0 : 1) : b === null ? -1 : a - b,
  );
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? null;
}

/** Median and p95 (nearest rank; null = not reached within the data, or no value). */
export interface MedianP95 {
  median: number | null;
  p95: number | null;
}

const medianP95 = (values: readonly (number | null)[]): MedianP95 => ({
  median: censoredQuantile(values, 0.5),
  p95: censoredQuantile(values, 0.95),
});

/** Min, median (nearest rank), max and total of counts. */
export interface CountStats {
  min: number;
  median: number;
  max: number;
  total: number;
}

function countStats(values: readonly number[]): CountStats {
  if (values.length === 0) return { min: 0, median: 0, max: 0, total: 0 };
  const s = [...values].sort((a, b) => a - b);
  return {
    min: s[0]!,
    median: s[Math.ceil(0.5 * s.length) - 1]!,
    max: s[s.length - 1]!,
    total: s.reduce((a, b) => a + b, 0),
  };
}

/** The `continuous` figures of an evaluation report. */
export interface ContinuousSummary {
  /** What an action is. */
  unit: 'keystrokes' | 'pointer events';
  /** The decision: its false-alarm budget (genuine windows) and CUSUM threshold h = ln of it. */
  decision: { falseAlarmWindows: number; h: number };
  warmupWindows: number;
  /** Enrolled users with a genuine session. */
  users: number;
  impostor: {
    /** (user, impostor) pairs. */
    pairs: number;
    flagged: number;
    /** Pairs never flagged within the impostor's available data. */
    neverFlaggedFraction: number;
    /** Impostor actions to the first flag over all pairs (never-flagged ranked last: null = not reached). */
    actionsToFlag: MedianP95;
    /** The same over flagged pairs only. */
    actionsToFlagWhenFlagged: MedianP95;
    /** Attacks whose genuine warm-up had already fired the decision (counted from a reset flag). */
    startFlaggedFraction: number;
    /** Impostor actions available per pair. */
    availableActions: CountStats;
  };
  genuine: {
    sessions: number;
    falseFlagged: number;
    /** Sessions that end without any false flag. */
    noFalseFlagFraction: number;
    /** Genuine actions to the first false flag, over sessions with one. */
    actionsToFalseFlag: MedianP95;
    /** Actions per genuine session (the data available; nothing repeated). */
    sessionActions: CountStats;
    /** Windows per genuine session. */
    sessionWindows: CountStats;
    /** False-flag episodes (the statistic reaching h from below) over all sessions. */
    falseFlagEpisodes: number;
    /** Episodes per 1,000 genuine actions (all sessions' actions pooled). */
    falseFlagsPer1000: number | null;
    /** Fraction of genuine windows after which the session was flagged. */
    windowsBelowFraction: number | null;
  };
}

/** Summarizes pooled trials (with the settings they were simulated with). */
export function summarizeContinuous(
  trials: ContinuousTrials,
  modality: Modality,
): ContinuousSummary {
  const o = trials.settings;
  const im = trials.impostor;
  const ge = trials.genuine;
  const flagged = im.filter((x) => x.actionsToFlag !== null);
  const falseFlagged = ge.filter((x) => x.actionsToFlag !== null);
  const genuineActions = ge.reduce((n, x) => n + x.actions, 0);
  const genuineWindows = ge.reduce((n, x) => n + x.windows, 0);
  const episodes = ge.reduce((n, x) => n + x.flagEpisodes, 0);
  const frac = (n: number, d: number): number => (d === 0 ? 0 : n / d);
  return {
    unit: modality === 'keystroke' ? 'keystrokes' : 'pointer events',
    decision: { falseAlarmWindows: o.decision.falseAlarmWindows, h: decisionThreshold(o.decision) },
    warmupWindows: o.warmupWindows,
    users: trials.users,
    impostor: {
      pairs: im.length,
      flagged: flagged.length,
      neverFlaggedFraction: frac(im.length - flagged.length, im.length),
      actionsToFlag: medianP95(im.map((x) => x.actionsToFlag)),
      actionsToFlagWhenFlagged: medianP95(flagged.map((x) => x.actionsToFlag)),
      startFlaggedFraction: frac(im.filter((x) => x.startFlagged).length, im.length),
      availableActions: countStats(im.map((x) => x.actions)),
    },
    genuine: {
      sessions: ge.length,
      falseFlagged: falseFlagged.length,
      noFalseFlagFraction: frac(ge.length - falseFlagged.length, ge.length),
      actionsToFalseFlag: medianP95(falseFlagged.map((x) => x.actionsToFlag)),
      sessionActions: countStats(ge.map((x) => x.actions)),
      sessionWindows: countStats(ge.map((x) => x.windows)),
      falseFlagEpisodes: episodes,
      falseFlagsPer1000: genuineActions === 0 ? null : (1000 * episodes) / genuineActions,
      windowsBelowFraction:
        genuineWindows === 0 ? null : ge.reduce((n, x) => n + x.windowsBelow, 0) / genuineWindows,
    },
  };
}

/** Two lines for the printed report (one saying so when nothing was simulated). */
export function formatContinuous(c: ContinuousSummary, label = 'continuous'): string[] {
  if (c.users === 0 && c.impostor.pairs === 0) return [`${label}: not simulated for this run`];
  const n = (x: number | null): string => (x === null ? 'not reached' : String(Math.round(x)));
  const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);
  const unit = c.unit;
  return [
    `${label}: impostor after ${c.warmupWindows} genuine windows, CUSUM decision (h = ${c.decision.h.toFixed(2)}, ` +
      `budget ${c.decision.falseAlarmWindows} windows): ${unit} to flag median ${n(c.impostor.actionsToFlag.median)}, ` +
      `p95 ${n(c.impostor.actionsToFlag.p95)} over ${c.impostor.pairs} pairs; never flagged ${pct(c.impostor.neverFlaggedFraction)} ` +
      `(≤ ${c.impostor.availableActions.median} ${unit} available, median); warm-up already flagged ${pct(c.impostor.startFlaggedFraction)}`,
    `${label}: genuine sessions ${c.genuine.sessions} (${c.genuine.sessionActions.min}–${c.genuine.sessionActions.max} ${unit}, ` +
      `median ${c.genuine.sessionActions.median}): no false flag ${pct(c.genuine.noFalseFlagFraction)}; first false flag after median ` +
      `${n(c.genuine.actionsToFalseFlag.median)}, p95 ${n(c.genuine.actionsToFalseFlag.p95)} ${unit}; ` +
      `${c.genuine.falseFlagsPer1000 === null ? '—' : c.genuine.falseFlagsPer1000.toFixed(2)} false-flag episodes per 1,000 ${unit}`,
  ];
}
