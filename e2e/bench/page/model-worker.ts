/**
 * Module Web Worker for the model benchmark: loads the models fitted in Node (the detector and
 * the embedding model over the shipped encoder, scored together as the worker's engine does)
 * and runs the same scoring loop as the Node side (model/cli/model-bench-input.ts), posting the
 * raw timings back. Scoring is plain JavaScript: no tfjs backend is started here.
 */
import { UserModel } from '../../../model/detector/user-model';
import type { Modality } from '../../../model/features/schema';
import {
  productScorer,
  timeScoring,
  windowEvents,
  type ScoringTiming,
} from '../../../model/cli/model-bench-input';
import { EmbeddingUserModel, type EmbeddingModelJSON } from '../../../model/shared/embedding-model';
import { encoderFromJSON } from '../../../model/shared/encoder';
import { BlockScorer } from '../../../model/pointer/block-scorer';
import { shippedBlockProjection } from '../../../model/product/scorer';

export interface ModelWorkerRequest {
  models: Record<Modality, unknown>;
  embeddings: Record<Modality, unknown>;
  /** Pointer block scorer (`BlockScorer.toJSON()`), null for keystrokes. */
  blocks: Record<Modality, unknown>;
  encoders: Record<Modality, unknown>;
  windows: number;
  batch: number;
  batches: number;
  warmup: number;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<ModelWorkerRequest>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => {
  try {
    const r = event.data;
    const result = {} as Record<Modality, ScoringTiming>;
    for (const modality of ['keystroke', 'pointer'] as const) {
      const block = r.blocks[modality];
      const embedding = r.embeddings[modality];
      const model = productScorer(
        UserModel.fromJSON(r.models[modality]),
        embedding === null
          ? undefined
          : EmbeddingUserModel.fromJSON(
              encoderFromJSON(r.encoders[modality]),
              embedding as EmbeddingModelJSON,
            ),
        block === null ? undefined : BlockScorer.fromJSON(shippedBlockProjection(), block),
      );
      const events = windowEvents(modality, r.windows, 2);
      result[modality] = timeScoring(
        model,
        modality,
        events,
        { batch: r.batch, batches: r.batches, warmup: r.warmup },
        () => performance.now(),
      );
    }
    scope.postMessage({
      ok: true,
      result,
      crossOriginIsolated: (self as unknown as { crossOriginIsolated: boolean })
        .crossOriginIsolated,
    });
  } catch (error) {
    scope.postMessage({
      ok: false,
      error: String(error instanceof Error ? (error.stack ?? error.message) : error),
    });
  }
};
