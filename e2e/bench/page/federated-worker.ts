/**
 * Module Web Worker for the model benchmark's federated part: starts the worker's own tfjs
 * backend (src/worker/backend.ts: wasm, single-threaded, as in the extension) and times the
 * worker's own local round (src/worker/federated.ts `runLocalRound`: local update → clip and
 * noise → quantise → TFLU bytes, with `FEDERATED_DEFAULTS`) on the shipped keystroke encoder.
 */
import { initBackend } from '../../../src/worker/backend';
import { runLocalRound } from '../../../src/worker/federated';
import type { FederatedRoundSpec } from '../../../src/shared/protocol';
import { encoderFromJSON } from '../../../model/shared/encoder';
import keystrokeEncoderFile from '../../../model/shared/default-keystroke.json';

export interface LocalRoundWorkerRequest {
  /** Step sequences as plain arrays (structured clone keeps Float32Array too; arrays are safer). */
  sequences: { steps: number[]; n: number }[];
  spec: FederatedRoundSpec;
  reps: number;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<LocalRoundWorkerRequest>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => {
  void (async () => {
    try {
      const r = event.data;
      const backend = await initBackend();
      const encoder = encoderFromJSON(keystrokeEncoderFile);
      const sequences = r.sequences.map((s) => ({ steps: Float32Array.from(s.steps), n: s.n }));
      const ms: number[] = [];
      let bytes = 0;
      for (let i = 0; i < r.reps; i++) {
        const result = await runLocalRound(encoder, sequences, r.spec, (a) =>
          crypto.getRandomValues(a),
        );
        if (!result.ok) throw new Error(`local round refused: ${result.code}`);
        ms.push(result.ms);
        bytes = result.bytes.length;
      }
      scope.postMessage({ ok: true, backend, ms, bytes });
    } catch (error) {
      scope.postMessage({
        ok: false,
        error: String(error instanceof Error ? (error.stack ?? error.message) : error),
      });
    }
  })();
};
