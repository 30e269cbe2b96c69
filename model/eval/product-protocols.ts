/**
 * The benchmark protocols scored with **what ships**: the product's windows
 * ({@link PRODUCT}`.windows`), its per-user models (`fitProductModels`) and its calibrated window
 * LLR (`productLlr`). A query's score is the sum of its windows' LLRs — the evidence the
 * product's sequential decision accumulates over the same data. Each component alone (its
 * standardized likeness, summed over the query's windows) is scored on the same queries as an
 * ablation, from the same fitted models.
 *
 * Each task is expressed as a list of {@link ProductEvalUser}s: enrolment recordings, genuine
 * query groups and (via the other subjects) impostor query groups. A query *group* is what one
 * protocol query is made of (one Aalto sentence; n SapiMouse blocks; one pohmm sample).
 *
 * Continuous figures come from {@link productContinuous}: the product's enrolment amount
 * ({@link PRODUCT}`.minEnrollWindows` windows), then the user's remaining windows as the genuine
 * session and other subjects' windows as impostors, through the product's decision.
 */
import type { RawEvent } from '../events/schema';
import type { Modality } from '../features/schema';
import type { FeatureWindow } from '../features/windower';
import { createRng } from '../random';
import { NotEnoughWindowsError } from '../errors';
import type { DetectorConfig } from '../detector/config';
import type { SharedEncoder } from '../shared/encoder';
import type { BlockProjection } from '../pointer/block-projection';
import { type CalibrationFile, type Component, COMPONENTS } from '../product/calibration';
import {
  PRODUCT,
  disposeProductModels,
  fitProductModels,
  productComponents,
  productLlr,
  type ProductModels,
} from '../product/scorer';
import { productWindows, scorableWindow } from '../product/learn-calibration';
import {
  type ActionStream,
  type ContinuousOptions,
  type ContinuousTrials,
  actionStream,
  continuousTrials,
  emptyTrials,
  mergeTrials,
} from './continuous';
import type { ScoreSet, SkippedUser } from './protocols';
import { userEer } from './protocols';

/** One user of a product protocol. */
export interface ProductEvalUser {
  userId: string;
  /** Folders of one subject are never each other's impostors. */
  subject: string;
  /** Recordings the per-user models are fitted on (each through a fresh windower). */
  enrol: readonly (readonly RawEvent[])[];
  /**
   * Genuine queries; each query is a list of recordings (each windowed separately) whose
   * windows' LLRs are summed. Another subject's queries are this user's impostor queries.
   */
  queries: readonly (readonly (readonly RawEvent[])[])[];
}

/** Options of {@link productProtocol}. */
export interface ProductProtocolOptions {
  /** Shared encoder of the modality (the shipped one, or `--model`'s); undefined: detector only. */
  encoder: SharedEncoder | undefined;
  /** Calibration (default: the shipped one). */
  calibration?: Readonly<CalibrationFile>;
  /** Pointer block projection (default: the shipped one; an evaluation fold's own). */
  blockProjection?: BlockProjection;
  /**
   * Windows the models need before fitting: the product's {@link PRODUCT}`.minEnrollWindows`
   * unless a protocol's gallery is shorter (the TypeNet gallery of 5 × 50 keys).
   */
  minEnrollWindows?: number;
  /** At most this many enrolment windows (the product's growth bound by default). */
  maxEnrollWindows?: number;
  /**
   * Impostor queries per enrolled user from each other subject: all (default) or the first k.
   * The TypeNet protocol uses one.
   */
  impostorQueriesPerSubject?: number;
  /**
   * Split each query's windows into consecutive groups of this many windows (each group one
   * query, a trailing partial group dropped), one result per size: SapiMouse n blocks of 128
   * events = 2n product windows of 64. Default: each query whole.
   */
  windowGroups?: readonly number[];
  detector?: Partial<DetectorConfig>;
  onProgress?: (done: number, total: number) => void;
}

/** What a product protocol measures: the product's score set and each component's. */
export interface ProductScoreSets {
  /** The product scorer (summed calibrated LLRs). */
  product: ScoreSet;
  /** Each component alone (summed standardized likeness), on the same queries. */
  ablations: Partial<Record<Component, ScoreSet>>;
}

/** {@link productProtocol}'s result. */
export interface ProductProtocolResult extends ProductScoreSets {
  /** With `windowGroups`: the score sets per group size (the top level is the first size). */
  byGroup?: Record<string, ProductScoreSets>;
  users: number;
  skipped: SkippedUser[];
  fits: number;
  /** Queries that had no product window (no score). */
  emptyQueries: { genuine: number; impostor: number };
}

const windowsOf = productWindows;

/** A window's (or a query's) scores: the product's LLR and each component's likeness. */
type QueryScores = { product: number } & Partial<Record<Component, number>>;

function scoreWindow(
  models: ProductModels,
  w: FeatureWindow,
  calibration: Readonly<CalibrationFile> | undefined,
): QueryScores {
  const s = scorableWindow(w);
  const out: QueryScores = { product: productLlr(models, s, calibration) };
  const parts = productComponents(models, s);
  for (const c of COMPONENTS) {
    const v = parts[c];
    // −Infinity (a NaN feature) would make every sum equal; a large finite value still ranks last.
    if (v !== undefined) out[c] = Math.max(-1e6, Math.min(1e6, v));
  }
  return out;
}

/** Sum of window scores; a component counts only when every window has it. */
function sumScores(windows: readonly QueryScores[]): QueryScores | undefined {
  if (windows.length === 0) return undefined;
  const out: QueryScores = { product: 0 };
  for (const w of windows) out.product += w.product;
  for (const c of COMPONENTS) {
    if (windows.every((w) => w[c] !== undefined)) out[c] = windows.reduce((a, w) => a + w[c]!, 0);
  }
  return out;
}

/** A query's windows as queries: whole (size 0) or in consecutive groups of `size`. */
function groupsOf<T>(windows: readonly T[], size: number): T[][] {
  if (size === 0) return [windows.slice()];
  const out: T[][] = [];
  for (let k = 0; k + size <= windows.length; k += size) out.push(windows.slice(k, k + size));
  return out;
}

/**
 * Runs a product protocol on one modality. Per user: fit the product's models on the enrolment
 * windows; score the user's own queries (genuine) and other subjects' queries (impostor).
 */
export async function productProtocol(
  modality: Modality,
  users: readonly ProductEvalUser[],
  options: ProductProtocolOptions,
): Promise<ProductProtocolResult> {
  const min = options.minEnrollWindows ?? PRODUCT.minEnrollWindows[modality];
  const max = options.maxEnrollWindows ?? PRODUCT.growth.maxEnrollWindows;
  const perSubject = options.impostorQueriesPerSubject ?? Infinity;
  const data = users.map((u) => ({
    ...u,
    enrolWindows: windowsOf(u.enrol, modality).slice(0, max),
    queryWindows: u.queries.map((q) => windowsOf(q, modality)),
  }));
  const empty = (): ScoreSet => ({ genuine: [], impostor: [], perUser: [] });
  const sizes = options.windowGroups ?? [0];
  const bySize: Record<string, ProductScoreSets> = {};
  const skipped: SkippedUser[] = [];
  const emptyQueries = { genuine: 0, impostor: 0 };
  let fits = 0;
  for (let i = 0; i < data.length; i++) {
    const u = data[i]!;
    options.onProgress?.(i + 1, data.length);
    let models: ProductModels;
    try {
      models = await fitProductModels(
        modality,
        u.enrolWindows.map(scorableWindow),
        options.encoder,
        {
          minEnrollWindows: min,
          detector: options.detector,
          ...(options.blockProjection === undefined
            ? {}
            : { blockProjection: options.blockProjection }),
        },
      );
    } catch (error) {
      if (!(error instanceof NotEnoughWindowsError)) throw error;
      skipped.push({ userId: u.userId, reason: `${u.enrolWindows.length} enrolment windows` });
      continue;
    }
    fits++;
    const own = u.queryWindows.map((q) =>
      q.map((w) => scoreWindow(models, w, options.calibration)),
    );
    const others = data
      .filter((o) => o.subject !== u.subject)
      .flatMap((o) =>
        o.queryWindows
          .slice(0, perSubject)
          .map((q) => q.map((w) => scoreWindow(models, w, options.calibration))),
      );
    disposeProductModels(models);
    for (const size of sizes) {
      const sets = (bySize[String(size)] ??= { product: empty(), ablations: {} });
      const queries = (list: QueryScores[][], side: 'genuine' | 'impostor'): QueryScores[] =>
        list.flatMap((q) => {
          const groups = groupsOf(q, size).map(sumScores);
          if (size === sizes[0] && groups.every((g) => g === undefined)) emptyQueries[side]++;
          return groups.filter((g): g is QueryScores => g !== undefined);
        });
      const genuine = queries(own, 'genuine');
      const impostor = queries(others, 'impostor');
      const add = (set: ScoreSet, g: number[], im: number[]): void => {
        for (const x of g) set.genuine.push(x);
        for (const x of im) set.impostor.push(x);
        const e = userEer(g, im);
        if (e !== undefined)
          set.perUser.push({ userId: u.userId, eer: e, genuine: g.length, impostor: im.length });
      };
      add(
        sets.product,
        genuine.map((s) => s.product),
        impostor.map((s) => s.product),
      );
      for (const c of COMPONENTS) {
        // A component is compared on the queries it scored.
        const g = genuine.flatMap((s) => (s[c] === undefined ? [] : [s[c]]));
        const im = impostor.flatMap((s) => (s[c] === undefined ? [] : [s[c]]));
        if (g.length === 0 && im.length === 0) continue;
        add((sets.ablations[c] ??= empty()), g, im);
      }
    }
  }
  const first = bySize[String(sizes[0])] ?? { product: empty(), ablations: {} };
  return {
    ...first,
    ...(options.windowGroups === undefined ? {} : { byGroup: bySize }),
    users: data.length,
    skipped,
    fits,
    emptyQueries,
  };
}

/** One user's recordings in order, for {@link productContinuous}. */
export interface ContinuousUser {
  userId: string;
  subject: string;
  recordings: readonly (readonly RawEvent[])[];
}

/** Options of {@link productContinuous}. */
export interface ProductContinuousOptions {
  encoder: SharedEncoder | undefined;
  calibration?: Readonly<CalibrationFile>;
  blockProjection?: BlockProjection;
  /** Impostor sessions per enrolled user (a seeded draw of other subjects). Default 50. */
  impostorsPerUser?: number;
  seed?: number;
  detector?: Partial<DetectorConfig>;
  continuous?: Partial<ContinuousOptions>;
  onProgress?: (done: number, total: number) => void;
}

/** One enrolled user's window LLRs: their own session and their impostors' sessions. */
export interface LlrStreams {
  own: ActionStream<number>;
  impostors: ActionStream<number>[];
}

/**
 * The window LLRs behind the continuous figures, computed once: per user, the models are fitted
 * on the first {@link PRODUCT}`.minEnrollWindows` product windows of their recordings; the
 * remaining windows are the genuine session; another subject's windows after *their* enrolment
 * part are an impostor session (at most `impostorsPerUser`, a seeded draw). Actions are the
 * presses or pointer events inside windows (those in discarded partial windows are not
 * counted). LLRs are **not clamped** here ({@link trialsFromStreams} clamps), so one pass
 * serves every clamp and budget of a tuning grid.
 */
export async function productLlrStreams(
  modality: Modality,
  users: readonly ContinuousUser[],
  options: ProductContinuousOptions,
): Promise<LlrStreams[]> {
  const n = PRODUCT.minEnrollWindows[modality];
  const calibration = { ...(options.calibration ?? PRODUCT.calibration), clamp: 20 };
  const data = users.map((u) => {
    const windows = windowsOf(u.recordings, modality);
    return { subject: u.subject, enrol: windows.slice(0, n), held: windows.slice(n) };
  });
  const out: LlrStreams[] = [];
  const max = options.impostorsPerUser ?? 50;
  const stream = (values: number[], windows: readonly FeatureWindow[]): ActionStream<number> =>
    actionStream([
      {
        windows: values.map((v, k) => ({ window: v, count: windows[k]!.count })),
        actions: windows.reduce((a, w) => a + w.count, 0),
      },
    ]);
  for (let i = 0; i < data.length; i++) {
    const u = data[i]!;
    options.onProgress?.(i + 1, data.length);
    if (u.enrol.length < n || u.held.length === 0) continue;
    const models = await fitProductModels(modality, u.enrol.map(scorableWindow), options.encoder, {
      detector: options.detector,
      ...(options.blockProjection === undefined
        ? {}
        : { blockProjection: options.blockProjection }),
    });
    const llrs = (ws: readonly FeatureWindow[]) =>
      ws.map((w) => productLlr(models, scorableWindow(w), calibration));
    const rng = createRng(((options.seed ?? 1) * 7919 + i) >>> 0);
    const pool = data
      .map((_, k) => k)
      .filter((k) => data[k]!.subject !== u.subject && data[k]!.held.length > 0);
    for (let k = 0; k < Math.min(max, pool.length); k++) {
      const r = k + Math.floor(rng() * (pool.length - k));
      [pool[k], pool[r]] = [pool[r]!, pool[k]!];
    }
    out.push({
      own: stream(llrs(u.held), u.held),
      impostors: pool.slice(0, max).map((k) => stream(llrs(data[k]!.held), data[k]!.held)),
    });
    disposeProductModels(models);
  }
  return out;
}

/** Continuous trials of precomputed LLR streams, each LLR clamped to ±`clamp`. */
export async function trialsFromStreams(
  modality: Modality,
  streams: readonly LlrStreams[],
  clamp: number,
  continuous: Partial<ContinuousOptions> = {},
): Promise<ContinuousTrials> {
  const trials = emptyTrials();
  const clamped = (ws: readonly number[]) => ws.map((v) => Math.min(clamp, Math.max(-clamp, v)));
  for (const s of streams)
    mergeTrials(trials, await continuousTrials(clamped, modality, s.own, s.impostors, continuous));
  return trials;
}

/**
 * Continuous-authentication trials at the product's own sizes and settings
 * ({@link productLlrStreams}, the calibration's clamp, the product's decision unless
 * `options.continuous` says otherwise).
 */
export async function productContinuous(
  modality: Modality,
  users: readonly ContinuousUser[],
  options: ProductContinuousOptions,
): Promise<ContinuousTrials> {
  const streams = await productLlrStreams(modality, users, options);
  const clamp = (options.calibration ?? PRODUCT.calibration).clamp;
  return trialsFromStreams(modality, streams, clamp, options.continuous);
}
