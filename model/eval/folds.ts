/**
 * K-fold cross-validation splits **by user** (pure). A user's data never sit on both sides of a
 * split: the unit that is shuffled and dealt into folds is the user (or the *group* of ids that
 * may be one person, e.g. SapiMouse folders `user35.1` / `user35.2`), never a sample.
 *
 * Stratified: ids of each stratum (e.g. pohmm `keypad:` and `fixed:` users, two different data
 * sets) are spread over the folds as evenly as possible, so every fold holds both kinds.
 * Deterministic: the order comes from a seeded shuffle (`random.ts`), the same on every machine.
 */
import { createRng } from '../random';

/** Options of {@link assignFolds}. */
export interface FoldOptions {
  /**
   * Ids that may be the same person map to the same group; a group goes into one fold whole.
   * Default: every id is its own group.
   */
  groupOf?: (id: string) => string;
  /**
   * Stratum of an id (e.g. its data set). Each stratum's groups are dealt over the folds
   * evenly. All ids of one group must share a stratum. Default: one stratum.
   */
  stratumOf?: (id: string) => string;
}

/**
 * Splits `ids` into `k` folds by user: groups are shuffled with `seed` (per stratum, strata in
 * order of first appearance) and each goes to the fold holding the fewest groups of its
 * stratum (then the fewest ids, then the lowest index). Every id is in exactly one fold; within
 * a fold ids keep their input order.
 * @throws {RangeError} when `k` is not an integer ≥ 2, or there are fewer groups than folds.
 * @throws {TypeError} on a duplicate id, or a group spanning two strata.
 */
export function assignFolds(
  ids: readonly string[],
  k: number,
  seed: number,
  options: FoldOptions = {},
): string[][] {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`folds must be an integer ≥ 2, got ${k}`);
  const groupOf = options.groupOf ?? ((id: string) => id);
  const stratumOf = options.stratumOf ?? ((): string => '');
  const seen = new Set<string>();
  const members = new Map<string, string[]>();
  const stratumOfGroup = new Map<string, string>();
  for (const id of ids) {
    if (seen.has(id)) throw new TypeError(`duplicate id ${JSON.stringify(id)}`);
    seen.add(id);
    const g = groupOf(id);
    const s = stratumOf(id);
    const known = stratumOfGroup.get(g);
    if (known !== undefined && known !== s) {
      throw new TypeError(
        `group ${JSON.stringify(g)} spans strata ${JSON.stringify(known)} and ${JSON.stringify(s)}`,
      );
    }
    stratumOfGroup.set(g, s);
    const list = members.get(g) ?? [];
    list.push(id);
    members.set(g, list);
  }
  if (members.size < k)
    throw new RangeError(`need at least ${k} users (groups) for ${k} folds, got ${members.size}`);
  const strata = new Map<string, string[]>();
  for (const [g, s] of stratumOfGroup) {
    const list = strata.get(s) ?? [];
    list.push(g);
    strata.set(s, list);
  }
  const rng = createRng(seed);
  const foldOfGroup = new Map<string, number>();
  const size = new Array<number>(k).fill(0);
  for (const groups of strata.values()) {
    const order = groups.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const inStratum = new Array<number>(k).fill(0);
    for (const g of order) {
      let best = 0;
      for (let f = 1; f < k; f++) {
        if (
          inStratum[f]! < inStratum[best]! ||
          (inStratum[f] === inStratum[best] && size[f]! < size[best]!)
        )
          best = f;
      }
      foldOfGroup.set(g, best);
      inStratum[best]!++;
      size[best]! += members.get(g)!.length;
    }
  }
  const folds: string[][] = Array.from({ length: k }, () => []);
  for (const id of ids) folds[foldOfGroup.get(groupOf(id))!]!.push(id);
  return folds;
}

/**
 * The training and validation ids of fold `f`: validation = fold `f`, training = every other
 * fold. Asserts they are disjoint ({@link assertDisjoint}).
 */
export function foldSplit(
  folds: readonly (readonly string[])[],
  f: number,
): { train: string[]; validation: string[] } {
  if (!Number.isInteger(f) || f < 0 || f >= folds.length)
    throw new RangeError(`fold must be in [0, ${folds.length - 1}], got ${f}`);
  const validation = folds[f]!.slice();
  const train = folds.flatMap((ids, k) => (k === f ? [] : ids));
  assertDisjoint(train, validation);
  return { train, validation };
}

/**
 * Never evaluate on a training user: throws when any id of `evaluated` is in `trained`.
 * @throws {Error} naming how many ids overlap and one of them.
 */
export function assertDisjoint(trained: readonly string[], evaluated: readonly string[]): void {
  const t = new Set(trained);
  const overlap = evaluated.filter((id) => t.has(id));
  if (overlap.length > 0) {
    throw new Error(
      `${overlap.length} evaluated user(s) were used for training (e.g. ${JSON.stringify(overlap[0])})`,
    );
  }
}
