/**
 * The device's own training target in a local round, and the secret code word it may carry.
 *
 * A device holds one user, so whatever its local objective pulls towards must differ between
 * devices and must not move with the encoder, or averaging the devices' updates lets every user
 * slide the same way (docs/federated.md "Learning on real users"). The target is therefore kept
 * on the device across rounds: the user's **anchor**, the own centre under the first version the
 * device trained (`userCentre`), optionally mixed with a **code word** — a random unit vector
 * drawn from a secret only the device holds (FedUV: Hosseini, Park, Lee, Hassani, Pedarsani,
 * _Federated Learning of User Verification Models Without Sharing Embeddings_, ICML 2021).
 * Independent code words are near-orthogonal, so the mixed targets of two similar users point
 * apart, which public centres alone never achieve. Neither the anchor, the code word nor the
 * secret is ever sent: only the clipped, noised delta they shape (and the DP accounting covers
 * that delta).
 *
 * @module
 */
import { assertNumber } from '../assert';
import { NotEnoughWindowsError } from '../errors';
import { type Rng, gaussian } from '../random';
import { type SharedEncoder, embeddingDimension, normalize } from '../shared/encoder';
import type { StepSequence } from '../shared/train';
import { userCentre } from './public-centres';

/**
 * A code word: a unit vector of `dimension` standard normal draws from `rng` (the device's
 * secret source: `rngFromRandomValues` in the worker, a seeded generator in simulations).
 */
export function codeWord(dimension: number, rng: Rng): Float32Array {
  const v = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) v[i] = gaussian(rng);
  return normalize(v);
}

/**
 * The device's target: normalise(anchor + γ · code word), where the anchor is the user's
 * centre under `encoder` (call it with the first version the device trains, then keep the
 * result). `γ` = `codeWordWeight` in [0, 10]; 0 gives the anchor alone (and draws nothing).
 * Throws `NotEnoughWindowsError` when no sequence has 2 steps.
 */
export function deviceTarget(
  encoder: SharedEncoder,
  sequences: readonly StepSequence[],
  codeWordWeight: number,
  rng: Rng,
): Float32Array {
  assertNumber('codeWordWeight', codeWordWeight, 0, 10);
  const anchor = userCentre(encoder, sequences);
  if (anchor === undefined) throw new NotEnoughWindowsError('no sequence of at least 2 steps');
  if (codeWordWeight === 0) return anchor;
  const word = codeWord(embeddingDimension(encoder), rng);
  for (let i = 0; i < anchor.length; i++) anchor[i] = anchor[i]! + codeWordWeight * word[i]!;
  return normalize(anchor);
}
