/**
 * Module Web Worker for the feature-extraction benchmark: runs the same input and loop as the
 * Node side (../feature-input.ts, real model/ code) and posts the result back.
 */
import { runFeatureExtraction, type FeatureRunOptions } from '../feature-input';

interface WorkerScope {
  onmessage: ((event: MessageEvent<FeatureRunOptions>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as WorkerScope;
scope.onmessage = (event) => {
  try {
    scope.postMessage({
      ok: true,
      result: runFeatureExtraction(event.data, () => performance.now()),
    });
  } catch (error) {
    scope.postMessage({
      ok: false,
      error: String(error instanceof Error ? (error.stack ?? error.message) : error),
    });
  }
};
