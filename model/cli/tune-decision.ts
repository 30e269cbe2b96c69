/**
 * `npm run tune -- decision --data <dir> [--users N] [--offset K] [--modality keystroke|pointer]`:
 * chooses the product decision's two settings — the per-window LLR clamp (in the calibration
 * file) and the false-alarm budget (`PRODUCT.decision.falseAlarmWindows`) — on **validation
 * users** (an Aalto slice the figures are never reported on, or SapiMouse folders), with the
 * product's own models, windows and enrolment (`productLlrStreams`, computed once) and the
 * product's decision. Rule: among the settings whose genuine sessions stay free of a false flag
 * in ≥ 95 % of cases (the goal), the one with the fewest impostor actions to a flag (median,
 * then the never-flagged fraction). It prints the grid; the chosen values are copied into
 * `model/product/calibration.json` (`clamp`) and `model/product/scorer.ts` by hand, so that a
 * change of the shipped decision is a reviewed commit.
 */
import type { Modality } from '../features/schema';
import { summarizeContinuous, type ContinuousSummary } from '../eval/continuous';
import {
  type ContinuousUser,
  productLlrStreams,
  trialsFromStreams,
} from '../eval/product-protocols';
import { parseCommandLine } from './args';
import { loadAalto, loadSapiMouse } from './load-datasets';
import { loadCalibration, refuseCalibrationUsers, shippedEncoder } from './product-eval';
import { userFingerprint } from './training-identity';

/** The grid. */
export const DECISION_GRID = {
  clamps: [3, 4, 6, 8],
  budgets: [20, 50, 100, 200, 500, 1000],
} as const;

/** The settings' figures, and which one the rule picks. */
export interface DecisionTuning {
  rows: { clamp: number; falseAlarmWindows: number; summary: ContinuousSummary }[];
  chosen: { clamp: number; falseAlarmWindows: number } | null;
}

/** Runs the grid on the given users' streams. */
export async function tuneDecision(
  modality: Modality,
  users: readonly ContinuousUser[],
  log: (line: string) => void = () => {},
  calibration = loadCalibration(),
): Promise<DecisionTuning> {
  const streams = await productLlrStreams(modality, users, {
    encoder: shippedEncoder(modality),
    calibration,
    onProgress: (d, t) => {
      if (d % 20 === 0 || d === t) log(`  ${d}/${t} users`);
    },
  });
  const rows: DecisionTuning['rows'] = [];
  for (const clamp of DECISION_GRID.clamps) {
    for (const falseAlarmWindows of DECISION_GRID.budgets) {
      const trials = await trialsFromStreams(modality, streams, clamp, {
        decision: { falseAlarmWindows, cap: 2 },
      });
      rows.push({ clamp, falseAlarmWindows, summary: summarizeContinuous(trials, modality) });
    }
  }
  const rank = (x: number | null) => (x === null ? Infinity : x);
  const ok = rows.filter((r) => r.summary.genuine.noFalseFlagFraction >= 0.95);
  ok.sort(
    (a, b) =>
      rank(a.summary.impostor.actionsToFlag.median) -
        rank(b.summary.impostor.actionsToFlag.median) ||
      a.summary.impostor.neverFlaggedFraction - b.summary.impostor.neverFlaggedFraction,
  );
  const best = ok[0];
  return {
    rows,
    chosen:
      best === undefined ? null : { clamp: best.clamp, falseAlarmWindows: best.falseAlarmWindows },
  };
}

/** Entry: `npm run tune -- decision …` (argv after `decision`). */
export async function runTuneDecision(argv: readonly string[]): Promise<void> {
  const cl = parseCommandLine(
    ['decision', ...argv],
    ['decision'],
    ['data', 'users', 'offset', 'modality'],
  );
  const data = cl.required('data', '<dir>');
  const modality = cl.get('modality') ?? 'keystroke';
  if (modality !== 'keystroke' && modality !== 'pointer')
    throw new TypeError('--modality must be keystroke or pointer');
  const offset = cl.int('offset', 0) ?? 0;
  const limit = cl.int('users', 2);
  const calibration = loadCalibration();
  let users: ContinuousUser[];
  if (modality === 'keystroke') {
    const loaded = loadAalto(data, { offset, ...(limit === undefined ? {} : { limit }) });
    users = refuseCalibrationUsers(loaded, calibration, 'keystroke', (u) =>
      userFingerprint(u.sequences[0] ?? []),
    ).map((u) => ({ userId: u.userId, subject: u.userId, recordings: u.sequences }));
  } else {
    const loaded = loadSapiMouse(data).slice(
      offset,
      limit === undefined ? undefined : offset + limit,
    );
    users = refuseCalibrationUsers(loaded, calibration, 'pointer', (u) =>
      userFingerprint(u.session3min),
    ).map((u) => ({
      userId: u.userId,
      subject: u.subject,
      recordings: [u.session3min, u.session1min],
    }));
  }
  const t = await tuneDecision(modality, users, (l) => console.error(l), calibration);
  const n = (x: number | null) => (x === null ? '—' : String(x));
  console.log('clamp  budget  impostor median  p95  never  genuine clean  false flags/1000');
  for (const r of t.rows) {
    const s = r.summary;
    console.log(
      `${String(r.clamp).padStart(5)}  ${String(r.falseAlarmWindows).padStart(6)}  ${n(s.impostor.actionsToFlag.median).padStart(15)}  ${n(s.impostor.actionsToFlag.p95).padStart(3)}  ${(100 * s.impostor.neverFlaggedFraction).toFixed(1).padStart(5)}  ${(100 * s.genuine.noFalseFlagFraction).toFixed(1).padStart(13)}  ${(s.genuine.falseFlagsPer1000 ?? 0).toFixed(2)}`,
    );
  }
  console.log(
    `chosen (genuine clean ≥ 95 %, fewest impostor ${modality === 'keystroke' ? 'keys' : 'events'}): ${t.chosen === null ? 'none meets 95 %' : JSON.stringify(t.chosen)} on ${users.length} users`,
  );
}
