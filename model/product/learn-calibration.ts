/**
 * Learning the product's calibration (calibration.ts) from public users, the way the product
 * meets them: the product's windows, its enrolment amount and its per-user models. Used by
 * `npm run calibrate` (which writes `model/product/calibration.json`) and by the evaluation when
 * it calibrates on training users of a fold; never on the users a figure is reported for.
 *
 * Per user: the per-user models are fitted on the first {@link CALIBRATION_ENROL_WINDOWS}
 * windows of the user's recordings (in order); the user's remaining windows are genuine
 * samples; up to `impostorWindows` held-out windows of every other subject are impostor
 * samples. Each sample is scored with every component, and each component *set* the product can
 * meet is fitted on the same windows: the full set and every subset that keeps the detector
 * (a window without a usable step sequence, a model stored before a component existed).
 */
import type { RawEvent } from '../events/schema';
import type { Modality } from '../features/schema';
import { createWindower, type FeatureWindow } from '../features/windower';
import type { SharedEncoder } from '../shared/encoder';
import type { DetectorConfig } from '../detector/config';
import type { BlockProjection } from '../pointer/block-projection';
import { NotEnoughWindowsError } from '../errors';
import {
  type Component,
  type LabelledScores,
  type ModalityCalibration,
  type SetCalibration,
  fitSetCalibration,
  presentComponents,
  setKey,
} from './calibration';
import {
  PRODUCT,
  disposeProductModels,
  fitProductModels,
  productComponents,
  type ScorableWindow,
} from './scorer';

/** One public user: their recordings in order, and who they are. */
export interface CalibrationUser {
  userId: string;
  /** Folders of one subject (SapiMouse user35.1/.2) are never each other's impostors. */
  subject: string;
  /** Raw-event recordings in the order they were made (each through a fresh windower). */
  recordings: readonly (readonly RawEvent[])[];
}

/** Options of {@link calibrationSamples}. */
export interface CalibrationSampleOptions {
  /** Held-out windows of each other subject scored as impostors per enrolled user. Default 5. */
  impostorWindows?: number;
  /** Detector overrides (seed, epochs in tests). */
  detector?: Partial<DetectorConfig>;
  onProgress?: (done: number, total: number) => void;
}

/** A window as the product scorer reads it. */
export function scorableWindow(w: FeatureWindow): ScorableWindow {
  return {
    vector: w.vector,
    sequence: { steps: w.steps, n: w.stepCount },
    ...(w.block === undefined ? {} : { block: w.block }),
  };
}

/** The product's windows of `modality` in a user's recordings, in order. */
export function productWindows(
  recordings: readonly (readonly RawEvent[])[],
  modality: Modality,
): FeatureWindow[] {
  return recordings.flatMap((events) =>
    createWindower(PRODUCT.windows)
      .push(events)
      .filter((w) => w.modality === modality),
  );
}

/**
 * Enrolment windows of each calibration user: 10, not the product's keystroke enrolment (20,
 * {@link PRODUCT}`.minEnrollWindows`). The public users the product may learn from hold ≈ 20
 * keystroke windows each (pohmm fixed text: 4 × ~100 keys), so enrolling on 20 would leave no
 * genuine window to calibrate on. The calibration maps scores in units of the user's own
 * enrolment spread; the decision's budget is then tuned on validation users enrolled as the
 * product enrols (`npm run tune -- takeover`), which absorbs what the larger enrolment shifts.
 */
export const CALIBRATION_ENROL_WINDOWS = 10;

/** Labelled component scores of the users (users with too few windows are skipped). */
export async function calibrationSamples(
  modality: Modality,
  users: readonly CalibrationUser[],
  encoder: SharedEncoder | undefined,
  options: CalibrationSampleOptions & { blockProjection?: BlockProjection | null } = {},
): Promise<{ samples: LabelledScores[]; enrolled: number }> {
  const n = CALIBRATION_ENROL_WINDOWS;
  const k = options.impostorWindows ?? 5;
  const data = users.map((u) => {
    const windows = productWindows(u.recordings, modality).map(scorableWindow);
    return { subject: u.subject, enrol: windows.slice(0, n), held: windows.slice(n) };
  });
  const samples: LabelledScores[] = [];
  let enrolled = 0;
  for (let i = 0; i < data.length; i++) {
    const u = data[i]!;
    options.onProgress?.(i + 1, data.length);
    if (u.enrol.length < n || u.held.length === 0) continue;
    let models;
    try {
      models = await fitProductModels(modality, u.enrol, encoder, {
        minEnrollWindows: n,
        detector: options.detector,
        ...(options.blockProjection === undefined
          ? {}
          : { blockProjection: options.blockProjection }),
      });
    } catch (error) {
      if (error instanceof NotEnoughWindowsError) continue;
      throw error;
    }
    enrolled++;
    for (const w of u.held) samples.push({ scores: productComponents(models, w), genuine: true });
    for (const o of data) {
      if (o.subject === u.subject) continue;
      for (const w of o.held.slice(0, k)) {
        samples.push({ scores: productComponents(models, w), genuine: false });
      }
    }
    disposeProductModels(models);
  }
  return { samples, enrolled };
}

/**
 * Fits every component set present in the samples: the full set each sample carries, and every
 * smaller set the product falls back to (the detector alone), from the same windows.
 */
export function fitModalityCalibration(
  samples: readonly LabelledScores[],
  learnedOn: string,
  trainingFingerprints: readonly string[],
): ModalityCalibration {
  const sets = new Map<string, Component[]>();
  for (const s of samples) {
    const present = presentComponents(s.scores);
    // Every subset with the detector: the detector always scores, the others may be missing.
    const others = present.filter((c) => c !== 'detector');
    for (let mask = 0; mask < 1 << others.length; mask++) {
      const subset: Component[] = ['detector', ...others.filter((_, i) => mask & (1 << i))];
      sets.set(setKey(subset), subset);
    }
  }
  const fitted: SetCalibration[] = [...sets.values()].map((components) =>
    fitSetCalibration(components, samples),
  );
  return { sets: fitted, learnedOn, trainingFingerprints: [...trainingFingerprints].sort() };
}
