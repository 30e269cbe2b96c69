/**
 * Drift that adapts safely: the rule that decides which confirmed windows may move a user's
 * template, and when the user's own scores say their behaviour has drifted. Pure (no tensors,
 * no storage); the worker (`src/worker/engine.ts`, template growth) and the drift and poisoning
 * simulations (`model/eval/drift-sim.ts`, `npm run drift:sim`) reach them through one module,
 * `session.ts` (`judgeGrowthBatch`), and read {@link DRIFT}; neither keeps a copy.
 *
 * **Detecting drift from the user's own scores.** Every batch of windows a session offers for
 * growth (a session that never fell below `PRODUCT.growth.safeLevel`) is a sample of the user's
 * genuine window-LLR distribution. The monitor keeps a reference level (the mean of the first
 * {@link DriftConfig.referenceBatches} batch medians after enrolment) and runs a one-sided CUSUM
 * on the *median* of each later batch:
 *
 *   D ← max(0, D + (reference − median − slack)),   drifted while D ≥ threshold
 *
 * The median, not the mean: a gradual change of the user moves the whole distribution, so the
 * median follows it; a minority of foreign windows slipped into otherwise genuine sessions (a
 * poisoning attempt that must keep the session safe) leaves it where it was.
 *
 * **Recalibrating and refitting from confirmed data.** A refit re-standardises every component
 * on the template (the detector's held-out calibration, the embedding model's z-normalisation),
 * so it *is* the user's recalibration; nothing adds a global offset to the LLR, which would lift
 * an attacker's windows exactly as much as the user's. What the monitor changes is which
 * confirmed batches may enter the template ({@link admitGrowth}): normally a batch whose
 * `learnQuantile` quantile of window LLRs is at least `learnLlr` (three quarters of its windows
 * favour the user); while drifted, down to `driftLearnLlr`, because the drifted user's windows
 * score lower and would otherwise never be learned.
 *
 * **Only well inside the safe region, and bounded.** A batch is learned only if the session's
 * confidence stayed at or above `learnConfidence` (stricter than the growth's `safeLevel`), and
 * only if it moves the template's centroid (feature space, in units of the enrolment windows'
 * robust spread) at most `maxStep` and keeps it within `maxDistance` of the enrolment centroid.
 * A run of near-threshold sessions therefore teaches nothing, and sessions that do teach can
 * pull the template only a bounded way, whoever feeds them. The enrolment windows are never
 * replaced, and the model a refit replaces is kept for one rollback (`ModelStore.rollbackModel`).
 */
import { FEATURE_SPECS, type Modality } from '../features/schema';
import { median, quantile } from '../features/stats';
import { fitNormalization, type Normalization } from '../detector/normalize';

/** The drift rule's settings; every field is the shipped value ({@link DRIFT}). */
export interface DriftConfig {
  /**
   * Lowest session confidence, up to a batch's last window, for the batch to be learned: 0.8
   * (S ≤ 0.54 h; `PRODUCT.growth.safeLevel` is 0.7, S ≤ 0.72 h). 0.9 refused every batch of
   * some genuine users, who then never adapted. Range [0.5, 0.95].
   */
  readonly learnConfidence: number;
  /**
   * Which quantile of a batch's window LLRs must reach the gate: 0.25, i.e. three quarters of
   * the batch's windows. A lower quantile, not the median: an attacker who makes up half of
   * otherwise genuine sessions moved the median above the gate and taught the model (tuning
   * users; docs/model.md §5b). Range [0, 0.5].
   */
  readonly learnQuantile: number;
  /**
   * The gate while no drift is detected: 0.0 (those windows are at least as likely the user as
   * anyone else). Range [−3, 3].
   */
  readonly learnLlr: number;
  /** The same while the monitor says drifted: −0.5. Range [−3, `learnLlr`]. */
  readonly driftLearnLlr: number;
  /**
   * The confidence floor while the monitor says drifted: the lower of this and the floor that
   * applies otherwise (`learnConfidence`, or `confirmedLearnConfidence` after a confirmation).
   * A drifted user's sessions sit lower, and a floor they never reach means they never adapt.
   * Range [0.5, 0.95].
   */
  readonly driftLearnConfidence: number;
  /**
   * The gate for a batch typed after the bank confirmed the session with a strong factor (a
   * passkey): the lower of this and the gate above. Range [−3, `learnLlr`].
   */
  readonly confirmedLearnLlr: number;
  /**
   * Lowest session confidence, since the confirmation, for a batch typed after one. Range
   * [0.5, 0.95].
   */
  readonly confirmedLearnConfidence: number;
  /**
   * Largest move of the template centroid per refit, as the RMS over features of the move in
   * units of the enrolment windows' robust spread: 0.8. The first batch after a 10-window
   * enrolment moves the centroid half-way to its own, so 0.6 refused, on a user's first genuine
   * sentences at their enrolment pace, a batch whose centroid was 1.3 spreads away, and that user
   * never adapted (docs/model.md §5b). Range (0, 10].
   */
  readonly maxStep: number;
  /**
   * Largest distance of the template centroid from the enrolment centroid, same units: 2.0.
   * Range [`maxStep`, 10].
   */
  readonly maxDistance: number;
  /** Growth batches whose medians make the monitor's reference level: 1. Integer in [1, 10]. */
  readonly referenceBatches: number;
  /** CUSUM slack, LLR units per batch: 0.25. Range [0, 3]. */
  readonly slack: number;
  /** CUSUM threshold, LLR units: 0.75. Range (0, 20]. */
  readonly threshold: number;
}

/**
 * What ships. Set with the drift simulation on Aalto users 1201–1206 (`--offset 1200`; never
 * reported on), `maxStep` on users 1201–1230: figures in docs/model.md §5b.
 */
export const DRIFT: Readonly<DriftConfig> = Object.freeze({
  learnConfidence: 0.8,
  learnQuantile: 0.25,
  learnLlr: 0.0,
  driftLearnLlr: -0.5,
  driftLearnConfidence: 0.8,
  confirmedLearnLlr: 0.0,
  confirmedLearnConfidence: 0.8,
  maxStep: 0.8,
  maxDistance: 2.0,
  referenceBatches: 1,
  slack: 0.25,
  threshold: 0.75,
});

/** Validates a configuration (a `RangeError` quotes the bad value). */
export function checkDriftConfig(config: Readonly<DriftConfig>): Readonly<DriftConfig> {
  const range = (name: keyof DriftConfig, lo: number, hi: number, lowOpen = false): void => {
    const v = config[name];
    if (!(typeof v === 'number' && (lowOpen ? v > lo : v >= lo) && v <= hi))
      throw new RangeError(`${name} must be in ${lowOpen ? '(' : '['}${lo}, ${hi}], got ${v}`);
  };
  range('learnConfidence', 0.5, 0.95);
  range('learnQuantile', 0, 0.5);
  range('learnLlr', -3, 3);
  range('driftLearnLlr', -3, config.learnLlr);
  range('driftLearnConfidence', 0.5, 0.95);
  range('confirmedLearnLlr', -3, config.learnLlr);
  range('confirmedLearnConfidence', 0.5, 0.95);
  range('maxStep', 0, 10, true);
  range('maxDistance', config.maxStep, 10);
  range('slack', 0, 3);
  range('threshold', 0, 20, true);
  if (
    !Number.isInteger(config.referenceBatches) ||
    config.referenceBatches < 1 ||
    config.referenceBatches > 10
  )
    throw new RangeError(
      `referenceBatches must be an integer in [1, 10], got ${config.referenceBatches}`,
    );
  return config;
}

checkDriftConfig(DRIFT);

/**
 * Where the enrolment put the user: the enrolment windows' per-feature median and robust spread
 * (the detector's own normalisation, so one feature's unit never dominates the distance).
 */
export type TemplateAnchor = Readonly<Normalization>;

/** The anchor of a modality's enrolment windows (feature vectors). */
export function templateAnchor(
  modality: Modality,
  enrolment: readonly ArrayLike<number>[],
): TemplateAnchor {
  if (enrolment.length === 0) throw new RangeError('templateAnchor needs enrolment windows');
  // The detector's default relative floor: a very regular enrolment must not make ordinary
  // variation look like a large move.
  return fitNormalization(enrolment, FEATURE_SPECS[modality], 0.1);
}

/** Mean of feature vectors (non-finite features count as the anchor's centre). */
function centroid(anchor: TemplateAnchor, vectors: readonly ArrayLike<number>[]): Float64Array {
  const d = anchor.center.length;
  const c = new Float64Array(d);
  for (const v of vectors)
    for (let j = 0; j < d; j++) {
      const x = v[j]!;
      c[j]! += Number.isFinite(x) ? x : anchor.center[j]!;
    }
  for (let j = 0; j < d; j++) c[j]! /= Math.max(1, vectors.length);
  return c;
}

/** RMS over features of (a − b) in units of the anchor's spread. */
function spreadDistance(
  anchor: TemplateAnchor,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): number {
  let sum = 0;
  const d = anchor.center.length;
  for (let j = 0; j < d; j++) {
    const z = (a[j]! - b[j]!) / anchor.scale[j]!;
    sum += Number.isFinite(z) ? z * z : 0;
  }
  return Math.sqrt(sum / d);
}

/**
 * How far a template (its windows' feature vectors) has moved from the enrolment: the RMS over
 * features of its centroid's distance to the enrolment median, in enrolment spreads.
 */
export function templateDistance(
  anchor: TemplateAnchor,
  template: readonly ArrayLike<number>[],
): number {
  return spreadDistance(anchor, centroid(anchor, template), anchor.center);
}

/** A window offered for growth: its feature vector and the LLR it scored with the current model. */
export interface GrowthCandidate {
  readonly vector: ArrayLike<number>;
  readonly llr: number;
}

/** Why a growth batch was refused (or `admitted`). */
export type AdmissionReason = 'admitted' | 'confidence' | 'llr' | 'step' | 'distance';

/** What {@link admitGrowth} decided about a growth batch. */
export interface Admission {
  /** The whole batch enters the template (never a hand-picked part of it). */
  readonly admitted: boolean;
  readonly reason: AdmissionReason;
  /** The gate applied (`learnLlr`, `driftLearnLlr` while drifted, `confirmedLearnLlr`). */
  readonly gate: number;
  /**
   * The confidence floor applied (`learnConfidence`, `confirmedLearnConfidence`, or
   * `driftLearnConfidence` while drifted where lower).
   */
  readonly floor: number;
  /** The `learnQuantile` quantile of the batch's window LLRs (what the gate is compared with). */
  readonly quantile: number;
  /** How far the centroid would move ({@link templateDistance} units). */
  readonly step: number;
  /** Template distance from the enrolment if the batch were admitted. */
  readonly distance: number;
}

/**
 * Whether a growth batch (the confirmed windows of one safe session, `PRODUCT.growth.refitEvery`
 * of them) may enter the template. All or nothing: picking the batch's best-scoring windows
 * would teach the model only its own core and shrink its spread, so that the user's ordinary
 * variation soon looks foreign (measured: it flagged more drifting sessions than no adaptation
 * at all). The batch is refused when the session's confidence went below the floor
 * (`learnConfidence`) during it, when the `learnQuantile` quantile of its window LLRs is below the gate, or when it would move the template's
 * centroid more than `maxStep` or beyond `maxDistance` from the enrolment.
 * `template` is every window the modality's model is fitted on now, enrolment included;
 * `minConfidence` the session's lowest confidence up to the batch's last window (since the
 * confirmation for a batch typed after one); `when.drifted` what the drift monitor says (the
 * drifted gate `driftLearnLlr` and floor `driftLearnConfidence`, where lower), `when.confirmed` whether the batch was typed after a strong-factor confirmation of the session
 * (its own gate and confidence floor; the centroid caps apply all the same).
 */
export function admitGrowth(
  anchor: TemplateAnchor,
  template: readonly ArrayLike<number>[],
  candidates: readonly GrowthCandidate[],
  minConfidence: number,
  when: { readonly drifted: boolean; readonly confirmed?: boolean },
  config: Readonly<DriftConfig> = DRIFT,
): Admission {
  const confirmed = when.confirmed === true;
  const gate = Math.min(
    when.drifted ? config.driftLearnLlr : config.learnLlr,
    confirmed ? config.confirmedLearnLlr : Infinity,
  );
  const floor = Math.min(
    confirmed ? config.confirmedLearnConfidence : config.learnConfidence,
    when.drifted ? config.driftLearnConfidence : Infinity,
  );
  const before = centroid(anchor, template);
  const all = [...template, ...candidates.map((c) => c.vector)];
  const after = centroid(anchor, all);
  const step = spreadDistance(anchor, after, before);
  const distance = spreadDistance(anchor, after, anchor.center);
  const q =
    candidates.length === 0
      ? Number.NaN
      : quantile(
          candidates.map((c) => (Number.isNaN(c.llr) ? -Infinity : c.llr)),
          config.learnQuantile,
        );
  const decide = (reason: AdmissionReason): Admission => ({
    admitted: reason === 'admitted',
    reason,
    gate,
    floor,
    quantile: q,
    step,
    distance,
  });
  if (candidates.length === 0) return decide('llr');
  if (!(minConfidence >= floor)) return decide('confidence');
  if (!(q >= gate)) return decide('llr');
  if (step > config.maxStep) return decide('step');
  if (distance > config.maxDistance) return decide('distance');
  return decide('admitted');
}

/**
 * How many of the oldest *grown* windows an admitted batch replaces: none while the template has
 * room (`PRODUCT.growth.maxEnrollWindows`); once it is full, as many as the batch brings, so the
 * template keeps following the user instead of freezing at its first 100 windows. The enrolment
 * windows (the first `enrolment` stored) are never replaced: they are the anchor every distance
 * is measured from.
 */
export function windowsToReplace(
  templateSize: number,
  enrolment: number,
  batch: number,
  maxWindows: number,
): number {
  const over = templateSize + batch - maxWindows;
  return Math.max(0, Math.min(over, templateSize - enrolment));
}

/** The score-distribution monitor of one modality; start from {@link EMPTY_DRIFT_STATE}. */
export interface DriftState {
  /** The reference level (mean of the first batch medians); null until it is set. */
  readonly reference: number | null;
  /** Medians collected towards the reference. */
  readonly referenceMedians: readonly number[];
  /** The CUSUM statistic D ≥ 0 (LLR units). */
  readonly d: number;
  /** D ≥ threshold: the user's own scores have drifted down. */
  readonly drifted: boolean;
  /** Batches seen. */
  readonly batches: number;
}

/** No batch yet. */
export const EMPTY_DRIFT_STATE: DriftState = Object.freeze({
  reference: null,
  referenceMedians: Object.freeze([]),
  d: 0,
  drifted: false,
  batches: 0,
});

/**
 * Folds one growth batch (the window LLRs of confirmed windows of a safe session, before the
 * gate) into the monitor. An empty batch changes nothing.
 */
export function updateDrift(
  state: DriftState,
  batchLlrs: readonly number[],
  config: Readonly<DriftConfig> = DRIFT,
): DriftState {
  if (batchLlrs.length === 0) return state;
  const m = median(batchLlrs.map((v) => (Number.isNaN(v) ? -3 : v)));
  const batches = state.batches + 1;
  if (state.reference === null) {
    const referenceMedians = [...state.referenceMedians, m];
    const reference =
      referenceMedians.length >= config.referenceBatches
        ? referenceMedians.reduce((a, b) => a + b, 0) / referenceMedians.length
        : null;
    return { ...state, reference, referenceMedians, batches };
  }
  const d = Math.max(0, state.d + (state.reference - m - config.slack));
  return { ...state, d, drifted: d >= config.threshold, batches };
}
