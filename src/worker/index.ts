// Model worker entry: exposes exactly the ModelWorkerApi through comlink, nothing else.
import * as Comlink from 'comlink';
import type { ModelWorkerApi } from '../shared/protocol';
import { Engine } from './engine';

let engine: Promise<Engine> | undefined;

/** The engine, started on first use; a failed start is retried on the next call, not kept. */
function started(): Promise<Engine> {
  engine ??= Engine.start().catch((error: unknown) => {
    engine = undefined;
    throw error;
  });
  return engine;
}
void started().catch((error: unknown) =>
  console.error('[tacit] model engine did not start', error),
);

const api: ModelWorkerApi = {
  ingest: async (batch, sid, learn) => (await started()).ingest(batch, sid, learn),
  status: async (learn) => (await started()).status(learn),
  confirmSession: async (sid, learn) => (await started()).confirmSession(sid, learn),
  checkGolden: async () => (await started()).checkGolden(),
  describe: async () => (await started()).describe(),
  applyRetention: async (maxAgeMs) => (await started()).applyRetention(maxAgeMs),
  eraseAll: async () => (await started()).eraseAll(),
  federatedUpdate: async (spec) => (await started()).federatedUpdate(spec),
  adoptEncoder: async (encoder, ver, enc, centres) =>
    (await started()).adoptEncoder(encoder, ver, enc, centres),
};

Comlink.expose(api);
