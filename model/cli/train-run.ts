/**
 * The training CLI's work (Node): `npm run train -- <task> --data <dir> --out <model-dir>`
 * trains a shared encoder (model/shared) on a directory of users and writes
 * `<model-dir>/encoder.json` (the weights, with provenance) and `<model-dir>/training.json`
 * (configuration, per-epoch history, and the ids of every training user, so that evaluation can
 * refuse to test on them). Training sequences come from the product's own feature code: the
 * windower (pointer blocks) and `keystrokeSteps(pairKeyPresses(...))` (keystroke sequences).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Modality } from '../features/schema';
import { encoderToJSON } from '../shared/encoder';
import {
  type EncoderTrainConfig,
  type StepSequence,
  type TrainingUser,
  trainEncoder,
} from '../shared/train';
import { keySequence, pointerBlocks } from '../eval/encoder-protocols';
import { parseCommandLine } from './args';
import { loadAalto, loadSapiMouse } from './load-datasets';
import { loadPohmmUsers, splitSequence } from './public-users';
import { readTrainConfigFile } from './train-config-file';
import { userFingerprint } from './training-identity';

/** Training tasks: which data, which modality. */
export const TRAIN_TASKS = ['keystroke-aalto', 'keystroke-pohmm', 'mouse-sapimouse'] as const;
/** One of {@link TRAIN_TASKS}. */
export type TrainTask = (typeof TRAIN_TASKS)[number];

/** Events per pointer block, the SapiMouse protocol's block size. */
export const POINTER_BLOCK_EVENTS = 128;

/** Parsed command line of `npm run train`. */
export interface TrainArgs {
  task: TrainTask;
  data: string;
  out: string;
  users?: number;
  offset?: number;
  epochs?: number;
  backend: 'wasm' | 'cpu';
  seed?: number;
  /** Settings of `--config <file>` (a tune report's `chosen`, or a bare config); `--epochs`/`--seed` win. */
  config?: Partial<EncoderTrainConfig>;
  /**
   * Training settings given on the command line (`--back-end`, `--back-end-shrinkage`,
   * `--crops-per-user`, `--schedule`); they win over `--config`.
   */
  overrides?: Partial<EncoderTrainConfig>;
}

/** Usage text. */
export const TRAIN_USAGE = `usage: npm run train -- <task> --data <dir> --out <model-dir> [--users N] [--offset K]
                        [--epochs E] [--seed S] [--backend wasm|cpu] [--config tuned.json]
                        [--back-end none|whiten|lda] [--back-end-shrinkage A]
                        [--crops-per-user K] [--schedule step|cosine]
  --backend     the TensorFlow.js backend that trains (wasm or cpu)
  --back-end    the scoring back-end fitted on the training users' embeddings and stored
                with the encoder (docs/model.md §9; default none)
tasks: ${TRAIN_TASKS.join(', ')}
  keystroke-aalto   --data ../shared/datasets/aalto-dev   (non-commercial licence: measurement only)
  keystroke-pohmm   --data ../shared/datasets/pohmm       (BSD-3-Clause: may be shipped)
  mouse-sapimouse   --data ../shared/datasets/sapimouse-dev (MIT: may be shipped)`;

/** @throws {TypeError} with a usage hint for anything wrong. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const cl = parseCommandLine(argv, TRAIN_TASKS, [
    'data',
    'out',
    'users',
    'offset',
    'epochs',
    'backend',
    'seed',
    'config',
    'back-end',
    'back-end-shrinkage',
    'crops-per-user',
    'schedule',
  ]);
  const int = cl.int;
  const args: TrainArgs = {
    task: cl.task,
    data: cl.required('data', '<dir>'),
    out: cl.required('out', '<model-dir>'),
    backend: cl.backend(),
  };
  const users = int('users', 2);
  if (users !== undefined) args.users = users;
  const offset = int('offset', 0);
  if (offset !== undefined) args.offset = offset;
  const epochs = int('epochs', 1);
  if (epochs !== undefined) args.epochs = epochs;
  const seed = int('seed', 0);
  if (seed !== undefined) args.seed = seed;
  const configFile = cl.get('config');
  if (configFile !== undefined) args.config = readTrainConfigFile(configFile);
  const overrides: Partial<EncoderTrainConfig> = {};
  const backEnd = cl.get('back-end');
  if (backEnd !== undefined) {
    if (backEnd !== 'none' && backEnd !== 'whiten' && backEnd !== 'lda') {
      throw new TypeError(`--back-end must be none, whiten or lda, got ${backEnd}`);
    }
    overrides.backEnd = backEnd;
  }
  const shrinkage = cl.get('back-end-shrinkage');
  if (shrinkage !== undefined) {
    const a = Number(shrinkage);
    if (!(a >= 0 && a <= 1))
      throw new TypeError(`--back-end-shrinkage must be in [0, 1], got ${shrinkage}`);
    overrides.backEndShrinkage = a;
  }
  const crops = int('crops-per-user', 1, 16);
  if (crops !== undefined) overrides.cropsPerUser = crops;
  const schedule = cl.get('schedule');
  if (schedule !== undefined) {
    if (schedule !== 'step' && schedule !== 'cosine') {
      throw new TypeError(`--schedule must be step or cosine, got ${schedule}`);
    }
    overrides.schedule = schedule;
  }
  if (Object.keys(overrides).length > 0) args.overrides = overrides;
  return args;
}

/** What a task trains on. */
export interface TrainingData {
  modality: Modality;
  users: TrainingUser[];
  /** Each training user's data fingerprint (training-identity.ts); a SapiMouse subject has one per folder. */
  fingerprints: string[];
  dataset: string;
  licence: string;
  /** Crop lengths suited to the task's sequences. */
  config: Partial<EncoderTrainConfig>;
}

/** Loads a task's training users (the `--offset`/`--users` slice). */
export function loadTrainingData(
  args: Pick<TrainArgs, 'task' | 'data' | 'users' | 'offset'>,
): TrainingData {
  const from = args.offset ?? 0;
  const slice = <T>(list: readonly T[]): T[] =>
    list.slice(from, args.users === undefined ? undefined : from + args.users);
  if (args.task === 'keystroke-aalto') {
    const users = loadAalto(args.data, {
      offset: from,
      ...(args.users === undefined ? {} : { limit: args.users }),
    });
    return {
      modality: 'keystroke',
      dataset: 'Aalto 136M keystrokes (Dhakal et al., CHI 2018)',
      licence: 'non-commercial research use with attribution: not for shipping',
      users: users.map((u) => ({
        userId: `aalto:${u.userId}`,
        sequences: u.sequences.map(keySequence),
      })),
      fingerprints: users.map((u) => userFingerprint(u.sequences[0] ?? [])),
      config: { minLength: 10, maxLength: 50 },
    };
  }
  if (args.task === 'keystroke-pohmm') {
    const { users, fingerprints } = loadPohmmUsers(args.data, {
      offset: from,
      ...(args.users === undefined ? {} : { users: args.users }),
    });
    return {
      modality: 'keystroke',
      dataset: 'pohmm keystroke (CMU keypad, fixed text; Monaco & Tappert 2018)',
      licence: 'BSD-3-Clause',
      users,
      fingerprints,
      config: { minLength: 10, maxLength: 50 },
    };
  }
  // Folders of the same subject (user35.1 / .2) are one training class.
  const bySubject = new Map<string, StepSequence[]>();
  const folders = slice(loadSapiMouse(args.data));
  for (const u of folders) {
    const list = bySubject.get(u.subject) ?? [];
    list.push(...pointerBlocks(u.session3min), ...pointerBlocks(u.session1min));
    bySubject.set(u.subject, list);
  }
  return {
    modality: 'pointer',
    dataset: 'SapiMouse (Antal et al., SACI 2021)',
    licence: 'MIT',
    users: [...bySubject].map(([subject, sequences]) => ({
      userId: `sapimouse:${subject}`,
      sequences,
    })),
    fingerprints: folders.map((u) => userFingerprint(u.session3min)),
    config: { minLength: 32, maxLength: POINTER_BLOCK_EVENTS },
  };
}

/** The pohmm loader's cut of long sequences (`public-users.ts`), re-exported. */
export { splitSequence };

/** Options of {@link runTrain} the command line does not expose. */
export interface TrainRunOptions {
  config?: Partial<EncoderTrainConfig>;
  log?: (line: string) => void;
  backendName?: string;
}

/** Trains and writes `encoder.json` and `training.json` into `args.out`. */
export async function runTrain(
  args: TrainArgs,
  options: TrainRunOptions = {},
): Promise<{ encoderPath: string; summary: Record<string, unknown> }> {
  const log = options.log ?? ((): void => undefined);
  const started = performance.now();
  const data = loadTrainingData(args);
  const sequences = data.users.reduce((s, u) => s + u.sequences.length, 0);
  log(
    `${args.task}: ${data.users.length} training users, ${sequences} sequences (${((performance.now() - started) / 1000).toFixed(1)} s to load)`,
  );
  const config: Partial<EncoderTrainConfig> = {
    ...data.config,
    ...args.config,
    ...args.overrides,
    ...(args.epochs === undefined ? {} : { epochs: args.epochs }),
    ...(args.seed === undefined ? {} : { seed: args.seed }),
    ...options.config,
  };
  const t0 = performance.now();
  const { encoder, history } = await trainEncoder(
    data.modality,
    data.users,
    config,
    {
      dataset: data.dataset,
      licence: data.licence,
      task: args.task,
      notes: `backend ${options.backendName ?? 'unknown'}`,
    },
    (r) =>
      log(
        `  epoch ${r.epoch}: loss ${r.loss.toFixed(3)}, train top-1 ${(100 * r.trainAccuracy).toFixed(1)} %, ${r.seconds.toFixed(1)} s`,
      ),
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  mkdirSync(args.out, { recursive: true });
  const encoderPath = join(args.out, 'encoder.json');
  writeFileSync(encoderPath, `${JSON.stringify(encoderToJSON(encoder))}\n`);
  const summary = {
    task: args.task,
    modality: data.modality,
    dataset: data.dataset,
    licence: data.licence,
    data: args.data,
    offset: args.offset ?? 0,
    users: data.users.length,
    sequences,
    config,
    backend: options.backendName ?? 'unknown',
    backEnd:
      encoder.backEnd === undefined
        ? null
        : {
            method: encoder.backEnd.method,
            outputs: encoder.backEnd.outputs,
            shrinkage: encoder.backEnd.shrinkage,
            users: encoder.backEnd.users,
            samples: encoder.backEnd.samples,
          },
    trainSeconds: Math.round(trainSeconds * 10) / 10,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    history,
    trainingUsers: data.users.map((u) => u.userId),
    // What eval checks: the users' data, not their folder names (training-identity.ts).
    trainingFingerprints: data.fingerprints,
  };
  writeFileSync(join(args.out, 'training.json'), `${JSON.stringify(summary, null, 1)}\n`);
  return { encoderPath, summary };
}
