/**
 * The federated settings that ship, in one place: the device's local round, its privatisation,
 * the round's sampling and minimum size, the number of rounds, the publisher's server step and
 * the aggregator's robust mean. The simulation (`npm run fl:sim`), the in-process experiment
 * (`npm run fl:experiment`), the aggregator (`server/aggregator/`) and the extension's worker
 * read them from here; tuning changes the values, never where they live.
 *
 * @module
 */
// Types only: the aggregator reads this file and must not load TensorFlow.js with it (the local
// round's values are therefore spelled out; config.test.ts checks them with
// `resolveLocalUpdateConfig`).
import type { LocalUpdateConfig } from './local-update';
import type { RobustAggregation } from './robust-aggregate';
import type { ServerOptimizerConfig } from './server-optimizer';

/** Every federated setting of one shared encoder's training run. */
export interface FederatedConfig {
  /** The device's local round (`local-update.ts`; ranges there). */
  readonly localUpdate: Readonly<LocalUpdateConfig>;
  /** L2 bound C of every update, (0, 1e6]: devices clip to it, the aggregator refuses above it. */
  readonly clipNorm: number;
  /** Noise multiplier σ of the accountant (noise std on the sum / C), [0, 100]. */
  readonly noiseMultiplier: number;
  /**
   * m_min: the fewest distinct enrolled devices whose updates a released round sums, 1–10⁷. The
   * devices' noise (σ·C/√m_min each) is calibrated for it; the aggregator refuses to close a
   * round with fewer.
   */
  readonly minDevices: number;
  /** Poisson sampling rate q of enrolled devices per round (the accountant's q), (0, 1]. */
  readonly sampleRate: number;
  /** Rounds of a run (what the privacy budget is spent over; fl:sim's default `--rounds`). */
  readonly rounds: number;
  /**
   * The publisher's server step (post-processing: no privacy cost). The aggregator applies
   * `fedavg` with this `learningRate` (η: published = old + η · robust mean); momentum and Adam
   * are the experiment's (`server-optimizer.ts`).
   */
  readonly serverOptimizer: Readonly<ServerOptimizerConfig>;
  /** The aggregator's robust mean (`robust-aggregate.ts`). */
  readonly aggregation: RobustAggregation;
  /** Publisher: recompute the public centres on the public users for every version. */
  readonly recomputeCentres: boolean;
  /**
   * Device: train towards the own centre of the first version it trained (kept on the device,
   * never sent) instead of recomputing it under every version (`LocalUpdateOptions.ownCentre`).
   */
  readonly anchorOwnCentre: boolean;
  /**
   * Device, with `anchorOwnCentre`: weight γ of the secret code word mixed into the anchor
   * (`device-target.ts`), [0, 10]; 0 = the anchor alone.
   */
  readonly codeWordWeight: number;
  /** δ of the (ε, δ) guarantee; below 1 / number of devices. */
  readonly delta: number;
  /** The run's ε budget at `delta` (the accountant refuses a round past it). */
  readonly epsilonBudget: number;
}

/**
 * The shipped settings. Privacy: q = 0.5, σ = 1.3 over 10 rounds is ε = 7.89 at δ = 1e-5 (the
 * accountant, `balle2020`); `minDevices` 371 is the Poisson sample's mean minus three standard
 * deviations for 829 enrolled devices (set it from the real population: the aggregator refuses a
 * round below it). Learning: the second session's run K, the only setting measured whose
 * validation EER falls over rounds (docs/federated.md "Second session"): every device trains
 * towards a target it keeps (`anchorOwnCentre`: its own centre under the first version it
 * trains, mixed with a secret code word of weight `codeWordWeight` 3, `device-target.ts`) with
 * the `positive-only` pull at lr 0.003; the public centres are not in the loss (the aggregator
 * still signs them with every version). Without a kept target `positive-only` would be the
 * collapsing baseline: `localUpdate` refuses it (`ERR_NO_DEVICE_TARGET`). The gain measured is
 * small (12–14 % of the gap to a central encoder with 100 clients, fading with 300): it is the
 * least bad setting, not the target.
 */
export const FEDERATED_DEFAULTS: FederatedConfig = Object.freeze({
  localUpdate: Object.freeze({
    objective: 'positive-only',
    steps: 5,
    batchSize: 16,
    optimizer: 'adam',
    learningRate: 0.003,
    scale: 16,
    margin: 0.1,
    minLength: 10,
    maxLength: 50,
    inputNoise: 0.01,
    proximal: 0,
  }),
  clipNorm: 0.5,
  noiseMultiplier: 1.3,
  minDevices: 371,
  sampleRate: 0.5,
  rounds: 10,
  serverOptimizer: Object.freeze({
    kind: 'fedavg',
    learningRate: 1,
    momentum: 0.9,
    beta2: 0.99,
    tau: 1e-3,
  }),
  aggregation: Object.freeze({ method: 'trimmed-mean', trimFraction: 0.1 }),
  recomputeCentres: true,
  anchorOwnCentre: true,
  codeWordWeight: 3,
  delta: 1e-5,
  epsilonBudget: 8,
});
