/**
 * The Node half of `npm run bench -- model` (docs/benchmarks.md): stored model size, `fit` time
 * on the wasm and cpu backends, `score` latency against feature extraction of the same window
 * (the baseline), and memory over repeated fit + score + dispose cycles. The Chromium worker
 * half and the printing live in `e2e/bench/model.ts`; `model-bench.test.ts` is the smoke test.
 */
import { PRODUCT, shippedBlockProjection } from '../product/scorer';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UserModel } from '../detector/user-model';
import type { DetectorConfig } from '../detector/config';
import type { Modality } from '../features/schema';
import { readFileSync } from 'node:fs';
import { EmbeddingUserModel } from '../shared/embedding-model';
import { BlockScorer } from '../pointer/block-scorer';
import { type SharedEncoder, encoderFromJSON } from '../shared/encoder';
import {
  featuresOf,
  productScorer,
  timeScoring,
  windowEvents,
  type ScoringTiming,
} from './model-bench-input';

/** The shipped shared encoders (model/shared), as the worker loads them. */
export function shippedEncoderJson(modality: Modality): unknown {
  const file = new URL(`../shared/default-${modality}.json`, import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Backends measured in Node. */
export type NodeBackend = 'wasm' | 'cpu';

/** Options of {@link runModelNodeBench}; defaults are the benchmark's. */
export interface ModelBenchOptions {
  /** Backends to time `fit` on. Default both, wasm first (the worker's). */
  backends?: NodeBackend[];
  /** Timed fits per backend and modality (median reported), after one untimed. Default 3. */
  fitReps?: number;
  /** Memory: fit + score + dispose cycles (each: one keystroke and one pointer model). Default 50. */
  cycles?: number;
  /** Distinct windows scored per modality. Default 1,000. */
  windows?: number;
  /** Timed batches per modality and batch size. Default 2,000. */
  batches?: number;
  /** Detector overrides: smoke tests only (fewer epochs). */
  detector?: Partial<DetectorConfig>;
}

/** Enrolment of a typical user: 30 keystroke windows (600 presses), 10 pointer windows (640 events). */
export const ENROLMENT: Readonly<Record<Modality, number>> = Object.freeze({
  keystroke: 30,
  pointer: 10,
});
/** The product's detector configuration of a modality (model/product/scorer.ts: the worker's enrolment amount). */
export function workerDetector(modality: Modality): Readonly<Partial<DetectorConfig>> {
  return { minEnrollWindows: PRODUCT.minEnrollWindows[modality] };
}
/** Goals (issue 4). */
export const GOALS = Object.freeze({ modelBytes: 2_000_000, scoreP95Us: 1000, fitMs: 5000 });

const MODALITIES: readonly Modality[] = ['keystroke', 'pointer'];

/** Quantile, linear between order statistics. */
export function quantileOf(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** p50/p95/p99 of scoring and of its baseline, and their ratios. */
export interface LatencyFigures {
  batch: number;
  batches: number;
  scoreUs: { p50: number; p95: number; p99: number };
  featuresUs: { p50: number; p95: number; p99: number };
  /** score ÷ feature extraction of the same window, at p50 and p95. */
  ratio: { p50: number; p95: number };
  scoreSum: number;
}

/** Summarizes a timing run. */
export function latencyFigures(t: ScoringTiming, batch: number): LatencyFigures {
  const q = (v: number[]) => ({
    p50: r3(quantileOf(v, 0.5)),
    p95: r3(quantileOf(v, 0.95)),
    p99: r3(quantileOf(v, 0.99)),
  });
  const s = q(t.scoreUs);
  const f = q(t.featuresUs);
  return {
    batch,
    batches: t.scoreUs.length,
    scoreUs: s,
    featuresUs: f,
    ratio: {
      p50: r3(quantileOf(t.scoreUs, 0.5) / quantileOf(t.featuresUs, 0.5)),
      p95: r3(quantileOf(t.scoreUs, 0.95) / quantileOf(t.featuresUs, 0.95)),
    },
    scoreSum: t.scoreSum,
  };
}

/** Fit times of one modality on one backend. */
export interface FitFigures {
  windows: number;
  medianMs: number;
  maxMs: number;
  timesMs: number[];
  heldOutConfidence: number;
}

/** The Node result (the worker half adds `score.worker`). */
export interface ModelNodeBenchResult {
  bench: 'model';
  date: string;
  nodeVersion: string;
  tfjsVersion: string;
  detector: string;
  enrolment: Record<Modality, number>;
  goals: typeof GOALS;
  /**
   * Bytes (UTF-8 JSON) per modality: the per-user detector and embedding models as stored, the
   * shipped shared encoder, and their total against the goal.
   */
  size: Record<
    Modality,
    {
      bytes: number;
      embeddingBytes: number;
      /** Pointer: the per-user block scorer as stored, and the shipped block projection. */
      blockBytes: number;
      encoderBytes: number;
      totalBytes: number;
      ratioToGoal: number;
    }
  >;
  /** `fit` on each backend. */
  fit: Partial<Record<NodeBackend, Record<Modality, FitFigures>>>;
  /** `score` per window in Node: one call per timed batch (batch 1) and batches of 32. */
  score: { node: Record<Modality, { perCall: LatencyFigures; batched: LatencyFigures }> };
  memory: {
    backend: string;
    cycles: number;
    numTensorsBefore: number;
    numTensorsAfter: number;
    numBytesBefore: number;
    numBytesAfter: number;
    /** Process heap after a full GC, before and after the cycles (bytes). */
    heapUsedBefore: number;
    heapUsedAfter: number;
    heapGrowthBytes: number;
    /** False when `gc()` could not be exposed (the heap figures are then noisier). */
    gcExposed: boolean;
  };
  /** Models fitted in Node (for the worker half): `toJSON()` per modality, from the first backend. */
  models: Record<Modality, unknown>;
  /** Embedding models fitted in Node, and the shared encoders they were enrolled with. */
  embeddings: Record<Modality, unknown>;
  /** Pointer block scorer fitted in Node (with the shipped projection); null for keystrokes. */
  blocks: Record<Modality, unknown>;
  encoders: Record<Modality, unknown>;
}

function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

async function useBackend(name: NodeBackend): Promise<void> {
  // Node has no pthread workers for tfjs; single-threaded is what the extension runs too.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} did not start`);
  await tf.ready();
}

/** Runs the Node half. Leaves the tfjs backend on the first of `backends`. */
export async function runModelNodeBench(
  options: ModelBenchOptions = {},
): Promise<ModelNodeBenchResult> {
  const backends = options.backends ?? ['wasm', 'cpu'];
  const fitReps = options.fitReps ?? 3;
  const cycles = options.cycles ?? 50;
  const windows = options.windows ?? 1000;
  const batches = options.batches ?? 2000;
  const config = (modality: Modality) => ({ ...workerDetector(modality), ...options.detector });
  const enrol = {
    keystroke: windowEvents('keystroke', ENROLMENT.keystroke, 1).map((e) =>
      featuresOf('keystroke', e),
    ),
    pointer: windowEvents('pointer', ENROLMENT.pointer, 1).map((e) => featuresOf('pointer', e)),
  };
  const scored = {
    keystroke: windowEvents('keystroke', windows, 2),
    pointer: windowEvents('pointer', windows, 2),
  };

  const fit: ModelNodeBenchResult['fit'] = {};
  const models = {} as Record<Modality, UserModel>;
  // The product's components: a shared encoder only where the modality fuses an embedding.
  const embeds = (modality: Modality): boolean =>
    PRODUCT.components[modality].includes('embedding');
  const encoderJson = {} as Record<Modality, unknown>;
  const encoders = {} as Record<Modality, SharedEncoder | undefined>;
  for (const modality of MODALITIES) {
    encoderJson[modality] = embeds(modality) ? shippedEncoderJson(modality) : null;
    encoders[modality] = embeds(modality) ? encoderFromJSON(encoderJson[modality]) : undefined;
  }
  const embeddings = {} as Record<Modality, EmbeddingUserModel | undefined>;
  const fitEmbedding = (modality: Modality): EmbeddingUserModel | undefined => {
    const encoder = encoders[modality];
    if (encoder === undefined) return undefined;
    const e = new EmbeddingUserModel(encoder, {
      minEnrollWindows: config(modality).minEnrollWindows,
    });
    e.fit(enrol[modality].map((w) => ({ steps: w.steps, n: w.n })));
    return e;
  };
  const fitBlock = (modality: Modality): BlockScorer | undefined =>
    modality === 'pointer'
      ? BlockScorer.fit(
          shippedBlockProjection(),
          enrol[modality].map((w) => w.block!),
        )
      : undefined;
  const blocks = {} as Record<Modality, BlockScorer | undefined>;
  for (const backend of backends) {
    await useBackend(backend);
    const byModality = {} as Record<Modality, FitFigures>;
    for (const modality of MODALITIES) {
      const times: number[] = [];
      let held = 0;
      for (let rep = 0; rep <= fitReps; rep++) {
        const m = new UserModel(modality, config(modality));
        const t0 = performance.now();
        // Enrolment = both per-user models, as in the worker.
        const report = await m.fit(enrol[modality].map((w) => w.vector));
        const e = fitEmbedding(modality);
        const b = fitBlock(modality);
        const ms = performance.now() - t0;
        if (backend === backends[0] && rep === fitReps) {
          embeddings[modality] = e;
          blocks[modality] = b;
        }
        if (rep > 0) times.push(ms); // the first fit warms up the backend's kernels
        held = report.heldOutConfidence;
        if (backend === backends[0] && rep === fitReps) models[modality] = m;
        else m.dispose();
      }
      byModality[modality] = {
        windows: enrol[modality].length,
        medianMs: r3(quantileOf(times, 0.5)),
        maxMs: r3(Math.max(...times)),
        timesMs: times.map(r3),
        heldOutConfidence: r3(held),
      };
    }
    fit[backend] = byModality;
  }
  await useBackend(backends[0]!);

  const size = {} as ModelNodeBenchResult['size'];
  const score = { node: {} as ModelNodeBenchResult['score']['node'] };
  const json = {} as Record<Modality, unknown>;
  const embeddingJson = {} as Record<Modality, unknown>;
  const blockJson = {} as Record<Modality, unknown>;
  const projectionBytes = Buffer.byteLength(
    JSON.stringify(shippedBlockProjection().toJSON()),
    'utf8',
  );
  for (const modality of MODALITIES) {
    const model = models[modality];
    json[modality] = model.toJSON();
    embeddingJson[modality] = embeddings[modality]?.toJSON() ?? null;
    const bytes = Buffer.byteLength(JSON.stringify(json[modality]), 'utf8');
    const jsonBytes = (v: unknown): number =>
      v === null ? 0 : Buffer.byteLength(JSON.stringify(v), 'utf8');
    const embeddingBytes = jsonBytes(embeddingJson[modality]);
    const encoderBytes = jsonBytes(encoderJson[modality]);
    blockJson[modality] = blocks[modality]?.toJSON() ?? null;
    const blockBytes =
      blocks[modality] === undefined
        ? 0
        : Buffer.byteLength(JSON.stringify(blockJson[modality]), 'utf8') + projectionBytes;
    const totalBytes = bytes + embeddingBytes + blockBytes + encoderBytes;
    size[modality] = {
      bytes,
      embeddingBytes,
      blockBytes,
      encoderBytes,
      totalBytes,
      ratioToGoal: r3(totalBytes / GOALS.modelBytes),
    };
    const now = (): number => performance.now();
    const scorer = productScorer(model, embeddings[modality], blocks[modality]);
    const perCall = timeScoring(
      scorer,
      modality,
      scored[modality],
      { batch: 1, batches, warmup: 200 },
      now,
    );
    const batched = timeScoring(
      scorer,
      modality,
      scored[modality],
      { batch: 32, batches: Math.max(1, Math.round(batches / 8)), warmup: 20 },
      now,
    );
    score.node[modality] = {
      perCall: latencyFigures(perCall, 1),
      batched: latencyFigures(batched, 32),
    };
    model.dispose();
  }

  // Memory: a warm-up cycle first (backend-level caches), then `cycles` cycles.
  const gc = exposeGc();
  const cycle = async (seed: number): Promise<void> => {
    for (const modality of MODALITIES) {
      const m = new UserModel(modality, { ...config(modality), seed });
      await m.fit(enrol[modality].map((w) => w.vector));
      const e = fitEmbedding(modality);
      const scorer = productScorer(m, e, fitBlock(modality));
      for (const ev of scored[modality].slice(0, 10)) scorer.score(featuresOf(modality, ev));
      const encoder = encoders[modality];
      productScorer(
        UserModel.fromJSON(m.toJSON()),
        e === undefined || encoder === undefined
          ? undefined
          : EmbeddingUserModel.fromJSON(encoder, e.toJSON()),
      ).score(enrol[modality][0]!);
      m.dispose();
    }
  };
  await cycle(0);
  gc?.();
  gc?.();
  const before = tf.memory();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let c = 1; c <= cycles; c++) await cycle(c);
  gc?.();
  gc?.();
  const after = tf.memory();
  const heapAfter = process.memoryUsage().heapUsed;

  return {
    bench: 'model',
    date: new Date().toISOString(),
    nodeVersion: process.version,
    tfjsVersion: tf.version_core,
    detector: `worker config ${JSON.stringify({ keystroke: config('keystroke'), pointer: config('pointer') })}, defaults otherwise`,
    enrolment: { ...ENROLMENT },
    goals: GOALS,
    size,
    fit,
    score,
    memory: {
      backend: tf.getBackend(),
      cycles,
      numTensorsBefore: before.numTensors,
      numTensorsAfter: after.numTensors,
      numBytesBefore: before.numBytes,
      numBytesAfter: after.numBytes,
      heapUsedBefore: heapBefore,
      heapUsedAfter: heapAfter,
      heapGrowthBytes: heapAfter - heapBefore,
      gcExposed: gc !== undefined,
    },
    models: json,
    embeddings: embeddingJson,
    blocks: blockJson,
    encoders: encoderJson,
  };
}
