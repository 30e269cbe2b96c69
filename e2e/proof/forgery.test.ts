/**
 * The forgery suite's CI size (npm test): every attack class tried on every statement kind it
 * applies to, nothing accepted, no server error; and the oracle is not blind.
 *
 * On SQLite, in the `unit` project. The `redis` project includes server/** only, and a thin
 * test there would make the server's tests import the e2e suite. The Redis run is the proof
 * CLI's (`TACIT_TEST_STORE=redis npm run test:proof -- --ci --only forgery,fuzz` starts its own
 * redis-server; docs/proof.md gives its figures), and what differs per store (replay state, the
 * atomic jti, chain and binding updates) is held equal on both by the store contract tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLASSES, fresh } from './forgery-classes';
import { CASES_PER_CELL, deliver, malleabilityCheck, runForgery, sanityCheck } from './forgery';
import { KINDS, createWorld, type World } from './forgery-world';
import { flipBit } from './jws-forge';

describe('forgery and replay suite (CI size)', () => {
  it('accepts nothing, in every class and on every kind', async () => {
    const run = await runForgery({ perCell: CASES_PER_CELL.ci });
    expect(run.findings).toEqual([]);
    expect(run.report.accepted).toBe(0);
    expect(run.serverErrors).toBe(0);
    expect(run.report.tried).toBeGreaterThanOrEqual(2000);
    for (const cls of CLASSES) {
      for (const kind of cls.kinds) {
        const cell = run.cells.find((c) => c.attackClass === cls.name && c.kind === kind);
        expect(cell?.tried, `${cls.name} / ${kind}`).toBeGreaterThan(0);
      }
    }
    expect(run.report.classes.every((c) => c.tried > 0)).toBe(true);
  }, 120_000);
});

describe('the oracle', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.close();
    w = undefined;
  });

  it('sees an acceptance: an unmutated statement of every kind is accepted', async () => {
    w = await createWorld();
    const verdicts = await sanityCheck(w);
    for (const kind of KINDS) expect(verdicts[kind].accepted, kind).toBe(true);
  });

  it('refuses the same statements with one flipped signature bit', async () => {
    w = await createWorld();
    for (const kind of KINDS) {
      const v = await deliver(w, kind, {
        jws: flipBit(fresh(w, kind), 2, 7),
        spentJtis: kind === 'rotation' ? 1 : 0,
      });
      expect(v.accepted, kind).toBe(false);
    }
  });

  it('shows ECDSA malleability cannot fork the chain: the first twin links, the other replays', async () => {
    w = await createWorld();
    const { twin, original } = await malleabilityCheck(w);
    expect(twin.accepted).toBe(true);
    expect(original.accepted).toBe(false);
    expect(original.status).toBe(409);
  });
});
