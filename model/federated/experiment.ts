/**
 * One federated round, in process and free of I/O: the same steps a device and the publisher
 * take, so the experiment runner (`model/cli/fl-experiment.ts`) and the HTTP simulation
 * (`npm run fl:sim`) drive the same code.
 *
 * - {@link deviceRound}: a device's part — `localUpdate`, `privatiseDelta`, `quantise`,
 *   `serialiseUpdate` — giving the bytes it would sign and upload.
 * - {@link publishRound}: the publisher's part — `parseUpdate` + `dequantise` every update, the
 *   mean, the server optimiser (`server-optimizer.ts`), and (optionally) the public centres
 *   recomputed on the public users for the new version.
 * - {@link runRound}: both, over a Poisson sample of the clients (rate `q`); a round with fewer
 *   than `m_min` contributions is not released (the encoder stays), as the aggregator must do.
 *   With `anchorOwnCentre`, a device keeps the target of its first round (`deviceTarget`: its
 *   own centre then, mixed with its secret code word) for every later round.
 *
 * Everything random comes from the `rng` argument (seeded in experiments; the device's noise
 * must come from a secure source in production, see `privatise.ts`).
 *
 * @module
 */
import type { Rng } from '../random';
import type { SharedEncoder } from '../shared/encoder';
import type { StepSequence, TrainingUser } from '../shared/train';
import type { FederatedConfig } from './config';
import { localUpdate } from './local-update';
import { meanDelta } from './mean-aggregate';
import { flattenParameters, unflattenParameters } from './parameters';
import { privatiseDelta } from './privatise';
import { type PublicCentres, computePublicCentres } from './public-centres';
import { roundTarget } from './device-target';
import { type ServerOptimizerState, serverStep } from './server-optimizer';
import { dequantise, parseUpdate, quantise, serialiseUpdate } from './update-format';

/** One simulated device: its user's step sequences and its anchor (neither leaves it). */
export interface FederatedClient {
  id: string;
  sequences: readonly StepSequence[];
  /**
   * Device state with `anchorOwnCentre`: its target (`deviceTarget` under the version it first
   * trained), set by {@link runRound} on the device's first round and kept.
   */
  anchor?: Float32Array;
}

/** What the devices receive for a round: the version, its id and its public centres. */
export interface PublishedVersion {
  encoder: SharedEncoder;
  /** The id updates are bound to (`encoderId()` or the version's tag). */
  encoderId: string;
  centres: PublicCentres;
}

/**
 * A device's round: the serialised update it would sign and upload for `round` (the local
 * model stays on the device and is dropped here).
 */
export async function deviceRound(
  version: PublishedVersion,
  sequences: readonly StepSequence[],
  round: number,
  settings: Pick<FederatedConfig, 'localUpdate' | 'clipNorm' | 'noiseMultiplier' | 'minDevices'>,
  rng: Rng,
  ownCentre?: Float32Array,
): Promise<Uint8Array> {
  const { delta } = await localUpdate(
    version.encoder,
    sequences,
    version.centres,
    settings.localUpdate,
    rng,
    ownCentre === undefined ? {} : { ownCentre },
  );
  const noisy = privatiseDelta(
    delta,
    {
      clipNorm: settings.clipNorm,
      noiseMultiplier: settings.noiseMultiplier,
      minDevices: settings.minDevices,
    },
    rng,
  );
  return serialiseUpdate(quantise(noisy, { encoderId: version.encoderId, round }, rng));
}

/** The publisher's result of a round. */
export interface PublishResult {
  version: PublishedVersion;
  serverState: ServerOptimizerState;
  /** L2 norm of the applied mean delta (before the server optimiser). */
  meanNorm: number;
}

/**
 * The publisher's round: checks and averages the uploaded updates, steps the server optimiser
 * and, with `recomputeCentres`, recomputes the public centres on `publicUsers` for the new
 * encoder. `nextEncoderId` names the new version. Throws the `FederatedUpdateError` of the
 * first update `parseUpdate` refuses.
 *
 * The mean divides by the number of updates received. That count depends on who took part: a
 * strict reading of the accountant's mechanism (a noisy *sum*) wants a data-independent divisor
 * such as the expected `q·N`; the aggregator should use that (it changes only the step's scale).
 */
export function publishRound(
  version: PublishedVersion,
  updates: readonly Uint8Array[],
  round: number,
  serverState: ServerOptimizerState,
  settings: Pick<FederatedConfig, 'serverOptimizer' | 'recomputeCentres'>,
  publicUsers: readonly TrainingUser[],
  nextEncoderId: string,
): PublishResult {
  const before = flattenParameters(version.encoder);
  const deltas = updates.map((bytes) =>
    dequantise(
      parseUpdate(bytes, { encoderId: version.encoderId, round, parameters: before.length }),
    ),
  );
  const mean = meanDelta(deltas);
  let norm = 0;
  for (const v of mean) norm += v * v;
  const step = serverStep(before, mean, serverState, settings.serverOptimizer);
  const encoder = unflattenParameters(version.encoder, step.parameters);
  const centres = settings.recomputeCentres
    ? computePublicCentres(encoder, publicUsers, nextEncoderId)
    : { ...version.centres, encoderId: nextEncoderId };
  return {
    version: { encoder, encoderId: nextEncoderId, centres },
    serverState: step.state,
    meanNorm: Math.sqrt(norm),
  };
}

/** {@link runRound}'s result. */
export interface RoundResult extends Partial<PublishResult> {
  /** Devices sampled (each with probability `q`). */
  participants: number;
  /** Whether the round was released (participants ≥ m_min). */
  released: boolean;
  /** Bytes of one update (all updates of a version have the same size). */
  bytesPerClient: number;
}

/**
 * One full round over `clients` (Poisson sampling at `settings.sampleRate`). Not released when
 * fewer than `settings.minDevices` take part: the caller keeps the version; the accountant is
 * charged either way (the sample was drawn).
 */
export async function runRound(
  version: PublishedVersion,
  clients: readonly FederatedClient[],
  round: number,
  serverState: ServerOptimizerState,
  settings: FederatedConfig,
  publicUsers: readonly TrainingUser[],
  nextEncoderId: string,
  rng: Rng,
): Promise<RoundResult> {
  const sampled = clients.filter(() => rng() < settings.sampleRate);
  if (sampled.length < settings.minDevices) {
    return { participants: sampled.length, released: false, bytesPerClient: 0 };
  }
  const updates: Uint8Array[] = [];
  for (const c of sampled) {
    // The worker's rule (`roundTarget`); the seeded rng stands for the device's secret source
    // of the code word.
    const { target } = roundTarget(c.anchor, version.encoder, c.sequences, settings, rng);
    if (target !== undefined) c.anchor = target;
    updates.push(await deviceRound(version, c.sequences, round, settings, rng, target));
  }
  const published = publishRound(
    version,
    updates,
    round,
    serverState,
    settings,
    publicUsers,
    nextEncoderId,
  );
  return {
    ...published,
    participants: sampled.length,
    released: true,
    bytesPerClient: updates[0]!.length,
  };
}
