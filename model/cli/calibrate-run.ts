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
import { fileURLToPath } from 'node:url';
import type { Modality } from '../features/schema';
import type { DetectorConfig } from '../detector/config';
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

/** The shipped calibration file. */
export const SHIPPED_CALIBRATION = fileURLToPath(
  new URL('../product/calibration.json', import.meta.url),
);

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
  /** Calibration file to update (default: the shipped one). */
  out: string;
}

/** Usage text. */
export const CALIBRATE_USAGE = `usage: npm run calibrate -- <keystroke|pointer> --data <dir> [--users N] [--offset K]
                            [--model <dir written by npm run train>] [--out calibration.json]
  keystroke  --data ../shared/datasets/pohmm          (fixed-text users)
  pointer    --data ../shared/datasets/sapimouse-dev`;

/** @throws {TypeError} with the reason, for anything wrong. */
export function parseCalibrateArgs(argv: readonly string[]): CalibrateArgs {
  const cl = parseCommandLine(argv, CALIBRATE_TASKS, ['data', 'users', 'offset', 'model', 'out']);
  return {
    task: cl.task,
    data: cl.required('data', '<dataset directory>'),
    users: cl.int('users', 2),
    offset: cl.int('offset', 0),
    model: cl.get('model'),
    out: cl.get('out') ?? SHIPPED_CALIBRATION,
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
  const { samples, enrolled } = await calibrationSamples(args.task, users, encoder, {
    ...(detector === undefined ? {} : { detector }),
    onProgress: (done, total) => {
      if (done % 10 === 0 || done === total) log(`  ${done}/${total} users`);
    },
  });
  const genuine = samples.filter((s) => s.genuine).length;
  const calibration = fitModalityCalibration(
    samples,
    `${source}; ${enrolled} enrolled; ${genuine} genuine and ${samples.length - genuine} impostor windows; encoder ${encoder?.modality === args.task ? (args.model ?? 'shipped') : 'none'}`,
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
  const path =
    args.model !== undefined
      ? join(args.model, 'encoder.json')
      : fileURLToPath(new URL(`../shared/default-${args.task}.json`, import.meta.url));
  return encoderFromJSON(readFileSync(path, 'utf8'));
}
