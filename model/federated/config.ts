/**
 * The federated settings that ship, in one place: the device's local round, its privatisation,
 * the round's sampling and minimum size, the number of rounds, the publisher's server optimiser
 * and aggregation. The experiment runner (`model/cli/fl-experiment.ts`) measured them on
 * `aalto-dev` validation users (docs/federated.md "Learning: what was tried"); the simulation
 * and the aggregator read them from here.
 *
 * @module
 */
import { type LocalUpdateConfig, DEFAULT_LOCAL_UPDATE_CONFIG } from './local-update';
import type { ServerOptimizerConfig } from './server-optimizer';

/** Every federated setting of one shared encoder's training run. */
export interface FederatedSettings {
  /** The device's local round (`localUpdate`). */
  local: LocalUpdateConfig;
  /** L2 clipping norm `C` of a device's delta (`privatiseDelta`). */
  clipNorm: number;
  /** Noise multiplier `σ` of a round's sum (the accountant's `σ`). */
  noiseMultiplier: number;
  /** Guaranteed minimum contributions `m_min` of a released round (noise σC/√m_min per device). */
  minDevices: number;
  /** Poisson sampling rate `q` of enrolled devices per round (the accountant's `q`). */
  sampleRate: number;
  /** Rounds of the run (what the privacy budget is spent over). */
  rounds: number;
  /** The publisher's server optimiser (post-processing: no privacy cost). */
  serverOptimizer: ServerOptimizerConfig;
  /**
   * How the round's dequantised deltas are combined: `mean` (the coordinate-wise mean of the
   * model's `mean-aggregate.ts`); the aggregator process may use its robust mean instead.
   */
  aggregation: 'mean';
  /** Publisher: recompute the public centres on the public users for every version. */
  recomputeCentres: boolean;
  /** δ of the (ε, δ) guarantee; below 1 / number of devices. */
  delta: number;
  /** The run's ε budget at `delta` (the accountant refuses a round past it). */
  epsilonBudget: number;
}

/**
 * The shipped federated settings. Privacy: q = 0.5, σ = 1.3 over 10 rounds is ε = 7.89 at
 * δ = 1e-5 (the accountant, `balle2020`); `minDevices` 371 is the Poisson sample's mean minus
 * three standard deviations for 829 enrolled devices (set it from the real population: the
 * aggregator refuses a round below it). Learning: plain FedAvg and a gentle local round, the
 * least harmful of the settings measured on validation users — none of them improved the
 * shipped encoder yet (docs/federated.md "Learning on real users: what was tried").
 */
export const FEDERATED_DEFAULTS: Readonly<FederatedSettings> = Object.freeze({
  local: Object.freeze({
    ...DEFAULT_LOCAL_UPDATE_CONFIG,
    steps: 5,
    batchSize: 16,
    learningRate: 0.001,
  }),
  clipNorm: 0.5,
  noiseMultiplier: 1.3,
  minDevices: 371,
  sampleRate: 0.5,
  rounds: 10,
  serverOptimizer: Object.freeze({
    kind: 'fedavg' as const,
    learningRate: 1,
    momentum: 0.9,
    beta2: 0.99,
    tau: 1e-3,
  }),
  aggregation: 'mean' as const,
  recomputeCentres: true,
  delta: 1e-5,
  epsilonBudget: 8,
});
