/**
 * Starts the model worker and wraps it with comlink. Used by the Chrome offscreen document
 * and by Firefox's background page (which can start workers itself). A worker that dies (an
 * uncaught error at start, a crash) would leave comlink calls pending for ever, so the client
 * starts a new one and fails the calls in flight; the next batch goes to the new worker.
 */
import * as Comlink from 'comlink';
import type { AdoptEncoderReply, FederatedUpdateReply, ModelWorkerApi } from './protocol';

function spawn(): Worker {
  return new Worker(new URL('../worker/index.ts', import.meta.url), {
    type: 'module',
    name: 'tacit-model',
  });
}

export function startModelWorker(): ModelWorkerApi {
  let worker = spawn();
  let remote = Comlink.wrap<ModelWorkerApi>(worker);
  let failInFlight: ((error: Error) => void)[] = [];
  const restart = (): void => {
    worker.terminate();
    const failed = failInFlight;
    failInFlight = [];
    for (const fail of failed) fail(new Error('model worker stopped'));
    worker = spawn();
    remote = Comlink.wrap<ModelWorkerApi>(worker);
    watch(worker);
  };
  const watch = (w: Worker): void => {
    w.addEventListener('error', (event) => {
      event.preventDefault();
      console.error('[tacit] model worker failed, restarting', event.message);
      restart();
    });
  };
  watch(worker);
  const call = <T>(run: (api: Comlink.Remote<ModelWorkerApi>) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fail = (error: Error) => reject(error);
      failInFlight.push(fail);
      run(remote)
        .then(resolve, reject)
        .finally(() => {
          failInFlight = failInFlight.filter((f) => f !== fail);
        });
    });
  return {
    ingest: (batch, sid, learn) => call((api) => api.ingest(batch, sid, learn)),
    status: (learn) => call((api) => api.status(learn)),
    confirmSession: (sid, learn) => call((api) => api.confirmSession(sid, learn)),
    checkGolden: () => call((api) => api.checkGolden()),
    describe: () => call((api) => api.describe()),
    applyRetention: (maxAgeMs) => call((api) => api.applyRetention(maxAgeMs)),
    eraseAll: () => call((api) => api.eraseAll()),
    // Comlink's Remote type splits the reply union into a union of promises: one promise here.
    federatedUpdate: (spec) =>
      call((api) => api.federatedUpdate(spec) as Promise<FederatedUpdateReply>),
    adoptEncoder: (encoder, ver, enc, centres) =>
      call((api) => api.adoptEncoder(encoder, ver, enc, centres) as Promise<AdoptEncoderReply>),
  };
}
