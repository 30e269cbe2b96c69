/**
 * Cost of behavior capture on the bank's page:
 * 1. per-event cost of the real content-script handlers (src/content/orchestrator.ts and its
 *    collectors, bundled for a plain page), against the same dispatch loop with no listeners;
 * 2. long tasks on the demo bank's transfer page while a user types and moves the mouse, with
 *    the built extension and without it;
 * 3. gzip size of everything the built content script loads.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import type { ExtensionStatus } from '../../src/shared/protocol';
import {
  EXTENSION_DIR,
  configure,
  extensionPage,
  launchWithExtension,
  rng,
} from '../support/extension';
import { ROOT, startServer, type RunningServer } from '../support/server';
import {
  bundle,
  launchPlainBrowser,
  launchPlainContext,
  newestMtime,
  startStaticServer,
} from './browser';
import type { DispatchOptions, DispatchResult } from './page/capture-page';
import { printTable, quantile, round } from './report';

export interface CaptureBenchOptions {
  /** Synthetic events dispatched per phase (with capture, and baseline). Default 100,000. */
  events?: number;
  /** Length of each typing + mouse run, s. Default 60. */
  seconds?: number;
}

/** Goal for the content script's gzip size: 20 KB. */
export const CONTENT_SCRIPT_GOAL_BYTES = 20_000;

export interface LongTaskRun {
  /** Long tasks (> 50 ms) on the page's main thread from the start of the run to 1.5 s after it. */
  longTasks: number;
  longTaskTotalMs: number;
  longTaskMaxMs: number;
  /** When each of them started, s into the run. */
  longTaskAtS: number[];
  /** Long tasks before the run: page load (buffered entries) and the 80 ms probe. */
  longTasksBeforeRun: number;
  keyPresses: number;
  mouseMoves: number;
  seconds: number;
  keysPerSec: number;
  movesPerSec: number;
  /** keydown / pointermove events the page received (Chromium coalesces moves to frames). */
  pageKeydowns: number;
  pagePointermoves: number;
  /** How late the driver was against its schedule, ms (CDP round trips share one connection). */
  driverLateMsP50: number;
  driverLateMsP99: number;
}

export interface BundleFile {
  file: string;
  bytes: number;
  gzipBytes: number;
}

export interface CaptureBenchResult {
  bench: 'capture';
  date: string;
  nodeVersion: string;
  browserVersion: string;
  /** dist/chrome is older than src/ or model/ (rebuild for figures of the current code). */
  buildStale: boolean;

  events: number;
  /** Handler cost: median per-event µs with capture − without. */
  medianUsPerEvent: number;
  /** Handler cost: p99 per-event µs with capture − p99 without. */
  p99UsPerEvent: number;
  baselineMedianUsPerEvent: number;
  baselineP99UsPerEvent: number;
  withCaptureMedianUsPerEvent: number;
  withCaptureP99UsPerEvent: number;
  /** with ÷ baseline. */
  ratioMedian: number;
  ratioP99: number;
  handler: {
    batchSize: number;
    batches: number;
    warmupEvents: number;
    timerResolutionUs: number;
    crossOriginIsolated: boolean;
    mix: Record<string, number>;
    captured: number;
    untrustedFlagged: number;
    dropped: number;
  };

  longTasks: number;
  baselineLongTasks: number;
  longTaskRuns: { withExtension: LongTaskRun; baseline: LongTaskRun };
  /** What the extension reported after its run: proof that it captured. */
  extensionModel: ExtensionStatus['model'];

  contentScriptGzipBytes: number;
  contentScriptBytes: number;
  contentScriptGoalBytes: number;
  contentScriptFiles: BundleFile[];
}

export async function runCaptureBench(
  options: CaptureBenchOptions = {},
): Promise<CaptureBenchResult> {
  const events = options.events ?? 100_000;
  const seconds = options.seconds ?? 60;
  if (!existsSync(join(EXTENSION_DIR, 'manifest.json'))) {
    throw new Error(
      `${relative(ROOT, EXTENSION_DIR)} is missing: build the extension first (npx vite build --mode chrome)`,
    );
  }
  const built = statSync(join(EXTENSION_DIR, 'manifest.json')).mtimeMs;
  const buildStale =
    Math.max(newestMtime(join(ROOT, 'src')), newestMtime(join(ROOT, 'model'))) > built;
  if (buildStale)
    console.warn('warning: dist/chrome is older than src/ or model/; rebuild for current figures');

  const size = contentScriptSize(EXTENSION_DIR);
  const handler = await measureHandlers(events);
  const server = await startServer();
  let runs: { withExtension: LongTaskRun; baseline: LongTaskRun };
  let extensionModel: ExtensionStatus['model'];
  try {
    const plain = await launchPlainContext();
    let baseline: LongTaskRun;
    try {
      baseline = await longTaskRun(plain.context, server, seconds);
    } finally {
      await plain.close();
    }
    const ext = await launchWithExtension();
    try {
      await configure(ext, { serverUrl: server.url, protectedOrigins: [server.bankUrl] });
      const withExtension = await longTaskRun(ext.context, server, seconds, () => enrolled(ext));
      extensionModel = await capturedModel(ext);
      runs = { withExtension, baseline };
    } finally {
      await ext.close();
    }
  } finally {
    await server.stop();
  }

  const { result: d, browserVersion, batchSize, warmupEvents } = handler;
  const base = {
    median: quantile(d.baselineUsPerEvent, 0.5),
    p99: quantile(d.baselineUsPerEvent, 0.99),
  };
  const withCapture = {
    median: quantile(d.captureUsPerEvent, 0.5),
    p99: quantile(d.captureUsPerEvent, 0.99),
  };
  return {
    bench: 'capture',
    date: new Date().toISOString(),
    nodeVersion: process.version,
    browserVersion,
    buildStale,
    events: d.captureUsPerEvent.length * batchSize,
    medianUsPerEvent: round(withCapture.median - base.median),
    p99UsPerEvent: round(withCapture.p99 - base.p99),
    baselineMedianUsPerEvent: round(base.median),
    baselineP99UsPerEvent: round(base.p99),
    withCaptureMedianUsPerEvent: round(withCapture.median),
    withCaptureP99UsPerEvent: round(withCapture.p99),
    ratioMedian: round(withCapture.median / base.median),
    ratioP99: round(withCapture.p99 / base.p99),
    handler: {
      batchSize,
      batches: d.captureUsPerEvent.length,
      warmupEvents,
      timerResolutionUs: round(d.timerResolutionUs),
      crossOriginIsolated: d.crossOriginIsolated,
      mix: d.mix,
      captured: d.captured,
      untrustedFlagged: d.untrustedFlagged,
      dropped: d.dropped,
    },
    longTasks: runs.withExtension.longTasks,
    baselineLongTasks: runs.baseline.longTasks,
    longTaskRuns: runs,
    extensionModel,
    contentScriptGzipBytes: size.gzipBytes,
    contentScriptBytes: size.bytes,
    contentScriptGoalBytes: CONTENT_SCRIPT_GOAL_BYTES,
    contentScriptFiles: size.files,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Handler cost

const CAPTURE_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>capture bench</title></head>
<body style="margin:0">
<div id="area" style="width:100vw;height:100vh"><textarea id="field"></textarea></div>
<script type="module" src="/capture-page.js"></script>
</body></html>`;

async function measureHandlers(events: number): Promise<{
  result: DispatchResult;
  browserVersion: string;
  batchSize: number;
  warmupEvents: number;
}> {
  const bundled = await bundle({
    'capture-page': join(import.meta.dirname, 'page/capture-page.ts'),
  });
  const server = await startStaticServer(bundled.dir, { '/': CAPTURE_PAGE });
  const browser = await launchPlainBrowser();
  try {
    const browserVersion = `Chromium ${browser.version()}`;
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => 'tacitCaptureBench' in window);
    // Cross-origin isolated pages get 5 µs timers, others 100 µs: batch enough dispatches
    // that one batch lasts many timer ticks.
    const isolated = await page.evaluate(() => crossOriginIsolated);
    const batchSize = isolated ? 100 : 1000;
    const warmupEvents = Math.min(
      5_000,
      Math.max(batchSize, Math.round(events / 10 / batchSize) * batchSize),
    );
    const options: DispatchOptions = {
      events,
      batchSize,
      warmupEvents,
      blocks: Math.max(2, Math.min(10, Math.floor(events / batchSize / 10))),
      seed: 7,
    };
    const result = await page.evaluate((o) => window.tacitCaptureBench.run(o), options);
    if (result.captured === 0)
      throw new Error('the collectors captured nothing: the bench is not measuring them');
    return { result, browserVersion, batchSize, warmupEvents };
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    bundled.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Long tasks while a user types and moves the mouse

interface LongTaskEntry {
  startTime: number;
  duration: number;
}

declare global {
  interface Window {
    tacitLongTasks?: LongTaskEntry[];
    tacitReceived?: { keydown: number; pointermove: number };
  }
}

/** Input commands sent but not yet answered, at most. */
const MAX_IN_FLIGHT = 16;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface KeyAction {
  at: number;
  down: boolean;
  key: string;
}

/** 10 key presses a second (holds 60–95 ms); every 150 characters, Ctrl+A and Backspace clear the memo. */
function keySchedule(durationMs: number, seed: number): { actions: KeyAction[]; presses: number } {
  const random = rng(seed);
  const words = 'please pay the rent for march and the electricity bill thanks '.split('');
  const actions: KeyAction[] = [];
  let presses = 0;
  let typed = 0;
  for (let slot = 0; slot * 100 < durationMs; slot++) {
    const at = slot * 100;
    const hold = 60 + 35 * random();
    if (typed >= 150) {
      if (typed === 150) {
        actions.push({ at, down: true, key: 'Control' }, { at: at + 10, down: true, key: 'a' });
        actions.push(
          { at: at + 50, down: false, key: 'a' },
          { at: at + 70, down: false, key: 'Control' },
        );
        typed++;
        presses += 2;
      } else {
        actions.push(
          { at, down: true, key: 'Backspace' },
          { at: at + hold, down: false, key: 'Backspace' },
        );
        typed = 0;
        presses++;
      }
      continue;
    }
    const ch = words[presses % words.length]!;
    const key = ch === ' ' ? 'Space' : ch;
    actions.push({ at, down: true, key }, { at: at + hold, down: false, key });
    typed++;
    presses++;
  }
  actions.sort((a, b) => a.at - b.at);
  return { actions, presses };
}

/** Logs into the demo bank and opens the transfer form. */
async function openTransferPage(
  page: Page,
  server: RunningServer,
  ready: () => Promise<void>,
): Promise<void> {
  await page.goto(`${server.bankUrl}/bank/login`);
  await page.fill('#username', 'bench');
  await page.fill('#password', 'demo');
  await Promise.all([page.waitForURL('**/bank/accounts'), page.click('#login')]);
  // Enrolled, so the extension learns from the run as it does for its holder (Tacit learns
  // nothing in a session the bank has not vouched for); the plain browser does the same clicks.
  await Promise.all([page.waitForURL('**/bank/accounts?enrolled=pending'), page.click('#enroll')]);
  await ready();
  await page.goto(`${server.bankUrl}/bank/transfer`);
  await page.waitForSelector('#memo');
}

async function longTaskRun(
  context: BrowserContext,
  server: RunningServer,
  seconds: number,
  ready: () => Promise<void> = async () => undefined,
): Promise<LongTaskRun> {
  const page = context.pages()[0] ?? (await context.newPage());
  await openTransferPage(page, server, ready);
  await page.evaluate(() => {
    const entries: { startTime: number; duration: number }[] = [];
    window.tacitLongTasks = entries;
    // What the page actually received (equally present in both runs; a counter is all it does).
    const received = { keydown: 0, pointermove: 0 };
    window.tacitReceived = received;
    addEventListener('keydown', () => received.keydown++, { passive: true });
    addEventListener('pointermove', () => received.pointermove++, { passive: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries())
        entries.push({ startTime: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.click('#memo');
  // Probe: one key press whose (page) handler busies the main thread for 80 ms must show up as
  // a long task, or a zero below would mean "not observed" rather than "none". (Script run by
  // CDP's Runtime.evaluate is not reported as a long task; input dispatched by CDP is.)
  await page.evaluate(() =>
    addEventListener(
      'keydown',
      () => {
        const t = performance.now();
        while (performance.now() - t < 80);
      },
      { once: true },
    ),
  );
  await page.keyboard.down('Shift');
  await page.keyboard.up('Shift');
  await expectProbe(page);
  await page.mouse.move(640, 360);
  await sleep(500);

  const durationMs = seconds * 1000;
  const { actions, presses } = keySchedule(durationMs, 11);
  const movePeriod = 1000 / 120;
  const late: number[] = [];
  let moves = 0;
  let k = 0;
  // One loop drives both: keyboard and mouse share the page's one CDP connection. An awaited
  // mouse move returns only at the next frame (~16 ms), so commands are pipelined (at most
  // MAX_IN_FLIGHT unanswered) and sent on schedule; like a real 120 Hz mouse, Chromium
  // coalesces moves to the frame rate.
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const issue = async (command: () => Promise<void>): Promise<void> => {
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const p: Promise<void> = command()
      .catch((e: unknown) => void (failure ??= e))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const pageStart = await page.evaluate(() => {
    if (window.tacitReceived) Object.assign(window.tacitReceived, { keydown: 0, pointermove: 0 }); // not the probe
    return performance.now();
  });
  const start = performance.now();
  for (;;) {
    const keyAt = k < actions.length ? actions[k]!.at : Infinity;
    const moveAt = moves * movePeriod < durationMs ? moves * movePeriod : Infinity;
    const at = Math.min(keyAt, moveAt);
    if (at === Infinity) break;
    const wait = start + at - performance.now();
    if (wait > 1) await sleep(wait);
    late.push(Math.max(0, performance.now() - start - at));
    if (keyAt <= moveAt) {
      const a = actions[k++]!;
      await issue(() => (a.down ? page.keyboard.down(a.key) : page.keyboard.up(a.key)));
    } else {
      const s = (moves * movePeriod) / 1000;
      const x = 640 + 420 * Math.sin(2 * Math.PI * s * 0.31);
      const y = 360 + 240 * Math.sin(2 * Math.PI * s * 0.43);
      await issue(() => page.mouse.move(x, y));
      moves++;
    }
    if (failure) throw failure;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  const elapsed = (performance.now() - start) / 1000;
  await sleep(1500); // the buffer's 1 s flush, and long-task entries are delivered asynchronously
  const entries = await page.evaluate(() => window.tacitLongTasks ?? []);
  const received = await page.evaluate(
    () => window.tacitReceived ?? { keydown: 0, pointermove: 0 },
  );
  const during = entries.filter((e) => e.startTime >= pageStart);
  return {
    longTasks: during.length,
    longTaskTotalMs: round(
      during.reduce((s, e) => s + e.duration, 0),
      1,
    ),
    longTaskMaxMs: round(Math.max(0, ...during.map((e) => e.duration)), 1),
    longTaskAtS: during.map((e) => round((e.startTime - pageStart) / 1000, 2)),
    longTasksBeforeRun: entries.length - during.length,
    keyPresses: presses,
    mouseMoves: moves,
    seconds: round(elapsed, 2),
    keysPerSec: round(presses / elapsed, 2),
    movesPerSec: round(moves / elapsed, 1),
    pageKeydowns: received.keydown,
    pagePointermoves: received.pointermove,
    driverLateMsP50: round(quantile(late, 0.5), 2),
    driverLateMsP99: round(quantile(late, 0.99), 2),
  };
}

async function expectProbe(page: Page): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await page.evaluate(() => window.tacitLongTasks?.length ?? 0)) === 0) {
    if (Date.now() > deadline)
      throw new Error(
        'the longtask PerformanceObserver reported no long task for an 80 ms keydown handler',
      );
    await sleep(100);
  }
}

/** Waits until the extension has enrolled its device key with the server. */
async function enrolled(ext: Awaited<ReturnType<typeof launchWithExtension>>): Promise<void> {
  const popup = await extensionPage(ext);
  const deadline = Date.now() + 15_000;
  while (
    !(
      (await popup.evaluate(() =>
        chrome.runtime.sendMessage({ type: 'status' }),
      )) as ExtensionStatus
    ).enrolled
  ) {
    if (Date.now() > deadline) throw new Error('the extension did not enrol the device');
    await sleep(200);
  }
  await popup.close();
}

/** Asks the extension what its model has seen; fails if it saw nothing (the run would prove nothing). */
async function capturedModel(
  ext: Awaited<ReturnType<typeof launchWithExtension>>,
): Promise<ExtensionStatus['model']> {
  const popup = await extensionPage(ext);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = (await popup.evaluate(() =>
      chrome.runtime.sendMessage({ type: 'status' }),
    )) as ExtensionStatus;
    const m = status.model;
    if (
      m &&
      (m.modalities.keystroke.enrolWindows > 0 ||
        m.modalities.pointer.enrolWindows > 0 ||
        m.state === 'scoring')
    ) {
      return m;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `the extension captured nothing during the run (status: ${JSON.stringify(status)})`,
      );
    }
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Content script size

/**
 * The built capture script: the file the background registers with
 * `scripting.registerContentScripts` (the manifest declares no content script), found as the one
 * `src/content/….js` path named in the built extension's scripts.
 */
export function captureScriptEntry(distDir: string): string {
  const found = new Set<string>();
  for (const file of readdirSync(join(distDir, 'assets')).filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(join(distDir, 'assets', file), 'utf8');
    for (const m of text.matchAll(/["'](src\/content\/[\w./-]+\.js)["']/g)) found.add(m[1]!);
  }
  if (found.size !== 1)
    throw new Error(`expected one registered capture script, found ${JSON.stringify([...found])}`);
  return [...found][0]!;
}

/**
 * Every file the built content script loads: the registered capture script, then,
 * recursively, what each file imports — static `import`/`export … from`, literal dynamic
 * `import()`, and a loader that imports through `chrome.runtime.getURL("assets/…")`. Each file
 * is gzipped on its own (level 9).
 */
export function contentScriptSize(distDir: string): {
  files: BundleFile[];
  bytes: number;
  gzipBytes: number;
} {
  const entries = [captureScriptEntry(distDir)];
  const root = resolve(distDir);
  const seen = new Set<string>();
  const queue = entries.map((e) => resolve(root, e));
  const files: BundleFile[] = [];
  const patterns: { re: RegExp; fromRoot: boolean }[] = [
    {
      re: /(?:^|[\s;})])import\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g,
      fromRoot: false,
    },
    {
      re: /(?:^|[\s;})])export\s*[\w$*{}\s,]*?\s*from\s*["'](\.{1,2}\/[^"']+)["']/g,
      fromRoot: false,
    },
    {
      re: /\bimport\s*\(\s*(?:\/\*[\s\S]*?\*\/\s*)*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
      fromRoot: false,
    },
    { re: /\bruntime\.getURL\(\s*["']\/?([^"']+\.js)["']\s*\)/g, fromRoot: true },
  ];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.startsWith(root) || !existsSync(file)) {
      throw new Error(
        `the content script loads ${relative(root, file)}, which is not in ${relative(ROOT, root)}`,
      );
    }
    const content = readFileSync(file);
    files.push({
      file: relative(root, file),
      bytes: content.length,
      gzipBytes: gzipSync(content, { level: 9 }).length,
    });
    const text = content.toString('utf8');
    for (const { re, fromRoot } of patterns) {
      for (const m of text.matchAll(re))
        queue.push(resolve(fromRoot ? root : dirname(file), m[1]!));
    }
  }
  return {
    files,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    gzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0),
  };
}

// ---------------------------------------------------------------------------------------------

export function printCapture(r: CaptureBenchResult): void {
  const h = r.handler;
  printTable(
    `Content-script handlers: µs per dispatched event (${r.events.toLocaleString('en')} events per phase, timed in batches of ${h.batchSize}; timer ${h.timerResolutionUs} µs, crossOriginIsolated=${h.crossOriginIsolated})`,
    ['', 'median', 'p99'],
    [
      [
        'no listeners (baseline)',
        r.baselineMedianUsPerEvent.toFixed(3),
        r.baselineP99UsPerEvent.toFixed(3),
      ],
      [
        'capture running',
        r.withCaptureMedianUsPerEvent.toFixed(3),
        r.withCaptureP99UsPerEvent.toFixed(3),
      ],
      ['handler cost (with − baseline)', r.medianUsPerEvent.toFixed(3), r.p99UsPerEvent.toFixed(3)],
      ['ratio (with ÷ baseline)', r.ratioMedian.toFixed(2), r.ratioP99.toFixed(2)],
    ],
  );
  console.log(
    `mix: ${Object.entries(h.mix)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}; captured ${h.captured}, flagged untrusted ${h.untrustedFlagged}, dropped ${h.dropped}`,
  );
  const w = r.longTaskRuns.withExtension;
  const b = r.longTaskRuns.baseline;
  printTable(
    `Long tasks (> 50 ms) on the bank's transfer page, ${w.seconds} s of typing (10 keys/s) + mouse (120 Hz)`,
    [
      '',
      'long tasks',
      'total ms',
      'max ms',
      'keys/s sent',
      'moves/s sent',
      'pointermove/s received',
      'driver late p99 ms',
    ],
    [b, w].map((run, i) => [
      i === 0 ? 'without extension (baseline)' : 'with extension',
      run.longTasks,
      run.longTaskTotalMs,
      run.longTaskMaxMs,
      run.keysPerSec,
      run.movesPerSec,
      round(run.pagePointermoves / run.seconds, 1),
      run.driverLateMsP99,
    ]),
  );
  if (r.extensionModel) {
    const m = r.extensionModel.modalities;
    console.log(
      `extension model after the run: ${r.extensionModel.state}, windows keystroke ${m.keystroke.enrolWindows}, pointer ${m.pointer.enrolWindows}`,
    );
  }
  printTable(
    `Content script as built (dist/chrome), gzip -9 per file; goal ≤ ${r.contentScriptGoalBytes.toLocaleString('en')} bytes`,
    ['file', 'bytes', 'gzip bytes'],
    [
      ...r.contentScriptFiles.map((f) => [f.file, f.bytes, f.gzipBytes]),
      ['total', r.contentScriptBytes, r.contentScriptGzipBytes],
    ],
  );
  if (r.buildStale) console.log('note: dist/chrome was older than src/ or model/ when measured');
}
