/**
 * Feature-extraction throughput of the real `createWindower` (model/features) in Node and in a
 * module Web Worker in Chromium, on the same synthetic input. Node is the baseline.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { bundle, launchPlainBrowser, runWorkerOnce, startStaticServer } from './browser';
import {
  runFeatureExtraction,
  type FeatureRunOptions,
  type FeatureRunResult,
} from './feature-input';
import { median, printTable, round } from './report';

export interface FeaturesBenchOptions {
  /** Input events (half key, half pointer). Default 200,000. */
  events?: number;
  /** Timed repetitions (median reported). Default 7. */
  reps?: number;
  /** Untimed warm-up passes. Default 2. */
  warmup?: number;
  /** Cap on the worker run, ms. Default 300,000. */
  timeoutMs?: number;
}

export interface RuntimeFigures {
  eventsPerSec: number;
  windowsPerSec: number;
  medianMs: number;
  timesMs: number[];
  vectorSum: number;
}

export interface FeaturesBenchResult {
  bench: 'features';
  date: string;
  nodeVersion: string;
  browserVersion: string;
  events: number;
  keyEvents: number;
  pointerEvents: number;
  batchSize: number;
  warmup: number;
  reps: number;
  windowsPerPass: { keystroke: number; pointer: number };
  node: RuntimeFigures;
  worker: RuntimeFigures;
  /** worker events/s ÷ Node events/s (Node is the baseline). */
  ratioWorkerToNode: number;
  /** |vectorSum worker − Node| / |vectorSum Node|: the same features in both runtimes. */
  featureSumRelDiff: number;
}

function figures(r: FeatureRunResult): RuntimeFigures {
  const medianMs = median(r.timesMs);
  const windows = r.windows.keystroke + r.windows.pointer;
  return {
    eventsPerSec: round((r.events / medianMs) * 1000, 0),
    windowsPerSec: round((windows / medianMs) * 1000, 0),
    medianMs: round(medianMs),
    timesMs: r.timesMs.map((t) => round(t)),
    vectorSum: r.vectorSum,
  };
}

export async function runFeaturesBench(
  options: FeaturesBenchOptions = {},
): Promise<FeaturesBenchResult> {
  const run: FeatureRunOptions = {
    events: options.events ?? 200_000,
    batchSize: 256,
    seed: 42,
    warmup: options.warmup ?? 2,
    reps: options.reps ?? 7,
  };

  // Node first, while the browser is not running.
  const node = runFeatureExtraction(run, () => performance.now());

  const bundled = await bundle({
    'features-worker': join(import.meta.dirname, 'page/features-worker.ts'),
  });
  const server = await startStaticServer(bundled.dir, {
    '/': '<!doctype html><title>features bench</title>',
  });
  const browser = await launchPlainBrowser();
  const browserVersion = `Chromium ${browser.version()}`;
  let worker: FeatureRunResult;
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    const reply = await runWorkerOnce<{ result: FeatureRunResult }>(
      page,
      '/features-worker.js',
      run,
      options.timeoutMs ?? 300_000,
    );
    if (!reply.ok) throw new Error(`features bench in the worker failed: ${reply.error}`);
    worker = reply.result;
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    bundled.dispose();
  }

  // Same input, same code: anything else is a bug, not a performance figure.
  if (worker.inputChecksum !== node.inputChecksum || worker.events !== node.events) {
    throw new Error('the worker did not get the same input as Node');
  }
  if (
    worker.windows.keystroke !== node.windows.keystroke ||
    worker.windows.pointer !== node.windows.pointer
  ) {
    throw new Error(
      `windows differ: Node ${JSON.stringify(node.windows)}, worker ${JSON.stringify(worker.windows)}`,
    );
  }

  const n = figures(node);
  const w = figures(worker);
  return {
    bench: 'features',
    date: new Date().toISOString(),
    nodeVersion: process.version,
    browserVersion,
    events: node.events,
    keyEvents: node.keyEvents,
    pointerEvents: node.pointerEvents,
    batchSize: run.batchSize,
    warmup: run.warmup,
    reps: run.reps,
    windowsPerPass: node.windows,
    node: n,
    worker: w,
    ratioWorkerToNode: round(w.eventsPerSec / n.eventsPerSec),
    featureSumRelDiff: Math.abs(w.vectorSum - n.vectorSum) / Math.max(1e-12, Math.abs(n.vectorSum)),
  };
}

export function printFeatures(r: FeaturesBenchResult): void {
  printTable(
    `Feature extraction (createWindower, ${r.events.toLocaleString('en')} events: ${r.keyEvents.toLocaleString('en')} key, ${r.pointerEvents.toLocaleString('en')} pointer; batches of ${r.batchSize}; median of ${r.reps} after ${r.warmup} warm-up)`,
    ['runtime', 'events/s', 'windows/s', 'median ms', 'ratio'],
    [
      [
        `Node ${r.nodeVersion} (baseline)`,
        r.node.eventsPerSec.toLocaleString('en'),
        r.node.windowsPerSec.toLocaleString('en'),
        r.node.medianMs,
        '1.000',
      ],
      [
        `Web Worker, ${r.browserVersion}`,
        r.worker.eventsPerSec.toLocaleString('en'),
        r.worker.windowsPerSec.toLocaleString('en'),
        r.worker.medianMs,
        r.ratioWorkerToNode.toFixed(3),
      ],
    ],
  );
  console.log(
    `windows per pass: ${r.windowsPerPass.keystroke} keystroke, ${r.windowsPerPass.pointer} pointer; feature sums agree to ${r.featureSumRelDiff.toExponential(1)} (relative)`,
  );
}
