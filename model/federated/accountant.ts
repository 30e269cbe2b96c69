/**
 * Privacy accountant for federated rounds: Rényi differential privacy (RDP) of the Sampled
 * Gaussian Mechanism, composed over rounds and converted to (ε, δ)-DP.
 *
 * One round of the aggregator is one release of the Sampled Gaussian Mechanism (SGM): every
 * enrolled device takes part independently with probability `q` (Poisson sampling), each
 * participant's update is clipped to L2 norm `C`, and the released sum carries Gaussian noise of
 * standard deviation `σ·C` (`σ` is the noise multiplier). The guarantee is then about one
 * device's whole contribution (user-level DP), and it only holds under those assumptions.
 *
 * - RDP of one SGM step: Mironov, Talwar, Zhang, "Rényi Differential Privacy of the Sampled
 *   Gaussian Mechanism", arXiv:1908.10530 (2019), §3.3: the exact binomial sum for integer
 *   orders and the two-sided series with `erfc` for fractional ones, both in log space, as in
 *   tensorflow_privacy `rdp_accountant.py` and Opacus `accountants/analysis/rdp.py`.
 * - Composition: RDP at a fixed order adds up over releases (Mironov, "Rényi Differential
 *   Privacy", CSF 2017, Proposition 1).
 * - Conversion to (ε, δ): `balle2020` (shipped) is Balle et al., "Hypothesis Testing
 *   Interpretations and Rényi Differential Privacy", AISTATS 2020, Theorem 21, also Canonne,
 *   Kamath, Steinke, arXiv:2004.00010 Proposition 12; it is never looser than `mironov2017`
 *   (Mironov 2017, Proposition 3: `ε = rdp − log δ / (α − 1)`), which is kept to reproduce
 *   published figures computed with it.
 *
 * Pure TypeScript, no dependencies; the aggregator imports it directly (it is not part of the
 * worker's public API in `model/index.ts`).
 */
import { assertInteger, assertNumber, assertKnownKeys, quote } from '../assert';
import { AccountantStateError, PrivacyBudgetError } from '../errors';

/**
 * RDP orders α evaluated by default: the list of tensorflow_privacy's `compute_dp_sgd_privacy`
 * (1.25 … 4.5 in quarter and half steps, every integer 5–63, then 128, 256, 512). Fractional
 * orders matter for large ε, the high ones for small ε (large σ, few rounds).
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  1.25,
  1.5,
  1.75,
  2,
  2.25,
  2.5,
  3,
  3.5,
  4,
  4.5,
  ...Array.from({ length: 59 }, (_, i) => i + 5),
  128,
  256,
  512,
]);

/**
 * How RDP is turned into (ε, δ)-DP: `balle2020` (the default, tighter) or `mironov2017` (the
 * classic bound, for comparison with figures published before 2020).
 */
export type RdpConversion = 'balle2020' | 'mironov2017';

/** An (ε, δ) guarantee at the accountant's δ, with the RDP order that gave the smallest ε. */
export interface PrivacySpent {
  /** ε ≥ 0 (may be `Infinity` when no order gives a finite bound). */
  readonly epsilon: number;
  /** The order α at which ε was smallest. */
  readonly order: number;
}

// ---------------------------------------------------------------------------------------------
// Log-space arithmetic and log erfc
// ---------------------------------------------------------------------------------------------

const SQRT_PI = Math.sqrt(Math.PI);
const LOG_HALF = Math.log(0.5);

/** log(e^a + e^b), exact for -Infinity operands. */
function logAdd(a: number, b: number): number {
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  if (lo === -Infinity) return hi;
  if (hi === Infinity) return Infinity;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(e^a − e^b) for a ≥ b; throws when the difference would be negative. */
function logSub(a: number, b: number): number {
  if (a < b)
    throw new Error('accountant: negative partial sum in the RDP series (numerical failure)');
  if (b === -Infinity) return a;
  if (a === b) return -Infinity;
  return a + Math.log(-Math.expm1(b - a));
}

/** log Σ exp(terms), stable for terms of any magnitude. */
function logSumExp(terms: readonly number[]): number {
  let max = -Infinity;
  for (const t of terms) if (t > max) max = t;
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return max + Math.log(sum);
}

/** Below this, erfc comes from the erf series; at and above, from the continued fraction. */
const ERFC_CF_FROM = 2;

/**
 * erf(x) for |x| < {@link ERFC_CF_FROM} by the everywhere-positive series
 * erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (Abramowitz & Stegun 7.1.6), which
 * has no cancellation.
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 0; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 3);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / SQRT_PI) * Math.exp(-x2) * sum;
}

/**
 * The scaled complementary error function erfcx(x) = e^(x²)·erfc(x) for x ≥ {@link ERFC_CF_FROM},
 * from the continued fraction √π·erfcx(x) = 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
 * (Abramowitz & Stegun 7.1.14), evaluated with the modified Lentz algorithm.
 */
function erfcxContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / (SQRT_PI * f);
}

/**
 * log(erfc(x)) for every real x, accurate to about 1e-14 relative, without underflow for large
 * positive x (where erfc(x) < 1e-308, x ≳ 26.6) nor cancellation for negative x (erfc → 2).
 *
 * - x ≥ 2: −x² + log(erfcx(x)), erfcx from its continued fraction;
 * - 0 ≤ x < 2: log1p(−erf(x)), erf from its positive series;
 * - x < 0: log(2 − erfc(−x)) = log 2 + log1p(−erfc(−x)/2).
 *
 * Plays the part of scipy's `log_ndtr` in tensorflow_privacy and Opacus
 * (`_log_erfc(x) = log 2 + log_ndtr(−x√2)`).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x < 0) return Math.LN2 + Math.log1p(-0.5 * Math.exp(logErfc(-x)));
  if (x < ERFC_CF_FROM) return Math.log1p(-erfSeries(x));
  return -x * x + Math.log(erfcxContinuedFraction(x));
}

// ---------------------------------------------------------------------------------------------
// RDP of the Sampled Gaussian Mechanism
// ---------------------------------------------------------------------------------------------

/** log(e^x − 1) for x > 0, without overflow for large x. */
function logExpm1(x: number): number {
  return x > 50 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/**
 * log A_α for integer α: the binomial expansion of MTZ 2019 §3.3,
 * A_α = Σᵢ C(α, i)·(1 − q)^(α−i)·qⁱ·e^((i² − i)/(2σ²)), summed in log space. Since the binomial
 * weights sum to 1 and the exponent vanishes at i = 0 and 1, A_α − 1 is the sum over i ≥ 2 with
 * e^(…) replaced by expm1(…): every term positive, so log A_α = log1p(A_α − 1) keeps full relative
 * precision even when q is tiny and A_α is within rounding of 1 (where summing A_α itself would
 * leave only ~1e-16 absolute).
 */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const terms: number[] = [];
  let logBinom = Math.log(alpha); // log C(α, 1), built incrementally
  for (let i = 2; i <= alpha; i++) {
    logBinom += Math.log(alpha - i + 1) - Math.log(i);
    terms.push(logBinom + i * logQ + (alpha - i) * log1mQ + logExpm1((i * i - i) / twoSigma2));
  }
  return logAdd(0, logSumExp(terms));
}

/**
 * A term of the fractional series is dropped, and the series stopped, once both of its parts
 * fall below e^−30 (the threshold of tensorflow_privacy and Opacus).
 */
const SERIES_LOG_CUTOFF = -30;
/**
 * Hard stop for the fractional series. Its terms decay only polynomially in i (like
 * |C(α, i)| ~ i^(−α−1)) once the erfc factors have settled, so orders close to 1 with q near 1/2
 * need many terms; past α + 1 the series alternates, so the remainder is bounded by the last
 * term, which is then added as a conservative (upper) bound.
 */
const SERIES_MAX_TERMS = 2_000_000;

/**
 * log A_α for fractional α: MTZ 2019 §3.3, the integral split at z₀ = σ²·log(1/q − 1) + 1/2 and
 * each side expanded in a generalised binomial series whose terms carry an erfc.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5;
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  let logCoef = 0; // log |C(α, i)|
  let positive = true; // sign of C(α, i)
  for (let i = 0; ; i++) {
    if (i > 0) {
      const factor = alpha - i + 1;
      logCoef += Math.log(Math.abs(factor)) - Math.log(i);
      if (factor < 0) positive = !positive;
    }
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mQ;
    const logT1 = logCoef + j * logQ + i * log1mQ;
    const logE0 = LOG_HALF + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = LOG_HALF + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / twoSigma2 + logE0;
    const logS1 = logT1 + (j * j - j) / twoSigma2 + logE1;
    if (positive) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    const largest = Math.max(logS0, logS1);
    if (Number.isNaN(largest)) throw new Error('accountant: NaN in the RDP series');
    if (largest < SERIES_LOG_CUTOFF) break;
    if (i + 1 >= SERIES_MAX_TERMS) {
      // Not converged: bound each alternating remainder by its last term (over-, never
      // under-states the privacy loss).
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
      break;
    }
  }
  return logAdd(logA0, logA1);
}

function checkOrders(orders: readonly number[]): void {
  if (!Array.isArray(orders) || orders.length === 0 || orders.length > 100_000) {
    throw new RangeError(`orders must be a non-empty array of at most 100000 numbers`);
  }
  orders.forEach((alpha, i) => {
    assertNumber(`orders[${i}]`, alpha, 1, 10_000, true);
    if (i > 0 && alpha <= orders[i - 1]!) {
      throw new RangeError(`orders must be strictly increasing, got ${quote(orders)}`);
    }
  });
}

function checkMechanism(q: number, sigma: number): void {
  assertNumber('q', q, 0, 1);
  assertNumber('sigma', sigma, 0, 1e6, true);
}

/** RDP of one SGM step at one order, without argument checks (callers check once). */
function rdpAt(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha)
    ? logAInteger(q, sigma, alpha)
    : logAFractional(q, sigma, alpha);
  // A Rényi divergence is ≥ 0; a tiny negative value is rounding in log A ≈ 0.
  return Math.max(0, logA / (alpha - 1));
}

/**
 * RDP ε(α) of **one** step of the Sampled Gaussian Mechanism with Poisson sampling rate `q` and
 * noise multiplier `sigma`, at each order of `orders` (MTZ 2019). `q = 0` gives 0; `q = 1` is the
 * Gaussian mechanism, `α / (2σ²)`. Multiply by the number of steps to compose identical steps.
 *
 * @param q sampling rate, in [0, 1].
 * @param sigma noise multiplier (noise std / L2 sensitivity), in (0, 1e6].
 * @param orders RDP orders, each in (1, 10000], strictly increasing; default {@link DEFAULT_RDP_ORDERS}.
 * @throws {RangeError} on an argument out of range (the message quotes it).
 */
export function sgmRdp(
  q: number,
  sigma: number,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
): number[] {
  checkMechanism(q, sigma);
  checkOrders(orders);
  return orders.map((alpha) => rdpAt(q, sigma, alpha));
}

// ---------------------------------------------------------------------------------------------
// RDP → (ε, δ)
// ---------------------------------------------------------------------------------------------

/** ε at one order; `rdp` ≥ 0, `alpha` > 1, `logDelta` < 0. */
function epsilonAt(
  rdp: number,
  alpha: number,
  logDelta: number,
  conversion: RdpConversion,
): number {
  if (rdp === Infinity) return Infinity;
  if (conversion === 'mironov2017') return rdp - logDelta / (alpha - 1);
  // Balle et al. 2020 Thm 21 as computed by dp_accounting `rdp_privacy_accountant.compute_epsilon`:
  // when δ ≥ √(1 − e^−rdp) the KL bound (rdp at any α ≥ 1 bounds KL) already gives ε = 0; the
  // bound is numerically unstable as α → 1, so orders ≤ 1.01 give no bound.
  const delta = Math.exp(logDelta);
  if (delta * delta + Math.expm1(-rdp) > 0) return 0;
  if (alpha <= 1.01) return Infinity;
  return rdp + Math.log1p(-1 / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1);
}

/**
 * The smallest ε over `orders` such that RDP values `rdp` (at those orders) imply (ε, δ)-DP, and
 * the order that gave it (the first, on ties).
 *
 * @param orders RDP orders, each in (1, 10000], strictly increasing.
 * @param rdp RDP at each order (same length), each ≥ 0 or `Infinity`.
 * @param delta δ, in (0, 1).
 * @param conversion `balle2020` (default) or `mironov2017`.
 * @throws {RangeError} on an argument out of range.
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: RdpConversion = 'balle2020',
): PrivacySpent {
  checkOrders(orders);
  checkConversion(conversion);
  assertNumber('delta', delta, 0, 1, true);
  if (delta === 1) throw new RangeError('delta must be below 1, got 1');
  if (!Array.isArray(rdp) || rdp.length !== orders.length) {
    throw new RangeError(`rdp must have one value per order (${orders.length})`);
  }
  const logDelta = Math.log(delta);
  let best: PrivacySpent = { epsilon: Infinity, order: orders[0]! };
  rdp.forEach((r, i) => {
    if (typeof r !== 'number' || Number.isNaN(r) || r < 0) {
      throw new RangeError(`rdp[${i}] must be a number ≥ 0, got ${quote(r)}`);
    }
    const epsilon = Math.max(0, epsilonAt(r, orders[i]!, logDelta, conversion));
    if (epsilon < best.epsilon) best = { epsilon, order: orders[i]! };
  });
  return best;
}

function checkConversion(conversion: unknown): asserts conversion is RdpConversion {
  if (conversion !== 'balle2020' && conversion !== 'mironov2017') {
    throw new RangeError(
      `conversion must be "balle2020" or "mironov2017", got ${quote(conversion)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The accountant
// ---------------------------------------------------------------------------------------------

/** Configuration of a {@link PrivacyAccountant}. Validated once, at construction. */
export interface AccountantConfig {
  /**
   * δ of every reported (ε, δ) guarantee. Range (0, 1); conventionally well below 1 / (number of
   * devices), e.g. 1e-5.
   */
  readonly delta: number;
  /** Budget on the cumulated ε at `delta` over the accountant's life. Range (0, 1000]. */
  readonly epsilonBudget: number;
  /** RDP orders; default {@link DEFAULT_RDP_ORDERS}. Each in (1, 10000], strictly increasing. */
  readonly orders?: readonly number[];
  /** RDP → (ε, δ) conversion; default `balle2020`. */
  readonly conversion?: RdpConversion;
}

/** One recorded release: `rounds` rounds in a row of `steps` SGM steps each, at the same `q`, `σ`. */
export interface SgmRelease {
  /** Poisson sampling rate of the devices, in [0, 1]. */
  readonly q: number;
  /** Noise multiplier (noise std / clipping norm), in (0, 1e6]. */
  readonly sigma: number;
  /** SGM steps in total over these rounds. */
  readonly steps: number;
  /** Rounds merged into this entry (consecutive rounds with equal `q` and `sigma`). */
  readonly rounds: number;
}

/** What one round costs: its own ε and the ε of everything recorded with it, both at δ. */
export interface RoundPrivacy {
  /** ε of this round alone (its own best order). Rounds' ε do not add up: compose with `total`. */
  readonly round: PrivacySpent;
  /** ε of all recorded rounds composed with this one (RDP adds per order, then converts). */
  readonly total: PrivacySpent;
  /** δ of both. */
  readonly delta: number;
  /** The configured budget on `total.epsilon`. */
  readonly epsilonBudget: number;
}

/** Format tag of a serialized {@link PrivacyAccountant}. */
export const ACCOUNTANT_FORMAT = 'tacit-privacy-accountant';
/** Format version of a serialized {@link PrivacyAccountant}; bumped on any incompatible change. */
export const ACCOUNTANT_VERSION = 1;

/**
 * JSON state of a {@link PrivacyAccountant}. The release history is the source of truth: the
 * cumulated RDP is recomputed from it on load, so a corrected computation applies to the past.
 */
export interface AccountantState {
  /** Always {@link ACCOUNTANT_FORMAT}. */
  readonly format: typeof ACCOUNTANT_FORMAT;
  /** Always {@link ACCOUNTANT_VERSION} for this build. */
  readonly version: typeof ACCOUNTANT_VERSION;
  /** The configured δ. */
  readonly delta: number;
  /** The configured ε budget. */
  readonly epsilonBudget: number;
  /** The configured conversion. */
  readonly conversion: RdpConversion;
  /** The configured orders. */
  readonly orders: readonly number[];
  /** Every release recorded, oldest first. */
  readonly history: readonly SgmRelease[];
}

const CONFIG_KEYS = ['delta', 'epsilonBudget', 'orders', 'conversion'];
const STATE_KEYS = [
  'format',
  'version',
  'delta',
  'epsilonBudget',
  'conversion',
  'orders',
  'history',
];
const RELEASE_KEYS = ['q', 'sigma', 'steps', 'rounds'];
const MAX_STEPS = 1e9;
const RDP_CACHE_SIZE = 16;

/**
 * Tracks the privacy spent by the aggregator's rounds and refuses what would exceed the budget.
 *
 * Usage by the aggregator: before opening a round, `wouldExceed(q, σ)` (refuse to open if
 * true); before publishing its aggregate, `spend(q, σ)` (if it throws `ERR_PRIVACY_BUDGET`, the
 * aggregate must be discarded, never published); persist `toJSON()` after every `spend`, and
 * before publishing; restore with `PrivacyAccountant.fromJSON`.
 *
 * @example
 * const acct = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: 8 });
 * if (acct.wouldExceed(0.1, 1.1)) refuseRound();
 * const { round, total } = acct.spend(0.1, 1.1); // ε of this round, ε so far
 */
export class PrivacyAccountant {
  /** The configured δ. */
  readonly delta: number;
  /** The configured ε budget. */
  readonly epsilonBudget: number;
  /** The configured conversion. */
  readonly conversion: RdpConversion;
  /** The configured orders. */
  readonly orders: readonly number[];
  readonly #history: SgmRelease[] = [];
  #rdp: number[];
  readonly #cache = new Map<string, readonly number[]>();

  /**
   * @param config δ, ε budget and optional orders and conversion.
   * @throws {RangeError|TypeError} on a bad or unknown option (fail fast at construction).
   */
  constructor(config: AccountantConfig) {
    if (typeof config !== 'object' || config === null) {
      throw new TypeError('PrivacyAccountant: config must be an object');
    }
    assertKnownKeys('PrivacyAccountant', config, CONFIG_KEYS);
    assertNumber('delta', config.delta, 0, 1, true);
    if (config.delta === 1) throw new RangeError('delta must be below 1, got 1');
    assertNumber('epsilonBudget', config.epsilonBudget, 0, 1000, true);
    const orders = config.orders ?? DEFAULT_RDP_ORDERS;
    checkOrders(orders);
    const conversion = config.conversion ?? 'balle2020';
    checkConversion(conversion);
    this.delta = config.delta;
    this.epsilonBudget = config.epsilonBudget;
    this.conversion = conversion;
    this.orders = Object.freeze([...orders]);
    this.#rdp = this.orders.map(() => 0);
  }

  /** ε spent so far (every recorded round composed), at {@link delta}. */
  get spent(): PrivacySpent {
    return this.#epsilon(this.#rdp);
  }

  /** The recorded releases, oldest first (consecutive rounds with equal `q`, `σ` merged). */
  get history(): readonly SgmRelease[] {
    return this.#history.map((r) => ({ ...r }));
  }

  /**
   * What a round of `steps` SGM steps at `q`, `σ` would cost, without recording it.
   *
   * @param q device sampling rate, in [0, 1].
   * @param sigma noise multiplier, in (0, 1e6].
   * @param steps SGM steps in the round (default 1), integer in [1, 1e9].
   * @throws {RangeError} on an argument out of range.
   */
  preview(q: number, sigma: number, steps = 1): RoundPrivacy {
    const roundRdp = this.#roundRdp(q, sigma, steps);
    const total = this.#rdp.map((r, i) => r + roundRdp[i]!);
    return {
      round: this.#epsilon(roundRdp),
      total: this.#epsilon(total),
      delta: this.delta,
      epsilonBudget: this.epsilonBudget,
    };
  }

  /**
   * Whether recording such a round would take the cumulated ε past the budget. The aggregator
   * asks this before it opens a round, and refuses the round when it is true.
   *
   * @throws {RangeError} on an argument out of range.
   */
  wouldExceed(q: number, sigma: number, steps = 1): boolean {
    return this.preview(q, sigma, steps).total.epsilon > this.epsilonBudget;
  }

  /**
   * Records a round and returns its ε and the cumulated ε. Call it before the round's aggregate
   * is released; a refused round records nothing and its aggregate must not be released.
   *
   * @throws {PrivacyBudgetError} `ERR_PRIVACY_BUDGET` when the cumulated ε would exceed the
   *   budget (nothing recorded).
   * @throws {RangeError} on an argument out of range.
   */
  spend(q: number, sigma: number, steps = 1): RoundPrivacy {
    const result = this.preview(q, sigma, steps);
    if (result.total.epsilon > this.epsilonBudget) throw new PrivacyBudgetError();
    this.#record(q, sigma, steps);
    return result;
  }

  /** The state to persist (JSON-safe: every number finite). */
  toJSON(): AccountantState {
    return {
      format: ACCOUNTANT_FORMAT,
      version: ACCOUNTANT_VERSION,
      delta: this.delta,
      epsilonBudget: this.epsilonBudget,
      conversion: this.conversion,
      orders: [...this.orders],
      history: this.history,
    };
  }

  /**
   * Restores an accountant from {@link toJSON}'s output (or its JSON text parsed). The history is
   * replayed, so the restored accountant reports exactly what a fresh one fed the same rounds
   * would. The budget is not enforced on replay: the past was spent.
   *
   * @throws {AccountantStateError} `ERR_ACCOUNTANT_VERSION` on another format version,
   *   `ERR_ACCOUNTANT_FORMAT` on anything malformed.
   */
  static fromJSON(value: unknown): PrivacyAccountant {
    const bad = (): never => {
      throw new AccountantStateError('ERR_ACCOUNTANT_FORMAT', 'malformed privacy accountant state');
    };
    if (!isRecord(value) || value.format !== ACCOUNTANT_FORMAT) return bad();
    if (value.version !== ACCOUNTANT_VERSION) {
      throw new AccountantStateError(
        'ERR_ACCOUNTANT_VERSION',
        'unsupported privacy accountant state version',
      );
    }
    const keys = Object.keys(value);
    if (keys.length !== STATE_KEYS.length || !STATE_KEYS.every((k) => keys.includes(k))) {
      return bad();
    }
    const { delta, epsilonBudget, conversion, orders, history } = value;
    // No defaults on load: a state names its orders and conversion.
    if (!Array.isArray(orders) || typeof conversion !== 'string') return bad();
    if (!Array.isArray(history) || history.length > 1_000_000) return bad();
    let accountant: PrivacyAccountant;
    try {
      accountant = new PrivacyAccountant({
        delta: delta as number,
        epsilonBudget: epsilonBudget as number,
        conversion: conversion as RdpConversion,
        orders: orders as number[],
      });
      for (const entry of history) {
        if (!isRecord(entry) || Object.keys(entry).some((k) => !RELEASE_KEYS.includes(k))) {
          return bad();
        }
        const { q, sigma, steps, rounds } = entry;
        assertInteger('rounds', rounds, 1, MAX_STEPS);
        // #record checks q, σ and steps.
        accountant.#record(q as number, sigma as number, steps as number, rounds as number);
      }
    } catch (error) {
      if (error instanceof RangeError || error instanceof TypeError) return bad();
      throw error;
    }
    return accountant;
  }

  /** Checks the arguments and returns the RDP of `steps` steps at `q`, `σ` (cached per q, σ). */
  #roundRdp(q: number, sigma: number, steps: number): number[] {
    checkMechanism(q, sigma);
    assertInteger('steps', steps, 1, MAX_STEPS);
    const key = `${q}:${sigma}`;
    let perStep = this.#cache.get(key);
    if (perStep === undefined) {
      perStep = this.orders.map((alpha) => rdpAt(q, sigma, alpha));
      if (this.#cache.size >= RDP_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(key, perStep);
    }
    return perStep.map((r) => r * steps);
  }

  #record(q: number, sigma: number, steps: number, rounds = 1): void {
    const roundRdp = this.#roundRdp(q, sigma, steps);
    this.#rdp = this.#rdp.map((r, i) => r + roundRdp[i]!);
    const last = this.#history.at(-1);
    if (last !== undefined && last.q === q && last.sigma === sigma) {
      this.#history[this.#history.length - 1] = {
        q,
        sigma,
        steps: last.steps + steps,
        rounds: last.rounds + rounds,
      };
    } else {
      this.#history.push({ q, sigma, steps, rounds });
    }
  }

  #epsilon(rdp: readonly number[]): PrivacySpent {
    return epsilonFromRdp(this.orders, rdp, this.delta, this.conversion);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
