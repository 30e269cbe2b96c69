/**
 * Global setup of the vitest project `redis` (vitest.config.ts): provides the URL of the test
 * Redis to every test file (`inject('redisUrl')`). Uses `TACIT_TEST_REDIS_URL` when set (CI
 * starts one); otherwise starts a throwaway `redis-server` on a free loopback port and stops it
 * after the run. Neither possible: the setup throws, and the run fails.
 *
 * @module
 */
import type { TestProject } from 'vitest/node';
import { REDIS_SERVER_PATH, startRedisServer, type TestRedisServer } from './redis-server';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: TestRedisServer | undefined;
  let url = process.env.TACIT_TEST_REDIS_URL;
  if (!url) {
    try {
      server = await startRedisServer();
    } catch (err) {
      throw new Error(
        `redis project: set TACIT_TEST_REDIS_URL or install redis-server (${REDIS_SERVER_PATH})`,
        { cause: err },
      );
    }
    url = server.url;
  }
  project.provide('redisUrl', url);
  return async () => {
    await server?.stop();
  };
}
