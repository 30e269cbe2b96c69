/**
 * `npm run eval`'s product path (Node): each task's users as a product protocol
 * (model/eval/product-protocols.ts), scored with the shipped encoder or `--model`'s and the
 * shipped calibration or `--calibration`'s, plus the continuous figures at the product's sizes.
 * Test users that trained the encoder or the calibration are refused, by their data.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Modality } from '../features/schema';
import type { RawEvent } from '../events/schema';
import { type CalibrationFile, parseCalibrationFile } from '../product/calibration';
import { PRODUCT } from '../product/scorer';
import {
  type ContinuousUser,
  type ProductEvalUser,
  type ProductProtocolResult,
  productContinuous,
  productProtocol,
} from '../eval/product-protocols';
import { emptyTrials } from '../eval/continuous';
import { type EvalReport, type EvalTask, productReport } from '../eval/report';
import { truncateKeys } from '../eval/protocols';
import type { DetectorConfig } from '../detector/config';
import { type SharedEncoder, encoderFromJSON } from '../shared/encoder';
import { BlockProjection } from '../pointer/block-projection';
import { DEFAULT_DETECTOR_CONFIG } from '../detector/config';

/** The shipped calibration file's path. */
export const SHIPPED_CALIBRATION_PATH = fileURLToPath(
  new URL('../product/calibration.json', import.meta.url),
);

/** Loads a block projection written by `model/cli/block-train.ts`. */
export function loadBlockProjection(path: string): BlockProjection {
  return BlockProjection.fromJSON(JSON.parse(readFileSync(path, 'utf8')));
}

/** Loads a calibration file (the shipped one by default). */
export function loadCalibration(path = SHIPPED_CALIBRATION_PATH): CalibrationFile {
  return parseCalibrationFile(JSON.parse(readFileSync(path, 'utf8')));
}

/** The shipped shared encoder of a modality, as the worker loads it. */
export function shippedEncoder(modality: Modality): SharedEncoder {
  return encoderFromJSON(
    readFileSync(
      fileURLToPath(new URL(`../shared/default-${modality}.json`, import.meta.url)),
      'utf8',
    ),
  );
}

/**
 * Never report on a user the calibration was learned on: throws `RangeError` (a refusal: one
 * line, exit 2) naming how many.
 */
export function refuseCalibrationUsers<U>(
  users: readonly U[],
  calibration: CalibrationFile,
  modality: Modality,
  fingerprint: (u: U) => string,
): U[] {
  const trained = new Set(calibration.modalities[modality]?.trainingFingerprints ?? []);
  const overlap = users.filter((u) => trained.has(fingerprint(u))).length;
  if (overlap > 0) {
    throw new RangeError(
      `${overlap} test user(s) trained the ${modality} calibration; pass --calibration learned on other users (npm run calibrate)`,
    );
  }
  return users.slice();
}

/** Inputs of a product evaluation. */
export interface ProductEvalInput {
  task: EvalTask;
  encoder: SharedEncoder | undefined;
  calibration: CalibrationFile;
  /** Pointer block projection (default: the shipped one). */
  blockProjection?: BlockProjection;
  detector?: Partial<DetectorConfig>;
  onProgress?: (done: number, total: number) => void;
  /** keystroke-fixed: evaluate only the first this many held-out sample indices. */
  folds?: number;
}

const AALTO_G = 5;
const AALTO_Q = 5;
const AALTO_M = 50;

/** Aalto users with enough sequences for the TypeNet protocol (G + Q). */
function aaltoUsable<U extends { sequences: readonly unknown[] }>(users: readonly U[]): U[] {
  return users.filter((u) => u.sequences.length >= AALTO_G + AALTO_Q);
}

/**
 * The TypeNet protocol's product scores on Aalto users (G = 5, M = 50, 5 queries; users with
 * fewer than 10 sequences left out): what {@link productAalto} reports, without the continuous
 * figures. The federated experiment (`fl-experiment.ts`) scores each round's encoder with it.
 */
export async function productAaltoProtocol(
  users: readonly { userId: string; sequences: readonly (readonly RawEvent[])[] }[],
  input: Pick<ProductEvalInput, 'encoder' | 'calibration' | 'detector' | 'onProgress'>,
): Promise<ProductProtocolResult> {
  const cut = (s: readonly RawEvent[]) => truncateKeys(s, AALTO_M).events;
  const protocolUsers: ProductEvalUser[] = aaltoUsable(users).map((u) => ({
    userId: u.userId,
    subject: u.userId,
    enrol: u.sequences.slice(0, AALTO_G).map(cut),
    queries: u.sequences.slice(-AALTO_Q).map((s) => [cut(s)]),
  }));
  return productProtocol('keystroke', protocolUsers, {
    encoder: input.encoder,
    calibration: input.calibration,
    // The TypeNet gallery (5 × 50 keys) holds fewer than the product's 10 windows of 20 keys.
    minEnrollWindows: DEFAULT_DETECTOR_CONFIG.minEnrollWindows,
    impostorQueriesPerSubject: 1,
    detector: input.detector,
    onProgress: input.onProgress,
  });
}

/** Aalto: the TypeNet protocol at the product's windows (G = 5, M = 50, 5 queries). */
export async function productAalto(
  users: readonly { userId: string; sequences: readonly (readonly RawEvent[])[] }[],
  input: ProductEvalInput,
  usersLoaded: number,
): Promise<EvalReport> {
  const G = AALTO_G;
  const Q = AALTO_Q;
  const M = AALTO_M;
  const usable = aaltoUsable(users);
  const result = await productAaltoProtocol(users, input);
  const continuous = await productContinuous(
    'keystroke',
    usable.map((u) => ({ userId: u.userId, subject: u.userId, recordings: u.sequences })),
    {
      encoder: input.encoder,
      calibration: input.calibration,
      detector: input.detector,
      onProgress: input.onProgress,
    },
  );
  return productReport(
    'keystroke-aalto',
    withSkips(result, users, usable),
    continuous,
    usersLoaded,
    [
      `TypeNet protocol at the product's windows: gallery = first ${G} sequences, queries = last ${Q}, each cut to ${M} keys; ` +
        `${PRODUCT.windows.keysPerWindow}-key windows (a 50-key query holds 2); enrolment needs ${DEFAULT_DETECTOR_CONFIG.minEnrollWindows} windows; ` +
        'impostor queries = the first query sequence of every other user',
      `continuous: enrolment = the first ${PRODUCT.minEnrollWindows.keystroke} product windows of all sentences; session = the rest; impostors = 50 other users' sessions`,
    ],
  );
}

/** SapiMouse: enrol on the 3-minute session, n = 1, 3, 5 blocks of 128 events of the 1-minute one. */
export async function productSapiMouse(
  users: readonly {
    userId: string;
    subject: string;
    session3min: RawEvent[];
    session1min: RawEvent[];
  }[],
  input: ProductEvalInput,
  usersLoaded: number,
): Promise<EvalReport> {
  const perBlock = 128 / PRODUCT.windows.pointerEventsPerWindow;
  const result = await productProtocol(
    'pointer',
    users.map((u) => ({
      userId: u.userId,
      subject: u.subject,
      enrol: [u.session3min],
      queries: [[u.session1min]],
    })),
    {
      encoder: input.encoder,
      calibration: input.calibration,
      ...(input.blockProjection === undefined ? {} : { blockProjection: input.blockProjection }),
      windowGroups: [3, 1, 5].map((n) => n * perBlock),
      detector: input.detector,
      onProgress: input.onProgress,
    },
  );
  const continuous = await productContinuous(
    'pointer',
    users.map((u) => ({
      userId: u.userId,
      subject: u.subject,
      recordings: [u.session3min, u.session1min],
    })),
    {
      encoder: input.encoder,
      calibration: input.calibration,
      detector: input.detector,
      onProgress: input.onProgress,
      ...(input.blockProjection === undefined ? {} : { blockProjection: input.blockProjection }),
    },
  );
  return productReport('mouse-sapimouse', result, continuous, usersLoaded, [
    `enrolment: the 3-minute session's ${PRODUCT.windows.pointerEventsPerWindow}-event product windows (at most ${PRODUCT.growth.maxEnrollWindows}); ` +
      `query of n blocks = ${perBlock}n consecutive windows of the 1-minute session (one 128-event block = ${perBlock} windows), LLRs summed`,
    'folders of one subject (user35.1/.2, user62.1/.2) are never each other’s impostors',
    `continuous: enrolment = the first ${PRODUCT.minEnrollWindows.pointer} windows of the 3-minute session; session = the rest of both sessions`,
  ]);
}

/** pohmm fixed text: leave one sample out (keypad PINs hold no 20-key product window). */
export async function productFixed(
  sets: {
    name: string;
    users: readonly { userId: string; sequences: readonly (readonly RawEvent[])[] }[];
  }[],
  input: ProductEvalInput,
  usersLoaded: number,
): Promise<EvalReport> {
  const fixed = sets.find((s) => s.name === 'fixedText')?.users ?? [];
  const keypad = sets.find((s) => s.name === 'keypad')?.users ?? [];
  const samples = Math.max(0, ...fixed.map((u) => u.sequences.length));
  const folds = Math.min(samples, input.folds ?? samples);
  let pooled: ProductProtocolResult | undefined;
  for (let j = 0; j < folds; j++) {
    const users = fixed
      .filter((u) => u.sequences.length > j)
      .map((u) => ({
        userId: `${u.userId}#${j}`,
        subject: u.userId,
        enrol: u.sequences.filter((_, k) => k !== j),
        queries: [[u.sequences[j]!]],
      }));
    const r = await productProtocol('keystroke', users, {
      encoder: input.encoder,
      calibration: input.calibration,
      minEnrollWindows: DEFAULT_DETECTOR_CONFIG.minEnrollWindows,
      detector: input.detector,
      onProgress: input.onProgress,
    });
    pooled = pooled === undefined ? r : mergeResults(pooled, r);
  }
  const result = pooled ?? {
    product: { genuine: [], impostor: [], perUser: [] },
    ablations: {},
    users: 0,
    skipped: [],
    fits: 0,
    emptyQueries: { genuine: 0, impostor: 0 },
  };
  for (const u of keypad)
    result.skipped.push({
      userId: `keypad:${u.userId}`,
      reason: 'an 11-key PIN holds no 20-key product window',
    });
  const continuous = await productContinuous(
    'keystroke',
    fixed.map((u): ContinuousUser => ({
      userId: u.userId,
      subject: u.userId,
      recordings: u.sequences,
    })),
    {
      encoder: input.encoder,
      calibration: input.calibration,
      detector: input.detector,
      onProgress: input.onProgress,
    },
  );
  return productReport('keystroke-fixed', result, continuous ?? emptyTrials(), usersLoaded, [
    `fixed text, leave one sample out (${folds} folds): enrol on the other samples' ${PRODUCT.windows.keysPerWindow}-key windows, query = the held-out sample (its windows' LLRs summed); impostor = the same sample index of every other user`,
    'keypad: not scored — a PIN entry (11 keys) holds no product window; the product never scores PIN pads',
    `continuous: enrolment = the first ${PRODUCT.minEnrollWindows.keystroke} product windows of the samples, session = the rest; ` +
      'a fixed-text user holds about that many windows (4 × ~100 keys), so few or no sessions remain',
  ]);
}

function mergeResults(a: ProductProtocolResult, b: ProductProtocolResult): ProductProtocolResult {
  const merge = (x: typeof a.product, y: typeof a.product) => ({
    genuine: [...x.genuine, ...y.genuine],
    impostor: [...x.impostor, ...y.impostor],
    perUser: [...x.perUser, ...y.perUser],
  });
  const ablations = { ...a.ablations };
  for (const [k, v] of Object.entries(b.ablations) as [keyof typeof ablations, typeof a.product][])
    ablations[k] = ablations[k] === undefined ? v : merge(ablations[k], v);
  return {
    product: merge(a.product, b.product),
    ablations,
    users: Math.max(a.users, b.users),
    skipped: [...a.skipped, ...b.skipped],
    fits: a.fits + b.fits,
    emptyQueries: {
      genuine: a.emptyQueries.genuine + b.emptyQueries.genuine,
      impostor: a.emptyQueries.impostor + b.emptyQueries.impostor,
    },
  };
}

function withSkips(
  result: ProductProtocolResult,
  all: readonly { userId: string }[],
  usable: readonly { userId: string }[],
): ProductProtocolResult {
  const kept = new Set(usable.map((u) => u.userId));
  for (const u of all)
    if (!kept.has(u.userId))
      result.skipped.push({ userId: u.userId, reason: 'fewer than 10 sequences' });
  return result;
}
