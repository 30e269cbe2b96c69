/**
 * Score calibration and fusion of the product scorer: each per-user model gives a *standardized
 * likeness* of a window (its own units: the window's distance from the user in units of the
 * user's own enrolment spread; higher = more like the user). A logistic regression learned
 * **offline on public users** (genuine windows against other users' windows, the two classes
 * weighted equally) maps the components present in a window to one log-likelihood ratio
 *
 *   llr = bias + Σ_c weight_c · clip(s_c)        (clamped to ±`clamp`)
 *
 * of "this user" against "someone else". With equal class weights the logit is the LLR (the
 * prior is 1 : 1), so LLRs of successive windows add up as evidence (the sequential decision,
 * decision.ts) and one global ROC over windows is meaningful. A window's confidence is σ(llr).
 *
 * The on-device models never see an impostor; the impostor side of every LLR comes from these
 * offline weights. Calibrations are learned per modality and per *component set* (the detector
 * alone when a window has no usable step sequence or no shared encoder is present).
 */
import { assertKnownKeys } from '../assert';
import { ModelFormatError } from '../errors';
import type { Modality } from '../features/schema';

/** The per-user models whose scores are fused. */
export const COMPONENTS = ['detector', 'embedding', 'block'] as const;
/** One per-user model of a modality. */
export type Component = (typeof COMPONENTS)[number];

/** Standardized likeness per component present in a window. */
export type ComponentScores = Partial<Record<Component, number>>;

/**
 * Component scores are clipped to ±this before weighting: a window ten spreads away is already
 * certain, and one absurd value (a stuck key, a pointer jump) must not outweigh a whole session.
 */
export const SCORE_CLIP = 10;

/** A learned map from one component set's scores to a window LLR. */
export interface SetCalibration {
  /** Components, in {@link COMPONENTS} order; exactly these must be present. */
  components: Component[];
  bias: number;
  /** One weight per component, same order. */
  weights: number[];
}

/** Calibration of one modality, as stored in `model/product/calibration.json`. */
export interface ModalityCalibration {
  /** Every component set the product may meet for this modality. */
  sets: SetCalibration[];
  /** Where it was learned (dataset, users, encoder): provenance, not used by scoring. */
  learnedOn: string;
  /** Data fingerprints of the users it was learned on (evaluation refuses them as test users). */
  trainingFingerprints: string[];
}

/** The whole calibration file. */
export interface CalibrationFile {
  version: 1;
  /** |llr| per window never exceeds this (see {@link windowLlr}). */
  clamp: number;
  modalities: Partial<Record<Modality, ModalityCalibration>>;
}

/** Key of a component set ("detector+embedding"). */
export function setKey(components: readonly Component[]): string {
  return COMPONENTS.filter((c) => components.includes(c)).join('+');
}

/** Components present in `scores`, in canonical order. */
export function presentComponents(scores: ComponentScores): Component[] {
  return COMPONENTS.filter((c) => scores[c] !== undefined);
}

const clip = (v: number): number =>
  Number.isNaN(v) ? -SCORE_CLIP : Math.min(SCORE_CLIP, Math.max(-SCORE_CLIP, v));

/**
 * A window's LLR from its component scores, with the modality's calibration for exactly the
 * components present. A NaN score counts as maximally unlike the user (fail closed).
 * @throws {ModelFormatError} `ERR_MODEL_FORMAT` when no calibration covers the component set:
 *   a calibration file that does not match the product's models is a packaging error.
 */
export function windowLlr(
  calibration: Readonly<CalibrationFile>,
  modality: Modality,
  scores: ComponentScores,
): number {
  const set = findSet(calibration, modality, presentComponents(scores));
  let llr = set.bias;
  set.components.forEach((c, i) => (llr += set.weights[i]! * clip(scores[c]!)));
  return Math.min(calibration.clamp, Math.max(-calibration.clamp, llr));
}

function findSet(
  calibration: Readonly<CalibrationFile>,
  modality: Modality,
  components: readonly Component[],
): SetCalibration {
  const key = setKey(components);
  const set = calibration.modalities[modality]?.sets.find((s) => setKey(s.components) === key);
  if (set === undefined) {
    throw new ModelFormatError(
      `no ${modality} calibration for the component set ${key || '(none)'}`,
    );
  }
  return set;
}

/** Labelled component scores of one window: `genuine` true for the enrolled user's own windows. */
export interface LabelledScores {
  scores: ComponentScores;
  genuine: boolean;
}

/**
 * Fits one component set's calibration: L2-regularised logistic regression, genuine against
 * impostor with equal total class weight, by Newton's method (IRLS).
 *
 * Hand-written on purpose: with at most three inputs it is a 4×4 linear solve per iteration,
 * exact and deterministic; the npm packages for it (ml-logistic-regression) use fixed-step
 * gradient descent, which would make the shipped weights depend on a step size and an
 * iteration count.
 * @throws {RangeError} without samples of both classes carrying every component of the set.
 */
export function fitSetCalibration(
  components: readonly Component[],
  samples: readonly LabelledScores[],
  l2 = 1e-3,
): SetCalibration {
  const comps = COMPONENTS.filter((c) => components.includes(c));
  const rows = samples.filter((s) => comps.every((c) => s.scores[c] !== undefined));
  const nGen = rows.filter((r) => r.genuine).length;
  const nImp = rows.length - nGen;
  if (nGen === 0 || nImp === 0) {
    throw new RangeError(`calibration of ${setKey(comps)} needs genuine and impostor samples`);
  }
  const d = comps.length + 1;
  const x = rows.map((r) => [1, ...comps.map((c) => clip(r.scores[c]!))]);
  const y = rows.map((r) => (r.genuine ? 1 : 0));
  // Equal total weight per class: the fitted logit is then the LLR at a 1 : 1 prior.
  const w = rows.map((r) => (r.genuine ? 0.5 / nGen : 0.5 / nImp));
  const beta = new Array<number>(d).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < x.length; i++) {
      const xi = x[i]!;
      let z = 0;
      for (let j = 0; j < d; j++) z += beta[j]! * xi[j]!;
      const p = 1 / (1 + Math.exp(-z));
      const g = w[i]! * (p - y[i]!);
      const h = w[i]! * p * (1 - p);
      for (let j = 0; j < d; j++) {
        grad[j]! += g * xi[j]!;
        for (let k = 0; k < d; k++) hess[j]![k]! += h * xi[j]! * xi[k]!;
      }
    }
    // The bias is not penalised.
    for (let j = 1; j < d; j++) {
      grad[j]! += l2 * beta[j]!;
      hess[j]![j]! += l2;
    }
    const step = solve(hess, grad);
    let change = 0;
    for (let j = 0; j < d; j++) {
      beta[j]! -= step[j]!;
      change = Math.max(change, Math.abs(step[j]!));
    }
    if (change < 1e-9) break;
  }
  return { components: comps, bias: beta[0]!, weights: beta.slice(1) };
}

/** Gaussian elimination with partial pivoting (d ≤ 4). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivot = m[c]![c]!;
    if (Math.abs(pivot) < 1e-15) throw new RangeError('calibration scores are degenerate');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / pivot;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/** Validates a parsed calibration file (fail fast on a bad shipped or `--calibration` file). */
export function parseCalibrationFile(value: unknown): CalibrationFile {
  const bad = (why: string): never => {
    throw new ModelFormatError(`calibration file: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const v = value as Record<string, unknown>;
  assertKnownKeys('calibration file', v, ['version', 'clamp', 'modalities']);
  if (v.version !== 1) bad('unknown version');
  if (typeof v.clamp !== 'number' || !(v.clamp > 0 && v.clamp <= 20)) bad('clamp not in (0, 20]');
  const modalities = v.modalities as Record<string, unknown> | undefined;
  if (typeof modalities !== 'object' || modalities === null) return bad('no modalities');
  for (const [modality, m] of Object.entries(modalities)) {
    if (modality !== 'keystroke' && modality !== 'pointer') bad(`unknown modality ${modality}`);
    const sets = (m as ModalityCalibration | undefined)?.sets;
    if (!Array.isArray(sets) || sets.length === 0) return bad(`${modality}: no sets`);
    for (const s of sets) {
      const ok =
        Array.isArray(s.components) &&
        s.components.length > 0 &&
        s.components.every((c) => (COMPONENTS as readonly string[]).includes(c)) &&
        Array.isArray(s.weights) &&
        s.weights.length === s.components.length &&
        [s.bias, ...s.weights].every((n) => typeof n === 'number' && Number.isFinite(n));
      if (!ok) bad(`${modality}: malformed set`);
    }
  }
  return value as CalibrationFile;
}
