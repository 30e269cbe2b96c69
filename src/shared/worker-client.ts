/**
 * Starts the model worker and wraps it with comlink. Used by the Chrome offscreen document
 * and by Firefox's background page (which can start workers itself).
 */
import * as Comlink from 'comlink';
import type { ModelWorkerApi } from './protocol';

export function startModelWorker(): Comlink.Remote<ModelWorkerApi> {
  const worker = new Worker(new URL('../worker/index.ts', import.meta.url), {
    type: 'module',
    name: 'tacit-model',
  });
  return Comlink.wrap<ModelWorkerApi>(worker);
}
