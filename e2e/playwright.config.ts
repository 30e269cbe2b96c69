import { defineConfig } from '@playwright/test';

/**
 * Specs that write a Chromium policy file in the system-wide policy folder
 * (/etc/chromium/policies/managed): every Chromium running at that moment reads it too, so they
 * run after all other specs, one at a time. (Measured: with two workers and no such split, the
 * faults spec's browser took the managed-policy spec's `serverUrl` and saw its device as not
 * enrolled.) Running one of them alone: add `--no-deps`, or the other specs run first.
 */
const SYSTEM_POLICY_SPECS = ['managed-policy.spec.ts', 'federated.spec.ts'];

// Real Chromium (Debian's), the built extension, a real server: see e2e/support/.
export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  timeout: 300_000,
  expect: { timeout: 30_000 },
  // Two files at a time: most of a spec's time is typing replayed in real time (the CPU waits),
  // so two workers on two cores cut the suite from ≈ 18 to ≈ 10 min. Every spec starts its own
  // servers, browser profile and display on free ports; the one state browsers share, the
  // system policy folder, is kept to the serial project below.
  workers: 2,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results',
  projects: [
    { name: 'isolated', testIgnore: SYSTEM_POLICY_SPECS.map((f) => `**/${f}`) },
    {
      name: 'system-policy',
      testMatch: SYSTEM_POLICY_SPECS.map((f) => `**/${f}`),
      dependencies: ['isolated'],
      workers: 1,
    },
  ],
});
