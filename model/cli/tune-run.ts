/**
 * The tuning CLI's work (Node): `npm run tune -- <task> --data <dir> --out <report.json>`
 * chooses the shared encoder's hyperparameters by K-fold cross-validation **by user** on the
 * training users (the `--offset`/`--users` slice), and writes a JSON report whose `chosen`
 * field `npm run train -- ... --config <report.json>` reads.
 *
 * Per grid candidate and fold: train the encoder (`trainEncoder`, the same training users and
 * step sequences as `npm run train`, via `loadTrainingData`) on the other K − 1 folds, then score
 * the held-out fold's users with the task's encoder protocol (`model/eval/encoder-protocols.ts`).
 * The held-out users are asserted to be disjoint from the fold's training users. Test users
 * (another directory or slice) are never loaded: tuning sees the training slice only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  keystrokeAaltoEncoderProtocol,
  keystrokeFixedEncoderProtocol,
  mouseSapiMouseEncoderProtocol,
} from '../eval/encoder-protocols';
import { assertDisjoint, assignFolds, foldSplit } from '../eval/folds';
import { distribution, eer } from '../eval/metrics';
import type { FixedTextSet, KeystrokeProtocolUser, MouseProtocolUser } from '../eval/protocols';
import {
  TUNE_GRIDS,
  type TuneCandidate,
  candidateEpochs,
  encoderParameterCount,
  meanStd,
  pickBest,
} from '../eval/tuning';
import type { SharedEncoder } from '../shared/encoder';
import {
  DEFAULT_ENCODER_TRAIN_CONFIG,
  type EncoderTrainConfig,
  resolveEncoderTrainConfig,
  trainEncoder,
} from '../shared/train';
import { parseCommandLine } from './args';
import { loadAalto, loadPohmm, loadSapiMouse } from './load-datasets';
import { TRAIN_TASKS, type TrainTask, type TrainingData, loadTrainingData } from './train-run';

/** Parsed command line of `npm run tune`. */
export interface TuneArgs {
  task: TrainTask;
  /** Directory of the training users (never the test users). */
  data: string;
  /** JSON report path. */
  out: string;
  /** Folds K, 2–20. Default 3. */
  folds: number;
  users?: number;
  offset?: number;
  /** Base epochs of the grid (candidates may scale it). Default: the training default, 300. */
  epochs?: number;
  /** Grid name, a key of `TUNE_GRIDS`. Default `default`. */
  grid: string;
  /** Seed of the fold shuffle, the encoder training and the protocols' draws. Default 1. */
  seed: number;
  backend: 'wasm' | 'cpu';
}

/** Usage text. */
export const TUNE_USAGE = `usage: npm run tune -- <task> --data <dir> --out <report.json> [--folds K] [--users N]
                       [--offset K] [--epochs E] [--grid ${Object.keys(TUNE_GRIDS).join('|')}]
                       [--seed S] [--backend wasm|cpu]
tasks: ${TRAIN_TASKS.join(', ')}
Tunes on the training users only (the --offset/--users slice of --data); then
  npm run train -- <task> --data <dir> --out <model-dir> --config <report.json>`;

/** @throws {TypeError} with a usage hint for anything wrong. */
export function parseTuneArgs(argv: readonly string[]): TuneArgs {
  const cl = parseCommandLine(argv, TRAIN_TASKS, [
    'data',
    'out',
    'folds',
    'users',
    'offset',
    'epochs',
    'grid',
    'seed',
    'backend',
  ]);
  const int = cl.int;
  const data = cl.required('data', '<dir>');
  const out = cl.required('out', '<report.json>');
  const grid = cl.get('grid') ?? 'default';
  if (!Object.hasOwn(TUNE_GRIDS, grid))
    throw new TypeError(`unknown --grid ${grid} (${Object.keys(TUNE_GRIDS).join(', ')})`);
  const args: TuneArgs = {
    task: cl.task,
    data,
    out,
    folds: int('folds', 2, 20) ?? 3,
    grid,
    seed: int('seed', 0, 2 ** 32 - 1) ?? 1,
    backend: cl.backend(),
  };
  const users = int('users', 2);
  if (users !== undefined) args.users = users;
  const offset = int('offset', 0);
  if (offset !== undefined) args.offset = offset;
  const epochs = int('epochs', 1, 10000);
  if (epochs !== undefined) args.epochs = epochs;
  return args;
}

/** One fold of one candidate. */
export interface TuneFoldResult {
  fold: number;
  /** Users the fold's encoder was trained on. */
  trainUsers: number;
  /** Held-out users scored, after the protocol's own skips (SapiMouse: folders). */
  validationUsers: number;
  /** The validation figure the search minimises (see {@link TuneReport.metric}). */
  validationEer: number;
  /** Global EER of the pooled scores. */
  globalEer: number;
  /** Mean per-user EER. */
  perUserEerMean: number;
  genuine: number;
  impostor: number;
  /** Training loss of the last epoch. */
  finalLoss: number;
  trainSeconds: number;
}

/** One candidate's cross-validated result. */
export interface TuneCandidateResult {
  name: string;
  /** The training overrides it used (task crops excluded: `npm run train` adds them). */
  config: Partial<EncoderTrainConfig>;
  epochs: number;
  /** Encoder weights (convolutions + dense). */
  parameters: number;
  /** Mean and sample std of `validationEer` over the folds. */
  meanEer: number;
  stdEer: number;
  folds: TuneFoldResult[];
}

/** The JSON written by `npm run tune`. */
export interface TuneReport {
  format: 'tacit-tune-report';
  version: 1;
  task: TrainTask;
  /** What the validation EER is for this task. */
  metric: string;
  grid: { name: string; description: string; candidates: TuneCandidate[]; baseEpochs: number };
  /** Fold assignment by user: training-user ids (as in `training.json`) per fold. */
  folds: { k: number; stratifiedBy: string; assignment: string[][] };
  candidates: TuneCandidateResult[];
  /** Name of the best candidate (lowest mean validation EER; ties → smaller model). */
  best: string;
  /** The best candidate's training overrides: what `npm run train -- --config` reads. */
  chosen: Partial<EncoderTrainConfig>;
  seeds: { folds: number; training: number; protocol: number };
  data: {
    dir: string;
    offset: number;
    users: number;
    dataset: string;
    licence: string;
    note: string;
  };
  run: { backend: string; loadSeconds: number; wallSeconds: number; date: string };
}

/** Options of {@link runTune} the command line does not expose. */
export interface TuneRunOptions {
  /** Extra training overrides for every candidate (tests: a smaller batch). Kept in `chosen`. */
  config?: Partial<EncoderTrainConfig>;
  log?: (line: string) => void;
  backendName?: string;
}

/** Raw users of the slice for the task's encoder protocol, keyed by training-user id. */
type ProtocolUsers =
  | { kind: 'aalto'; users: Map<string, KeystrokeProtocolUser> }
  | { kind: 'sapimouse'; users: Map<string, MouseProtocolUser[]> }
  | {
      kind: 'pohmm';
      users: Map<string, { set: 'keypad' | 'fixedText'; user: KeystrokeProtocolUser }>;
    };

/** The same slice as `loadTrainingData`, as protocol users (raw events), by training-user id. */
function loadProtocolUsers(args: TuneArgs): ProtocolUsers {
  const from = args.offset ?? 0;
  const slice = <T>(list: readonly T[]): T[] =>
    list.slice(from, args.users === undefined ? undefined : from + args.users);
  if (args.task === 'keystroke-aalto') {
    const users = loadAalto(args.data, {
      offset: from,
      ...(args.users === undefined ? {} : { limit: args.users }),
    });
    return {
      kind: 'aalto',
      users: new Map(
        users.map((u) => [`aalto:${u.userId}`, { userId: u.userId, sequences: u.sequences }]),
      ),
    };
  }
  if (args.task === 'mouse-sapimouse') {
    const users = new Map<string, MouseProtocolUser[]>();
    for (const u of slice(loadSapiMouse(args.data))) {
      const id = `sapimouse:${u.subject}`;
      users.set(id, [
        ...(users.get(id) ?? []),
        {
          userId: u.userId,
          subject: u.subject,
          session3min: u.session3min,
          session1min: u.session1min,
        },
      ]);
    }
    return { kind: 'sapimouse', users };
  }
  const { keypad, fixedText } = loadPohmm(args.data);
  const users = new Map<string, { set: 'keypad' | 'fixedText'; user: KeystrokeProtocolUser }>();
  for (const u of slice(keypad.users)) users.set(`keypad:${u.userId}`, { set: 'keypad', user: u });
  for (const u of slice(fixedText.users))
    users.set(`fixed:${u.userId}`, { set: 'fixedText', user: u });
  return { kind: 'pohmm', users };
}

/** What the search minimises, per task. */
const METRIC: Record<TrainTask, string> = {
  'keystroke-aalto':
    'mean per-user EER of the TypeNet protocol (G = 5, M = 50) on the held-out users',
  'mouse-sapimouse': 'global EER of 3-block scores (SapiMouse protocol) on the held-out users',
  'keystroke-pohmm':
    'global EER of keypad and fixed-text leave-one-sample-out scores, pooled, on the held-out users',
};

/** The protocols' continuous part trains per-user detectors; tuning ignores it, so keep it cheap. */
const CHEAP_CONTINUOUS = { detector: { epochs: 1 }, continuous: { impostorsPerUser: 0 } };

/**
 * Scores the held-out users with the task's encoder protocol. Asserts (again, on the ids actually
 * passed to the protocol) that none of them trained `encoder`.
 */
async function validate(
  encoder: SharedEncoder,
  protocolUsers: ProtocolUsers,
  validationIds: readonly string[],
  trainedIds: readonly string[],
  seed: number,
): Promise<Omit<TuneFoldResult, 'fold' | 'trainUsers' | 'finalLoss' | 'trainSeconds'>> {
  const present = validationIds.filter((id) => protocolUsers.users.has(id));
  assertDisjoint(trainedIds, present);
  const figures = (
    genuine: readonly number[],
    impostor: readonly number[],
    perUser: readonly { eer: number }[],
    validationEer: 'global' | 'perUser',
  ) => {
    if (genuine.length === 0 || impostor.length === 0 || perUser.length === 0) {
      throw new RangeError(
        `a held-out fold gave ${genuine.length} genuine and ${impostor.length} impostor scores: use fewer folds or more users`,
      );
    }
    const globalEer = eer(genuine, impostor);
    const perUserEerMean = distribution(perUser.map((u) => u.eer)).mean;
    return {
      validationUsers: perUser.length,
      validationEer: validationEer === 'global' ? globalEer : perUserEerMean,
      globalEer,
      perUserEerMean,
      genuine: genuine.length,
      impostor: impostor.length,
    };
  };
  if (protocolUsers.kind === 'aalto') {
    const users = present.map((id) => protocolUsers.users.get(id)!);
    const r = await keystrokeAaltoEncoderProtocol(encoder, users, { seed, ...CHEAP_CONTINUOUS });
    return figures(r.genuine, r.impostor, r.perUser, 'perUser');
  }
  if (protocolUsers.kind === 'sapimouse') {
    const users = present.flatMap((id) => protocolUsers.users.get(id)!);
    const r = await mouseSapiMouseEncoderProtocol(encoder, users, { seed, ...CHEAP_CONTINUOUS });
    const three = r.byBlocks['3']!;
    return figures(three.genuine, three.impostor, three.perUser, 'global');
  }
  const sets: FixedTextSet[] = [
    { name: 'keypad', keysPerWindow: 11, users: [] },
    { name: 'fixedText', keysPerWindow: 20, users: [] },
  ];
  for (const id of present) {
    const u = protocolUsers.users.get(id)!;
    (sets[u.set === 'keypad' ? 0 : 1]!.users as KeystrokeProtocolUser[]).push(u.user);
  }
  const r = keystrokeFixedEncoderProtocol(encoder, sets, { seed });
  return figures(r.genuine, r.impostor, r.perUser, 'global');
}

/**
 * Cross-validates every candidate of the grid on the training slice and returns the report
 * (writes nothing: see {@link writeTuneReport}). Uses the current tfjs backend.
 */
export async function runTune(args: TuneArgs, options: TuneRunOptions = {}): Promise<TuneReport> {
  const log = options.log ?? ((): void => undefined);
  const started = performance.now();
  const grid = TUNE_GRIDS[args.grid];
  if (grid === undefined) throw new TypeError(`unknown grid ${args.grid}`);
  const data: TrainingData = loadTrainingData(args);
  const protocolUsers = loadProtocolUsers(args);
  const loadSeconds = (performance.now() - started) / 1000;
  const ids = data.users.map((u) => u.userId);
  for (const id of protocolUsers.users.keys()) {
    if (!ids.includes(id))
      throw new Error(`protocol user ${id} is not a training user of the slice`);
  }
  log(
    `${args.task}: ${ids.length} training users in ${loadSeconds.toFixed(1)} s; ${args.folds} folds, grid ${grid.name} (${grid.candidates.length} candidates)`,
  );
  // pohmm holds two data sets: stratify so each fold has keypad and fixed-text users. SapiMouse
  // folders of one subject are already one training user (`sapimouse:<subject>`).
  const stratumOf = (id: string): string => id.slice(0, id.indexOf(':'));
  const assignment = assignFolds(ids, args.folds, args.seed, { stratumOf });
  const base = { ...(options.config ?? {}) };
  const baseEpochs = args.epochs ?? base.epochs ?? DEFAULT_ENCODER_TRAIN_CONFIG.epochs;
  const results: TuneCandidateResult[] = [];
  for (const candidate of grid.candidates) {
    const epochs = candidateEpochs(candidate, baseEpochs);
    const config: Partial<EncoderTrainConfig> = { ...base, ...candidate.overrides, epochs };
    const resolved = resolveEncoderTrainConfig({ ...data.config, ...config, seed: args.seed });
    const folds: TuneFoldResult[] = [];
    for (let f = 0; f < args.folds; f++) {
      const { train, validation } = foldSplit(assignment, f);
      const trainSet = new Set(train);
      const trainUsers = data.users.filter((u) => trainSet.has(u.userId));
      const t0 = performance.now();
      const { encoder, history } = await trainEncoder(data.modality, trainUsers, resolved, {
        dataset: data.dataset,
        licence: data.licence,
        task: args.task,
        notes: `tuning ${candidate.name}, fold ${f + 1}/${args.folds}`,
      });
      const trainSeconds = (performance.now() - t0) / 1000;
      const v = await validate(
        encoder,
        protocolUsers,
        validation,
        trainUsers.map((u) => u.userId),
        args.seed,
      );
      const fold: TuneFoldResult = {
        fold: f,
        trainUsers: trainUsers.length,
        ...v,
        finalLoss: history[history.length - 1]?.loss ?? NaN,
        trainSeconds: Math.round(trainSeconds * 10) / 10,
      };
      folds.push(fold);
      log(
        `  ${candidate.name} fold ${f + 1}/${args.folds}: validation EER ${(100 * fold.validationEer).toFixed(1)} % (${fold.validationUsers} users), ${fold.trainSeconds} s training`,
      );
    }
    const { mean, std } = meanStd(folds.map((x) => x.validationEer));
    results.push({
      name: candidate.name,
      config,
      epochs,
      parameters: encoderParameterCount(data.modality, resolved),
      meanEer: mean,
      stdEer: std,
      folds,
    });
    log(
      `${candidate.name}: validation EER ${(100 * mean).toFixed(1)} ± ${(100 * std).toFixed(1)} %`,
    );
  }
  const best = pickBest(results);
  return {
    format: 'tacit-tune-report',
    version: 1,
    task: args.task,
    metric: METRIC[args.task],
    grid: {
      name: grid.name,
      description: grid.description,
      candidates: grid.candidates.map((c) => ({ ...c })),
      baseEpochs,
    },
    folds: {
      k: args.folds,
      stratifiedBy:
        args.task === 'keystroke-pohmm' ? 'data set (keypad, fixed)' : 'none (one data set)',
      assignment,
    },
    candidates: results,
    best: best.name,
    chosen: { ...best.config },
    seeds: { folds: args.seed, training: args.seed, protocol: args.seed },
    data: {
      dir: args.data,
      offset: args.offset ?? 0,
      users: ids.length,
      dataset: data.dataset,
      licence: data.licence,
      note: 'training slice only: the test users (another directory or slice) were never loaded',
    },
    run: {
      backend: options.backendName ?? 'unknown',
      loadSeconds: Math.round(loadSeconds * 10) / 10,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
      date: new Date().toISOString(),
    },
  };
}

/** One line per candidate, best marked, for the terminal. */
export function formatTuneReport(report: TuneReport): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  return [
    `${report.task}: ${report.folds.k}-fold CV by user, ${report.data.users} users, grid ${report.grid.name}; metric: ${report.metric}`,
    ...report.candidates.map(
      (c) =>
        `${c.name === report.best ? '*' : ' '} ${c.name.padEnd(12)} ${pct(c.meanEer).padStart(7)} ± ${pct(c.stdEer).padStart(6)}  ` +
        `folds ${c.folds.map((f) => pct(f.validationEer)).join(', ')}  (${c.parameters} weights, ${c.epochs} epochs)`,
    ),
    `chosen: ${JSON.stringify(report.chosen)} (${report.run.wallSeconds} s)`,
  ].join('\n');
}

/** Writes the report as JSON (creating the directory). */
export function writeTuneReport(report: TuneReport, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
