/**
 * Evaluation reports (pure): the JSON shape written by `npm run eval`, the published figures
 * each task is compared with, and the plain-text table printed next to them.
 */
import { type ContinuousSummary, formatContinuous, summarizeContinuous } from './continuous';
import { type Distribution, type RocPoint, distribution, verificationMetrics } from './metrics';
import type { FixedResult, MouseResult, ProtocolResult, ScoreSet, SkippedUser } from './protocols';
import type { ContinuousTrials } from './continuous';
import type { ProductProtocolResult, ProductScoreSets } from './product-protocols';

/** The evaluation tasks. */
export const EVAL_TASKS = ['keystroke-aalto', 'mouse-sapimouse', 'keystroke-fixed'] as const;

/** One of {@link EVAL_TASKS}. */
export type EvalTask = (typeof EVAL_TASKS)[number];

/** A published figure to compare with (`null` where the source gives none). */
export interface PublishedFigure {
  source: string;
  eer: number | null;
  auc: number | null;
}

/** Published results, from `shared/datasets/README.md` (their own test users, not ours). */
export const PUBLISHED: Readonly<Record<EvalTask, PublishedFigure>> = Object.freeze({
  'keystroke-aalto': {
    source:
      'TypeNet (Acien et al., IJCB 2020): mean per-subject EER, 1,000 test subjects, G = 5, M = 50 ' +
      '(T-BIOM 2021, trained on 68,000 subjects: 2.2 %)',
    eer: 0.048,
    auc: null,
  },
  'mouse-sapimouse': {
    source: 'SapiMouse (Antal et al., SACI 2021): global ROC, users 73–120, 3 blocks of 128 events',
    eer: 0.106,
    auc: 0.94,
  },
  'keystroke-fixed': {
    source:
      'Monaco & Tappert, Pattern Recognition 2018 (protocol only: no figure in datasets/README.md)',
    eer: null,
    auc: null,
  },
});

/** SapiMouse published figures by number of blocks averaged. */
export const PUBLISHED_SAPIMOUSE_BY_BLOCKS: Readonly<Record<string, PublishedFigure>> =
  Object.freeze({
    '1': { source: 'SapiMouse (SACI 2021), 1 block', eer: 0.176, auc: 0.876 },
    '3': { source: 'SapiMouse (SACI 2021), 3 blocks', eer: 0.106, auc: 0.94 },
    '5': { source: 'SapiMouse (SACI 2021), 5 blocks', eer: 0.09, auc: 0.95 },
  });

/** Metrics of one score set. */
export interface EvalSummary {
  /** Users with a per-user EER. */
  users: number;
  /** Query scores behind the global ROC. */
  samples: { genuine: number; impostor: number };
  /** Global (pooled) ROC EER. */
  eer: number;
  /** Global Mann–Whitney AUC. */
  auc: number;
  /** Global FRR at FAR ≤ 1 %. */
  frrAtFar1: number;
  /** Global FRR at FAR ≤ 0.1 %. */
  frrAtFar01: number;
  /** Per-user EER distribution (its mean is TypeNet's figure). */
  perUserEer: Distribution;
  /** Global ROC, thinned. */
  roc: RocPoint[];
  published?: PublishedFigure;
  /** Continuous-authentication figures (`continuous.ts`; docs/model.md §8). */
  continuous?: ContinuousSummary;
  /** Each per-user model alone on the same queries (product protocols). */
  ablations?: Record<string, Ablation>;
}

/** One component alone (`eer` and `auc` global, `perUserEer` its distribution). */
export interface Ablation {
  eer: number;
  auc: number;
  perUserEer: Distribution;
}

/** The JSON report of one `npm run eval` run. */
export interface EvalReport extends EvalSummary {
  task: EvalTask;
  /** Figures to compare with. */
  published: PublishedFigure;
  /** What the top-level figures are (e.g. which block count). */
  headline: string;
  /** Users loaded (before skipping). */
  usersLoaded: number;
  /** Users left out, and why. */
  skipped: SkippedUser[];
  /** Models fitted. */
  fits: number;
  /** Queries without any window (no score). */
  emptyQueries: { genuine: number; impostor: number };
  /** Protocol settings and data facts. */
  notes: string[];
  /** SapiMouse: one summary per number of blocks averaged. */
  byBlocks?: Record<string, EvalSummary>;
  /** keystroke-fixed: one summary per data set. */
  bySet?: Record<string, EvalSummary>;
  /** Run facts filled in by the CLI (backend, data directory, wall time…). */
  run?: Record<string, string | number>;
}

/**
 * Metrics of one score set.
 * @throws {RangeError} when it has no genuine or no impostor score.
 */
export function summarize(set: ScoreSet, published?: PublishedFigure): EvalSummary {
  const m = verificationMetrics(set.genuine, set.impostor);
  return {
    users: set.perUser.length,
    samples: { genuine: m.genuine, impostor: m.impostor },
    eer: m.eer,
    auc: m.auc,
    frrAtFar1: m.frrAtFar1,
    frrAtFar01: m.frrAtFar01,
    perUserEer: distribution(set.perUser.map((u) => u.eer)),
    roc: m.roc,
    ...(published === undefined ? {} : { published }),
  };
}

function base(task: EvalTask, result: Omit<ProtocolResult, keyof ScoreSet>, usersLoaded: number) {
  return {
    task,
    usersLoaded,
    skipped: result.skipped,
    fits: result.fits,
    emptyQueries: result.emptyQueries,
    notes: result.notes,
  };
}

/** The report of a `keystroke-aalto` run. */
export function aaltoReport(result: ProtocolResult, usersLoaded: number): EvalReport {
  return {
    ...summarize(result),
    ...base('keystroke-aalto', result, usersLoaded),
    continuous: summarizeContinuous(result.continuous, 'keystroke'),
    published: PUBLISHED['keystroke-aalto'],
    headline: 'global ROC over all queries; TypeNet reports perUserEer.mean',
  };
}

/** The report of a `mouse-sapimouse` run; the top-level figures are the 3-block ones (or the first block count). */
export function sapiMouseReport(result: MouseResult, usersLoaded: number): EvalReport {
  const byBlocks: Record<string, EvalSummary> = {};
  for (const [n, set] of Object.entries(result.byBlocks)) {
    byBlocks[n] = summarize(set, PUBLISHED_SAPIMOUSE_BY_BLOCKS[n]);
  }
  const head = byBlocks['3'] !== undefined ? '3' : Object.keys(byBlocks)[0]!;
  const { published: _unused, ...top } = byBlocks[head]!;
  return {
    ...top,
    ...base('mouse-sapimouse', result, usersLoaded),
    continuous: summarizeContinuous(result.continuous, 'pointer'),
    published: PUBLISHED_SAPIMOUSE_BY_BLOCKS[head] ?? PUBLISHED['mouse-sapimouse'],
    headline: `${head} block(s) of scores averaged (see byBlocks)`,
    byBlocks,
  };
}

/** The report of a `keystroke-fixed` run: top level = all sets pooled; `bySet` each alone. */
export function fixedReport(result: FixedResult, usersLoaded: number): EvalReport {
  const bySet: Record<string, EvalSummary> = {};
  for (const [name, r] of Object.entries(result.bySet)) {
    bySet[name] = { ...summarize(r), continuous: summarizeContinuous(r.continuous, 'keystroke') };
  }
  return {
    ...summarize(result),
    ...base('keystroke-fixed', result, usersLoaded),
    continuous: summarizeContinuous(result.continuous, 'keystroke'),
    published: PUBLISHED['keystroke-fixed'],
    headline: 'keypad and fixed text pooled (see bySet)',
    bySet,
  };
}

/** The metrics of a product protocol's score sets, with every component as an ablation. */
export function summarizeProduct(sets: ProductScoreSets, published?: PublishedFigure): EvalSummary {
  const ablations: Record<string, Ablation> = {};
  for (const [name, set] of Object.entries(sets.ablations)) {
    if (set.genuine.length === 0 || set.impostor.length === 0) continue;
    const m = summarize(set);
    ablations[name] = { eer: m.eer, auc: m.auc, perUserEer: m.perUserEer };
  }
  return { ...summarize(sets.product, published), ablations };
}

/**
 * The report of a product protocol run (`npm run eval`): the top-level figures are the product
 * scorer's; `ablations` each component alone; SapiMouse adds `byBlocks`.
 */
export function productReport(
  task: EvalTask,
  result: ProductProtocolResult,
  continuous: ContinuousTrials,
  usersLoaded: number,
  notes: string[],
): EvalReport {
  const modality = task === 'mouse-sapimouse' ? 'pointer' : 'keystroke';
  const common = {
    task,
    usersLoaded,
    skipped: result.skipped,
    fits: result.fits,
    emptyQueries: result.emptyQueries,
    notes,
    continuous: summarizeContinuous(continuous, modality),
  };
  if (task === 'mouse-sapimouse' && result.byGroup !== undefined) {
    const byBlocks: Record<string, EvalSummary> = {};
    for (const [windows, sets] of Object.entries(result.byGroup)) {
      // Two 64-event product windows make one 128-event block of the protocol.
      const n = String(Number(windows) / 2);
      byBlocks[n] = summarizeProduct(sets, PUBLISHED_SAPIMOUSE_BY_BLOCKS[n]);
    }
    const head = byBlocks['3'] !== undefined ? '3' : Object.keys(byBlocks)[0]!;
    const { published: _unused, ...top } = byBlocks[head]!;
    return {
      ...top,
      ...common,
      published: PUBLISHED_SAPIMOUSE_BY_BLOCKS[head] ?? PUBLISHED[task],
      headline: `product scorer, ${head} block(s) of 128 events (summed window LLRs; see byBlocks)`,
      byBlocks,
    };
  }
  return {
    ...summarizeProduct(result),
    ...common,
    published: PUBLISHED[task],
    headline:
      task === 'keystroke-aalto'
        ? 'product scorer (summed window LLRs per query), global ROC; TypeNet reports perUserEer.mean'
        : 'product scorer (summed window LLRs per held-out sample), global ROC',
  };
}

const pct = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(1)} %`;
const num = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(3);

/** A readable fixed-width table of a report (one row per score set, published figures beside). */
export function formatReport(report: EvalReport): string {
  const rows: [string, EvalSummary, PublishedFigure | undefined][] = [];
  if (report.byBlocks !== undefined) {
    for (const [n, s] of Object.entries(report.byBlocks))
      rows.push([`${n} block${n === '1' ? '' : 's'}`, s, s.published]);
  } else {
    rows.push(['all', report, report.published]);
    for (const [name, s] of Object.entries(report.bySet ?? {})) rows.push([name, s, undefined]);
  }
  const header = [
    'set',
    'users',
    'genuine',
    'impostor',
    'EER',
    'AUC',
    'FRR@FAR1%',
    'FRR@FAR0.1%',
    'user EER mean',
    'median',
    'p90',
    'published EER',
    'AUC',
  ];
  const lines = rows.map(([name, s, p]) => [
    name,
    String(s.users),
    String(s.samples.genuine),
    String(s.samples.impostor),
    pct(s.eer),
    num(s.auc),
    pct(s.frrAtFar1),
    pct(s.frrAtFar01),
    pct(s.perUserEer.mean),
    pct(s.perUserEer.median),
    pct(s.perUserEer.p90),
    pct(p?.eer),
    num(p?.auc),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  const out = [
    `${report.task}: ${report.headline}`,
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...lines.map(fmt),
    `published: ${report.published.source}`,
    ...report.notes.map((n) => `note: ${n}`),
  ];
  const ablationRows = (label: string, s: EvalSummary): string[] =>
    Object.entries(s.ablations ?? {}).map(
      ([name, a]) =>
        `ablation ${label}${name} alone: EER ${pct(a.eer)}, AUC ${num(a.auc)}, user EER mean ${pct(a.perUserEer.mean)}`,
    );
  if (report.byBlocks !== undefined) {
    for (const [n, s] of Object.entries(report.byBlocks))
      out.push(...ablationRows(`${n} block(s): `, s));
  } else out.push(...ablationRows('', report));
  if (report.continuous !== undefined) out.push(...formatContinuous(report.continuous));
  for (const [name, s] of Object.entries(report.bySet ?? {})) {
    if (s.continuous !== undefined)
      out.push(...formatContinuous(s.continuous, `continuous ${name}`));
  }
  if (report.skipped.length > 0)
    out.push(
      `skipped ${report.skipped.length} user(s): ${report.skipped
        .slice(0, 5)
        .map((s) => `${s.userId} (${s.reason})`)
        .join(', ')}${report.skipped.length > 5 ? ', …' : ''}`,
    );
  if (report.emptyQueries.genuine + report.emptyQueries.impostor > 0) {
    out.push(
      `queries without a window (not scored): ${report.emptyQueries.genuine} genuine, ${report.emptyQueries.impostor} impostor`,
    );
  }
  return out.join('\n');
}
