/**
 * Evaluation of the block scorer on the SapiMouse protocol (pure: takes parsed users), k-fold
 * by subject: for each fold the projection is learned on the *other* folds' subjects only, then
 * every user of the fold is enrolled on the blocks of its 3-minute session; genuine = its own
 * 1-minute blocks, impostor = the 1-minute blocks of the fold's other subjects; for n in
 * `blockCounts` the scores of n consecutive blocks are averaged (`blockGroups` of the product's
 * protocol). Reported per fold and block count: the global-threshold EER and AUC, and the mean
 * of the per-user EERs (what the SapiMouse paper's code averages).
 */
import type { RawEvent } from '../events/schema';
import { assertDisjoint, assignFolds, foldSplit } from '../eval/folds';
import { auc, eer } from '../eval/metrics';
import { blockGroups, userEer } from '../eval/protocols';
import { blockFeatures } from './block-features';
import {
  type BlockProjectionConfig,
  type BlockProjectionClass,
  learnBlockProjection,
} from './block-projection';
import { type BlockScorerConfig, fitBlockScorer } from './block-scorer';
import { pointerBlocks } from './blocks';

/** One SapiMouse folder (the shape of `loadSapiMouse`'s users). */
export interface BlockEvalUser {
  userId: string;
  /** Folders of one subject are one class, one fold, and never each other's impostors. */
  subject: string;
  session3min: readonly RawEvent[];
  session1min: readonly RawEvent[];
}

/** A user's block features, for both sessions. */
export interface UserBlocks {
  userId: string;
  subject: string;
  /** Block features of the 3-minute (enrolment) session. */
  enrol: Float64Array[];
  /** Block features of the 1-minute (test) session. */
  test: Float64Array[];
}

/** The block features of every user at `eventsPerBlock` events per block (the windower's rule). */
export function userBlocksOf(
  users: readonly BlockEvalUser[],
  eventsPerBlock: number,
): UserBlocks[] {
  const cfg = { pointerEventsPerWindow: eventsPerBlock };
  return users.map((u) => ({
    userId: u.userId,
    subject: u.subject,
    enrol: pointerBlocks(u.session3min, cfg).map(blockFeatures),
    test: pointerBlocks(u.session1min, cfg).map(blockFeatures),
  }));
}

/** Options of {@link evaluateBlockFolds}. */
export interface BlockEvalOptions {
  /** Pointer events per block the features were cut with (recorded in the projection). */
  eventsPerBlock: number;
  /** Block counts whose scores are averaged. Default [1, 3, 5]. */
  blockCounts?: readonly number[];
  /** Folds by subject. Default 2. */
  folds?: number;
  /** Seed of the fold assignment and the projection's cohort draw. Default 1. */
  seed?: number;
  /** Projection overrides. */
  projection?: Partial<BlockProjectionConfig>;
  /** Scorer overrides. */
  scorer?: Partial<BlockScorerConfig>;
}

/** Figures of one fold and block count. */
export interface BlockEvalFigures {
  /** Global-threshold EER over all users' genuine and impostor queries. */
  eer: number;
  /** AUC of the same score sets. */
  auc: number;
  /** Mean of the per-user EERs. */
  meanUserEer: number;
  genuine: number;
  impostor: number;
  users: number;
}

/** One fold's result. */
export interface BlockEvalFold {
  fold: number;
  trainSubjects: number;
  testUsers: number;
  /** Figures by block count. */
  byBlocks: Record<string, BlockEvalFigures>;
}

/**
 * Runs the k-fold-by-subject evaluation on precomputed block features (see the module comment).
 * @throws {RangeError} with fewer subjects than folds.
 */
export function evaluateBlockFolds(
  data: readonly UserBlocks[],
  options: BlockEvalOptions,
): BlockEvalFold[] {
  const blockCounts = options.blockCounts ?? [1, 3, 5];
  const k = options.folds ?? 2;
  const seed = options.seed ?? 1;
  const bySubject = new Map<string, UserBlocks[]>();
  for (const u of data) bySubject.set(u.subject, [...(bySubject.get(u.subject) ?? []), u]);
  const assignment = assignFolds([...bySubject.keys()], k, seed);
  const out: BlockEvalFold[] = [];
  for (let f = 0; f < k; f++) {
    const { train, validation } = foldSplit(assignment, f);
    assertDisjoint(train, validation);
    const classes: BlockProjectionClass[] = train.map((s) => ({
      id: s,
      blocks: bySubject.get(s)!.flatMap((u) => [...u.enrol, ...u.test]),
    }));
    const projection = learnBlockProjection(
      classes,
      { eventsPerBlock: options.eventsPerBlock, users: train },
      { seed, ...options.projection },
    );
    const testUsers = validation.flatMap((s) => bySubject.get(s)!);
    const testProjected = testUsers.map((u) => u.test.map((b) => projection.project(b)));
    const sets = new Map<number, { g: number[]; im: number[]; per: number[] }>();
    for (const n of blockCounts) sets.set(n, { g: [], im: [], per: [] });
    for (const u of testUsers) {
      if (u.enrol.length < 3) continue;
      const scorer = fitBlockScorer(projection, u.enrol, options.scorer);
      const own = testProjected[testUsers.indexOf(u)]!.map((p) => scorer.scoreProjected(p));
      const others = testUsers
        .map((o, i) => ({ o, i }))
        .filter(({ o }) => o.subject !== u.subject)
        .map(({ i }) => testProjected[i]!.map((p) => scorer.scoreProjected(p)));
      for (const n of blockCounts) {
        const set = sets.get(n)!;
        const g = blockGroups(own, n);
        const im = others.flatMap((s) => blockGroups(s, n));
        set.g.push(...g);
        for (const x of im) set.im.push(x);
        const e = userEer(g, im);
        if (e !== undefined) set.per.push(e);
      }
    }
    const byBlocks: Record<string, BlockEvalFigures> = {};
    for (const n of blockCounts) {
      const { g, im, per } = sets.get(n)!;
      byBlocks[String(n)] = {
        eer: g.length > 0 && im.length > 0 ? eer(g, im) : NaN,
        auc: g.length > 0 && im.length > 0 ? auc(g, im) : NaN,
        meanUserEer: per.length > 0 ? per.reduce((a, b) => a + b, 0) / per.length : NaN,
        genuine: g.length,
        impostor: im.length,
        users: per.length,
      };
    }
    out.push({ fold: f, trainSubjects: train.length, testUsers: testUsers.length, byBlocks });
  }
  return out;
}
