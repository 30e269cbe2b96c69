/**
 * The benchmark protocols of `protocols.ts`, scored with a shared encoder trained by
 * `npm run train` on other users (`npm run eval -- <task> --model <dir>`) plus the per-user
 * embedding model (`model/shared/embedding-model.ts`). Same data cuts, same impostor draws, same
 * seeds as the detector-only protocols, so the two are directly comparable.
 *
 * Keystroke sequences are embedded whole (TypeNet: one embedding per M-key sequence); pointer
 * blocks one per block. A query's score is the per-user model's standardized similarity
 * (`EmbeddingUserModel.standardized`: the similarity in units of the user's own enrolment
 * spread; mean over blocks for n-block SapiMouse queries). It is the monotone pre-image of the
 * product's confidence, which saturates near 0 and 1 and would make one global ROC and block
 * averages depend on the saturation rather than on the evidence.
 */
import type { RawEvent } from '../events/schema';
import { keySequence } from '../features/sequence';
import { createWindower } from '../features/windower';
import { createRng } from '../random';
import { type Steps, EmbeddingUserModel } from '../shared/embedding-model';
import type { SharedEncoder } from '../shared/encoder';
import type {
  FixedResult,
  FixedTextSet,
  KeystrokeProtocolUser,
  MouseProtocolUser,
  MouseResult,
  ProtocolResult,
  ScoreSet,
  SkippedUser,
} from './protocols';
import { blockGroups, continuousOf, truncateKeys, userEer, windowStreamOf } from './protocols';
import { type ContinuousOptions, emptyTrials, mergeTrials } from './continuous';
import { DEFAULT_DETECTOR_CONFIG, type DetectorConfig } from '../detector/config';
import {
  PRODUCT,
  disposeProductModels,
  fitProductModels,
  productLlr,
  type ProductModels,
  type ScorableWindow,
} from '../product/scorer';
import { NotEnoughWindowsError } from '../errors';
import { scorableWindow } from '../product/learn-calibration';
import type { FeatureWindow } from '../features/windower';
import type { Modality } from '../features/schema';

/** Options of the encoder protocols. */
export interface EncoderProtocolOptions {
  seed?: number;
  onProgress?: (done: number, total: number) => void;
  /** Detector overrides for the continuous part (tests only). */
  detector?: Partial<DetectorConfig>;
  /** Continuous-authentication settings, as in `ProtocolOptions.continuous`. */
  continuous?: Partial<ContinuousOptions> & { impostorsPerUser?: number };
}

/**
 * The product's per-window scoring for the continuous figures: the product scorer
 * (model/product/scorer.ts), its two per-user models enrolled on the gallery's windows. The
 * galleries of these protocols are shorter than the product's enrolment (the detector's own
 * minimum, 6 windows, instead of {@link PRODUCT}`.minEnrollWindows`). Undefined when the
 * detector cannot enrol.
 */
async function productModel(
  encoder: SharedEncoder,
  modality: Modality,
  enrol: readonly FeatureWindow[],
  options: EncoderProtocolOptions,
): Promise<{ llr(w: FeatureWindow): number; dispose(): void } | undefined> {
  let models: ProductModels;
  try {
    models = await fitProductModels(modality, enrol.map(scorable), encoder, {
      minEnrollWindows: DEFAULT_DETECTOR_CONFIG.minEnrollWindows,
      detector: { ...options.detector, seed: options.seed ?? 1 },
    });
  } catch (err) {
    if (err instanceof NotEnoughWindowsError) return undefined;
    throw err;
  }
  return {
    llr: (w) => productLlr(models, scorable(w)),
    dispose: () => disposeProductModels(models),
  };
}

/** A feature window as the product scorer reads it. */
const scorable: (w: FeatureWindow) => ScorableWindow = scorableWindow;

/** Windows of raw streams (each through a fresh windower). */
function windowsOf(
  streams: readonly (readonly RawEvent[])[],
  modality: Modality,
  config: { keysPerWindow?: number; pointerEventsPerWindow?: number },
): FeatureWindow[] {
  return streams.flatMap((events) =>
    createWindower(config)
      .push(events)
      .filter((w) => w.modality === modality),
  );
}

/** Keystroke step sequence of one raw-event stream (`features/sequence.ts`, re-exported). */
export { keySequence };

/** The product windower's pointer windows of a stream (blocks of `eventsPerBlock` events), as step sequences. */
export function pointerBlocks(events: readonly RawEvent[], eventsPerBlock = 128): Steps[] {
  return createWindower({ pointerEventsPerWindow: eventsPerBlock })
    .push(events)
    .filter((w) => w.modality === 'pointer')
    .map((w) => ({ steps: w.steps, n: w.stepCount }));
}

function check(encoder: SharedEncoder, modality: 'keystroke' | 'pointer'): void {
  if (encoder.modality !== modality)
    throw new TypeError(`the model is a ${encoder.modality} encoder, the task needs ${modality}`);
}

/** TypeNet protocol on Aalto-style users, scored with the shared encoder. */
export async function keystrokeAaltoEncoderProtocol(
  encoder: SharedEncoder,
  users: readonly KeystrokeProtocolUser[],
  options: EncoderProtocolOptions & {
    gallery?: number;
    queries?: number;
    maxKeys?: number;
    keysPerWindow?: number;
  } = {},
): Promise<ProtocolResult> {
  check(encoder, 'keystroke');
  const G = options.gallery ?? 5;
  const Q = options.queries ?? 5;
  const M = options.maxKeys ?? 50;
  const seed = options.seed ?? 1;
  const skipped: SkippedUser[] = [];
  let shortSequences = 0;
  let sequencesUsed = 0;
  const keysPerWindow = options.keysPerWindow ?? 10;
  const subjects: {
    userId: string;
    gallery: Steps[];
    queries: Steps[];
    galleryWindows: FeatureWindow[];
    held: ReturnType<typeof windowStreamOf>;
  }[] = [];
  for (const u of users) {
    if (u.sequences.length < G + Q) {
      skipped.push({ userId: u.userId, reason: `${u.sequences.length} sequences < G + ${Q}` });
      continue;
    }
    const cut = (s: readonly RawEvent[]): Steps => {
      const t = truncateKeys(s, M);
      sequencesUsed++;
      if (t.presses < M) shortSequences++;
      return keySequence(t.events);
    };
    subjects.push({
      userId: u.userId,
      gallery: u.sequences.slice(0, G).map(cut),
      queries: u.sequences.slice(u.sequences.length - Q).map(cut),
      galleryWindows: windowsOf(
        u.sequences.slice(0, G).map((x) => truncateKeys(x, M).events),
        'keystroke',
        { keysPerWindow },
      ),
      held: windowStreamOf(u.sequences.slice(G), 'keystroke', { keysPerWindow }),
    });
  }
  const heldStreams = subjects.map((x) => x.held);
  const continuous = emptyTrials();
  const genuine: number[] = [];
  const impostor: number[] = [];
  const perUser: ScoreSet['perUser'] = [];
  const emptyQueries = { genuine: 0, impostor: 0 };
  let fits = 0;
  for (let s = 0; s < subjects.length; s++) {
    const subject = subjects[s]!;
    const model = new EmbeddingUserModel(encoder, { minEnrollWindows: Math.min(3, G) });
    try {
      model.fit(subject.gallery);
    } catch {
      skipped.push({ userId: subject.userId, reason: 'gallery sequences too short' });
      continue;
    }
    fits++;
    const score = (q: Steps): number | undefined => (q.n >= 2 ? model.standardized(q) : undefined);
    const g: number[] = [];
    for (const q of subject.queries) {
      const x = score(q);
      if (x === undefined) emptyQueries.genuine++;
      else g.push(x);
    }
    // The same seeded impostor draws as keystrokeAaltoProtocol.
    const rng = createRng((seed * 1_000_003 + s) >>> 0);
    const im: number[] = [];
    for (let o = 0; o < subjects.length; o++) {
      const pick = Math.floor(rng() * Q);
      if (o === s) continue;
      const x = score(subjects[o]!.queries[pick]!);
      if (x === undefined) emptyQueries.impostor++;
      else im.push(x);
    }
    const product = await productModel(encoder, 'keystroke', subject.galleryWindows, options);
    if (product !== undefined) {
      const others = subjects.map((_, o) => o).filter((o) => o !== s);
      mergeTrials(
        continuous,
        await continuousOf(
          product,
          'keystroke',
          subject.held,
          heldStreams,
          others,
          options,
          seed * 7919 + s,
        ),
      );
      product.dispose();
    }
    genuine.push(...g);
    for (const x of im) impostor.push(x);
    const e = userEer(g, im);
    if (e === undefined)
      skipped.push({ userId: subject.userId, reason: 'no genuine or impostor score' });
    else perUser.push({ userId: subject.userId, eer: e, genuine: g.length, impostor: im.length });
    options.onProgress?.(s + 1, subjects.length);
  }
  return {
    users: perUser.length,
    skipped,
    fits,
    genuine,
    impostor,
    perUser,
    emptyQueries,
    notes: [
      `shared encoder ${encoder.provenance.task} (${encoder.provenance.users} training users, ${encoder.provenance.dataset}); ` +
        `G = ${G} gallery sequences, ${Q} genuine queries, M = ${M} keys, one embedding per sequence, score = standardized mean cosine to the gallery`,
      `${shortSequences} of ${sequencesUsed} sequences had fewer than ${M} complete presses and were used as they are (not padded)`,
      `continuous: the product's scoring (mean of detector and embedding model per ${keysPerWindow}-key window, both enrolled on the gallery's windows); ` +
        'a session = all sentences after the gallery, whole; impostor = another subject’s such session',
    ],
    continuous,
  };
}

/** SapiMouse protocol scored with the shared encoder (one embedding per 128-event block). */
export async function mouseSapiMouseEncoderProtocol(
  encoder: SharedEncoder,
  users: readonly MouseProtocolUser[],
  options: EncoderProtocolOptions & {
    eventsPerBlock?: number;
    blockCounts?: readonly number[];
  } = {},
): Promise<MouseResult> {
  check(encoder, 'pointer');
  const eventsPerBlock = options.eventsPerBlock ?? 128;
  const blockCounts = options.blockCounts ?? [1, 3, 5];
  const blocks = (events: readonly RawEvent[]): Steps[] => pointerBlocks(events, eventsPerBlock);
  const config = { pointerEventsPerWindow: eventsPerBlock };
  const data = users.map((u) => ({
    userId: u.userId,
    subject: u.subject,
    enrol: blocks(u.session3min),
    test: blocks(u.session1min),
    enrolWindows: windowsOf([u.session3min], 'pointer', config),
    held: windowStreamOf([u.session1min], 'pointer', config),
  }));
  const heldStreams = data.map((u) => u.held);
  const continuous = emptyTrials();
  const seed = options.seed ?? 1;
  const groups = blockGroups;
  const byBlocks: Record<string, ScoreSet> = {};
  for (const n of blockCounts) byBlocks[String(n)] = { genuine: [], impostor: [], perUser: [] };
  const skipped: SkippedUser[] = [];
  let fits = 0;
  for (let s = 0; s < data.length; s++) {
    const u = data[s]!;
    const model = new EmbeddingUserModel(encoder);
    try {
      model.fit(u.enrol);
    } catch {
      skipped.push({ userId: u.userId, reason: `${u.enrol.length} enrolment blocks` });
      continue;
    }
    fits++;
    const own = u.test.map((b) => model.standardized(b));
    const others = data
      .filter((o) => o.subject !== u.subject)
      .map((o) => o.test.map((b) => model.standardized(b)));
    const product = await productModel(encoder, 'pointer', u.enrolWindows, options);
    if (product !== undefined) {
      const candidates = data.map((_, o) => o).filter((o) => data[o]!.subject !== u.subject);
      mergeTrials(
        continuous,
        await continuousOf(
          product,
          'pointer',
          u.held,
          heldStreams,
          candidates,
          options,
          seed * 7919 + s,
        ),
      );
      product.dispose();
    }
    for (const n of blockCounts) {
      const set = byBlocks[String(n)]!;
      const g = groups(own, n);
      const im = others.flatMap((sc) => groups(sc, n));
      set.genuine.push(...g);
      for (const x of im) set.impostor.push(x);
      const e = userEer(g, im);
      if (e !== undefined)
        set.perUser.push({ userId: u.userId, eer: e, genuine: g.length, impostor: im.length });
    }
    options.onProgress?.(s + 1, data.length);
  }
  return {
    users: fits,
    skipped,
    fits,
    byBlocks,
    emptyQueries: { genuine: 0, impostor: 0 },
    notes: [
      `shared encoder ${encoder.provenance.task} (${encoder.provenance.users} training users, ${encoder.provenance.dataset}); ` +
        `${eventsPerBlock}-event blocks, one embedding each; score of n blocks = mean standardized similarity`,
      'folders of one subject (user35.1/.2, user62.1/.2) are never each other’s impostors',
      `continuous: the product's scoring (mean of detector and embedding model per ${eventsPerBlock}-event window, both enrolled on the 3-minute session); ` +
        'a session = the 1-minute session; impostor = another subject’s 1-minute session',
    ],
    continuous,
  };
}

/** pohmm leave-one-sample-out, scored with the shared encoder (one embedding per sample). */
export function keystrokeFixedEncoderProtocol(
  encoder: SharedEncoder,
  sets: readonly FixedTextSet[],
  options: EncoderProtocolOptions & { maxFolds?: number } = {},
): FixedResult {
  check(encoder, 'keystroke');
  const bySet: Record<string, ProtocolResult> = {};
  for (const set of sets) {
    const samples = set.users.map((u) => u.sequences.map((s) => keySequence(s)));
    const folds = Math.min(
      options.maxFolds ?? Infinity,
      Math.max(0, ...samples.map((s) => s.length)),
    );
    const genuine: number[] = [];
    const impostor: number[] = [];
    const perUserScores = set.users.map(() => ({ g: [] as number[], i: [] as number[] }));
    let fits = 0;
    for (let j = 0; j < folds; j++) {
      for (let u = 0; u < set.users.length; u++) {
        const own = samples[u]!;
        if (j >= own.length) continue;
        const model = new EmbeddingUserModel(encoder, { minEnrollWindows: 3 });
        try {
          model.fit(own.filter((_, k) => k !== j));
        } catch {
          continue;
        }
        fits++;
        const g = model.standardized(own[j]!);
        genuine.push(g);
        perUserScores[u]!.g.push(g);
        for (let o = 0; o < set.users.length; o++) {
          if (o === u || j >= samples[o]!.length) continue;
          const x = model.standardized(samples[o]![j]!);
          impostor.push(x);
          perUserScores[u]!.i.push(x);
        }
      }
      options.onProgress?.(j + 1, folds);
    }
    const perUser: ScoreSet['perUser'] = [];
    set.users.forEach((u, k) => {
      const e = userEer(perUserScores[k]!.g, perUserScores[k]!.i);
      if (e !== undefined)
        perUser.push({
          userId: u.userId,
          eer: e,
          genuine: perUserScores[k]!.g.length,
          impostor: perUserScores[k]!.i.length,
        });
    });
    bySet[set.name] = {
      users: perUser.length,
      skipped: [],
      fits,
      genuine,
      impostor,
      perUser,
      emptyQueries: { genuine: 0, impostor: 0 },
      notes: [
        `${set.name}: leave-one-sample-out, one embedding per sample, shared encoder ${encoder.provenance.task}; no continuous figures with --model for this task`,
      ],
      continuous: emptyTrials(),
    };
  }
  const all = Object.values(bySet);
  return {
    users: all.reduce((s, r) => s + r.users, 0),
    skipped: [],
    fits: all.reduce((s, r) => s + r.fits, 0),
    genuine: all.flatMap((r) => r.genuine),
    impostor: all.flatMap((r) => r.impostor),
    perUser: all.flatMap((r) => r.perUser),
    emptyQueries: { genuine: 0, impostor: 0 },
    notes: all.flatMap((r) => r.notes),
    continuous: emptyTrials(),
    bySet,
  };
}
