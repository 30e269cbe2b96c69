/**
 * The product scorer: the one place that says how Tacit turns a user's windows into a
 * confidence and a decision. The extension's worker (`src/worker/engine.ts`), the evaluation
 * protocols (`model/eval/`), the continuous-authentication simulation and `npm run bench -- model`
 * all call these functions and read these defaults; none keeps a copy of a rule or a constant.
 *
 * Per modality the product fits per-user models on the same enrolment windows: the detector on
 * the window's feature vector ({@link UserModel}), the embedding model on its step sequence
 * through the shipped shared encoder ({@link EmbeddingUserModel}) and, for the pointer, the
 * block scorer on its block features through the shipped block projection ({@link BlockScorer}). Each gives a standardized
 * likeness; the calibration learned offline on public users (calibration.ts,
 * `calibration.json`) fuses those present into one window LLR; a window's confidence is σ(llr).
 * The session decision is a CUSUM over window LLRs (decision.ts).
 */
import { EmbeddingUserModel, type Steps } from '../shared/embedding-model';
import type { SharedEncoder } from '../shared/encoder';
import { UserModel } from '../detector/user-model';
import type { DetectorConfig } from '../detector/config';
import type { Modality } from '../features/schema';
import { DEFAULT_WINDOWER_CONFIG, type WindowerConfig } from '../features/windower';
import { NotEnoughWindowsError } from '../errors';
import {
  type CalibrationFile,
  type Component,
  type ComponentScores,
  parseCalibrationFile,
  windowLlr,
} from './calibration';
import {
  type DecisionConfig,
  type DecisionState,
  checkDecisionConfig,
  decisionConfidence,
  updateDecision,
} from './decision';
import calibrationFile from './calibration.json' with { type: 'json' };
import pointerBlockFile from '../shared/default-pointer-block.json' with { type: 'json' };
import { BlockProjection } from '../pointer/block-projection';
import { BlockScorer } from '../pointer/block-scorer';

/** The product's configuration; every field is the shipped value. */
export interface ProductConfig {
  /**
   * Window sizes (keystroke presses, pointer events) the worker's windower cuts: the
   * windower's defaults, 20 presses and 64 pointer events.
   */
  readonly windows: Readonly<WindowerConfig>;
  /**
   * Windows a modality stores before its per-user models are fitted. Keystrokes 20 (≈ 400 key
   * presses): on Aalto tuning users the same sessions enrolled on 20 windows instead of 10 were
   * flagged 0.1 % instead of 5.0 % of the time without drift and 5.8 % instead of 12.3 % when the
   * user slowed by a quarter, with no faster poisoning (docs/model.md §5b). The pointer 10
   * (640 pointer events): measured on SapiMouse at 10 (§5a), no reason yet to ask for more.
   * Range: ≥ the detector's own minimum (6).
   */
  readonly minEnrollWindows: Readonly<Record<Modality, number>>;
  /**
   * The per-user models each modality fits and fuses: keystrokes the detector and the embedding
   * model; the pointer the detector and the block scorer. The pointer embedding (the shipped
   * pointer encoder) is not used: on held-out SapiMouse users it measured 32 % EER alone and made
   * the fusion worse than the block scorer with the detector (docs/model.md §5a), so it is not
   * shipped in the extension either.
   */
  readonly components: Readonly<Record<Modality, readonly Component[]>>;
  /**
   * Window calibration and fusion of the per-user models' scores, learned offline on public
   * users (`npm run calibrate`; provenance inside the file).
   */
  readonly calibration: Readonly<CalibrationFile>;
  /**
   * The session decision (CUSUM over window LLRs): false-alarm budget 400 genuine windows
   * (h = ln 400 ≈ 5.99: two windows at the LLR clamp −3 still fire it; about 8,000 keys of typing
   * between false alarms by Lorden's bound for a calibrated LLR), statistic capped at 2 h.
   * Chosen by `npm run tune -- takeover` on Aalto validation users 1001–1200 (never reported
   * on), with the takeover in the middle of a window: the fewest impostor keys to a flag among
   * the settings that keep ≥ 95 % of genuine 300-key sessions free of a false flag (200 windows,
   * the previous budget, left 93.5 %). Overlapping windows (a hop of 5 or 10 keys) measured no
   * faster at the same false-alarm rate, so windows do not overlap (docs/model.md §5a). Re-tuned
   * for the 20-window keystroke enrolment: the rule alone would pick clamp 2 / budget 50 (65
   * impostor keys instead of 81), but that steps up 8.8 % instead of 5.8 % of the sessions of a
   * user whose typing slows by a quarter (drift tuning users), so the budget stays 400.
   */
  readonly decision: Readonly<DecisionConfig>;
  /**
   * Template growth: after the first fit, enrolment goes on from windows of sessions the bank
   * vouched for whose fused confidence never fell below `safeLevel` (0.7: above the server's
   * default step-up threshold, 0.5, so a session that came near a step-up never teaches the
   * model); `refitEvery` such windows (10) are stored and the models refitted, up to
   * `maxEnrollWindows` (100) windows per modality. A session that dips stops contributing, and
   * its windows not yet stored are dropped. Windows wait per subject, not per session
   * (`GrowthPool`, model/product/session.ts): short sessions add up to a batch.
   */
  readonly growth: Readonly<{ safeLevel: number; refitEvery: number; maxEnrollWindows: number }>;
}

/** What ships. */
export const PRODUCT: Readonly<ProductConfig> = Object.freeze({
  windows: Object.freeze({ ...DEFAULT_WINDOWER_CONFIG }),
  minEnrollWindows: Object.freeze({ keystroke: 20, pointer: 10 }),
  components: Object.freeze({
    keystroke: Object.freeze(['detector', 'embedding'] as const),
    pointer: Object.freeze(['detector', 'block'] as const),
  }),
  calibration: Object.freeze(parseCalibrationFile(calibrationFile)),
  decision: Object.freeze(checkDecisionConfig({ falseAlarmWindows: 400, cap: 2 })),
  growth: Object.freeze({ safeLevel: 0.7, refitEvery: 10, maxEnrollWindows: 100 }),
});

/** A modality's per-user models. */
export interface ProductModels {
  readonly detector: UserModel;
  /** Absent without a shared encoder, or when the enrolment windows carried no step sequences. */
  readonly embedding?: EmbeddingUserModel;
  /** Pointer only; absent without a block projection or when windows carried no block features. */
  readonly block?: BlockScorer;
}

let shippedProjection: BlockProjection | undefined;

/**
 * The pointer block projection shipped with the extension (`model/shared/default-pointer-block.json`:
 * LDA learned on SapiMouse users 1–72, MIT; model/shared/README.md).
 */
export function shippedBlockProjection(): BlockProjection {
  shippedProjection ??= BlockProjection.fromJSON(pointerBlockFile);
  return shippedProjection;
}

/** The parts of a window the product scores (a `FeatureWindow`, or a stored one). */
export interface ScorableWindow {
  readonly vector: Float32Array;
  /** Step sequence and its length; absent for windows stored before step sequences existed. */
  readonly sequence?: Steps;
  /** Pointer block features (`FeatureWindow.block`); absent on keystroke windows and old stored ones. */
  readonly block?: ArrayLike<number>;
}

/** Options of {@link fitProductModels}: tests and evaluation seeds, never product behaviour. */
export interface FitOptions {
  /** Detector overrides (seed, epochs in tests). */
  readonly detector?: Partial<DetectorConfig>;
  /** Windows required before fitting; default {@link PRODUCT}`.minEnrollWindows` of the modality. */
  readonly minEnrollWindows?: number;
  /**
   * The pointer block projection: default the shipped one ({@link shippedBlockProjection});
   * another one for an evaluation fold; `null` for no block scorer.
   */
  readonly blockProjection?: BlockProjection | null;
}

/**
 * Fits a modality's per-user models on its enrolment windows, as the worker does when a
 * modality has enough of them. Throws the detector's `NotEnoughWindowsError` (code
 * `ERR_TOO_FEW_WINDOWS`) on too few windows; the embedding model is left out, not an error,
 * when fewer than `minEnrollWindows` windows carry a usable step sequence.
 */
export async function fitProductModels(
  modality: Modality,
  windows: readonly ScorableWindow[],
  encoder: SharedEncoder | undefined,
  options: FitOptions = {},
): Promise<ProductModels> {
  const minEnrollWindows = options.minEnrollWindows ?? PRODUCT.minEnrollWindows[modality];
  const detector = new UserModel(modality, { minEnrollWindows, ...options.detector });
  try {
    await detector.fit(windows.map((w) => w.vector));
  } catch (error) {
    detector.dispose();
    throw error;
  }
  const block = fitBlock(modality, windows, minEnrollWindows, options);
  const sequences = windows.flatMap((w) => (w.sequence === undefined ? [] : [w.sequence]));
  const withBlock = <T extends ProductModels>(m: T): ProductModels =>
    block === undefined ? m : { ...m, block };
  if (
    !PRODUCT.components[modality].includes('embedding') ||
    encoder === undefined ||
    encoder.modality !== modality ||
    sequences.length < minEnrollWindows
  ) {
    return withBlock({ detector });
  }
  const embedding = new EmbeddingUserModel(encoder, { minEnrollWindows });
  try {
    embedding.fit(sequences);
  } catch (error) {
    // Too few sequences long enough to embed: the detector scores alone.
    if (error instanceof NotEnoughWindowsError) return withBlock({ detector });
    detector.dispose();
    throw error;
  }
  return withBlock({ detector, embedding });
}

/** The pointer block scorer, when the windows carry enough block features. */
function fitBlock(
  modality: Modality,
  windows: readonly ScorableWindow[],
  minEnrollWindows: number,
  options: FitOptions,
): BlockScorer | undefined {
  if (!PRODUCT.components[modality].includes('block') || options.blockProjection === null)
    return undefined;
  const blocks = windows.flatMap((w) => (w.block === undefined ? [] : [w.block]));
  if (blocks.length < minEnrollWindows) return undefined;
  return BlockScorer.fit(options.blockProjection ?? shippedBlockProjection(), blocks);
}

/** The standardized likeness of each per-user model that can score the window. */
export function productComponents(models: ProductModels, w: ScorableWindow): ComponentScores {
  const scores: ComponentScores = { detector: models.detector.standardized(w.vector) };
  const sequence = w.sequence;
  if (models.embedding !== undefined && sequence !== undefined && sequence.n >= 2) {
    scores.embedding = models.embedding.standardized(sequence);
  }
  if (models.block !== undefined && w.block !== undefined)
    scores.block = models.block.score(w.block);
  return scores;
}

/**
 * A window's log-likelihood ratio, enrolled user against someone else: the product's one
 * per-window rule (calibrated fusion of {@link productComponents}).
 */
export function productLlr(
  models: ProductModels,
  w: ScorableWindow,
  calibration: Readonly<CalibrationFile> = PRODUCT.calibration,
): number {
  return windowLlr(calibration, models.detector.modality, productComponents(models, w));
}

/** A window's confidence in [0, 1]: σ({@link productLlr}). */
export function productScore(models: ProductModels, w: ScorableWindow): number {
  return 1 / (1 + Math.exp(-productLlr(models, w)));
}

/** Folds a window's LLR into a session's decision with the product's settings. */
export function productDecide(
  state: DecisionState,
  modality: Modality,
  llr: number,
): DecisionState {
  return updateDecision(state, modality, llr, PRODUCT.decision);
}

/** The session confidence the product shows and attests for a decision state. */
export function productConfidence(state: DecisionState): number {
  return decisionConfidence(state, PRODUCT.decision);
}

/** Frees the models' tensors. */
export function disposeProductModels(models: ProductModels): void {
  models.detector.dispose();
}
