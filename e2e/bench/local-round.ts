/**
 * The federated local round's cost (issue 10): the worker's own `runLocalRound` (shipped
 * keystroke encoder, `FEDERATED_DEFAULTS`, 30 synthetic typing windows) timed in a module Web
 * Worker in Chromium on the worker's own backend start-up, and in Node on wasm as the baseline of
 * the same run; plus the bytes of the update it produces.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { featuresOf, windowEvents } from '../../model/cli/model-bench-input';
import { FEDERATED_DEFAULTS } from '../../model/federated/config';
import { parameterCount } from '../../model/federated/parameters';
import { encoderId } from '../../model/shared/embedding-model';
import { encoderFromJSON } from '../../model/shared/encoder';
import keystrokeEncoderFile from '../../model/shared/default-keystroke.json';
import { runLocalRound } from '../../src/worker/federated';
import type { FederatedRoundSpec } from '../../src/shared/protocol';
import { bundle, launchPlainBrowser, runWorkerOnce, startStaticServer } from './browser';
import type { LocalRoundWorkerRequest } from './page/federated-worker';
import { median, round } from './report';

/** Stored typing windows the round trains on (a device has more; the round samples crops). */
const WINDOWS = 30;

export interface LocalRoundFigures {
  /** Local steps × crops per step (`FEDERATED_DEFAULTS.localUpdate`). */
  steps: number;
  batchSize: number;
  windows: number;
  reps: number;
  node: { backend: string; medianMs: number; maxMs: number };
  worker: { backend: string; medianMs: number; maxMs: number } | null;
  /** worker median ÷ Node median (Node wasm is the baseline of the same run). */
  ratioWorkerToNode: number | null;
  /** TFLU bytes of one update (before the JWS that signs it). */
  updateBytes: number;
}

export async function runLocalRoundBench(
  options: { reps?: number; worker?: boolean; timeoutMs?: number } = {},
): Promise<LocalRoundFigures> {
  const reps = options.reps ?? 3;
  const encoder = encoderFromJSON(keystrokeEncoderFile);
  const spec: FederatedRoundSpec = {
    round: 1,
    encoderId: encoderId(encoder),
    parameters: parameterCount(encoder),
    clipNorm: FEDERATED_DEFAULTS.clipNorm,
    noiseMultiplier: FEDERATED_DEFAULTS.noiseMultiplier,
    minDevices: FEDERATED_DEFAULTS.minDevices,
  };
  const sequences = windowEvents('keystroke', WINDOWS, 7).map((events) => {
    const w = featuresOf('keystroke', events);
    return { steps: w.steps, n: w.n };
  });

  const previous = tf.getBackend();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
  const nodeMs: number[] = [];
  let updateBytes = 0;
  try {
    for (let i = 0; i < reps; i++) {
      const r = await runLocalRound(encoder, sequences, spec, (a) => crypto.getRandomValues(a));
      if (!r.ok) throw new Error(`local round refused in Node: ${r.code}`);
      nodeMs.push(r.ms);
      updateBytes = r.bytes.length;
    }
  } finally {
    if (previous) await tf.setBackend(previous);
  }

  let worker: LocalRoundFigures['worker'] = null;
  if (options.worker ?? true) {
    const bundled = await bundle({
      'federated-worker': join(import.meta.dirname, 'page/federated-worker.ts'),
    });
    const server = await startStaticServer(bundled.dir, {
      '/': '<!doctype html><title>local round bench</title>',
    });
    const browser = await launchPlainBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const request: LocalRoundWorkerRequest = {
        sequences: sequences.map((s) => ({ steps: Array.from(s.steps), n: s.n })),
        spec,
        reps,
      };
      const reply = await runWorkerOnce<{ backend: string; ms: number[]; bytes: number }>(
        page,
        '/federated-worker.js',
        request,
        options.timeoutMs ?? 300_000,
      );
      if (!reply.ok) throw new Error(`local round in the worker failed: ${reply.error}`);
      if (reply.bytes !== updateBytes)
        throw new Error(`worker update ${reply.bytes} bytes, Node ${updateBytes}`);
      worker = {
        backend: reply.backend,
        medianMs: round(median(reply.ms), 1),
        maxMs: round(Math.max(...reply.ms), 1),
      };
    } finally {
      await browser.close().catch(() => undefined);
      await server.stop();
      bundled.dispose();
    }
  }
  const node = {
    backend: 'wasm',
    medianMs: round(median(nodeMs), 1),
    maxMs: round(Math.max(...nodeMs), 1),
  };
  return {
    steps: FEDERATED_DEFAULTS.localUpdate.steps,
    batchSize: FEDERATED_DEFAULTS.localUpdate.batchSize,
    windows: WINDOWS,
    reps,
    node,
    worker,
    ratioWorkerToNode: worker === null ? null : round(worker.medianMs / node.medianMs),
    updateBytes,
  };
}
