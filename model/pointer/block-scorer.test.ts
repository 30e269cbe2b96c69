import { describe, expect, it } from 'vitest';
import { NotEnoughWindowsError, ModelFormatError } from '../errors';
import { auc } from '../eval/metrics';
import { learnBlockProjection } from './block-projection';
import { BlockScorer, type BlockNormalization, fitBlockScorer, knnDistance } from './block-scorer';
import { syntheticClasses } from './block-testing';

const META = { eventsPerBlock: 64 };
// Training subjects for the projection; disjoint test subjects for the scorer.
const projection = learnBlockProjection(syntheticClasses(12, 30, 1), META, {
  dimensions: 3,
  cohortSize: 100,
});
const test = syntheticClasses(6, 40, 2);
const NORMS: BlockNormalization[] = ['ratio', 'cohort', 'loo', 'both', 'both-ratio', 'none'];

describe('knnDistance', () => {
  it('averages the k nearest rows, skipping one, k capped by the set', () => {
    const set = [[0], [1], [3], [10]];
    expect(knnDistance([0], set, 2)).toBe(0.5);
    expect(knnDistance([0], set, 2, 0)).toBe(2);
    expect(knnDistance([0], set, 100)).toBe(3.5);
  });
});

describe('fitBlockScorer', () => {
  it('scores genuine blocks above impostor blocks, for every normalization', () => {
    for (const normalization of NORMS) {
      const genuine: number[] = [];
      const impostor: number[] = [];
      test.forEach((u, i) => {
        const scorer = fitBlockScorer(projection, u.blocks.slice(0, 25), { normalization });
        for (const b of u.blocks.slice(25)) genuine.push(scorer.score(b));
        test.forEach((o, j) => {
          if (j !== i) for (const b of o.blocks.slice(25)) impostor.push(scorer.score(b));
        });
      });
      expect(auc(genuine, impostor), normalization).toBeGreaterThan(0.9);
    }
  });

  it('ranks a block nearer the enrolment higher', () => {
    const u = test[0]!;
    const scorer = fitBlockScorer(projection, u.blocks.slice(0, 25));
    const own = scorer.score(u.blocks[30]!);
    const far = Float64Array.from(u.blocks[30]!, (x, f) => (f >= 40 && f <= 42 ? x + 20 : x));
    expect(own).toBeGreaterThan(scorer.score(far));
  });

  it('round-trips through JSON with identical scores', () => {
    const u = test[1]!;
    const scorer = fitBlockScorer(projection, u.blocks.slice(0, 25), { k: 5 });
    const loaded = BlockScorer.fromJSON(projection, JSON.parse(JSON.stringify(scorer.toJSON())));
    for (const o of test) {
      for (const b of o.blocks.slice(30, 34)) expect(loaded.score(b)).toBe(scorer.score(b));
    }
    expect(loaded.enrolBlocks).toBe(25);
  });

  it('refuses too few blocks, a foreign projection and malformed JSON', () => {
    const u = test[2]!;
    expect(() => fitBlockScorer(projection, u.blocks.slice(0, 2))).toThrow(NotEnoughWindowsError);
    expect(() => fitBlockScorer(projection, u.blocks, { k: 0 })).toThrow(RangeError);
    const json = fitBlockScorer(projection, u.blocks.slice(0, 10)).toJSON();
    const other = learnBlockProjection(syntheticClasses(12, 30, 9), META, { dimensions: 3 });
    const bad: unknown[] = [
      null,
      { ...json, format: 'x' },
      { ...json, enrol: [[1, 2]] },
      { ...json, loo: { mean: NaN, std: 1 } },
      { ...json, config: { ...json.config, k: -1 } },
    ];
    for (const value of bad) {
      expect(() => BlockScorer.fromJSON(projection, value)).toThrow(ModelFormatError);
    }
    expect(() => BlockScorer.fromJSON(other, json)).toThrow(ModelFormatError);
    expect(() => BlockScorer.fromJSON(projection, { ...json, version: 9 })).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_VERSION' }),
    );
  });
});
