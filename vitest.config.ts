import { defineConfig } from 'vitest/config';

// Kept apart from vite.config.ts so unit tests never load the crx plugin or Playwright specs.
export default defineConfig({
  test: {
    include: ['model/**/*.test.ts', 'server/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    pool: 'forks',
  },
});
