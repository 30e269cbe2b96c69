/**
 * Model size and speed: the Node half (`model/cli/model-bench.ts`: stored size, `fit` on wasm and
 * cpu, `score` latency against feature extraction, memory over fit/score/dispose cycles), then
 * `score` latency in a module Web Worker in Chromium on the models fitted in Node.
 */
import { join } from 'node:path';
import type { Modality } from '../../model/features/schema';
import { type ScoringTiming } from '../../model/cli/model-bench-input';
import {
  type LatencyFigures,
  type ModelBenchOptions,
  type ModelNodeBenchResult,
  GOALS,
  latencyFigures,
  runModelNodeBench,
} from '../../model/cli/model-bench';
import { bundle, launchPlainBrowser, runWorkerOnce, startStaticServer } from './browser';
import type { LocalRoundFigures } from './local-round';
import type { ModelWorkerRequest } from './page/model-worker';
import { printTable, round } from './report';

export interface ModelBenchOptionsAll extends ModelBenchOptions {
  /** Also time scoring in a Chromium worker. Default true. */
  worker?: boolean;
  /** Cap on the worker run, ms. Default 120,000. */
  timeoutMs?: number;
}

/** Windows per timed batch in the worker: its clock is clamped to 5 µs (cross-origin isolated). */
const WORKER_BATCH = 32;

export interface ModelBenchResult extends Omit<
  ModelNodeBenchResult,
  'models' | 'embeddings' | 'blocks' | 'encoders' | 'score'
> {
  browserVersion: string | null;
  /** One federated local round (issue 10): time in the Chromium worker and Node, update bytes. */
  localRound: LocalRoundFigures;
  score: ModelNodeBenchResult['score'] & {
    worker: Record<Modality, LatencyFigures> | null;
    /** worker p50 ÷ Node p50, both in batches of 32 (Node is the baseline). */
    ratioWorkerToNode: Record<Modality, number> | null;
    workerCrossOriginIsolated: boolean | null;
    /** |score sum worker − Node| / |Node|: the same models give the same confidences. */
    scoreSumRelDiff: number | null;
  };
}

export async function runModelBench(options: ModelBenchOptionsAll = {}): Promise<ModelBenchResult> {
  const node = await runModelNodeBench(options);
  const { models, embeddings, blocks, encoders, ...rest } = node;
  const windows = options.windows ?? 1000;
  const batches = Math.max(1, Math.round((options.batches ?? 2000) / 8));
  let worker: Record<Modality, LatencyFigures> | null = null;
  let browserVersion: string | null = null;
  let isolated: boolean | null = null;
  if (options.worker ?? true) {
    const bundled = await bundle({
      'model-worker': join(import.meta.dirname, 'page/model-worker.ts'),
    });
    const server = await startStaticServer(bundled.dir, {
      '/': '<!doctype html><title>model bench</title>',
    });
    const browser = await launchPlainBrowser();
    browserVersion = `Chromium ${browser.version()}`;
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const request: ModelWorkerRequest = {
        models,
        embeddings,
        blocks,
        encoders,
        windows,
        batch: WORKER_BATCH,
        batches,
        warmup: 20,
      };
      const reply = await runWorkerOnce<{
        result: Record<'keystroke' | 'pointer', ScoringTiming>;
        crossOriginIsolated: boolean;
      }>(page, '/model-worker.js', request, options.timeoutMs ?? 120_000);
      if (!reply.ok) throw new Error(`model bench in the worker failed: ${reply.error}`);
      worker = {
        keystroke: latencyFigures(reply.result.keystroke, WORKER_BATCH),
        pointer: latencyFigures(reply.result.pointer, WORKER_BATCH),
      };
      isolated = reply.crossOriginIsolated ?? null;
    } finally {
      await browser.close().catch(() => undefined);
      await server.stop();
      bundled.dispose();
    }
  }
  // Loaded here, not at the top: the worker's modules import JSON (the shipped encoder and
  // centres), which Playwright's loader refuses without import attributes, and the smoke spec
  // imports this file through benches.ts.
  const { runLocalRoundBench } = await import('./local-round');
  const localRound = await runLocalRoundBench({ worker: options.worker ?? true });
  const n = node.score.node;
  return {
    ...rest,
    browserVersion,
    localRound,
    score: {
      node: n,
      worker,
      ratioWorkerToNode:
        worker === null
          ? null
          : {
              keystroke: round(worker.keystroke.scoreUs.p50 / n.keystroke.batched.scoreUs.p50),
              pointer: round(worker.pointer.scoreUs.p50 / n.pointer.batched.scoreUs.p50),
            },
      workerCrossOriginIsolated: isolated,
      scoreSumRelDiff:
        worker === null
          ? null
          : Math.max(
              ...(['keystroke', 'pointer'] as const).map(
                (m) =>
                  Math.abs(worker![m].scoreSum - n[m].batched.scoreSum) /
                  Math.max(1e-12, Math.abs(n[m].batched.scoreSum)),
              ),
            ),
    },
  };
}

export function printModel(r: ModelBenchResult): void {
  const kb = (b: number): string => `${(b / 1024).toFixed(1)} KB`;
  printTable(
    `Model per modality (JSON, UTF-8): per-user detector + the modality's components (keystroke: embedding model and shipped encoder; pointer: block scorer and shipped projection); goal ≤ ${GOALS.modelBytes.toLocaleString('en')} bytes`,
    ['modality', 'detector', 'embedding', 'block', 'encoder', 'total', '÷ goal'],
    (['keystroke', 'pointer'] as const).map((m) => [
      m,
      kb(r.size[m].bytes),
      kb(r.size[m].embeddingBytes),
      kb(r.size[m].blockBytes),
      kb(r.size[m].encoderBytes),
      kb(r.size[m].totalBytes),
      r.size[m].ratioToGoal,
    ]),
  );
  const fitRows: (string | number)[][] = [];
  for (const [backend, byM] of Object.entries(r.fit)) {
    for (const m of ['keystroke', 'pointer'] as const) {
      const f = byM![m];
      fitRows.push([
        `${backend} ${m}`,
        f.windows,
        f.medianMs.toFixed(0),
        f.maxMs.toFixed(0),
        (f.medianMs / GOALS.fitMs).toFixed(3),
        f.heldOutConfidence,
      ]);
    }
  }
  printTable(
    `fit (${r.detector}; median of ${Object.values(r.fit)[0]?.keystroke.timesMs.length ?? 0} after one untimed; goal ≤ ${GOALS.fitMs} ms)`,
    ['backend modality', 'windows', 'median ms', 'max ms', '÷ goal', 'held-out conf'],
    fitRows,
  );
  const rows: (string | number)[][] = [];
  const add = (label: string, l: LatencyFigures): void => {
    rows.push([
      label,
      l.batch,
      l.scoreUs.p50,
      l.scoreUs.p95,
      l.scoreUs.p99,
      l.featuresUs.p50,
      l.featuresUs.p95,
      l.ratio.p50,
      l.ratio.p95,
    ]);
  };
  for (const m of ['keystroke', 'pointer'] as const) {
    add(`Node ${m}, per call`, r.score.node[m].perCall);
    add(`Node ${m}`, r.score.node[m].batched);
    if (r.score.worker) add(`worker ${m}`, r.score.worker[m]);
  }
  printTable(
    `score per window, µs (baseline: feature extraction of the same window; goal p95 ≤ ${GOALS.scoreP95Us} µs)`,
    [
      'runtime',
      'batch',
      'p50',
      'p95',
      'p99',
      'features p50',
      'features p95',
      'score÷features p50',
      'p95',
    ],
    rows,
  );
  if (r.score.ratioWorkerToNode) {
    console.log(
      `worker ÷ Node (p50, batches of 32): keystroke ${r.score.ratioWorkerToNode.keystroke}, pointer ${r.score.ratioWorkerToNode.pointer}; ` +
        `${r.browserVersion}, cross-origin isolated ${r.score.workerCrossOriginIsolated}; score sums agree to ${r.score.scoreSumRelDiff?.toExponential(1)}`,
    );
  }
  const mem = r.memory;
  printTable(
    `memory over ${mem.cycles} fit + score + dispose cycles (one keystroke and one pointer model each), backend ${mem.backend}`,
    ['', 'before', 'after', 'difference'],
    [
      [
        'tf numTensors',
        mem.numTensorsBefore,
        mem.numTensorsAfter,
        mem.numTensorsAfter - mem.numTensorsBefore,
      ],
      [
        'tf numBytes',
        mem.numBytesBefore,
        mem.numBytesAfter,
        mem.numBytesAfter - mem.numBytesBefore,
      ],
      [
        `heap used${mem.gcExposed ? ' (after gc)' : ''}`,
        kb(mem.heapUsedBefore),
        kb(mem.heapUsedAfter),
        kb(mem.heapGrowthBytes),
      ],
    ],
  );
  if (mem.numTensorsAfter !== mem.numTensorsBefore || mem.numBytesAfter !== mem.numBytesBefore) {
    console.log('LEAK: tf.memory() did not return to its start');
  }
  printLocalRound(r.localRound);
}

/** The federated local round's table (also used by the smoke run). */
export function printLocalRound(l: LocalRoundFigures): void {
  printTable(
    `federated local round (shipped keystroke encoder, ${l.steps} steps × ${l.batchSize} crops, ${l.windows} windows; median of ${l.reps}; baseline: Node wasm, same run)`,
    ['runtime', 'backend', 'median ms', 'max ms', '÷ Node', 'update bytes'],
    [
      ['Node', l.node.backend, l.node.medianMs, l.node.maxMs, 1, l.updateBytes],
      ...(l.worker
        ? [
            [
              'Chromium worker',
              l.worker.backend,
              l.worker.medianMs,
              l.worker.maxMs,
              l.ratioWorkerToNode ?? '-',
              l.updateBytes,
            ],
          ]
        : []),
    ],
  );
}
