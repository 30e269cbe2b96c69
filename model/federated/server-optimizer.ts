/**
 * The publisher's server optimiser: how a round's aggregated (already privatised) delta moves
 * the published parameters. Reddi et al., _Adaptive Federated Optimization_, ICLR 2021: treat the
 * mean client delta Δ as a pseudo-gradient (−Δ) and step a server optimiser with it.
 *
 * - `fedavg`: x ← x + η·Δ (η = 1 is plain FedAvg).
 * - `fedavgm` (Hsu et al. 2019): m ← β·m + Δ; x ← x + η·m.
 * - `fedadam` (Reddi et al. 2021, Algorithm 2, without bias correction as in the paper):
 *   m ← β₁·m + (1 − β₁)·Δ; v ← β₂·v + (1 − β₂)·Δ²; x ← x + η·m / (√v + τ).
 * - `fedyogi` (the same paper's Algorithm 2, Yogi's second moment): as `fedadam` but
 *   v ← v − (1 − β₂)·Δ²·sign(v − Δ²), so v grows no faster than additively when Δ² jumps.
 *
 * With τ small against |Δ|, the adaptive kinds' step does not depend on the scale of Δ: the mean
 * delta shrinks as more devices with different targets are averaged, and an adaptive server step
 * takes the same stride whatever the population (docs/federated.md "Third session").
 *
 * Everything here is post-processing of the released noisy aggregate: it costs no privacy. Pure
 * (no tfjs, no I/O): the state is plain arrays the aggregator can persist beside the version.
 *
 * @module
 */
import { assertKnownKeys, assertNumber, quote } from '../assert';

/** Server optimiser kinds (see the module description). */
export type ServerOptimizerKind = 'fedavg' | 'fedavgm' | 'fedadam' | 'fedyogi';

const KINDS: readonly ServerOptimizerKind[] = ['fedavg', 'fedavgm', 'fedadam', 'fedyogi'];

/** Server optimiser settings; every field documents its range and default. */
export interface ServerOptimizerConfig {
  /** `fedavg`, `fedavgm`, `fedadam` or `fedyogi`. Default `fedavg`. */
  kind: ServerOptimizerKind;
  /** Server learning rate η, (0, 10]. Default 1. */
  learningRate: number;
  /** Momentum β (fedavgm) or β₁ (fedadam, fedyogi), [0, 1). Default 0.9. */
  momentum: number;
  /** β₂ of fedadam and fedyogi, [0, 1). Default 0.99. */
  beta2: number;
  /** τ of fedadam and fedyogi (adaptivity), (0, 1]. Default 1e-3 (Reddi et al.: 1e-3–1e-1). */
  tau: number;
}

/** Defaults of {@link ServerOptimizerConfig}. */
export const DEFAULT_SERVER_OPTIMIZER: Readonly<ServerOptimizerConfig> = Object.freeze({
  kind: 'fedavg',
  learningRate: 1,
  momentum: 0.9,
  beta2: 0.99,
  tau: 1e-3,
});

/** Merges overrides into the defaults and validates them (RangeError quoting the bad value). */
export function resolveServerOptimizerConfig(
  overrides: Partial<ServerOptimizerConfig> = {},
): ServerOptimizerConfig {
  assertKnownKeys('server optimizer config', overrides, Object.keys(DEFAULT_SERVER_OPTIMIZER));
  const c = { ...DEFAULT_SERVER_OPTIMIZER, ...overrides };
  if (!KINDS.includes(c.kind)) {
    throw new RangeError(`server optimizer kind must be ${KINDS.join(', ')}, got ${quote(c.kind)}`);
  }
  assertNumber('learningRate', c.learningRate, 0, 10, true);
  assertNumber('momentum', c.momentum, 0, 0.999999);
  assertNumber('beta2', c.beta2, 0, 0.999999);
  assertNumber('tau', c.tau, 0, 1, true);
  return c;
}

/** The optimiser's state between rounds (moments; empty for `fedavg`). */
export interface ServerOptimizerState {
  /** Rounds stepped so far. */
  steps: number;
  /** First moment (fedavgm, fedadam), parameter order. */
  m?: Float32Array;
  /** Second moment (fedadam, fedyogi). */
  v?: Float32Array;
}

/** The state before the first round. */
export function initialServerState(): ServerOptimizerState {
  return { steps: 0 };
}

/**
 * One server step: the new flat parameters and state from the current ones and the round's
 * aggregated delta (same length). Inputs are not modified.
 */
export function serverStep(
  parameters: Float32Array,
  delta: Float32Array,
  state: ServerOptimizerState,
  overrides: Partial<ServerOptimizerConfig> = {},
): { parameters: Float32Array; state: ServerOptimizerState } {
  const c = resolveServerOptimizerConfig(overrides);
  const n = parameters.length;
  if (delta.length !== n) {
    throw new RangeError(`delta has ${delta.length} values, the parameters ${n}`);
  }
  for (const [name, a] of [
    ['m', state.m],
    ['v', state.v],
  ] as const) {
    if (a !== undefined && a.length !== n) {
      throw new RangeError(`server state ${name} has ${a.length} values, the parameters ${n}`);
    }
  }
  const out = new Float32Array(n);
  const eta = c.learningRate;
  if (c.kind === 'fedavg') {
    for (let i = 0; i < n; i++) out[i] = parameters[i]! + eta * delta[i]!;
    return { parameters: out, state: { steps: state.steps + 1 } };
  }
  const m = new Float32Array(n);
  const mPrev = state.m;
  if (c.kind === 'fedavgm') {
    for (let i = 0; i < n; i++) {
      m[i] = c.momentum * (mPrev?.[i] ?? 0) + delta[i]!;
      out[i] = parameters[i]! + eta * m[i]!;
    }
    return { parameters: out, state: { steps: state.steps + 1, m } };
  }
  const v = new Float32Array(n);
  const vPrev = state.v;
  for (let i = 0; i < n; i++) {
    const d = delta[i]!;
    m[i] = c.momentum * (mPrev?.[i] ?? 0) + (1 - c.momentum) * d;
    const vp = vPrev?.[i] ?? 0;
    const d2 = d * d;
    v[i] =
      c.kind === 'fedadam'
        ? c.beta2 * vp + (1 - c.beta2) * d2
        : vp - (1 - c.beta2) * d2 * Math.sign(vp - d2);
    out[i] = parameters[i]! + (eta * m[i]!) / (Math.sqrt(v[i]!) + c.tau);
  }
  return { parameters: out, state: { steps: state.steps + 1, m, v } };
}
