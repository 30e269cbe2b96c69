import { describe, expect, it } from 'vitest';
import { ModelFormatError, ModelVersionError } from '../errors';
import { BLOCK_FEATURES } from './block-features';
import { BlockProjection, learnBlockProjection } from './block-projection';
import { INFORMATIVE_FEATURES, syntheticClasses } from './block-testing';

const META = { eventsPerBlock: 64, dataset: 'synthetic', licence: 'none' };

function classMeans(p: BlockProjection, classes: ReturnType<typeof syntheticClasses>): number[][] {
  return classes.map((c) => {
    const m = new Array<number>(p.dimensions).fill(0);
    for (const b of c.blocks) p.project(b).forEach((x, k) => (m[k]! += x / c.blocks.length));
    return m;
  });
}

describe('learnBlockProjection', () => {
  const classes = syntheticClasses(8, 40, 1);
  const p = learnBlockProjection(classes, META, { dimensions: 3, cohortSize: 50 });

  it('puts its axes on the features that tell the classes apart', () => {
    // The three informative features carry the first three axes' weight.
    const json = p.toJSON();
    for (let k = 0; k < 3; k++) {
      let on = 0;
      let total = 0;
      for (let f = 0; f < BLOCK_FEATURES.length; f++) {
        const w = json.weights[f * 3 + k]! ** 2;
        total += w;
        if ((INFORMATIVE_FEATURES as readonly number[]).includes(f)) on += w;
      }
      expect(on / total).toBeGreaterThan(0.8);
    }
    expect(json.eigenvalues[0]!).toBeGreaterThan(json.eigenvalues[2]!);
    expect(json.eigenvalues[2]!).toBeGreaterThan(1);
  });

  it('separates the classes: class means far apart, within-class spread about 1', () => {
    const means = classMeans(p, classes);
    let minBetween = Infinity;
    for (let a = 0; a < means.length; a++) {
      for (let b = a + 1; b < means.length; b++) {
        minBetween = Math.min(
          minBetween,
          Math.hypot(...means[a]!.map((x, k) => x - means[b]![k]!)),
        );
      }
    }
    let within = 0;
    let n = 0;
    classes.forEach((c, i) => {
      for (const b of c.blocks) {
        const v = p.project(b);
        for (let k = 0; k < 3; k++) within += (v[k]! - means[i]![k]!) ** 2;
        n += 3;
      }
    });
    const withinStd = Math.sqrt(within / n);
    expect(withinStd).toBeGreaterThan(0.7);
    expect(withinStd).toBeLessThan(1.3);
    expect(minBetween).toBeGreaterThan(3 * withinStd);
  });

  it('keeps a cohort of projected training blocks and learns deterministically', () => {
    expect(p.cohort).toHaveLength(50);
    const again = learnBlockProjection(classes, META, { dimensions: 3, cohortSize: 50 });
    expect(again.toJSON()).toEqual(p.toJSON());
  });

  it('round-trips through JSON with identical projections', () => {
    const text = JSON.stringify(p.toJSON());
    const q = BlockProjection.fromJSON(JSON.parse(text));
    expect(q.fingerprint()).toBe(p.fingerprint());
    for (const b of classes[3]!.blocks.slice(0, 5)) {
      expect(Array.from(q.project(b))).toEqual(Array.from(p.project(b)));
    }
    expect(q.toJSON().metadata).toEqual({ ...META });
  });

  it('rejects malformed or foreign JSON with stable codes', () => {
    const good = p.toJSON();
    const bad: [unknown, string][] = [
      [null, 'ERR_MODEL_FORMAT'],
      [{ ...good, format: 'x' }, 'ERR_MODEL_FORMAT'],
      [{ ...good, version: 2 }, 'ERR_MODEL_VERSION'],
      [{ ...good, featureCount: 3 }, 'ERR_MODEL_FORMAT'],
      [{ ...good, featureVersion: 99 }, 'ERR_MODEL_FORMAT'],
      [{ ...good, weights: good.weights.slice(1) }, 'ERR_MODEL_FORMAT'],
      [{ ...good, scale: good.scale.map(() => 0) }, 'ERR_MODEL_FORMAT'],
      [{ ...good, cohort: [[1]] }, 'ERR_MODEL_FORMAT'],
      [{ ...good, offset: good.offset.map(() => NaN) }, 'ERR_MODEL_FORMAT'],
    ];
    for (const [value, code] of bad) {
      let caught: unknown;
      try {
        BlockProjection.fromJSON(value);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(
        code === 'ERR_MODEL_VERSION' ? ModelVersionError : ModelFormatError,
      );
      expect((caught as { code: string }).code).toBe(code);
    }
  });

  it('refuses too few classes, too many dimensions and a wrong feature length', () => {
    expect(() => learnBlockProjection(classes.slice(0, 1), META)).toThrow(RangeError);
    expect(() => learnBlockProjection(classes, META, { dimensions: 8 })).toThrow(RangeError);
    expect(() =>
      learnBlockProjection(
        [
          ...classes,
          {
            id: 'x',
            blocks: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
        META,
        { dimensions: 3 },
      ),
    ).toThrow(RangeError);
    expect(() => p.project([1, 2, 3])).toThrow(RangeError);
  });
});
