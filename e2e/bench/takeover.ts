/**
 * Takeover bench (issue 12): in real Chromium with the built extension, an Aalto typist enrols
 * in the demo bank and works for a while; then another typist's recorded rhythm takes over the
 * same session, replayed as real key presses with the recorded timings. Measured: key presses,
 * pointer moves and seconds from the first impostor key until the verifier's risk changes (the
 * first accepted attestation below the bank's step-up threshold: the verifier's
 * `risk-level-change` to MEDIUM or HIGH, docs/protocol.md §6) and until the bank's receiver holds
 * that CAEP event. The same enrolment also runs a genuine-only session (the user keeps typing
 * their own held-out sentences): any step-up there is a false risk change.
 *
 * Everything is the product's: the extension build (`dist/chrome`), its default attestation
 * interval, the verifier and the demo bank as `npm start` runs them, the default policy.
 */
import type { Page } from '@playwright/test';
import Database from 'better-sqlite3';
import type { ExtensionStatus } from '../../src/shared/protocol';
import { DEFAULT_THRESHOLDS } from '../../server/src/domain/decision';
import { login, sessionId } from '../support/bank';
import {
  configure,
  extensionPage,
  launchWithExtension,
  type LoadedExtension,
  type Typist as LoginTypist,
} from '../support/extension';
import { startServer, type RunningServer } from '../support/server';
import {
  startAttestationLog,
  type AttestationLog,
  type AttestationRecord,
} from './attestation-log';
import { median, printTable, quantile, round, writeJson } from './report';
import {
  DATASETS_DIR,
  HELD_OUT,
  MAX_GAP_MS,
  SENTENCE_PAUSE_MS,
  keySchedule,
  type MoveCursor,
  pickMousers,
  pickPairs,
  splitGenuine,
  type Mouser,
  type ReplayStep,
  type TypistPair,
} from './takeover-data';
import { join } from 'node:path';

export interface TakeoverOptions {
  /** Genuine/impostor pairs. Default 20. */
  pairs?: number;
  /** Seed of the pair draw. Default 12 (the number; never changed to flatter a run). */
  seed?: number;
  /** Keystroke+pointer variant: SapiMouse moves between sentences. Default false. */
  pointer?: boolean;
  /** Held-out sentences per run (genuine-only text, impostor text). Default {@link HELD_OUT}. */
  sentences?: number;
  /** Dataset root (holds `aalto-dev/`, `sapimouse-dev/`). */
  datasets?: string;
  /** Written after every pair, so a long run's finished pairs survive an interruption. */
  progressFile?: string;
  /**
   * The extension's attestation interval, ms. Default: the product's (not set). The smoke run
   * shortens it only to wait less for the last statement of each session.
   */
  attestationIntervalMs?: number;
}

/**
 * Recorded moves replayed after each sentence in the pointer variant, ms. SapiMouse gives ≈ 25
 * moves/s, and the windower drops a part-window at the next sentence's 5 s pause: 3 s chunks
 * (≈ 77 moves) made one 64-move window each, too few to train in the enrolment sentences.
 */
const POINTER_MS_PER_SENTENCE = 6000;
/** The extension's default attestation interval (src/shared/config.ts), ms. */
const PRODUCT_INTERVAL_MS = 5000;
/** After the last key: one attestation interval plus this for the statement and its push, ms. */
const SETTLE_EXTRA_MS = 1500;
/** Lateness (ms) past which the replay's clock is moved instead of catching up. */
const REANCHOR_MS = 15;
/** After the risk changed, how long the impostor keeps typing while the event travels, ms. */
const AFTER_RISK_MS = 10_000;
/** The demo bank's login is typed like a person, not scored (no session on the login page). */
const LOGIN_TYPIST: LoginTypist = { holdMs: 95, gapMs: 120, jitter: 0.2, seed: 7 };

/** What one bank session of a pair measured. */
export interface RunFigures {
  keys: number;
  pointerMoves: number;
  seconds: number;
  attestations: number;
  /** Lowest assurance the verifier answered in this session (null: no scoring attestation). */
  minAssurance: number | null;
  /** The verifier's decision endpoint at the end of the session. */
  decisionAtEnd: string;
  /** Risk-level-change events to MEDIUM/HIGH (and session-revoked) the bank received. */
  riskEvents: number;
  /** Replay lateness (how late each input was sent against its recorded time), ms. */
  lateMs: { p50: number; p95: number; max: number };
}

export interface PairRow {
  pair: number;
  genuineUser: string;
  impostorUser: string;
  genuineMouse: string | null;
  impostorMouse: string | null;
  enrolled: boolean;
  enrolKeys: number;
  enrolSeconds: number;
  genuineOnly: RunFigures & { falseRiskChange: boolean };
  takeover: RunFigures & {
    /** Warm-up (genuine) keys before the takeover. */
    warmUpKeys: number;
    /** The session was already at step-up before the impostor typed (a false alarm). */
    flaggedBeforeTakeover: boolean;
    keystrokesToRiskChange: number | null;
    pointerEventsToRiskChange: number | null;
    secondsToRiskChange: number | null;
    secondsToCaepEvent: number | null;
    /** The impostor's keys typed in all (up to the stop). */
    impostorKeys: number;
  };
}

export interface TakeoverBenchResult {
  bench: 'takeover';
  date: string;
  variant: 'keystroke' | 'keystroke+pointer';
  seed: number;
  pairs: number;
  enrolledPairs: number;
  /**
   * Over the flagged takeover runs; `medianAllRuns` also counts the never-flagged runs (as more
   * than they typed): a number, or `">N"` when more than half were never flagged within N keys.
   */
  keystrokesToRiskChange: {
    median: number | null;
    p95: number | null;
    medianAllRuns: number | string | null;
  };
  pointerEventsToRiskChange: { median: number | null; p95: number | null };
  secondsToRiskChange: { median: number | null; p95: number | null };
  secondsToCaepEvent: { median: number | null; p95: number | null };
  /** Takeover runs in which the risk never changed (their keys are not in the medians). */
  neverFlagged: number;
  flaggedBeforeTakeover: number;
  genuineRuns: number;
  falseRiskChanges: number;
  settings: {
    stepUpBelow: number;
    attestationIntervalMs: number | 'product default';
    maxGapMs: number;
    sentencePauseMs: number;
    heldOutSentences: number;
    pointerMsPerSentence: number | null;
  };
  datasets: { keystrokes: string; pointer: string | null };
  rows: PairRow[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function status(popup: Page): Promise<ExtensionStatus> {
  return popup.evaluate(() => chrome.runtime.sendMessage({ type: 'status' }));
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** What a replay sent: the time each key press and pointer move went out, and lateness. */
interface Sent {
  keyTimes: number[];
  moveTimes: number[];
  late: number[];
}

/**
 * Replays `steps` as real input (`keyboard.down`/`up`, `mouse.move`) at their scheduled times,
 * until done or `stop()` says so; every key still down is released at the end.
 */
async function replay(page: Page, steps: readonly ReplayStep[], stop?: () => boolean) {
  const sent: Sent = { keyTimes: [], moveTimes: [], late: [] };
  const down = new Set<string>();
  let start = performance.now() + 20;
  for (const step of steps) {
    const wait = start + step.at - performance.now();
    if (wait > 1) await sleep(wait);
    const late = Math.max(0, performance.now() - (start + step.at));
    sent.late.push(late);
    // A late input (a busy machine) shifts the rest of the replay rather than bunching the next
    // ones up: every later interval stays as recorded.
    if (late > REANCHOR_MS) start += late;
    if (step.kind === 'move') {
      await page.mouse.move(step.x, step.y);
      sent.moveTimes.push(Date.now());
    } else if (step.kind === 'down') {
      if (stop?.()) break;
      await page.keyboard.down(step.key);
      down.add(step.key);
      sent.keyTimes.push(Date.now());
    } else if (down.delete(step.key)) {
      await page.keyboard.up(step.key);
    }
  }
  for (const key of down) await page.keyboard.up(key);
  return sent;
}

/** Bank-side: the CAEP events the demo bank's receiver stored for a session. */
function bankEvents(
  db: Database.Database,
  sid: string,
): { type: string; summary: string; receivedAt: number }[] {
  const rows = db
    .prepare(
      'SELECT type, summary, received_at AS receivedAt FROM security_events WHERE sid = ? ORDER BY received_at',
    )
    .all(sid) as { type: string; summary: string; receivedAt: number }[];
  return rows.map((r) => ({ ...r, receivedAt: Number(r.receivedAt) }));
}

/** A risk change the bank must act on: to MEDIUM (step-up) or HIGH, or the session revoked. */
const isRiskEvent = (e: { type: string; summary: string }): boolean =>
  e.type === 'session-revoked' ||
  (e.type === 'risk-level-change' && /→ (MEDIUM|HIGH)\b/.test(e.summary));

const belowStepUp = (r: AttestationRecord): boolean =>
  r.status === 202 && r.assurance !== null && r.assurance < DEFAULT_THRESHOLDS.stepUpBelow;

async function decision(server: RunningServer, sid: string): Promise<string> {
  const response = await fetch(`${server.url}/v1/sessions/${sid}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.bankKey}` },
  });
  if (response.status !== 200) return `HTTP ${response.status}`;
  return ((await response.json()) as { action: string }).action;
}

function lateness(late: number[]): RunFigures['lateMs'] {
  if (late.length === 0) return { p50: 0, p95: 0, max: 0 };
  return {
    p50: round(median(late), 1),
    p95: round(quantile(late, 0.95), 1),
    max: round(Math.max(...late), 1),
  };
}

/** Logs into the demo bank and opens the transfer page, bound to a fresh Tacit session. */
async function openSession(page: Page, popup: Page, server: RunningServer, user: string) {
  await login(page, server, user, LOGIN_TYPIST);
  await page.click('#to-transfer');
  const sid = await sessionId(page);
  await page.bringToFront(); // a hidden tab's input is throttled and its timings distorted
  await until(
    'the session to be bound',
    () => status(popup),
    (s) => s.session?.bound === true,
  );
  await page.click('#memo');
  return sid;
}

async function logout(page: Page): Promise<void> {
  await Promise.all([page.waitForURL('**/bank/login**'), page.click('#logout')]);
}

interface Context {
  server: RunningServer;
  log: AttestationLog;
  db: Database.Database;
  sentences: number;
  settleMs: number;
  attestationIntervalMs: number | undefined;
}

async function runPair(
  ctx: Context,
  index: number,
  pair: TypistPair,
  mice: [Mouser, Mouser] | null,
): Promise<PairRow> {
  const { server, log, db } = ctx;
  const split = splitGenuine(pair.genuine);
  const heldOut = split.heldOut.slice(-ctx.sentences);
  const impostorText = pair.impostor.sentences.slice(0, ctx.sentences);
  // Each person's moves go on from where their last schedule stopped: enrolment, then the
  // genuine-only run and the takeover's warm-up from the same (held-out) point, the impostor
  // from their first move.
  const genuineMoves: MoveCursor = { next: 0 };
  const pointer = (m: Mouser | undefined, cursor: MoveCursor) =>
    m === undefined
      ? undefined
      : { moves: m.moves, msPerSentence: POINTER_MS_PER_SENTENCE, cursor };
  const user = `takeover-${index}-${pair.genuine.userId}`;
  const ext: LoadedExtension = await launchWithExtension();
  try {
    await configure(ext, {
      serverUrl: log.url,
      protectedOrigins: [server.bankUrl],
      ...(ctx.attestationIntervalMs === undefined
        ? {}
        : { attestationIntervalMs: ctx.attestationIntervalMs }),
    });
    const page = await ext.context.newPage();
    const popup = await extensionPage(ext);
    await login(page, server, user, LOGIN_TYPIST);

    // Enrol: the bank shows a code, the extension registers its key; then the user types.
    await Promise.all([
      page.waitForURL('**/bank/accounts?enrolled=pending'),
      page.click('#enroll'),
    ]);
    await page.bringToFront();
    await until(
      'enrolment',
      () => status(popup),
      (s) => s.enrolled,
    );
    await page.click('#to-transfer');
    await page.bringToFront();
    await until(
      'the session to be bound',
      () => status(popup),
      (s) => s.session?.bound === true,
    );
    await page.click('#memo');
    const enrolStart = Date.now();
    let enrolKeys = 0;
    const trained = async () => {
      const s = await status(popup);
      return (
        s.model?.modalities.keystroke.trained === true &&
        (mice === null || s.model.modalities.pointer.trained === true)
      );
    };
    let enrolled = false;
    for (const sentence of split.enrol) {
      const sent = await replay(page, keySchedule([sentence], pointer(mice?.[0], genuineMoves)));
      enrolKeys += sent.keyTimes.length;
      if ((enrolled = await trained())) break;
    }
    if (!enrolled) {
      await sleep(3000);
      enrolled = await trained();
    }
    const enrolSeconds = (Date.now() - enrolStart) / 1000;
    const windows = (await status(popup)).model?.modalities;
    progress(
      index,
      `enrolled ${enrolled} after ${enrolKeys} keys, ${enrolSeconds.toFixed(0)} s (enrolment windows: keystroke ${windows?.keystroke.enrolWindows ?? 0}, pointer ${windows?.pointer.enrolWindows ?? 0})`,
    );
    await logout(page);

    // Genuine-only session: the user keeps typing their own held-out sentences.
    const sidA = await openSession(page, popup, server, user);
    const startA = Date.now();
    const heldOutMoves = genuineMoves.next;
    const genuineSteps = keySchedule(
      [...split.warmUp, ...heldOut],
      pointer(mice?.[0], { next: heldOutMoves }),
    );
    const sentA = await replay(page, genuineSteps);
    await sleep(ctx.settleMs);
    const recordsA = log.records.filter((r) => r.sid === sidA);
    const eventsA = bankEvents(db, sidA).filter(isRiskEvent);
    const falseRiskChange = recordsA.some(belowStepUp) || eventsA.length > 0;
    const genuineOnly = {
      keys: sentA.keyTimes.length,
      pointerMoves: sentA.moveTimes.length,
      seconds: round((Date.now() - startA) / 1000, 1),
      attestations: recordsA.length,
      minAssurance: minAssurance(recordsA),
      decisionAtEnd: await decision(server, sidA),
      riskEvents: eventsA.length,
      lateMs: lateness(sentA.late),
      falseRiskChange,
    };
    progress(index, `genuine-only: ${JSON.stringify(genuineOnly)}`);
    await logout(page);

    // Takeover session: the user warms up, then the impostor's recorded rhythm takes over.
    const sidB = await openSession(page, popup, server, user);
    const startB = Date.now();
    const warm = await replay(
      page,
      keySchedule(split.warmUp, pointer(mice?.[0], { next: heldOutMoves })),
    );
    const takeoverAt = Date.now();
    let riskAt: number | undefined;
    let caepAt: number | undefined;
    const watch = setInterval(() => {
      riskAt ??= log.records.find(
        (r) => r.sid === sidB && r.at >= takeoverAt && belowStepUp(r),
      )?.at;
      caepAt ??= bankEvents(db, sidB).find(
        (e) => e.receivedAt >= takeoverAt && isRiskEvent(e),
      )?.receivedAt;
    }, 100);
    let sentB: Sent;
    try {
      sentB = await replay(
        page,
        keySchedule(impostorText, pointer(mice?.[1], { next: 0 })),
        () => caepAt !== undefined || (riskAt !== undefined && Date.now() - riskAt > AFTER_RISK_MS),
      );
      const settleUntil = Date.now() + ctx.settleMs;
      while (caepAt === undefined && Date.now() < settleUntil) await sleep(100);
    } finally {
      clearInterval(watch);
    }
    const recordsB = log.records.filter((r) => r.sid === sidB);
    const before = recordsB.filter((r) => r.at < takeoverAt);
    const risk = recordsB.find((r) => r.at >= takeoverAt && belowStepUp(r));
    const caep = bankEvents(db, sidB).find((e) => e.receivedAt >= takeoverAt && isRiskEvent(e));
    const countBefore = (times: number[], t: number | undefined) =>
      t === undefined ? null : times.filter((x) => x < t).length;
    const takeover = {
      keys: warm.keyTimes.length + sentB.keyTimes.length,
      pointerMoves: warm.moveTimes.length + sentB.moveTimes.length,
      seconds: round((Date.now() - startB) / 1000, 1),
      attestations: recordsB.length,
      minAssurance: minAssurance(recordsB),
      decisionAtEnd: await decision(server, sidB),
      riskEvents: bankEvents(db, sidB).filter(isRiskEvent).length,
      lateMs: lateness([...warm.late, ...sentB.late]),
      warmUpKeys: warm.keyTimes.length,
      flaggedBeforeTakeover: before.some(belowStepUp),
      keystrokesToRiskChange: countBefore(sentB.keyTimes, risk?.at),
      pointerEventsToRiskChange: mice === null ? null : countBefore(sentB.moveTimes, risk?.at),
      secondsToRiskChange: risk === undefined ? null : round((risk.at - takeoverAt) / 1000, 2),
      secondsToCaepEvent:
        caep === undefined ? null : round((caep.receivedAt - takeoverAt) / 1000, 2),
      impostorKeys: sentB.keyTimes.length,
    };
    return {
      pair: index,
      genuineUser: pair.genuine.userId,
      impostorUser: pair.impostor.userId,
      genuineMouse: mice?.[0].userId ?? null,
      impostorMouse: mice?.[1].userId ?? null,
      enrolled,
      enrolKeys,
      enrolSeconds: round(enrolSeconds, 1),
      genuineOnly,
      takeover,
    };
  } finally {
    await ext.close();
  }
}

function progress(pair: number, message: string): void {
  console.log(`[takeover ${new Date().toISOString().slice(11, 19)}] pair ${pair}: ${message}`);
}

function minAssurance(records: AttestationRecord[]): number | null {
  const values = records.map((r) => r.assurance).filter((a): a is number => a !== null);
  return values.length === 0 ? null : Math.min(...values);
}

const stat = (values: number[]) =>
  values.length === 0
    ? { median: null, p95: null }
    : { median: round(median(values), 2), p95: round(quantile(values, 0.95), 2) };

/** The summary over the pairs measured so far. */
export function summarize(
  rows: PairRow[],
  settings: Omit<TakeoverBenchResult, 'rows' | 'date' | 'bench' | keyof Summary>,
): TakeoverBenchResult {
  return { bench: 'takeover', date: new Date().toISOString(), ...settings, ...summary(rows), rows };
}

type Summary = Pick<
  TakeoverBenchResult,
  | 'pairs'
  | 'enrolledPairs'
  | 'keystrokesToRiskChange'
  | 'pointerEventsToRiskChange'
  | 'secondsToRiskChange'
  | 'secondsToCaepEvent'
  | 'neverFlagged'
  | 'flaggedBeforeTakeover'
  | 'genuineRuns'
  | 'falseRiskChanges'
>;

/** Median keys to risk change with the never-flagged runs counted as +∞. */
function censoredMedian(rows: PairRow[]): number | string | null {
  if (rows.length === 0) return null;
  const keys = rows.map((r) => r.takeover.keystrokesToRiskChange ?? Infinity).sort((a, b) => a - b);
  const m = (keys[Math.floor((keys.length - 1) / 2)]! + keys[Math.floor(keys.length / 2)]!) / 2;
  if (Number.isFinite(m)) return m;
  return `>${Math.min(...rows.map((r) => r.takeover.impostorKeys))}`;
}

function summary(rows: PairRow[]): Summary {
  const ok = rows.filter((r) => r.enrolled);
  // A takeover run already at step-up before the impostor typed measures nothing about takeover.
  const measured = ok.filter((r) => !r.takeover.flaggedBeforeTakeover);
  const values = (f: (r: PairRow) => number | null) =>
    measured.map(f).filter((v): v is number => v !== null);
  return {
    pairs: rows.length,
    enrolledPairs: ok.length,
    keystrokesToRiskChange: {
      ...stat(values((r) => r.takeover.keystrokesToRiskChange)),
      medianAllRuns: censoredMedian(measured),
    },
    pointerEventsToRiskChange: stat(values((r) => r.takeover.pointerEventsToRiskChange)),
    secondsToRiskChange: stat(values((r) => r.takeover.secondsToRiskChange)),
    secondsToCaepEvent: stat(values((r) => r.takeover.secondsToCaepEvent)),
    neverFlagged: measured.filter((r) => r.takeover.keystrokesToRiskChange === null).length,
    flaggedBeforeTakeover: ok.length - measured.length,
    genuineRuns: ok.length,
    falseRiskChanges: ok.filter((r) => r.genuineOnly.falseRiskChange).length,
  };
}

/** Runs the bench: one verifier and demo bank, one fresh browser profile per pair. */
export async function runTakeoverBench(
  options: TakeoverOptions = {},
): Promise<TakeoverBenchResult> {
  const count = options.pairs ?? 20;
  const seed = options.seed ?? 12;
  const root = options.datasets ?? DATASETS_DIR;
  const aaltoDir = join(root, 'aalto-dev');
  const sapiDir = join(root, 'sapimouse-dev');
  const pairs = pickPairs(aaltoDir, count, seed);
  const mice = options.pointer === true ? pickMousers(sapiDir, count, seed) : null;
  const settings = {
    variant: options.pointer === true ? ('keystroke+pointer' as const) : ('keystroke' as const),
    seed,
    settings: {
      stepUpBelow: DEFAULT_THRESHOLDS.stepUpBelow,
      attestationIntervalMs: options.attestationIntervalMs ?? ('product default' as const),
      maxGapMs: MAX_GAP_MS,
      sentencePauseMs: SENTENCE_PAUSE_MS,
      heldOutSentences: options.sentences ?? HELD_OUT,
      pointerMsPerSentence: mice === null ? null : POINTER_MS_PER_SENTENCE,
    },
    datasets: {
      keystrokes: 'Aalto 136M keystrokes (aalto-dev), held out from every shipped model',
      pointer:
        mice === null
          ? null
          : 'SapiMouse users 1–72 (the shipped pointer models were fitted on them)',
    },
  };
  const server = await startServer();
  const log = await startAttestationLog(server.url);
  const db = new Database(server.bankDbPath, { readonly: true, fileMustExist: true });
  try {
    // The demo bank creates its push stream at start-up: wait for it, or no event can arrive.
    await until(
      'the demo bank’s SSF stream',
      async () => {
        const r = await fetch(`${server.url}/v1/ssf/streams`, {
          headers: { authorization: `Bearer ${server.bankKey}` },
        });
        return r.ok ? ((await r.json()) as unknown[]) : [];
      },
      (streams) => Array.isArray(streams) && streams.length > 0,
    );
    const ctx: Context = {
      server,
      log,
      db,
      sentences: options.sentences ?? HELD_OUT,
      settleMs: (options.attestationIntervalMs ?? PRODUCT_INTERVAL_MS) + SETTLE_EXTRA_MS,
      attestationIntervalMs: options.attestationIntervalMs,
    };
    const rows: PairRow[] = [];
    for (const [i, pair] of pairs.entries()) {
      const started = Date.now();
      rows.push(await runPair(ctx, i + 1, pair, mice?.[i] ?? null));
      const r = rows.at(-1)!;
      console.log(
        `pair ${i + 1}/${pairs.length} (${r.genuineUser} ← ${r.impostorUser}) in ${((Date.now() - started) / 1000).toFixed(0)} s:`,
        JSON.stringify({
          enrolled: r.enrolled,
          keys: r.takeover.keystrokesToRiskChange,
          caepS: r.takeover.secondsToCaepEvent,
          falseRisk: r.genuineOnly.falseRiskChange,
          minA: r.genuineOnly.minAssurance,
        }),
      );
      if (options.progressFile !== undefined) {
        writeJson(options.progressFile, summarize(rows, settings));
      }
    }
    return summarize(rows, settings);
  } finally {
    db.close();
    await log.stop();
    await server.stop();
  }
}

const show = (v: number | null) => (v === null ? '—' : String(v));

/** Prints the per-pair table and the summary. */
export function printTakeover(r: TakeoverBenchResult): void {
  printTable(
    `Takeover (${r.variant}): pairs measured in real Chromium with the built extension`,
    [
      'pair',
      'genuine ← impostor',
      'enrol keys',
      'keys→risk',
      'moves→risk',
      's→risk',
      's→CAEP',
      'genuine-only min assurance',
      'false risk',
    ],
    r.rows.map((row) => [
      row.pair,
      `${row.genuineUser} ← ${row.impostorUser}`,
      row.enrolled ? row.enrolKeys : 'not enrolled',
      row.takeover.flaggedBeforeTakeover
        ? 'flagged before'
        : show(row.takeover.keystrokesToRiskChange),
      show(row.takeover.pointerEventsToRiskChange),
      show(row.takeover.secondsToRiskChange),
      show(row.takeover.secondsToCaepEvent),
      show(row.genuineOnly.minAssurance),
      row.genuineOnly.falseRiskChange ? 'yes' : 'no',
    ]),
  );
  printTable(
    'Summary',
    ['figure', 'median', 'p95'],
    [
      [
        'keystrokes to risk change',
        show(r.keystrokesToRiskChange.median),
        show(r.keystrokesToRiskChange.p95),
      ],
      [
        'pointer moves to risk change',
        show(r.pointerEventsToRiskChange.median),
        show(r.pointerEventsToRiskChange.p95),
      ],
      [
        'seconds to risk change',
        show(r.secondsToRiskChange.median),
        show(r.secondsToRiskChange.p95),
      ],
      [
        'seconds to CAEP event at the bank',
        show(r.secondsToCaepEvent.median),
        show(r.secondsToCaepEvent.p95),
      ],
    ],
  );
  console.log(
    `\npairs ${r.pairs} (enrolled ${r.enrolledPairs}); never flagged ${r.neverFlagged}; flagged before takeover ${r.flaggedBeforeTakeover}; genuine-only runs ${r.genuineRuns}, false risk changes ${r.falseRiskChanges}`,
  );
}
