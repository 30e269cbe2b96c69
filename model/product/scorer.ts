/**
 * The product scorer: the one place that says how Tacit turns a user's windows into a
 * confidence. The extension's worker (`src/worker/engine.ts`), the evaluation protocols
 * (`model/eval/`), the continuous-authentication simulation and `npm run bench -- model` all
 * call these functions and read these defaults; none keeps a copy of a rule or a constant.
 *
 * Per modality the product fits two per-user models on the same enrolment windows: the
 * detector on the window's feature vector ({@link UserModel}) and the embedding model on its
 * step sequence through the shipped shared encoder ({@link EmbeddingUserModel}). A window's
 * confidence is their mean, or the detector's alone when the window has fewer than two steps
 * (or no shared encoder is available). Session confidence is the fusion ({@link FusionConfig})
 * of window confidences.
 */
import { EmbeddingUserModel, type Steps } from '../shared/embedding-model';
import type { SharedEncoder } from '../shared/encoder';
import { UserModel } from '../detector/user-model';
import type { DetectorConfig } from '../detector/config';
import type { Modality } from '../features/schema';
import { DEFAULT_WINDOWER_CONFIG, type WindowerConfig } from '../features/windower';
import { resolveFusionConfig, type FusionConfig } from '../fusion';
import { NotEnoughWindowsError } from '../errors';

/** The product's configuration; every field is the shipped value. */
export interface ProductConfig {
  /**
   * Window sizes (keystroke presses, pointer events) the worker's windower cuts: the
   * windower's defaults, 20 presses and 64 pointer events.
   */
  readonly windows: Readonly<WindowerConfig>;
  /**
   * Windows a modality stores before its per-user models are fitted: 10 (≈ 200 key presses).
   * On the device a user types far more than in a lab session; calibration on fewer windows
   * proved fragile for real typing (e2e). Range: ≥ the detector's own minimum (6).
   */
  readonly minEnrollWindows: number;
  /**
   * Session fusion of window confidences: half-life 3 windows, so that a change of person
   * shows within a few windows, keystrokes weighted above pointer movement.
   */
  readonly fusion: Readonly<FusionConfig>;
  /**
   * Template growth: after the first fit, enrolment goes on from windows of sessions the bank
   * vouched for whose fused confidence never fell below `safeLevel` (0.7: above the server's
   * default step-up threshold, 0.5, so a session that came near a step-up never teaches the
   * model); `refitEvery` such windows (10) are stored and the models refitted, up to
   * `maxEnrollWindows` (100) windows per modality. A session that dips stops contributing, and
   * its windows not yet stored are dropped.
   */
  readonly growth: Readonly<{ safeLevel: number; refitEvery: number; maxEnrollWindows: number }>;
}

/** What ships. */
export const PRODUCT: Readonly<ProductConfig> = Object.freeze({
  windows: Object.freeze({ ...DEFAULT_WINDOWER_CONFIG }),
  minEnrollWindows: 10,
  fusion: Object.freeze(resolveFusionConfig({ halfLifeWindows: 3 })),
  growth: Object.freeze({ safeLevel: 0.7, refitEvery: 10, maxEnrollWindows: 100 }),
});

/** A modality's per-user models. */
export interface ProductModels {
  readonly detector: UserModel;
  /** Absent without a shared encoder, or when the enrolment windows carried no step sequences. */
  readonly embedding?: EmbeddingUserModel;
}

/** The parts of a window the product scores (a `FeatureWindow`, or a stored one). */
export interface ScorableWindow {
  readonly vector: Float32Array;
  /** Step sequence and its length; absent for windows stored before step sequences existed. */
  readonly sequence?: Steps;
}

/** Options of {@link fitProductModels}: tests and evaluation seeds, never product behaviour. */
export interface FitOptions {
  /** Detector overrides (seed, epochs in tests). */
  readonly detector?: Partial<DetectorConfig>;
  /** Windows required before fitting; default {@link PRODUCT}`.minEnrollWindows`. */
  readonly minEnrollWindows?: number;
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
  const minEnrollWindows = options.minEnrollWindows ?? PRODUCT.minEnrollWindows;
  const detector = new UserModel(modality, { minEnrollWindows, ...options.detector });
  try {
    await detector.fit(windows.map((w) => w.vector));
  } catch (error) {
    detector.dispose();
    throw error;
  }
  const sequences = windows.flatMap((w) => (w.sequence === undefined ? [] : [w.sequence]));
  if (
    encoder === undefined ||
    encoder.modality !== modality ||
    sequences.length < minEnrollWindows
  ) {
    return { detector };
  }
  const embedding = new EmbeddingUserModel(encoder, { minEnrollWindows });
  try {
    embedding.fit(sequences);
  } catch (error) {
    // Too few sequences long enough to embed: the detector scores alone.
    if (error instanceof NotEnoughWindowsError) return { detector };
    detector.dispose();
    throw error;
  }
  return { detector, embedding };
}

/** A window's confidence in [0, 1]: the product's one per-window rule. */
export function productScore(models: ProductModels, w: ScorableWindow): number {
  const detector = models.detector.score(w.vector);
  const sequence = w.sequence;
  if (models.embedding === undefined || sequence === undefined || sequence.n < 2) return detector;
  return (detector + models.embedding.score(sequence)) / 2;
}

/** Frees the models' tensors. */
export function disposeProductModels(models: ProductModels): void {
  models.detector.dispose();
}
