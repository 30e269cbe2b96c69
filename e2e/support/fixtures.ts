import { test as base } from '@playwright/test';
import { configure, launchWithExtension, type LoadedExtension } from './extension';
import {
  startRecordingProxy,
  startServer,
  type RecordingProxy,
  type RunningServer,
} from './server';

export interface TacitFixtures {
  /** Extra environment for the server (e.g. a policy file), set with `test.use`. */
  serverEnv: Record<string, string>;
  server: RunningServer;
  recorder: RecordingProxy;
  ext: LoadedExtension;
}

/**
 * Each test gets its own real server (SQLite in a temp dir) and demo bank beside it (its own
 * process and origin), a recording proxy in front of the server (the extension's configured
 * server URL), and a fresh Chromium profile with the built extension, configured to protect
 * the demo bank's origin.
 */
export const test = base.extend<TacitFixtures>({
  serverEnv: [{}, { option: true }],
  server: async ({ serverEnv }, use) => {
    const server = await startServer(serverEnv);
    await use(server);
    await server.stop();
  },
  recorder: async ({ server }, use) => {
    const proxy = await startRecordingProxy(server.url);
    await use(proxy);
    await proxy.stop();
  },
  ext: async ({ server, recorder }, use) => {
    const ext = await launchWithExtension();
    await configure(ext, {
      serverUrl: recorder.url,
      protectedOrigins: [server.bankUrl],
      attestationIntervalMs: 1000,
    });
    await use(ext);
    await ext.close();
  },
});

export { expect } from '@playwright/test';
