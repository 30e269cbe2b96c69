import { defineConfig } from '@playwright/test';

// Real Chromium (Debian's), the built extension, a real server: see e2e/support/.
export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  timeout: 300_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results',
});
