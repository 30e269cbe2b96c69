/**
 * Crops of step sequences, as encoder training and back-end fitting take them: a window of a
 * longer sequence whose first step is marked as a start, like the first step of a real window.
 *
 * @module
 */
import type { Modality } from '../features/schema';
import { KEY_STEP_FEATURES, POINTER_STEP_FEATURES } from '../features/sequence';
import type { Rng } from '../random';

/** A step sequence: `n` rows of the modality's step features, row-major. */
export interface CropSource {
  steps: Float32Array;
  n: number;
}

/** Step features per row of a modality (features/sequence.ts). */
const WIDTH: Record<Modality, number> = {
  keystroke: KEY_STEP_FEATURES.length,
  pointer: POINTER_STEP_FEATURES.length,
};
/** Where the `start` flag is; the features before it are the flights/movement into the step. */
const START: Record<Modality, number> = {
  keystroke: KEY_STEP_FEATURES.indexOf('start'),
  pointer: POINTER_STEP_FEATURES.indexOf('start'),
};

/**
 * Marks row `row` of `steps` as the start of a sequence in place: a crop's first step has no
 * flight or movement into it within the crop (keystroke: dd, ud, uu = 0, start = 1; pointer:
 * dx, dy, dt, log speed = 0, start = 1).
 */
export function markStart(modality: Modality, steps: Float32Array, row = 0): void {
  const o = row * WIDTH[modality];
  if (modality === 'keystroke') steps.fill(0, o + 1, o + 4);
  else steps.fill(0, o, o + 4);
  steps[o + START[modality]] = 1;
}

/** Rows `start … start + length − 1` of `seq` as a new sequence (first row marked as a start). */
export function cropSteps(
  modality: Modality,
  seq: CropSource,
  start: number,
  length: number,
): CropSource {
  const w = WIDTH[modality];
  if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 1 && start + length <= seq.n)) {
    throw new RangeError(`crop ${start}+${length} is outside a sequence of ${seq.n} steps`);
  }
  const steps = seq.steps.slice(start * w, (start + length) * w);
  if (start > 0) markStart(modality, steps);
  return { steps, n: length };
}

/**
 * A random crop's start and length: length uniform in [min(minLength, m), m] with
 * m = min(maxLength, n), start uniform over the positions where it fits.
 */
export function randomCrop(
  n: number,
  minLength: number,
  maxLength: number,
  rng: Rng,
): { start: number; length: number } {
  const maxLen = Math.min(maxLength, n);
  const minLen = Math.min(minLength, maxLen);
  const length = minLen + Math.floor(rng() * (maxLen - minLen + 1));
  const start = Math.floor(rng() * (n - length + 1));
  return { start, length };
}
