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

/** The settings that decide whether and how a device keeps a target (`FederatedConfig`'s). */
export interface DeviceTargetSettings {
  /** Keep a target across rounds (`FederatedConfig.anchorOwnCentre`). */
  readonly anchorOwnCentre: boolean;
  /** γ of the code word mixed into it, [0, 10] (`FederatedConfig.codeWordWeight`). */
  readonly codeWordWeight: number;
}

/** {@link roundTarget}'s answer. */
export interface RoundTarget {
  /** The target to pass as `localUpdate`'s `ownCentre`; undefined without `anchorOwnCentre`. */
  readonly target: Float32Array | undefined;
  /** True when the target was made now: the caller must keep it before anything is sent. */
  readonly created: boolean;
}

/**
 * The target of a device's round, the one rule every caller follows (the worker, `fl:sim`'s
 * simulated devices and the experiment's `runRound`): without `anchorOwnCentre`, none (the own
 * centre is recomputed under every version); with it, the `kept` target when there is one of the
 * encoder's dimension, else a new {@link deviceTarget} under `encoder` — the first version this
 * device trains — with its code word drawn from `rng` (the device's secret source: in the worker
 * `rngFromRandomValues(crypto.getRandomValues)`). The anchor is never recomputed for a later
 * version: a target that moved with the encoder would let every device drift together, which
 * is what it is there to stop (docs/federated.md "Second session"). A kept target of another
 * dimension belongs to another encoder line and is replaced.
 *
 * @throws {NotEnoughWindowsError} `ERR_TOO_FEW_WINDOWS` when a target must be made and no
 *   sequence has 2 steps.
 */
export function roundTarget(
  kept: Float32Array | undefined,
  encoder: SharedEncoder,
  sequences: readonly StepSequence[],
  settings: DeviceTargetSettings,
  rng: Rng,
): RoundTarget {
  if (!settings.anchorOwnCentre) return { target: undefined, created: false };
  if (kept !== undefined && kept.length === embeddingDimension(encoder)) {
    return { target: kept, created: false };
  }
  return {
    target: deviceTarget(encoder, sequences, settings.codeWordWeight, rng),
    created: true,
  };
}
