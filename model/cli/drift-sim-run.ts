/**
 * `npm run drift:sim`'s work (Node): real Aalto users through the drift and poisoning
 * simulations of `model/eval/drift-sim.ts` (the product's own path: windower → product scorer →
 * decision → template growth → drift rule → refit), with the shipped encoder, calibration and
 * {@link DRIFT}. The report says which users ran; the drift rule's constants were set on Aalto
 * users 1201–1206 (`--offset 1200`), and the decision's on 1001–1200, so report on others (the
 * default, `--offset 0`: users 1–N).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { DetectorConfig } from '../detector/config';
import { DRIFT, type DriftConfig, checkDriftConfig } from '../product/drift';
import { PRODUCT } from '../product/scorer';
import {
  ADAPT_POLICIES,
  type AdaptPolicy,
  type DriftUserRun,
  type PoisonUserRun,
  type SimUser,
  simulateDrift,
  simulatePoisoning,
} from '../eval/drift-sim';
import { loadAalto } from './load-datasets';
import { shippedEncoder } from './product-eval';

/** Usage text of `npm run drift:sim`. */
export const DRIFT_SIM_USAGE = `usage: npm run drift:sim -- --data <aalto dir> --users N --out report.json [options]
  --offset K             skip the first K users (default 0; the drift rule was set on 1201–1206)
  --sessions S           drift sessions per user (default 40)
  --drifts a,b           final timing changes, e.g. 0.25 = 25 % slower by the last session (default 0.25,-0.25)
  --recordings R         sentences per drift session (default 6)
  --jitter σ             log-normal jitter of every inter-event gap (default 0.05)
  --poison-sessions P    poisoning sessions per victim (default 20; 0: no poisoning run)
  --attacker-share f     share of the attacker's windows in a poisoning session (default 0.5)
  --confirmations on|off at a step-up the genuine user confirms with a passkey (on, the product) or
                         nothing happens (off: the ablation); an attacker's session ends there when on
  --confirm-delay W      windows lost between a step-up and its confirmation (default 1)
  --policies p,q         of frozen,growth,safeguarded (default all three)
  --drift-rule k=v,...   drift-rule settings over the shipped DRIFT (tuning users only)
  --seed n               (default 1)
  --backend wasm|cpu     (default wasm)`;

/** Parsed command line. */
export interface DriftSimArgs {
  data: string;
  users: number;
  offset: number;
  out: string;
  sessions: number;
  drifts: number[];
  recordings: number;
  jitter: number;
  poisonSessions: number;
  attackerShare: number;
  confirmations: boolean;
  confirmDelay: number;
  policies: AdaptPolicy[];
  /** The drift rule used: {@link DRIFT} with `--drift-rule` over it. */
  driftRule: Readonly<DriftConfig>;
  seed: number;
  backend: 'wasm' | 'cpu';
}

/** Parses `npm run drift:sim`'s arguments. @throws {TypeError} on a bad command line. */
export function parseDriftSimArgs(argv: readonly string[]): DriftSimArgs {
  const names = [
    'data',
    'users',
    'offset',
    'out',
    'sessions',
    'drifts',
    'recordings',
    'jitter',
    'poison-sessions',
    'attacker-share',
    'confirmations',
    'confirm-delay',
    'policies',
    'drift-rule',
    'seed',
    'backend',
  ];
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new TypeError((error as Error).message, { cause: error });
  }
  const need = (n: string): string => {
    const v = values[n];
    if (v === undefined) throw new TypeError(`--${n} is required`);
    return v;
  };
  const int = (n: string, dflt: number, min: number, max: number): number => {
    const v = values[n];
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max)
      throw new TypeError(`--${n} must be an integer in [${min}, ${max}], got ${v}`);
    return x;
  };
  const num = (v: string, n: string, lo: number, hi: number): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x) || x < lo || x > hi)
      throw new TypeError(`--${n} must be a number in [${lo}, ${hi}], got ${v}`);
    return x;
  };
  if (values.users === undefined) throw new TypeError('--users is required');
  const backend = values.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu')
    throw new TypeError(`--backend must be wasm or cpu, got ${backend}`);
  const confirmations = values.confirmations ?? 'on';
  if (confirmations !== 'on' && confirmations !== 'off')
    throw new TypeError(`--confirmations must be on or off, got ${confirmations}`);
  const policies = (values.policies ?? ADAPT_POLICIES.join(',')).split(',');
  for (const p of policies)
    if (!(ADAPT_POLICIES as readonly string[]).includes(p))
      throw new TypeError(`--policies takes ${ADAPT_POLICIES.join(', ')}, got ${p}`);
  const driftRule: Record<string, number> = { ...DRIFT };
  for (const kv of values['drift-rule']?.split(',') ?? []) {
    const [k, v] = kv.split('=');
    if (k === undefined || v === undefined || !(k in DRIFT))
      throw new TypeError(
        `--drift-rule takes name=value of ${Object.keys(DRIFT).join(', ')}, got ${kv}`,
      );
    driftRule[k] = num(v, 'drift-rule', -1000, 1000);
  }
  try {
    checkDriftConfig(driftRule as unknown as DriftConfig);
  } catch (error) {
    throw new TypeError(`--drift-rule: ${(error as Error).message}`, { cause: error });
  }
  return {
    data: need('data'),
    users: int('users', Number.NaN, 2, 1000),
    offset: int('offset', 0, 0, 100000),
    out: need('out'),
    sessions: int('sessions', 40, 2, 1000),
    drifts: (values.drifts ?? '0.25,-0.25').split(',').map((d) => num(d, 'drifts', -0.5, 1)),
    recordings: int('recordings', 6, 1, 100),
    jitter: num(values.jitter ?? '0.05', 'jitter', 0, 1),
    poisonSessions: int('poison-sessions', 20, 0, 1000),
    attackerShare: num(values['attacker-share'] ?? '0.5', 'attacker-share', 0.05, 1),
    confirmations: confirmations === 'on',
    confirmDelay: int('confirm-delay', 1, 0, 100),
    policies: ADAPT_POLICIES.filter((p) => policies.includes(p)),
    driftRule: Object.freeze(driftRule as unknown as DriftConfig),
    seed: int('seed', 1, 0, 2 ** 31),
    backend,
  };
}

/** Per policy: sessions, false flags and their rate. */
export interface FlagSummary {
  sessions: number;
  /** Sessions in which the decision fired at least once: each met a step-up. */
  flagged: number;
  falseFlagRate: number;
  /** Step-ups (the decision fired; more than one per session after a confirmation). */
  stepUps: number;
  /** Strong-factor confirmations by the genuine user. */
  confirmations: number;
  /** Growth batches typed after a confirmation, refused and admitted (safeguarded). */
  confirmedBatches: { refused: number; admitted: number };
  /** Users whose share of flagged sessions exceeds 5 %. */
  usersAbove5pct: number;
  windowsLearned: number;
}

/** Per policy: where the model stands toward the attacker, before the attack and after. */
export interface PoisonSummary {
  victims: number;
  /** Mean over victims of the attacker probe's mean LLR, before the first session and after each. */
  attackerLlr: number[];
  /** The same for the victim's own probe windows. */
  victimLlr: number[];
  /** Mean template distance from the enrolment, before and after each session. */
  distance: number[];
  /** Attacker windows learned, summed over victims. */
  foreignLearned: number;
  /** Victims for which the attacker's mean LLR rose by more than 0.25 over the run. */
  victimsMovedTowardAttacker: number;
  /** Poisoning sessions, and those the decision ended (a step-up the attacker cannot pass). */
  sessions: number;
  sessionsCut: number;
}

/** The report written to `--out`. */
export interface DriftSimReport {
  question: string;
  dataset: string;
  users: { offset: number; requested: number; ids: string[]; skipped: string[] };
  settings: Omit<DriftSimArgs, 'data' | 'out' | 'driftRule'> & {
    drift: Readonly<DriftConfig>;
    growth: typeof PRODUCT.growth;
    decision: typeof PRODUCT.decision;
  };
  drift: {
    drift: number;
    byPolicy: Partial<Record<AdaptPolicy, FlagSummary>>;
    runs: DriftUserRun[];
  }[];
  poisoning: {
    attackerShare: number;
    byPolicy: Partial<Record<AdaptPolicy, PoisonSummary>>;
    runs: PoisonUserRun[];
  } | null;
  seconds: number;
}

function flagSummary(runs: readonly DriftUserRun[]): FlagSummary {
  const sessions = runs.reduce((a, r) => a + r.sessions.length, 0);
  const flagged = runs.reduce((a, r) => a + r.sessions.filter((s) => s.flagged).length, 0);
  const sum = (f: (s: DriftUserRun['sessions'][number]) => number): number =>
    runs.reduce((a, r) => a + r.sessions.reduce((b, s) => b + f(s), 0), 0);
  return {
    sessions,
    flagged,
    falseFlagRate: sessions === 0 ? 0 : flagged / sessions,
    stepUps: sum((s) => s.stepUps),
    confirmations: sum((s) => s.confirmations),
    confirmedBatches: {
      refused: runs.reduce((a, r) => a + r.confirmedBatches[0], 0),
      admitted: runs.reduce((a, r) => a + r.confirmedBatches[1], 0),
    },
    usersAbove5pct: runs.filter(
      (r) => r.sessions.filter((s) => s.flagged).length > 0.05 * r.sessions.length,
    ).length,
    windowsLearned: runs.reduce((a, r) => a + r.sessions.reduce((b, s) => b + s.stored, 0), 0),
  };
}

function poisonSummary(runs: readonly PoisonUserRun[]): PoisonSummary {
  const n = runs.length;
  const points = runs[0]?.points.length ?? 0;
  // Over the victims that have the figure: a victim whose held-out sentences leave no probe
  // window has a NaN victim LLR (PoisonPoint.victimLlr), which would poison the whole mean.
  const mean = (f: (r: PoisonUserRun, i: number) => number): number[] =>
    Array.from({ length: points }, (_, i) => {
      const xs = runs.map((r) => f(r, i)).filter((x) => !Number.isNaN(x));
      return xs.length === 0 ? Number.NaN : xs.reduce((a, x) => a + x, 0) / xs.length;
    });
  return {
    victims: n,
    attackerLlr: mean((r, i) => r.points[i]!.attackerLlr),
    victimLlr: mean((r, i) => r.points[i]!.victimLlr),
    distance: mean((r, i) => r.points[i]!.distance),
    foreignLearned: runs.reduce((a, r) => a + r.points.at(-1)!.foreignInTemplate, 0),
    victimsMovedTowardAttacker: runs.filter(
      (r) => r.points.at(-1)!.attackerLlr - r.points[0]!.attackerLlr > 0.25,
    ).length,
    sessions: runs.reduce((a, r) => a + r.sessions.length, 0),
    sessionsCut: runs.reduce((a, r) => a + r.sessions.filter((s) => s.cut).length, 0),
  };
}

/** Hooks of {@link runDriftSim}. */
export interface DriftSimHooks {
  log?: (line: string) => void;
  /** Detector overrides (tests: fewer epochs). */
  detector?: Partial<DetectorConfig>;
  /** Users already loaded (tests), instead of reading `args.data`. */
  users?: SimUser[];
}

/** Runs both simulations. */
export async function runDriftSim(
  args: DriftSimArgs,
  hooks: DriftSimHooks = {},
): Promise<DriftSimReport> {
  const started = performance.now();
  const log = hooks.log ?? (() => undefined);
  const users =
    hooks.users ??
    loadAalto(args.data, { offset: args.offset, limit: args.users }).map((u) => ({
      userId: u.userId,
      recordings: u.sequences,
    }));
  const encoder = shippedEncoder('keystroke');
  const detector = hooks.detector === undefined ? {} : { detector: hooks.detector };
  const skipped = new Set<string>();
  const drift: DriftSimReport['drift'] = [];
  for (const d of args.drifts) {
    const runs: DriftUserRun[] = [];
    for (const [i, u] of users.entries()) {
      const r = await simulateDrift(u, {
        modality: 'keystroke',
        encoder,
        sessions: args.sessions,
        drift: d,
        recordingsPerSession: args.recordings,
        jitter: args.jitter,
        seed: args.seed * 7919 + i,
        policies: args.policies,
        driftConfig: args.driftRule,
        onStepUp: args.confirmations ? 'confirm' : 'none',
        confirmDelayWindows: args.confirmDelay,
        ...detector,
      });
      if (r === null) skipped.add(u.userId);
      else runs.push(...r);
      log(`drift ${d}: user ${i + 1}/${users.length}`);
    }
    const byPolicy = Object.fromEntries(
      args.policies.map((p) => [p, flagSummary(runs.filter((r) => r.policy === p))]),
    );
    drift.push({ drift: d, byPolicy, runs });
  }
  let poisoning: DriftSimReport['poisoning'] = null;
  if (args.poisonSessions > 0) {
    const runs: PoisonUserRun[] = [];
    for (const [i, victim] of users.entries()) {
      // The attacker is the next user in the list: another real person.
      const attacker = users[(i + 1) % users.length]!;
      const r = await simulatePoisoning(victim, attacker, {
        modality: 'keystroke',
        encoder,
        sessions: args.poisonSessions,
        windowsPerSession: PRODUCT.growth.refitEvery,
        attackerShare: args.attackerShare,
        seed: args.seed * 7919 + i,
        policies: args.policies,
        driftConfig: args.driftRule,
        onStepUp: args.confirmations ? 'cut' : 'none',
        ...detector,
      });
      if (r === null) skipped.add(victim.userId);
      else runs.push(...r);
      log(`poisoning: victim ${i + 1}/${users.length}`);
    }
    const byPolicy = Object.fromEntries(
      args.policies.map((p) => [p, poisonSummary(runs.filter((r) => r.policy === p))]),
    );
    poisoning = { attackerShare: args.attackerShare, byPolicy, runs };
  }
  const { data: _data, out: _out, driftRule: _rule, ...settings } = args;
  return {
    question:
      'Drift: the share of a genuine user’s sessions flagged as a takeover while their timing drifts gradually, with and without adaptation. Poisoning: whether an attacker feeding sessions that stay above the safe level moves the model toward themselves (mean LLR of the attacker’s never-fed windows, template distance), with and without the safeguards.',
    dataset: `Aalto (aalto-dev), users ${args.offset + 1}–${args.offset + users.length} in id order`,
    users: {
      offset: args.offset,
      requested: args.users,
      ids: users.map((u) => u.userId),
      skipped: [...skipped],
    },
    settings: {
      ...settings,
      drift: args.driftRule,
      growth: PRODUCT.growth,
      decision: PRODUCT.decision,
    },
    drift,
    poisoning,
    seconds: (performance.now() - started) / 1000,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** The printed tables. */
export function formatDriftSim(report: DriftSimReport): string[] {
  const lines: string[] = [];
  const policies = report.settings.policies;
  const confirming = report.settings.confirmations;
  for (const d of report.drift) {
    lines.push(
      `drift ${d.drift >= 0 ? '+' : ''}${Math.round(d.drift * 100)} % over ${report.settings.sessions} sessions; at a step-up the user ${confirming ? `confirms (${report.settings.confirmDelay} window lost)` : 'does nothing (no confirmations)'}`,
    );
    lines.push(
      '  policy        sessions  flagged  false-flag rate  users > 5 %  step-ups  confirmations  windows learned  confirmed batches admitted/offered',
    );
    for (const p of policies) {
      const s = d.byPolicy[p]!;
      const cb = s.confirmedBatches;
      lines.push(
        `  ${p.padEnd(12)}  ${String(s.sessions).padStart(8)}  ${String(s.flagged).padStart(7)}  ${pct(s.falseFlagRate).padStart(15)}  ${String(s.usersAbove5pct).padStart(11)}  ${String(s.stepUps).padStart(8)}  ${String(s.confirmations).padStart(13)}  ${String(s.windowsLearned).padStart(15)}  ${`${cb.admitted}/${cb.admitted + cb.refused}`.padStart(34)}`,
      );
    }
  }
  const poison = report.poisoning;
  if (poison !== null) {
    lines.push(
      `poisoning: attacker share ${poison.attackerShare}, ${report.settings.poisonSessions} sessions; ${confirming ? 'a session in which the decision fires ends there' : 'sessions go on after the decision fires'}; mean attacker-probe LLR (higher = the model takes the attacker for the user)`,
    );
    lines.push(
      '  policy        victims  attacker LLR before → after  victim LLR before → after  distance before → after  attacker windows learned  victims moved toward attacker  sessions cut',
    );
    const ba = (xs: number[]): string =>
      `${xs[0]!.toFixed(2)} → ${xs.at(-1)!.toFixed(2)}`.padStart(13);
    for (const p of policies) {
      const s = poison.byPolicy[p]!;
      lines.push(
        `  ${p.padEnd(12)}  ${String(s.victims).padStart(7)}  ${ba(s.attackerLlr).padStart(27)}  ${ba(s.victimLlr).padStart(25)}  ${ba(s.distance).padStart(23)}  ${String(s.foreignLearned).padStart(24)}  ${String(s.victimsMovedTowardAttacker).padStart(29)}  ${`${s.sessionsCut}/${s.sessions}`.padStart(12)}`,
      );
    }
    for (const p of policies)
      lines.push(
        `  ${`${p}, per session:`.padEnd(26)} ${poison.byPolicy[p]!.attackerLlr.map((x) => x.toFixed(2)).join(' ')}`,
      );
  }
  return lines;
}

/** Writes the JSON report. */
export function writeDriftSimReport(report: DriftSimReport, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
