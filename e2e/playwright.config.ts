import { defineConfig } from '@playwright/test';

// Real Chromium (Debian's), the built extension, a real server: see e2e/support/.
export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  timeout: 300_000,
  expect: { timeout: 30_000 },
  // Two files at a time: most of a spec's time is typing replayed in real time (the CPU waits),
  // so two workers on two cores cut the suite from ≈ 18 to ≈ 12 min; every spec starts its own
  // servers, browser profile and display on free ports, so specs never share state.
  workers: 2,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results',
});
