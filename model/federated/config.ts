/**
 * The federated training's hyper-parameters in one place: the simulation (`npm run fl:sim`),
 * the aggregator (`server/aggregator/`) and, later, the worker read them from here. Tuning
 * changes the values, never where they live.
 *
 * @module
 */
// Types only: the aggregator reads this file and must not load TensorFlow.js with it.
import type { LocalUpdateConfig } from './local-update';
import type { RobustAggregation } from './robust-aggregate';

/** Every setting of a federated run. */
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
  /** Rounds of a run (the simulation's default `--rounds`), 1–10000. */
  readonly rounds: number;
  /** Server learning rate η: the published encoder is old + η · robust mean, (0, 100]. */
  readonly serverLearningRate: number;
  /** The aggregator's robust mean (`robust-aggregate.ts`). */
  readonly aggregation: RobustAggregation;
}

/** The defaults (values under tuning; docs/federated.md). */
export const FEDERATED_DEFAULTS: FederatedConfig = Object.freeze({
  // The local round of a federated run (checked by `resolveLocalUpdateConfig` in config.test.ts;
  // the library defaults of `local-update.ts` are where these started).
  localUpdate: Object.freeze({
    objective: 'frozen-centres',
    steps: 20,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 0.001,
    scale: 16,
    margin: 0.1,
    minLength: 10,
    maxLength: 50,
    inputNoise: 0.01,
  }),
  clipNorm: 1,
  noiseMultiplier: 1,
  minDevices: 100,
  rounds: 5,
  serverLearningRate: 1,
  aggregation: Object.freeze({ method: 'trimmed-mean', trimFraction: 0.1 }),
});
