/**
 * Benchmark protocols on already-parsed public datasets (pure: no files, no clock, no tfjs
 * backend choice). Each runs the product's own windower, features and per-user detector
 * (`UserModel`) and returns genuine and impostor scores plus per-user EERs.
 *
 * Nothing is tuned on the users being tested: there is no shared (cross-user) model yet, and
 * the per-user detector runs with its fixed defaults (`DEFAULT_DETECTOR_CONFIG`, seed 1). Only
 * the window length is chosen per protocol, from the protocol's own data budget, never from
 * results. Query score = the mean of the model's confidences over the query's windows (the
 * session fusion of `model/fusion.ts` with an infinite half-life).
 */
import { UserModel } from '../detector/user-model';
import type { DetectorConfig } from '../detector/config';
import { NotEnoughWindowsError } from '../errors';
import type { RawEvent } from '../events/schema';
import { IGNORED_KEY_FLAGS } from '../features/keystroke';
import type { Modality } from '../features/schema';
import { type FeatureWindow, createWindower } from '../features/windower';
import { IGNORED_POINTER_FLAGS } from '../features/pointer';
import { createRng } from '../random';
import { windowLlr } from '../product/calibration';
import { PRODUCT } from '../product/scorer';
import {
  type ActionStream,
  type ContinuousOptions,
  type ContinuousTrials,
  actionStream,
  continuousTrials,
  emptyTrials,
  mergeTrials,
} from './continuous';
import { eer } from './metrics';

/** Options shared by every protocol. */
export interface ProtocolOptions {
  /**
   * Seed of the detector and of every random choice (impostor sequences). Default 1; integer.
   */
  seed?: number;
  /**
   * Detector overrides. Leave empty for benchmark figures (fixed defaults); tests use fewer
   * epochs to stay fast.
   */
  detector?: Partial<DetectorConfig>;
  /** Called after each enrolled model (done, total). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Continuous-authentication simulation (`continuous.ts`): its options, and at most
   * `impostorsPerUser` impostor streams per enrolled user (a seeded draw among the other
   * subjects; default 50).
   */
  continuous?: Partial<ContinuousOptions> & { impostorsPerUser?: number };
}

/** A user the protocol could not evaluate, and why. */
export interface SkippedUser {
  userId: string;
  reason: string;
}

/** Scores of one protocol run (one score set; see {@link MouseResult} for several). */
export interface ScoreSet {
  /** Genuine query scores (all users). */
  genuine: number[];
  /** Impostor query scores (all users). */
  impostor: number[];
  /** Per evaluated user: EER of its own genuine scores against the impostor scores it saw. */
  perUser: { userId: string; eer: number; genuine: number; impostor: number }[];
}

/** What a protocol run returns besides its scores. */
export interface ProtocolResult extends ScoreSet {
  /** Users with a fitted model and per-user EER. */
  users: number;
  /** Users left out, with the reason. */
  skipped: SkippedUser[];
  /** Models fitted. */
  fits: number;
  /** Queries left out because they produced no window (so no score), by kind. */
  emptyQueries: { genuine: number; impostor: number };
  /** Settings and data facts worth printing next to the figures. */
  notes: string[];
  /** Continuous-authentication outcomes (`continuous.ts`), summarized by the report. */
  continuous: ContinuousTrials;
}

/** The seed of a run (default 1). */
function defaultSeed(options: ProtocolOptions): number {
  return options.seed ?? 1;
}

function makeModel(modality: Modality, options: ProtocolOptions, seed: number): UserModel {
  return new UserModel(modality, { ...options.detector, seed });
}

/** Mean of a non-empty list. */
export function meanOf(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/**
 * Scores of `n` consecutive blocks averaged into one, in non-overlapping groups in order; a
 * trailing partial group is dropped (the SapiMouse protocol's n-block queries).
 */
export function blockGroups(scores: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k + n <= scores.length; k += n) out.push(meanOf(scores.slice(k, k + n)));
  return out;
}

/** Per-user EER, or undefined when either side has no score. */
export function userEer(
  genuine: readonly number[],
  impostor: readonly number[],
): number | undefined {
  return genuine.length > 0 && impostor.length > 0 ? eer(genuine, impostor) : undefined;
}

/**
 * The events of the first `maxKeys` complete presses of a key stream (a `kd` and a `ku` with the
 * same press id, in key-down order; presses the windower ignores, such as auto-repeat, do not
 * count). Other key events and events after the cut are dropped. A stream with fewer complete
 * presses is returned as it is.
 */
export function truncateKeys(
  events: readonly RawEvent[],
  maxKeys: number,
): {
  events: RawEvent[];
  presses: number;
} {
  const downs: number[] = [];
  const ups = new Set<number>();
  const seen = new Set<number>();
  for (const e of events) {
    if (e.i === undefined) continue;
    if (e.k === 'kd' && ((e.f ?? 0) & IGNORED_KEY_FLAGS) === 0 && !seen.has(e.i)) {
      seen.add(e.i);
      downs.push(e.i);
    } else if (e.k === 'ku') ups.add(e.i);
  }
  const complete = downs.filter((i) => ups.has(i));
  if (complete.length <= maxKeys) return { events: events.slice(), presses: complete.length };
  const keep = new Set(complete.slice(0, maxKeys));
  return {
    events: events.filter(
      (e) => (e.k !== 'kd' && e.k !== 'ku') || (e.i !== undefined && keep.has(e.i)),
    ),
    presses: maxKeys,
  };
}

/** Feature vectors of one stream, through a fresh windower (streams never share a window). */
function vectorsOf(
  events: readonly RawEvent[],
  modality: Modality,
  config: { keysPerWindow?: number; pointerEventsPerWindow?: number },
): Float32Array[] {
  return createWindower(config)
    .push(events)
    .filter((w) => w.modality === modality)
    .map((w) => w.vector);
}

/** Actions of a raw stream: complete key presses, or counted pointer events (pm, pd, pu). */
function actionsOf(events: readonly RawEvent[], modality: Modality): number {
  if (modality === 'keystroke') return truncateKeys(events, Infinity).presses;
  let n = 0;
  for (const e of events) {
    if (
      (e.k === 'pm' || e.k === 'pd' || e.k === 'pu') &&
      ((e.f ?? 0) & IGNORED_POINTER_FLAGS) === 0
    )
      n++;
  }
  return n;
}

/**
 * Segments (each through a fresh windower, like the protocol's queries) as one continuous stream
 * of whole feature windows (vector and steps), for scorers that need more than the vector.
 */
export function windowStreamOf(
  segments: readonly (readonly RawEvent[])[],
  modality: Modality,
  config: { keysPerWindow?: number; pointerEventsPerWindow?: number },
): ActionStream<FeatureWindow> {
  return actionStream(
    segments.map((events) => ({
      windows: createWindower(config)
        .push(events)
        .filter((w) => w.modality === modality)
        .map((w) => ({ window: w, count: w.count })),
      actions: actionsOf(events, modality),
    })),
  );
}

/** Segments (each through a fresh windower, like the protocol's queries) as one continuous stream. */
function streamOf(
  segments: readonly (readonly RawEvent[])[],
  modality: Modality,
  config: { keysPerWindow?: number; pointerEventsPerWindow?: number },
): ActionStream {
  return actionStream(
    segments.map((events) => ({
      windows: createWindower(config)
        .push(events)
        .filter((w) => w.modality === modality)
        .map((w) => ({ window: w.vector, count: w.count })),
      actions: actionsOf(events, modality),
    })),
  );
}

/**
 * A detector's window LLR with the product's calibration for the detector alone: what the
 * continuous simulation folds into the product's decision.
 */
function detectorLlr(model: UserModel): { llr(v: Float32Array): number } {
  return {
    llr: (v) => windowLlr(PRODUCT.calibration, model.modality, { detector: model.standardized(v) }),
  };
}

/**
 * Continuous trials of one enrolled model: its own held-out stream, and a seeded draw of at most
 * `impostorsPerUser` of the `candidates` (indices into `streams`) as impostors.
 */
export function continuousOf<W = Float32Array>(
  model: { llr(window: W): number },
  modality: Modality,
  own: ActionStream<W>,
  streams: readonly ActionStream<W>[],
  candidates: number[],
  options: Pick<ProtocolOptions, 'continuous'>,
  rngSeed: number,
): Promise<ContinuousTrials> {
  const max = options.continuous?.impostorsPerUser ?? 50;
  const rng = createRng(rngSeed >>> 0);
  const pool = candidates.slice();
  // Partial Fisher–Yates: the first `max` of a seeded shuffle.
  for (let k = 0; k < Math.min(max, pool.length); k++) {
    const r = k + Math.floor(rng() * (pool.length - k));
    [pool[k], pool[r]] = [pool[r]!, pool[k]!];
  }
  const { impostorsPerUser: _unused, ...sim } = options.continuous ?? {};
  const picked = pool.slice(0, max).map((o) => streams[o]!);
  return continuousTrials((ws) => ws.map((w) => model.llr(w)), modality, own, picked, sim);
}

// ---------------------------------------------------------------------------------------------
// Aalto free text: the TypeNet protocol.

/** One keystroke dataset user: one raw-event stream per sentence or sample. */
export interface KeystrokeProtocolUser {
  userId: string;
  sequences: readonly (readonly RawEvent[])[];
}

/** Options of {@link keystrokeAaltoProtocol}. */
export interface AaltoProtocolOptions extends ProtocolOptions {
  /** Gallery (enrolment) sequences G: the first G of each subject. Default 5. */
  gallery?: number;
  /** Genuine query sequences: the last ones of each subject. Default 5. */
  queries?: number;
  /** Keys per sequence M: the first M complete presses. Default 50. */
  maxKeys?: number;
  /**
   * Keys per window, for enrolment and queries alike. Default 10: 50 keys make 5 windows, so a
   * 5-sequence gallery gives up to 25 windows (the detector needs `minEnrollWindows`, 6); the
   * product's 20 would leave 2 windows per sequence and drop 10 of every 50 keys.
   */
  keysPerWindow?: number;
}

/**
 * The TypeNet protocol on Aalto-style users: per subject, enrol on the windows of the first G
 * sequences (each cut to its first M complete presses); genuine queries = the last 5 sequences;
 * impostor queries = one sequence of each other subject, drawn (seeded) from that subject's last
 * 5. A query's score is the mean confidence over its windows. Subjects with fewer than G + 5
 * sequences are left out entirely; a subject whose gallery gives fewer than `minEnrollWindows`
 * windows is not enrolled but still serves as an impostor.
 */
export async function keystrokeAaltoProtocol(
  users: readonly KeystrokeProtocolUser[],
  options: AaltoProtocolOptions = {},
): Promise<ProtocolResult> {
  const G = options.gallery ?? 5;
  const Q = options.queries ?? 5;
  const M = options.maxKeys ?? 50;
  const keysPerWindow = options.keysPerWindow ?? 10;
  const seed = defaultSeed(options);
  const skipped: SkippedUser[] = [];
  let shortSequences = 0;
  let sequencesUsed = 0;

  // Windows of every usable sequence, computed once.
  const subjects: {
    userId: string;
    gallery: Float32Array[];
    queries: Float32Array[][];
    held: ActionStream;
  }[] = [];
  for (const u of users) {
    if (u.sequences.length < G + Q) {
      skipped.push({ userId: u.userId, reason: `${u.sequences.length} sequences < G + ${Q}` });
      continue;
    }
    const cut = (s: readonly RawEvent[]): Float32Array[] => {
      const t = truncateKeys(s, M);
      sequencesUsed++;
      if (t.presses < M) shortSequences++;
      return vectorsOf(t.events, 'keystroke', { keysPerWindow });
    };
    const gallery = u.sequences.slice(0, G).flatMap(cut);
    const queries = u.sequences.slice(u.sequences.length - Q).map(cut);
    // Continuous figures: every sentence after the gallery, whole (not cut to M), as one session.
    const held = streamOf(u.sequences.slice(G), 'keystroke', { keysPerWindow });
    subjects.push({ userId: u.userId, gallery, queries, held });
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
    const model = makeModel('keystroke', options, seed);
    try {
      await model.fit(subject.gallery);
    } catch (err) {
      if (!(err instanceof NotEnoughWindowsError)) throw err;
      skipped.push({ userId: subject.userId, reason: `${subject.gallery.length} gallery windows` });
      model.dispose();
      continue;
    }
    fits++;
    const score = (windows: readonly Float32Array[]): number =>
      meanOf(windows.map((w) => model.score(w)));
    const g: number[] = [];
    for (const q of subject.queries) {
      if (q.length === 0) emptyQueries.genuine++;
      else g.push(score(q));
    }
    // One impostor sequence per other subject, from its query sequences; the stream of choices
    // depends only on the seed and the enrolled subject's position.
    const rng = createRng((seed * 1_000_003 + s) >>> 0);
    const im: number[] = [];
    for (let o = 0; o < subjects.length; o++) {
      const pick = Math.floor(rng() * Q);
      if (o === s) continue;
      const q = subjects[o]!.queries[pick]!;
      if (q.length === 0) emptyQueries.impostor++;
      else im.push(score(q));
    }
    const others = subjects.map((_, o) => o).filter((o) => o !== s);
    mergeTrials(
      continuous,
      await continuousOf(
        detectorLlr(model),
        'keystroke',
        subject.held,
        heldStreams,
        others,
        options,
        seed * 7919 + s,
      ),
    );
    model.dispose();
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
      `G = ${G} gallery sequences, ${Q} genuine queries, M = ${M} keys (first complete presses), ` +
        `${keysPerWindow}-key windows, query score = mean window confidence`,
      `${shortSequences} of ${sequencesUsed} sequences had fewer than ${M} complete presses and were used as they are (not padded)`,
      `continuous: a session = all sentences after the gallery, whole, ${keysPerWindow}-key windows; impostor = another subject's such session`,
    ],
    continuous,
  };
}

// ---------------------------------------------------------------------------------------------
// SapiMouse: 3-minute enrolment, 1-minute test cut into blocks.

/** One SapiMouse folder (the shape of `loadSapiMouse`'s users). */
export interface MouseProtocolUser {
  userId: string;
  /** Folders of the same subject (user35.1 / user35.2) are never each other's impostors. */
  subject: string;
  session3min: readonly RawEvent[];
  session1min: readonly RawEvent[];
}

/** Options of {@link mouseSapiMouseProtocol}. */
export interface MouseProtocolOptions extends ProtocolOptions {
  /**
   * Pointer events per block: one block = one pointer window, for enrolment (3-minute session)
   * and test (1-minute session) alike. Default 128 (the published block size).
   */
  eventsPerBlock?: number;
  /** Block counts whose scores are averaged. Default [1, 3, 5]. */
  blockCounts?: readonly number[];
}

/** {@link mouseSapiMouseProtocol}'s result: one score set per block count. */
export interface MouseResult extends Omit<ProtocolResult, keyof ScoreSet> {
  /** Score sets by number of consecutive blocks averaged. */
  byBlocks: Record<string, ScoreSet>;
}

/**
 * The SapiMouse protocol: per user, enrol on the pointer windows (blocks) of the 3-minute
 * session; genuine = the user's own 1-minute blocks, impostors = every other subject's 1-minute
 * blocks; for n in `blockCounts`, the scores of n consecutive blocks (non-overlapping groups, in
 * the order the windower emitted them, a trailing partial group dropped) are averaged into one.
 */
export async function mouseSapiMouseProtocol(
  users: readonly MouseProtocolUser[],
  options: MouseProtocolOptions = {},
): Promise<MouseResult> {
  const eventsPerBlock = options.eventsPerBlock ?? 128;
  const blockCounts = options.blockCounts ?? [1, 3, 5];
  const seed = defaultSeed(options);
  const config = { pointerEventsPerWindow: eventsPerBlock };
  const data = users.map((u) => ({
    userId: u.userId,
    subject: u.subject,
    enrol: vectorsOf(u.session3min, 'pointer', config),
    test: vectorsOf(u.session1min, 'pointer', config),
    held: streamOf([u.session1min], 'pointer', config),
  }));
  const heldStreams = data.map((u) => u.held);
  const continuous = emptyTrials();
  const groups = blockGroups;

  const byBlocks: Record<string, ScoreSet> = {};
  for (const n of blockCounts) byBlocks[String(n)] = { genuine: [], impostor: [], perUser: [] };
  const skipped: SkippedUser[] = [];
  let fits = 0;
  for (let s = 0; s < data.length; s++) {
    const u = data[s]!;
    const model = makeModel('pointer', options, seed);
    try {
      await model.fit(u.enrol);
    } catch (err) {
      if (!(err instanceof NotEnoughWindowsError)) throw err;
      skipped.push({ userId: u.userId, reason: `${u.enrol.length} enrolment blocks` });
      model.dispose();
      continue;
    }
    fits++;
    const own = u.test.map((v) => model.score(v));
    const others = data
      .filter((o) => o.subject !== u.subject)
      .map((o) => o.test.map((v) => model.score(v)));
    const candidates = data.map((_, o) => o).filter((o) => data[o]!.subject !== u.subject);
    mergeTrials(
      continuous,
      await continuousOf(
        detectorLlr(model),
        'pointer',
        u.held,
        heldStreams,
        candidates,
        options,
        seed * 7919 + s,
      ),
    );
    model.dispose();
    for (const n of blockCounts) {
      const set = byBlocks[String(n)]!;
      const g = groups(own, n);
      const im = others.flatMap((scores) => groups(scores, n));
      set.genuine.push(...g);
      for (const x of im) set.impostor.push(x);
      const e = userEer(g, im);
      if (e !== undefined)
        set.perUser.push({ userId: u.userId, eer: e, genuine: g.length, impostor: im.length });
    }
    options.onProgress?.(s + 1, data.length);
  }
  const enrolBlocks = data.map((u) => u.enrol.length).sort((a, b) => a - b);
  const testBlocks = data.map((u) => u.test.length).sort((a, b) => a - b);
  const mid = (a: number[]): number => a[Math.floor(a.length / 2)] ?? 0;
  return {
    users: fits,
    skipped,
    fits,
    byBlocks,
    emptyQueries: { genuine: 0, impostor: 0 },
    notes: [
      `${eventsPerBlock}-event blocks (one pointer window each) for enrolment and test; ` +
        `score of n blocks = mean confidence of n consecutive non-overlapping blocks`,
      `enrolment blocks per user ${enrolBlocks[0] ?? 0}–${enrolBlocks[enrolBlocks.length - 1] ?? 0} ` +
        `(median ${mid(enrolBlocks)}); 1-minute test blocks ${testBlocks[0] ?? 0}–` +
        `${testBlocks[testBlocks.length - 1] ?? 0} (median ${mid(testBlocks)})`,
      'folders of one subject (user35.1/.2, user62.1/.2) are never each other’s impostors',
      `continuous: a session = the 1-minute session, ${eventsPerBlock}-event windows; impostor = another subject's 1-minute session`,
    ],
    continuous,
  };
}

// ---------------------------------------------------------------------------------------------
// pohmm fixed text and PIN: leave one sample out.

/** One fixed-text data set of {@link keystrokeFixedProtocol}. */
export interface FixedTextSet {
  /** Name used in reports (`keypad`, `fixedText`). */
  name: string;
  users: readonly KeystrokeProtocolUser[];
  /** Keys per window for this set (e.g. 11 = one window per PIN entry). */
  keysPerWindow: number;
}

/** Options of {@link keystrokeFixedProtocol}. */
export interface FixedProtocolOptions extends ProtocolOptions {
  /** Evaluate only the first this many held-out sample indices (quick runs). Default: all. */
  maxFolds?: number;
}

/** {@link keystrokeFixedProtocol}'s result: the sets pooled, and each set alone. */
export interface FixedResult extends ProtocolResult {
  bySet: Record<string, ProtocolResult>;
}

/**
 * Leave-one-sample-out on one fixed-text set: for each sample index j and user u, enrol on u's
 * other samples; u's sample j is the genuine query and sample j of every other user is an
 * impostor query. Users lacking sample j skip that fold.
 */
async function leaveOneOut(
  set: FixedTextSet,
  options: FixedProtocolOptions,
  progress: () => void,
): Promise<ProtocolResult> {
  const seed = defaultSeed(options);
  const windows = set.users.map((u) =>
    u.sequences.map((s) => vectorsOf(s, 'keystroke', { keysPerWindow: set.keysPerWindow })),
  );
  const maxSamples = Math.max(0, ...windows.map((w) => w.length));
  const folds = Math.min(maxSamples, options.maxFolds ?? maxSamples);
  const genuineBy = set.users.map((): number[] => []);
  const impostorBy = set.users.map((): number[] => []);
  const emptyQueries = { genuine: 0, impostor: 0 };
  const tooFew = new Set<number>();
  // Continuous figures on the first fold only: a session = one held-out sample.
  const firstSamples = set.users.map((u) =>
    streamOf(u.sequences.slice(0, 1), 'keystroke', { keysPerWindow: set.keysPerWindow }),
  );
  const continuous = emptyTrials();
  let fits = 0;
  for (let j = 0; j < folds; j++) {
    for (let u = 0; u < set.users.length; u++) {
      const own = windows[u]!;
      if (j >= own.length) continue;
      const enrol = own.filter((_, k) => k !== j).flat();
      const model = makeModel('keystroke', options, seed);
      try {
        await model.fit(enrol);
      } catch (err) {
        if (!(err instanceof NotEnoughWindowsError)) throw err;
        tooFew.add(u);
        model.dispose();
        progress();
        continue;
      }
      fits++;
      const score = (q: readonly Float32Array[]): number => meanOf(q.map((v) => model.score(v)));
      if (own[j]!.length === 0) emptyQueries.genuine++;
      else genuineBy[u]!.push(score(own[j]!));
      for (let o = 0; o < set.users.length; o++) {
        if (o === u) continue;
        const q = windows[o]![j];
        if (q === undefined) continue;
        if (q.length === 0) emptyQueries.impostor++;
        else impostorBy[u]!.push(score(q));
      }
      if (j === 0) {
        const others = set.users
          .map((_, o) => o)
          .filter((o) => o !== u && set.users[o]!.sequences.length > 0);
        mergeTrials(
          continuous,
          await continuousOf(
            detectorLlr(model),
            'keystroke',
            firstSamples[u]!,
            firstSamples,
            others,
            options,
            seed * 7919 + u,
          ),
        );
      }
      model.dispose();
      progress();
    }
  }
  const perUser: ScoreSet['perUser'] = [];
  const skipped: SkippedUser[] = [];
  set.users.forEach((user, u) => {
    const e = userEer(genuineBy[u]!, impostorBy[u]!);
    if (e === undefined) {
      skipped.push({
        userId: `${set.name}/${user.userId}`,
        reason: tooFew.has(u) ? 'too few enrolment windows' : 'no scores',
      });
    } else {
      perUser.push({
        userId: `${set.name}/${user.userId}`,
        eer: e,
        genuine: genuineBy[u]!.length,
        impostor: impostorBy[u]!.length,
      });
    }
  });
  const windowsPerSample = windows
    .flat()
    .map((w) => w.length)
    .sort((a, b) => a - b);
  return {
    users: perUser.length,
    skipped,
    fits,
    genuine: genuineBy.flat(),
    impostor: impostorBy.flat(),
    perUser,
    emptyQueries,
    notes: [
      `${set.name}: ${set.users.length} users, ${folds} of ${maxSamples} held-out sample indices, ` +
        `${set.keysPerWindow}-key windows (${windowsPerSample[0] ?? 0}–` +
        `${windowsPerSample[windowsPerSample.length - 1] ?? 0} per sample), query score = mean window confidence`,
      `${set.name} continuous: first fold only, a session = held-out sample 0; impostor = another user's sample 0`,
    ],
    continuous,
  };
}

/**
 * The pohmm protocol on each set (leave-one-sample-out per user; the held-out sample of every
 * other user is an impostor query), plus all sets pooled (scores and per-user EERs together).
 */
export async function keystrokeFixedProtocol(
  sets: readonly FixedTextSet[],
  options: FixedProtocolOptions = {},
): Promise<FixedResult> {
  const total = sets.reduce((n, set) => {
    const samples = set.users.reduce(
      (m, u) => m + Math.min(u.sequences.length, options.maxFolds ?? Infinity),
      0,
    );
    return n + samples;
  }, 0);
  let done = 0;
  const progress = (): void => options.onProgress?.(++done, total);
  const bySet: Record<string, ProtocolResult> = {};
  for (const set of sets) bySet[set.name] = await leaveOneOut(set, options, progress);
  const all = Object.values(bySet);
  return {
    users: all.reduce((n, r) => n + r.users, 0),
    skipped: all.flatMap((r) => r.skipped),
    fits: all.reduce((n, r) => n + r.fits, 0),
    genuine: all.flatMap((r) => r.genuine),
    impostor: all.flatMap((r) => r.impostor),
    perUser: all.flatMap((r) => r.perUser),
    emptyQueries: {
      genuine: all.reduce((n, r) => n + r.emptyQueries.genuine, 0),
      impostor: all.reduce((n, r) => n + r.emptyQueries.impostor, 0),
    },
    notes: all.flatMap((r) => r.notes),
    continuous: all.reduce((acc, r) => mergeTrials(acc, r.continuous), emptyTrials()),
    bySet,
  };
}
