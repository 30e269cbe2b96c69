/**
 * The evaluation CLI's work (Node): argument parsing, loading a dataset directory, running a
 * protocol of `model/eval/protocols.ts`, and writing the JSON report and its ROC SVG. The entry
 * point `eval.ts` only wires this to `process.argv`; tests call {@link runEval} directly.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DetectorConfig } from '../detector/config';
import { EVAL_TASKS, type EvalReport, type EvalTask } from '../eval/report';
import { PRODUCT } from '../product/scorer';
import { type RocCurveInput, rocSvg } from '../eval/roc-svg';
import { parseCommandLine } from './args';
import { loadAalto, loadPohmm, loadSapiMouse } from './load-datasets';
import { type SharedEncoder, encoderFromJSON } from '../shared/encoder';
import { userFingerprint } from './training-identity';
import type { RawEvent } from '../events/schema';
import {
  loadBlockProjection,
  loadCalibration,
  productAalto,
  productFixed,
  productSapiMouse,
  refuseCalibrationUsers,
  shippedEncoder,
} from './product-eval';

/** Parsed command line of `npm run eval`. */
export interface EvalArgs {
  task: EvalTask;
  /** Dataset directory (aalto-dev, sapimouse-dev or pohmm). */
  data: string;
  /** JSON report path; the ROC SVG goes next to it (`x.json` → `x.roc.svg`). */
  out?: string;
  /** Evaluate at most this many users (per set for keystroke-fixed). */
  users?: number;
  /** Skip this many users first. */
  offset?: number;
  /** keystroke-fixed: evaluate only the first this many held-out sample indices. */
  folds?: number;
  /** keystroke-aalto: keys per window (default 10, see `AaltoProtocolOptions.keysPerWindow`). */
  keysPerWindow?: number;
  /** tfjs backend: `wasm` (default, ≈ 4× faster training) or `cpu`. */
  backend: 'wasm' | 'cpu';
  /** Directory written by `npm run train` (`encoder.json`, `training.json`): score with the shared encoder. */
  model?: string;
  /** Calibration file written by `npm run calibrate` (default: the shipped one). */
  calibration?: string;
  /** Pointer block projection written by `model/cli/block-train.ts` (default: the shipped one). */
  blockProjection?: string;
}

/** Usage text. */
export const USAGE = `usage: npm run eval -- <task> --data <dir> [--out report.json] [--users N] [--offset K]
                       [--folds F] [--keys-per-window W] [--backend wasm|cpu]
                       [--model <dir written by npm run train>] [--calibration <file from npm run calibrate>]
                       [--block-projection <file from model/cli/block-train.ts>]
tasks: ${EVAL_TASKS.join(', ')}
  keystroke-aalto   --data ../shared/datasets/aalto-dev
  mouse-sapimouse   --data ../shared/datasets/sapimouse-dev
  keystroke-fixed   --data ../shared/datasets/pohmm`;

/**
 * Parses `argv` (without node and the script).
 * @throws {TypeError} with a usage hint for anything wrong.
 */
export function parseEvalArgs(argv: readonly string[]): EvalArgs {
  const cl = parseCommandLine(argv, EVAL_TASKS, [
    'data',
    'out',
    'users',
    'offset',
    'folds',
    'keys-per-window',
    'backend',
    'model',
    'calibration',
    'block-projection',
  ]);
  const int = cl.int;
  const args: EvalArgs = {
    task: cl.task,
    data: cl.required('data', '<dir>'),
    backend: cl.backend(),
  };
  const out = cl.get('out');
  if (out !== undefined) args.out = out;
  const model = cl.get('model');
  if (model !== undefined) args.model = model;
  const calibration = cl.get('calibration');
  if (calibration !== undefined) args.calibration = calibration;
  const blockProjection = cl.get('block-projection');
  if (blockProjection !== undefined) args.blockProjection = blockProjection;
  const users = int('users', 2);
  if (users !== undefined) args.users = users;
  const offset = int('offset', 0);
  if (offset !== undefined) args.offset = offset;
  const folds = int('folds', 1);
  if (folds !== undefined) args.folds = folds;
  const keysPerWindow = int('keys-per-window', 2);
  if (keysPerWindow !== undefined) args.keysPerWindow = keysPerWindow;
  return args;
}

/** Options of {@link runEval} that the command line does not expose. */
export interface RunOptions {
  /** Detector overrides: tests only (fewer epochs); benchmark runs keep the defaults. */
  detector?: Partial<DetectorConfig>;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The part of a list selected by `--offset` and `--users`. */
function slice<T>(list: readonly T[], args: EvalArgs): T[] {
  const start = args.offset ?? 0;
  return list.slice(start, args.users === undefined ? undefined : start + args.users);
}

/**
 * Loads the task's data, runs its protocol on the current tfjs backend and returns the report
 * (with `run.wallSeconds`). Writes nothing: see {@link writeReport}.
 */
export async function runEval(args: EvalArgs, options: RunOptions = {}): Promise<EvalReport> {
  const started = performance.now();
  const log = options.log ?? ((): void => undefined);
  let lastLog = 0;
  const onProgress = (done: number, total: number): void => {
    const now = performance.now();
    if (now - lastLog > 10_000 || done === total) {
      lastLog = now;
      log(`  ${done}/${total} models, ${((now - started) / 1000).toFixed(0)} s`);
    }
  };
  const shared = args.model === undefined ? undefined : loadSharedModel(args.model);
  if (shared !== undefined)
    log(
      `shared encoder ${shared.encoder.provenance.task}: ${shared.encoder.provenance.users} training users (${shared.encoder.provenance.dataset})`,
    );
  let report: EvalReport;
  let loadSeconds: number;
  const calibration = loadCalibration(args.calibration);
  const input = (modality: 'keystroke' | 'pointer') => ({
    task: args.task,
    // The product fuses no embedding for the pointer (PRODUCT.components): no encoder to load.
    encoder: PRODUCT.components[modality].includes('embedding')
      ? (shared?.encoder ?? shippedEncoder(modality))
      : undefined,
    calibration,
    ...(args.blockProjection === undefined
      ? {}
      : { blockProjection: loadBlockProjection(args.blockProjection) }),
    onProgress,
    ...(options.detector === undefined ? {} : { detector: options.detector }),
    ...(args.folds === undefined ? {} : { folds: args.folds }),
  });
  if (args.task === 'keystroke-aalto') {
    const loaded = loadAalto(args.data, {
      offset: args.offset ?? 0,
      ...(args.users === undefined ? {} : { limit: args.users }),
    });
    loadSeconds = (performance.now() - started) / 1000;
    log(`loaded ${loaded.length} Aalto participants in ${loadSeconds.toFixed(1)} s`);
    const fp = (u: (typeof loaded)[number]) => userFingerprint(u.sequences[0] ?? []);
    let users = refuseCalibrationUsers(loaded, calibration, 'keystroke', fp);
    if (shared !== undefined) users = refuseTrainingUsers(users, 'aalto', shared, fp);
    report = await productAalto(users, input('keystroke'), loaded.length);
  } else if (args.task === 'mouse-sapimouse') {
    const loaded = slice(loadSapiMouse(args.data), args);
    loadSeconds = (performance.now() - started) / 1000;
    log(`loaded ${loaded.length} SapiMouse folders in ${loadSeconds.toFixed(1)} s`);
    let users = refuseCalibrationUsers(loaded, calibration, 'pointer', (u) =>
      userFingerprint(u.session3min),
    );
    if (shared !== undefined)
      users = refuseTrainingUsers(
        users.map((u) => ({ ...u, userId: u.subject, folder: u.userId })),
        'sapimouse',
        shared,
        (u) => userFingerprint(u.session3min),
      ).map((u) => ({ ...u, userId: u.folder }));
    report = await productSapiMouse(users, input('pointer'), loaded.length);
  } else {
    const { keypad, fixedText } = loadPohmm(args.data);
    loadSeconds = (performance.now() - started) / 1000;
    const fp = (u: { sequences: readonly (readonly RawEvent[])[] }) =>
      userFingerprint(u.sequences[0] ?? []);
    const sets = [
      { name: 'keypad', users: slice(keypad.users, args) },
      { name: 'fixedText', users: slice(fixedText.users, args) },
    ].map((set) => {
      let users = refuseCalibrationUsers(set.users, calibration, 'keystroke', fp);
      if (shared !== undefined)
        users = refuseTrainingUsers(users, set.name === 'keypad' ? 'keypad' : 'fixed', shared, fp);
      return { ...set, users };
    });
    log(
      `loaded pohmm keypad ${sets[0]!.users.length} and fixed text ${sets[1]!.users.length} users`,
    );
    report = await productFixed(
      sets,
      input('keystroke'),
      sets[0]!.users.length + sets[1]!.users.length,
    );
  }
  report.run = {
    data: args.data,
    offset: args.offset ?? 0,
    loadSeconds: Math.round(loadSeconds * 10) / 10,
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    detector: options.detector === undefined ? 'defaults' : JSON.stringify(options.detector),
    calibration: args.calibration ?? 'shipped (model/product/calibration.json)',
    blockProjection: args.blockProjection ?? 'shipped (model/shared/default-pointer-block.json)',
    ...(shared === undefined
      ? {}
      : {
          model: args.model,
          encoder: `${shared.encoder.provenance.task}, ${shared.encoder.provenance.users} users, ${shared.encoder.provenance.dataset} (${shared.encoder.provenance.licence}), ${shared.encoder.provenance.notes}`,
        }),
  };
  return report;
}

/** A model directory written by `npm run train`. */
export interface SharedModelDir {
  encoder: SharedEncoder;
  /** Ids of every training user, prefixed by data set (`aalto:5`, `sapimouse:12`, `keypad:s002`). */
  trainingUsers: ReadonlySet<string>;
  /** Data fingerprints of every training user (training-identity.ts); null in an older training.json. */
  trainingFingerprints: ReadonlySet<string> | null;
}

/** Loads `<dir>/encoder.json` and the training user list of `<dir>/training.json`. */
export function loadSharedModel(dir: string): SharedModelDir {
  const encoder = encoderFromJSON(readFileSync(join(dir, 'encoder.json'), 'utf8'));
  const training = JSON.parse(readFileSync(join(dir, 'training.json'), 'utf8')) as {
    trainingUsers?: unknown;
  };
  if (!Array.isArray(training.trainingUsers))
    throw new TypeError(`${dir}/training.json has no trainingUsers list`);
  const fingerprints = (training as { trainingFingerprints?: unknown }).trainingFingerprints;
  return {
    encoder,
    trainingUsers: new Set(training.trainingUsers.map(String)),
    trainingFingerprints: Array.isArray(fingerprints) ? new Set(fingerprints.map(String)) : null,
  };
}

/**
 * Never test on a training user: throws when any of `users` was in the encoder's training set.
 * A user is identified by their data (`fingerprint`, training-identity.ts) when the model
 * directory lists fingerprints, so another dataset's folder that only shares a name is not
 * refused; an older `training.json` without them falls back to the data-set prefix and id.
 */
export function refuseTrainingUsers<U extends { userId: string }>(
  users: readonly U[],
  prefix: string,
  model: Pick<SharedModelDir, 'trainingUsers' | 'trainingFingerprints'>,
  fingerprint: (user: U) => string,
): U[] {
  const overlap = users.filter((u) =>
    model.trainingFingerprints !== null
      ? model.trainingFingerprints.has(fingerprint(u))
      : model.trainingUsers.has(`${prefix}:${u.userId}`),
  );
  if (overlap.length > 0) {
    throw new TypeError(
      `${overlap.length} of the test users were used to train this encoder (e.g. ${prefix}:${overlap[0]!.userId}): evaluate on other users (--offset/--users) or train on others`,
    );
  }
  return users.slice();
}

/** `x.json` → `x.roc.svg` (any other name gets `.roc.svg` appended). */
export function svgPathFor(jsonPath: string): string {
  return jsonPath.endsWith('.json') ? `${jsonPath.slice(0, -5)}.roc.svg` : `${jsonPath}.roc.svg`;
}

/** The ROC SVG of a report: one curve per block count or data set, else the global one. */
export function reportSvg(report: EvalReport): string {
  const curves: RocCurveInput[] = [];
  const parts = report.byBlocks ?? report.bySet;
  if (parts !== undefined) {
    for (const [name, s] of Object.entries(parts)) {
      const label =
        report.byBlocks !== undefined ? `${name} block${name === '1' ? '' : 's'}` : name;
      curves.push({ label, points: s.roc, eer: s.eer, auc: s.auc });
    }
  }
  if (report.byBlocks === undefined) {
    curves.unshift({
      label: report.bySet === undefined ? 'all queries' : 'pooled',
      points: report.roc,
      eer: report.eer,
      auc: report.auc,
    });
  }
  return rocSvg(curves, { title: `${report.task}: ${report.users} users` });
}

/** Writes the JSON report and its ROC SVG beside it; returns both paths. */
export function writeReport(report: EvalReport, jsonPath: string): { json: string; svg: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const svg = svgPathFor(jsonPath);
  writeFileSync(svg, reportSvg(report));
  return { json: jsonPath, svg };
}
