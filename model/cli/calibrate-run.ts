/**
 * The calibration CLI's work (Node): `npm run calibrate -- <keystroke|pointer> --data <dir>`
 * learns the product scorer's window calibration (model/product/calibration.ts) on the given
 * public users — the product's windows, enrolment amount and per-user models, with the shipped
 * shared encoder or a trained one (`--model`) — and writes it into the calibration file (the
 * other modality's entry is kept). The shipped file is learned on data we may ship from
 * (pohmm fixed text for keystrokes, SapiMouse for the pointer; see model/shared/README.md).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Modality } from '../features/schema';
import type { DetectorConfig } from '../detector/config';
import {
  BlockProjection,
  DEFAULT_BLOCK_PROJECTION_CONFIG,
  learnBlockProjection,
} from '../pointer/block-projection';
import { blockClassesOf } from '../pointer/block-classes';
import { PRODUCT } from '../product/scorer';
import type { LabelledScores } from '../product/calibration';
import {
  type CalibrationFile,
  type ModalityCalibration,
  parseCalibrationFile,
} from '../product/calibration';
import {
  type CalibrationUser,
  calibrationSamples,
  fitModalityCalibration,
} from '../product/learn-calibration';
import { type SharedEncoder, encoderFromJSON } from '../shared/encoder';
import { parseCommandLine } from './args';
import { loadPohmm, loadSapiMouse } from './load-datasets';
import { userFingerprint } from './training-identity';
import { SHIPPED_CALIBRATION_PATH, shippedEncoder } from './product-eval';

/** Modalities `npm run calibrate` learns. */
export const CALIBRATE_TASKS = ['keystroke', 'pointer'] as const;

/** Parsed command line. */
export interface CalibrateArgs {
  task: Modality;
  /** pohmm directory (keystroke: its fixed text) or a SapiMouse directory (pointer). */
  data: string;
  users?: number;
  offset?: number;
  /** Directory written by `npm run train`: calibrate with its encoder instead of the shipped one. */
  model?: string;
  /** Block projection file (model/cli/block-train.ts) instead of the shipped one. */
  blockProjection?: string;
  /** Calibration file to update (default: the shipped one). */
  out: string;
}

/** Usage text. */
export const CALIBRATE_USAGE = `usage: npm run calibrate -- <keystroke|pointer> --data <dir> [--users N] [--offset K]
                            [--model <dir written by npm run train>] [--out calibration.json]
                            [--block-projection <file from model/cli/block-train.ts>]
  keystroke  --data ../shared/datasets/pohmm          (fixed-text users)
  pointer    --data ../shared/datasets/sapimouse-dev`;

/** @throws {TypeError} with the reason, for anything wrong. */
export function parseCalibrateArgs(argv: readonly string[]): CalibrateArgs {
  const cl = parseCommandLine(argv, CALIBRATE_TASKS, [
    'data',
    'users',
    'offset',
    'model',
    'out',
    'block-projection',
  ]);
  return {
    task: cl.task,
    data: cl.required('data', '<dataset directory>'),
    users: cl.int('users', 2),
    offset: cl.int('offset', 0),
    model: cl.get('model'),
    blockProjection: cl.get('block-projection'),
    out: cl.get('out') ?? SHIPPED_CALIBRATION_PATH,
  };
}

/** The users of a calibration run, with their data fingerprints. */
export function loadCalibrationUsers(args: CalibrateArgs): {
  users: CalibrationUser[];
  fingerprints: string[];
  source: string;
} {
  const slice = <T>(all: T[]): T[] =>
    all.slice(
      args.offset ?? 0,
      args.users === undefined ? undefined : (args.offset ?? 0) + args.users,
    );
  if (args.task === 'keystroke') {
    const users = slice(loadPohmm(args.data).fixedText.users);
    return {
      users: users.map((u) => ({ userId: u.userId, subject: u.userId, recordings: u.sequences })),
      fingerprints: users.map((u) => userFingerprint(u.sequences[0] ?? [])),
      source: `pohmm fixed text (${basename(resolve(args.data))}), ${users.length} users`,
    };
  }
  const users = slice(loadSapiMouse(args.data));
  return {
    users: users.map((u) => ({
      userId: u.userId,
      subject: u.subject,
      recordings: [u.session3min, u.session1min],
    })),
    fingerprints: users.map((u) => userFingerprint(u.session3min)),
    source: `SapiMouse (${basename(resolve(args.data))}) users ${users[0]?.userId ?? ''}–${users[users.length - 1]?.userId ?? ''}`,
  };
}

/** Learns one modality's calibration and writes it into `args.out`. */
export async function runCalibrate(
  args: CalibrateArgs,
  encoder: SharedEncoder | undefined,
  log: (line: string) => void = () => {},
  /** Detector overrides: tests only (fewer epochs). */
  detector?: Partial<DetectorConfig>,
): Promise<{ file: CalibrationFile; calibration: ModalityCalibration; samples: number }> {
  const { users, fingerprints, source } = loadCalibrationUsers(args);
  const onProgress = (done: number, total: number): void => {
    if (done % 10 === 0 || done === total) log(`  ${done}/${total} users`);
  };
  let samples: LabelledScores[];
  let enrolled: number;
  if (args.task === 'pointer' && args.blockProjection === undefined) {
    // Cross-fitted: the shipped projection was learned on these very users, where the block
    // scorer is at its best; its weight is learned on each half with a projection learned on
    // the other half, as it will meet users it never saw.
    const half = Math.ceil(users.length / 2);
    const folds = [users.slice(0, half), users.slice(half)];
    samples = [];
    enrolled = 0;
    for (const [k, fold] of folds.entries()) {
      const other = folds[1 - k]!;
      log(
        `  cross-fit ${k + 1}/2: projection on ${other.length} users, calibration on ${fold.length}`,
      );
      const classes = blockClassesOf(other, PRODUCT.windows.pointerEventsPerWindow);
      // LDA has at most classes − 1 directions (only a tiny run has fewer users than dimensions).
      const dimensions = Math.min(DEFAULT_BLOCK_PROJECTION_CONFIG.dimensions, classes.length - 1);
      const projection = learnBlockProjection(
        classes,
        { eventsPerBlock: PRODUCT.windows.pointerEventsPerWindow, notes: 'calibration cross-fit' },
        { dimensions },
      );
      const part = await calibrationSamples(args.task, fold, encoder, {
        blockProjection: projection,
        ...(detector === undefined ? {} : { detector }),
        onProgress,
      });
      samples.push(...part.samples);
      enrolled += part.enrolled;
    }
  } else {
    ({ samples, enrolled } = await calibrationSamples(args.task, users, encoder, {
      ...(args.blockProjection === undefined
        ? {}
        : {
            blockProjection: BlockProjection.fromJSON(
              JSON.parse(readFileSync(args.blockProjection, 'utf8')),
            ),
          }),
      ...(detector === undefined ? {} : { detector }),
      onProgress,
    }));
  }
  const genuine = samples.filter((s) => s.genuine).length;
  const calibration = fitModalityCalibration(
    samples,
    `${source}; ${enrolled} enrolled; ${genuine} genuine and ${samples.length - genuine} impostor windows; encoder ${encoder?.modality === args.task ? (args.model ?? 'shipped') : 'none'}${args.task === 'pointer' ? `; block projection ${args.blockProjection ?? 'cross-fitted on halves of these users'}` : ''}`,
    fingerprints,
  );
  const file: CalibrationFile = existsSync(args.out)
    ? parseCalibrationFile(JSON.parse(readFileSync(args.out, 'utf8')))
    : { version: 1, clamp: 3, modalities: {} };
  file.modalities[args.task] = calibration;
  writeFileSync(args.out, `${JSON.stringify(file, null, 2)}\n`);
  return { file, calibration, samples: samples.length };
}

/** The encoder a calibration run uses: `--model`'s, else the shipped one. */
export function calibrationEncoder(args: CalibrateArgs): SharedEncoder {
  return args.model !== undefined
    ? encoderFromJSON(readFileSync(join(args.model, 'encoder.json'), 'utf8'))
    : shippedEncoder(args.task);
}
