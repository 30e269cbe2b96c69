// Model worker entry: exposes exactly the ModelWorkerApi through comlink, nothing else.
import * as Comlink from 'comlink';
import type { ModelWorkerApi } from '../shared/protocol';
import { Engine } from './engine';

const engine = Engine.start();

const api: ModelWorkerApi = {
  ingest: async (batch, sid) => (await engine).ingest(batch, sid),
  status: async () => (await engine).status(),
  checkGolden: async () => (await engine).checkGolden(),
};

Comlink.expose(api);
