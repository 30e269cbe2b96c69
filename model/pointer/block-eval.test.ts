import { describe, expect, it } from 'vitest';
import { type PointerProfile, syntheticPointer } from '../testing/synthetic';
import { type BlockEvalUser, evaluateBlockFolds, userBlocksOf } from './block-eval';

/** Six synthetic subjects, one of them in two folders (like SapiMouse user35.1/.2). */
function users(): BlockEvalUser[] {
  const profiles: PointerProfile[] = [0.4, 0.8, 1.2, 1.6, 2.0, 2.4].map((speed, i) => ({
    speedPxPerMs: speed,
    curvature: 0.05 * i,
    sampleMs: 8 + 2 * i,
  }));
  const out: BlockEvalUser[] = profiles.map((p, i) => ({
    userId: String(i + 1),
    subject: String(i + 1),
    session3min: syntheticPointer(p, 64 * 10, { seed: 10 + i }),
    session1min: syntheticPointer(p, 64 * 6, { seed: 100 + i }),
  }));
  out.push({
    ...out[0]!,
    userId: '1.2',
    session1min: syntheticPointer(profiles[0]!, 64 * 6, { seed: 7 }),
  });
  return out;
}

describe('evaluateBlockFolds', () => {
  it('evaluates every fold with a projection learned on the other subjects', () => {
    const data = userBlocksOf(users(), 64);
    expect(data[0]!.enrol).toHaveLength(10);
    expect(data[0]!.test).toHaveLength(6);
    const folds = evaluateBlockFolds(data, {
      eventsPerBlock: 64,
      blockCounts: [1, 3],
      projection: { dimensions: 1, cohortSize: 20 },
      scorer: { k: 3 },
    });
    expect(folds).toHaveLength(2);
    // 6 subjects in 2 folds: 3 train subjects per fold, and 7 folders tested in all.
    expect(folds.map((f) => f.trainSubjects)).toEqual([3, 3]);
    expect(folds[0]!.testUsers + folds[1]!.testUsers).toBe(7);
    for (const f of folds) {
      const one = f.byBlocks['1']!;
      const three = f.byBlocks['3']!;
      expect(one.genuine).toBe(6 * f.testUsers);
      expect(three.genuine).toBe(2 * f.testUsers);
      for (const x of [one, three]) {
        expect(x.eer).toBeGreaterThanOrEqual(0);
        expect(x.eer).toBeLessThan(0.5);
        expect(x.auc).toBeGreaterThan(0.5);
        expect(x.users).toBe(f.testUsers);
      }
    }
  });
});
