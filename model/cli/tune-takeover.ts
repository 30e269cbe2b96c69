/**
 * `npm run tune -- takeover --data <aalto dir> [--offset K] [--users N] [--impostors M]
 * [--hops 20,10,5] [--genuine-keys 300]`: how fast the product's keystroke decision catches a
 * takeover **in the middle of a window**, on validation users only (an Aalto slice the figures
 * are never reported on; `--offset 1000 --users 200` is the slice the shipped decision was
 * chosen on). The product's models, windows, window LLR and decision (model/eval/takeover.ts);
 * per enrolled user one genuine session (their held-out sentences joined as the fields of a form,
 * the first `--genuine-keys` keys) and `--impostors` attacks (takeover at a seeded key 60–99 of
 * the genuine session, then up to 300 keys of another user's held-out sentences).
 *
 * Grid: window hop (20 = the product's non-overlapping windows; smaller = overlapping windows
 * whose LLRs are weighted by hop / 20) × clamp × false-alarm budget. Rule, per hop, as for
 * `npm run tune -- decision`: among the settings whose genuine sessions stay free of a false
 * flag in ≥ 95 % of cases, the fewest impostor keys to a flag (median, then never flagged). The
 * chosen values are copied into the product by hand (a reviewed commit).
 */
import type { RawEvent } from '../events/schema';
import { productWindows, scorableWindow } from '../product/learn-calibration';
import { PRODUCT, disposeProductModels, fitProductModels, productLlr } from '../product/scorer';
import { createRng } from '../random';
import { censoredQuantile } from '../eval/continuous';
import {
  type ScoredWindow,
  type TakeoverDecision,
  attackStream,
  formStream,
  genuineOutcome,
  keysIn,
  scoreStream,
  takeoverOutcome,
} from '../eval/takeover';
import { parseCommandLine } from './args';
import { loadAalto } from './load-datasets';
import { loadCalibration, shippedEncoder } from './product-eval';

/** The grid (hops in keys; budgets in windows of 20 keys, h = ln budget). */
export const TAKEOVER_GRID = {
  clamps: [2, 3, 4, 6],
  budgets: [5, 10, 20, 50, 100, 200, 400, 1000, 3000],
} as const;

/** Impostor keys per attack. */
const IMPOSTOR_KEYS = 300;

/** One user's scored sessions per hop. */
interface UserRuns {
  genuine: Map<number, ScoredWindow[]>;
  attacks: Map<number, ScoredWindow[][]>;
}

/** One row of the grid. */
export interface TakeoverRow {
  hop: number;
  clamp: number;
  falseAlarmWindows: number;
  pairs: number;
  keysToFlag: { median: number | null; p95: number | null };
  neverFlagged: number;
  genuineSessions: number;
  genuineClean: number;
  falseFlagsPer1000: number;
}

/** Figures of one setting over every user's runs. */
export function takeoverRow(
  runs: readonly UserRuns[],
  hop: number,
  d: TakeoverDecision,
): TakeoverRow {
  const keys: (number | null)[] = [];
  let clean = 0;
  let episodes = 0;
  let genuineKeys = 0;
  for (const u of runs) {
    const g = u.genuine.get(hop)!;
    const o = genuineOutcome(g, d);
    if (o.keysToFalseFlag === null) clean++;
    episodes += o.episodes;
    genuineKeys += g.at(-1)?.keys ?? 0;
    for (const a of u.attacks.get(hop)!) keys.push(takeoverOutcome(a, d).keysToFlag);
  }
  return {
    hop,
    clamp: d.clamp,
    falseAlarmWindows: d.decision.falseAlarmWindows,
    pairs: keys.length,
    keysToFlag: { median: censoredQuantile(keys, 0.5), p95: censoredQuantile(keys, 0.95) },
    neverFlagged: keys.length === 0 ? 0 : keys.filter((k) => k === null).length / keys.length,
    genuineSessions: runs.length,
    genuineClean: runs.length === 0 ? 0 : clean / runs.length,
    falseFlagsPer1000: genuineKeys === 0 ? 0 : (1000 * episodes) / genuineKeys,
  };
}

/** Entry: `npm run tune -- takeover …` (argv after `takeover`). */
export async function runTuneTakeover(argv: readonly string[]): Promise<void> {
  const cl = parseCommandLine(
    ['takeover', ...argv],
    ['takeover'],
    ['data', 'users', 'offset', 'impostors', 'hops', 'genuine-keys'],
  );
  const data = cl.required('data', '<dir>');
  const offset = cl.int('offset', 0) ?? 0;
  const limit = cl.int('users', 1) ?? 20;
  const impostors = cl.int('impostors', 1) ?? 10;
  const genuineKeys = cl.int('genuine-keys', 20) ?? 300;
  const hops = (cl.get('hops') ?? '20,10,5').split(',').map(Number);
  for (const hop of hops) {
    if (!Number.isInteger(hop) || hop < 1 || hop > PRODUCT.windows.keysPerWindow)
      throw new TypeError(
        `--hops: each hop must be an integer in [1, ${PRODUCT.windows.keysPerWindow}]`,
      );
  }
  const calibration = { ...loadCalibration(), clamp: 20 };
  const encoder = shippedEncoder('keystroke');
  const users = loadAalto(data, { offset, limit }).map((u) => {
    // Enrolment as the product's: the first minEnrollWindows windows, sentence by sentence.
    const enrol: ReturnType<typeof productWindows> = [];
    let k = 0;
    for (; k < u.sequences.length && enrol.length < PRODUCT.minEnrollWindows.keystroke; k++) {
      for (const w of productWindows([u.sequences[k]!], 'keystroke'))
        if (enrol.length < PRODUCT.minEnrollWindows.keystroke) enrol.push(w);
    }
    const held: readonly RawEvent[][] = u.sequences.slice(k);
    return { enrol, held };
  });
  const runs: UserRuns[] = [];
  for (let i = 0; i < users.length; i++) {
    const u = users[i]!;
    if (i % 20 === 0) console.error(`  ${i}/${users.length} users`);
    const own = formStream(u.held, false);
    if (u.enrol.length < PRODUCT.minEnrollWindows.keystroke || keysIn(own) < 100) continue;
    const models = await fitProductModels('keystroke', u.enrol.map(scorableWindow), encoder);
    const llr = (w: Parameters<typeof scorableWindow>[0]) =>
      productLlr(models, scorableWindow(w), calibration);
    const rng = createRng(7919 * (i + 1));
    const pool = users.map((_, j) => j).filter((j) => j !== i && users[j]!.held.length > 0);
    const attacks: ReturnType<typeof attackStream>[] = [];
    for (let a = 0; a < Math.min(impostors, pool.length); a++) {
      const r = a + Math.floor(rng() * (pool.length - a));
      [pool[a], pool[r]] = [pool[r]!, pool[a]!];
      // Takeover at a seeded key 60–99: in the middle of a window for every hop of the grid.
      const at = 60 + Math.floor(rng() * 40);
      attacks.push(attackStream(own, formStream(users[pool[a]!]!.held, true, IMPOSTOR_KEYS), at));
    }
    const genuine = formStream(u.held, false, genuineKeys);
    const run: UserRuns = { genuine: new Map(), attacks: new Map() };
    for (const hop of hops) {
      const windows = { ...PRODUCT.windows, keyHop: hop };
      run.genuine.set(hop, scoreStream(genuine, windows, llr));
      run.attacks.set(
        hop,
        attacks.map((s) => scoreStream(s, windows, llr)),
      );
    }
    runs.push(run);
    disposeProductModels(models);
  }
  const rows: TakeoverRow[] = [];
  for (const hop of hops)
    for (const clamp of TAKEOVER_GRID.clamps)
      for (const falseAlarmWindows of TAKEOVER_GRID.budgets)
        rows.push(
          takeoverRow(runs, hop, {
            clamp,
            weight: hop / PRODUCT.windows.keysPerWindow,
            decision: { falseAlarmWindows, cap: 2 },
          }),
        );
  const n = (x: number | null) => (x === null ? '—' : String(x));
  console.log(
    'hop  clamp  budget  impostor keys median  p95  never %  genuine clean %  false flags/1000 keys',
  );
  for (const r of rows) {
    console.log(
      `${String(r.hop).padStart(3)}  ${String(r.clamp).padStart(5)}  ${String(r.falseAlarmWindows).padStart(6)}  ${n(r.keysToFlag.median).padStart(20)}  ${n(r.keysToFlag.p95).padStart(3)}  ${(100 * r.neverFlagged).toFixed(1).padStart(7)}  ${(100 * r.genuineClean).toFixed(1).padStart(15)}  ${r.falseFlagsPer1000.toFixed(2)}`,
    );
  }
  const rank = (x: number | null) => (x === null ? Infinity : x);
  // Per hop: a smaller hop costs more scoring on the device and must beat the product's
  // non-overlapping windows by more than the sampling noise to be worth it (docs/model.md §5a).
  for (const hop of hops) {
    const best = rows
      .filter((r) => r.hop === hop && r.genuineClean >= 0.95)
      .sort(
        (a, b) =>
          rank(a.keysToFlag.median) - rank(b.keysToFlag.median) || a.neverFlagged - b.neverFlagged,
      )[0];
    console.log(
      `hop ${hop}: chosen (genuine clean ≥ 95 % over ${genuineKeys}-key sessions, fewest impostor keys): ${best === undefined ? 'none meets 95 %' : JSON.stringify({ clamp: best.clamp, falseAlarmWindows: best.falseAlarmWindows, median: best.keysToFlag.median })} on ${runs.length} users, ${rows[0]?.pairs ?? 0} pairs`,
    );
  }
}
