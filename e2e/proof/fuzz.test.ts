/**
 * Endpoint fuzzing at CI size (npm test): every operation of /openapi.json, no answer ≥ 500,
 * nothing stored by a rejected request. SQLite, `unit` project (see forgery.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { ROUTE_LIST, openApiPath } from '../../server/src/contract/routes';
import { FIXED_STRIDE, RANDOM_PER_ROUTE, runFuzz } from './fuzz';

describe('endpoint fuzzing (CI size)', () => {
  it('covers every operation: no 5xx, no crash, nothing stored by a rejected request', async () => {
    const fuzz = await runFuzz({
      randomPerRoute: RANDOM_PER_ROUTE.ci,
      fixedStride: FIXED_STRIDE.ci,
    });
    expect(fuzz.serverErrors).toBe(0);
    expect(fuzz.stored).toBe(0);
    expect(fuzz.routes.map((r) => r.route).sort()).toEqual(
      ROUTE_LIST.map((r) => `${r.method} ${openApiPath(r.path)}`).sort(),
    );
    for (const r of fuzz.routes) expect(r.requests, r.route).toBeGreaterThan(10);
    // Statement endpoints reached their verification: the rejections are in the audit trail.
    expect(fuzz.rejectionAudits).toBeGreaterThan(0);
  }, 120_000);
});
