/**
 * Hyperparameter search of the shared encoder (pure parts; the CLI is `npm run tune`,
 * `model/cli/tune-run.ts`): the named grids, the size of a candidate model, the mean ± std of
 * validation EERs over folds, and the choice of the best candidate.
 *
 * The grids are deliberately tiny (2–4 candidates): every candidate costs K encoder trainings
 * on 2 shared CPU cores, and a wide search over a few hundred users would mostly fit noise.
 */
import type { Modality } from '../features/schema';
import { stepFeatureNames } from '../shared/encoder';
import type { EncoderTrainConfig } from '../shared/train';

/** One point of a grid. */
export interface TuneCandidate {
  /** Short name used in reports (`e32-m0.1`). */
  name: string;
  /** Overrides of the encoder's training config (the task's crop lengths stay as they are). */
  overrides: Partial<EncoderTrainConfig>;
  /** Epochs = round(base epochs × this), at least 1. Default 1. Range (0, 10]. */
  epochsScale?: number;
}

/** A named grid. */
export interface TuneGrid {
  name: string;
  /** What it searches, for the report. */
  description: string;
  candidates: readonly TuneCandidate[];
}

/**
 * The named grids of `npm run tune -- --grid <name>`:
 * - `default` (4): embedding 32 or 48 × CosFace margin 0.1 or 0.2, base epochs.
 * - `epochs` (2): the default encoder trained for ½ or all of the base epochs.
 * - `smoke` (2): embedding 32 or 48 only (quick checks and tests).
 *
 * The base epochs are `--epochs` (else the training default, 300).
 */
export const TUNE_GRIDS: Readonly<Record<string, TuneGrid>> = Object.freeze({
  default: {
    name: 'default',
    description: 'embedding 32 | 48 × CosFace margin 0.1 | 0.2, base epochs',
    candidates: [
      { name: 'e32-m0.1', overrides: { embedding: 32, margin: 0.1 } },
      { name: 'e32-m0.2', overrides: { embedding: 32, margin: 0.2 } },
      { name: 'e48-m0.1', overrides: { embedding: 48, margin: 0.1 } },
      { name: 'e48-m0.2', overrides: { embedding: 48, margin: 0.2 } },
    ],
  },
  epochs: {
    name: 'epochs',
    description: 'default encoder, ½ or all of the base epochs',
    candidates: [
      { name: 'epochs×0.5', overrides: {}, epochsScale: 0.5 },
      { name: 'epochs×1', overrides: {}, epochsScale: 1 },
    ],
  },
  smoke: {
    name: 'smoke',
    description: 'embedding 32 | 48 (quick checks)',
    candidates: [
      { name: 'e32', overrides: { embedding: 32 } },
      { name: 'e48', overrides: { embedding: 48 } },
    ],
  },
});

/** Epochs of a candidate for a base number of epochs: round(base × scale), at least 1. */
export function candidateEpochs(candidate: TuneCandidate, baseEpochs: number): number {
  const scale = candidate.epochsScale ?? 1;
  if (!(scale > 0 && scale <= 10))
    throw new RangeError(`epochsScale must be in (0, 10], got ${scale}`);
  return Math.max(1, Math.round(baseEpochs * scale));
}

/**
 * Weights of the shipped encoder for a config: convolutions and the dense layer (the CosFace
 * centres exist only during training and are not counted).
 */
export function encoderParameterCount(
  modality: Modality,
  config: Pick<EncoderTrainConfig, 'convs' | 'embedding'>,
): number {
  let inputs = stepFeatureNames(modality).length;
  let n = 0;
  for (const l of config.convs) {
    n += l.kernel * inputs * l.units + l.units;
    inputs = l.units;
  }
  return n + 2 * inputs * config.embedding + config.embedding;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value) of fold figures. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) throw new RangeError('meanStd needs at least one value');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return { mean, std: 0 };
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (values.length - 1)) };
}

/** What {@link pickBest} compares. */
export interface CandidateScore {
  name: string;
  /** Mean validation EER over the folds. */
  meanEer: number;
  /** Weights of the encoder ({@link encoderParameterCount}). */
  parameters: number;
  /** Training epochs. */
  epochs: number;
}

/** Mean EERs closer than this are a tie. */
export const EER_TIE = 1e-9;

/**
 * The candidate with the lowest mean validation EER; ties (within {@link EER_TIE}) go to the
 * smaller model (fewer parameters), then to fewer epochs, then to the earlier one in the grid.
 * @throws {RangeError} on an empty list or a non-finite mean.
 */
export function pickBest<C extends CandidateScore>(candidates: readonly C[]): C {
  if (candidates.length === 0) throw new RangeError('no candidate to pick from');
  for (const c of candidates)
    if (!Number.isFinite(c.meanEer))
      throw new RangeError(`candidate ${c.name} has mean EER ${c.meanEer}`);
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) {
    const d = c.meanEer - best.meanEer;
    if (d < -EER_TIE) best = c;
    else if (
      Math.abs(d) <= EER_TIE &&
      (c.parameters < best.parameters ||
        (c.parameters === best.parameters && c.epochs < best.epochs))
    )
      best = c;
  }
  return best;
}
