import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// The server suite runs twice: on SQLite (project `unit`, with everything else) and on Redis
// (project `redis`, TACIT_TEST_STORE=redis; its global setup starts a throwaway redis-server
// unless TACIT_TEST_REDIS_URL names one). Tests about one store only run in its project.
const SQLITE_ONLY = ['server/src/store/sqlite/crash.test.ts'];
const REDIS_ONLY = [
  'server/src/store/redis/two-instance.test.ts',
  'server/src/store/redis/group-commit.test.ts',
  'server/src/http/middleware/rate-limit/redis.test.ts',
];
const redisServer = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const redisPossible = Boolean(process.env.TACIT_TEST_REDIS_URL) || existsSync(redisServer);
// Under CI the project always runs, so a missing Redis fails the run instead of skipping.
const withRedis = redisPossible || Boolean(process.env.CI);
if (!withRedis) {
  console.warn(`vitest: no ${redisServer} and no TACIT_TEST_REDIS_URL: project "redis" skipped`);
}

// Kept apart from vite.config.ts so unit tests never load the crx plugin or Playwright specs.
export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 30_000,
    // Hooks train models and start servers like tests do: the same kind of budget, not 10 s.
    hookTimeout: 60_000,
    pool: 'forks',
    // Two forks on two cores (vitest's default is cores − 1 = one fork here): many files wait on
    // real servers, processes and browsers. Files are isolated (own SQLite files, random Redis
    // key prefixes, free ports), so two at a time share nothing.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'model/**/*.test.ts',
            'server/**/*.test.ts',
            'src/**/*.test.ts',
            // The server bench's smoke run (the other benches' smoke runs are Playwright specs).
            'e2e/bench/**/*.test.ts',
            // The proof suite's CI-sized run (forgery, fuzzing, faults, soak, deployment).
            'e2e/proof/**/*.test.ts',
            // The repository's own tooling (the dependency rules' fixture test).
            'tools/**/*.test.ts',
          ],
          exclude: [...configDefaults.exclude, ...REDIS_ONLY],
          env: { TACIT_TEST_STORE: 'sqlite' },
        },
      },
      ...(withRedis
        ? [
            {
              extends: true as const,
              test: {
                name: 'redis',
                include: ['server/**/*.test.ts'],
                exclude: [...configDefaults.exclude, ...SQLITE_ONLY],
                env: { TACIT_TEST_STORE: 'redis' },
                globalSetup: ['server/src/testing/redis-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
