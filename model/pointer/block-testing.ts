/**
 * Synthetic block-feature data for the block projection and scorer tests (not used by the
 * product): classes that differ along a few features only, with noise on all of them.
 */
import { gaussian, createRng } from '../random';
import { BLOCK_FEATURES } from './block-features';
import type { BlockProjectionClass } from './block-projection';

/** Features along which the synthetic classes differ. */
export const INFORMATIVE_FEATURES = [40, 41, 42] as const;

/**
 * `classes` synthetic subjects of `blocks` block-feature vectors each: class `c` has its own
 * mean (spread `separation`) on {@link INFORMATIVE_FEATURES}; every feature gets unit noise
 * around 5 (so the `log` transform stays in its smooth range).
 */
export function syntheticClasses(
  classes: number,
  blocks: number,
  seed: number,
  separation = 3,
): BlockProjectionClass[] {
  const rng = createRng(seed);
  const means = Array.from({ length: classes }, () =>
    INFORMATIVE_FEATURES.map(() => separation * gaussian(rng)),
  );
  return means.map((m, c) => ({
    id: `s${c}`,
    blocks: Array.from({ length: blocks }, () => {
      const v = new Float64Array(BLOCK_FEATURES.length);
      for (let f = 0; f < v.length; f++) v[f] = 5 + gaussian(rng);
      INFORMATIVE_FEATURES.forEach((f, j) => (v[f]! += m[j]!));
      return v;
    }),
  }));
}
