/**
 * The plainest aggregation: the coordinate-wise mean of the round's dequantised deltas, added to
 * the encoder (FedAvg with equal weights and a server learning rate). For tests and simulations
 * of the client; the product's aggregator (server side, issue 10) bounds norms, uses a robust
 * mean, checks the round's minimum number of devices and accounts for privacy.
 *
 * @module
 */
import type { SharedEncoder } from '../shared/encoder';
import { applyDelta } from './parameters';

/** Coordinate-wise mean of equally long deltas (at least one). */
export function meanDelta(deltas: readonly Float32Array[]): Float32Array {
  if (deltas.length < 1) throw new RangeError('need at least 1 delta');
  const n = deltas[0]!.length;
  const sum = new Float64Array(n);
  for (const d of deltas) {
    if (d.length !== n) throw new RangeError(`deltas differ in length: ${n} and ${d.length}`);
    for (let i = 0; i < n; i++) sum[i] = sum[i]! + d[i]!;
  }
  return Float32Array.from(sum, (s) => s / deltas.length);
}

/**
 * `encoder` plus `serverLearningRate` × the mean of `deltas` (a new encoder; provenance kept:
 * the publisher of a real version gives it its own). Default rate 1 (plain FedAvg).
 */
export function aggregateMean(
  encoder: SharedEncoder,
  deltas: readonly Float32Array[],
  serverLearningRate = 1,
): SharedEncoder {
  return applyDelta(encoder, meanDelta(deltas), serverLearningRate);
}
