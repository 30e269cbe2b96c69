import { describe, expect, it } from 'vitest';
import { assertDisjoint, assignFolds, foldSplit } from './folds';

const ids = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, k) => `${prefix}:${k}`);

describe('assignFolds: K-fold by user', () => {
  it('puts every user in exactly one fold, with balanced sizes', () => {
    const users = ids('aalto', 20);
    const folds = assignFolds(users, 3, 1);
    expect(folds).toHaveLength(3);
    expect(folds.flat().sort()).toEqual(users.slice().sort());
    expect(new Set(folds.flat()).size).toBe(20);
    expect(folds.map((f) => f.length).sort()).toEqual([6, 7, 7]);
    for (let f = 0; f < 3; f++) {
      const { train, validation } = foldSplit(folds, f);
      expect(validation).toEqual(folds[f]);
      expect(train.filter((id) => validation.includes(id))).toEqual([]);
      expect(train.length + validation.length).toBe(20);
    }
  });

  it('is deterministic per seed and shuffles with it', () => {
    const users = ids('u', 30);
    expect(assignFolds(users, 5, 7)).toEqual(assignFolds(users, 5, 7));
    expect(assignFolds(users, 5, 7)).not.toEqual(assignFolds(users, 5, 8));
    // Not simply consecutive runs of the input order.
    expect(assignFolds(users, 3, 1)[0]).not.toEqual(users.slice(0, 10));
  });

  it('keeps folders of one subject together (user35.1 / user35.2)', () => {
    const folders = ['12', '35.1', '35.2', '40', '62.1', '62.2', '70', '71', '80'];
    const subject = (id: string): string => id.split('.')[0]!;
    for (let seed = 0; seed < 20; seed++) {
      const folds = assignFolds(folders, 3, seed, { groupOf: subject });
      const foldOf = (id: string): number => folds.findIndex((f) => f.includes(id));
      expect(foldOf('35.1')).toBe(foldOf('35.2'));
      expect(foldOf('62.1')).toBe(foldOf('62.2'));
      expect(folds.flat().sort()).toEqual(folders.slice().sort());
    }
  });

  it('stratifies: each data set is spread evenly over the folds', () => {
    const users = [...ids('keypad', 9), ...ids('fixed', 18)];
    const folds = assignFolds(users, 3, 1, { stratumOf: (id) => id.split(':')[0]! });
    for (const f of folds) {
      expect(f.filter((id) => id.startsWith('keypad:'))).toHaveLength(3);
      expect(f.filter((id) => id.startsWith('fixed:'))).toHaveLength(6);
    }
  });

  it('refuses bad input', () => {
    expect(() => assignFolds(ids('u', 5), 1, 1)).toThrow(RangeError);
    expect(() => assignFolds(ids('u', 5), 2.5, 1)).toThrow(RangeError);
    expect(() => assignFolds(ids('u', 2), 3, 1)).toThrow(/at least 3/);
    expect(() => assignFolds(['a', 'b', 'a'], 2, 1)).toThrow(TypeError);
    expect(() =>
      assignFolds(['x.1', 'x.2', 'y'], 2, 1, { groupOf: (id) => id[0]!, stratumOf: (id) => id }),
    ).toThrow(/spans strata/);
    expect(() => foldSplit([['a'], ['b']], 2)).toThrow(RangeError);
  });

  it('assertDisjoint names an overlap', () => {
    expect(() => assertDisjoint(['a', 'b'], ['c'])).not.toThrow();
    expect(() => assertDisjoint(['a', 'b'], ['c', 'b'])).toThrow(/1 evaluated user.*"b"/);
  });
});
