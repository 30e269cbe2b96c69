import { describe, expect, it } from 'vitest';
import { AccountantStateError, PrivacyBudgetError } from '../errors';
import {
  ACCOUNTANT_FORMAT,
  ACCOUNTANT_VERSION,
  DEFAULT_RDP_ORDERS,
  PrivacyAccountant,
  epsilonFromRdp,
  logErfc,
  sgmRdp,
  type RdpConversion,
} from './accountant';

/** ε of `steps` identical SGM steps, at δ, over `orders`. */
function dpSgdEpsilon(
  q: number,
  sigma: number,
  steps: number,
  delta: number,
  conversion: RdpConversion,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
) {
  const rdp = sgmRdp(q, sigma, orders).map((r) => r * steps);
  return epsilonFromRdp(orders, rdp, delta, conversion);
}

/** |actual − expected| ≤ tolerance, with the values in the failure message. */
function expectNear(actual: number, expected: number, tolerance: number, what = ''): void {
  expect(
    Math.abs(actual - expected),
    `${what} actual ${actual}, expected ${expected} ± ${tolerance}`,
  ).toBeLessThanOrEqual(tolerance);
}

/** Python's `range(a, b)`. */
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** Orders of Opacus's `RDPAccountant.DEFAULT_ALPHAS` and of tensorflow_privacy's MNIST tutorial. */
const OPACUS_ORDERS = [...range(1, 100).map((x) => 1 + x / 10), ...range(12, 64)];

describe('logErfc', () => {
  it('matches erfc at known values', () => {
    // erf(0.5), erf(1), erf(2): Abramowitz & Stegun Table 7.1 (erf to 15 decimals); the others
    // (and every value's further digits) from mpmath 1.3.0 at 50 significant digits.
    const known: [number, number][] = [
      [0, 1],
      [0.5, 1 - 0.520499877813047],
      [1, 1 - 0.842700792949715],
      [2, 1 - 0.995322265018953],
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [10, 2.088487583762545e-45],
      [-1, 1 + 0.842700792949715],
      [-3, 2 - 2.209049699858544e-5],
    ];
    for (const [x, erfc] of known) {
      // A&S gives 15 decimals: 5e-16 absolute on erfc, i.e. ≤ 5e-16 / erfc relative.
      const tolerance = Math.max(1e-14, 5e-16 / erfc);
      expectNear(logErfc(x), Math.log(erfc), tolerance, `x=${x}`);
    }
  });

  it('matches log erfc where erfc underflows (mpmath, 50 digits)', () => {
    // erfc(x) < Number.MIN_VALUE from x ≈ 27.3: only a log-space computation has these.
    const known: [number, number][] = [
      [1.99, -5.320852015139977],
      [26, -679.8311997631943],
      [27, -732.8688865078974],
      [30, -903.9741171106439],
      [50, -2504.484587848451],
      [100, -10005.177585122665],
      [1e4, -100000009.78270532],
      [1e8, -1.0000000000000018e16],
      [-5, 0.6931471805591766],
      [-1e-3, 0.0011277426501148766],
      [1e-8, -1.1283791734617103e-8],
    ];
    for (const [x, log] of known) {
      expectNear(logErfc(x), log, 2e-14 * Math.max(1, Math.abs(log)), `x=${x}`);
    }
  });

  it('follows the asymptotic series for large x (A&S 7.1.23)', () => {
    // erfc(x) = e^(−x²)/(x√π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸) − …); the next
    // term is below 1e-11 relative from x = 20.
    for (const x of [20, 23.7, 31, 64, 150, 1e3, 1e5]) {
      const u = 1 / (x * x);
      const series = 1 - u / 2 + (3 * u * u) / 4 - (15 * u ** 3) / 8 + (105 * u ** 4) / 16;
      const expected = -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log(series);
      expectNear(logErfc(x), expected, 1e-14 * x * x + 1e-11, `x=${x}`);
    }
  });

  it('satisfies erfc(x) + erfc(−x) = 2 and decreases strictly', () => {
    for (let x = 0; x <= 8; x += 0.0625) {
      expectNear(Math.exp(logErfc(x)) + Math.exp(logErfc(-x)), 2, 4e-16, `x=${x}`);
    }
    // Across every branch boundary (0 and 2): a glitch at a switch would show here. (Below −5,
    // erfc(x) rounds to 2.)
    let previous = logErfc(-5);
    for (let x = -5 + 1 / 256; x <= 40; x += 1 / 256) {
      const value = logErfc(x);
      expect(value, `x=${x}`).toBeLessThan(previous);
      previous = value;
    }
  });

  it('handles the infinities and NaN', () => {
    expect(logErfc(Infinity)).toBe(-Infinity);
    expect(logErfc(-Infinity)).toBe(Math.LN2);
    expect(logErfc(NaN)).toBeNaN();
  });
});

/**
 * RDP by numerical integration of the definition, as tensorflow_privacy's
 * `rdp_accountant_test.test_compute_log_a_equals_mp` does with mpmath: A_α = E_{z~N(0,σ²)}
 * [((1 − q) + q·e^((2z−1)/(2σ²)))^α], here by the trapezoid rule in log space, which converges
 * geometrically for this analytic, Gaussian-tailed integrand (the step is far below the
 * integrand's scales σ and σ²). Independent of the series under test.
 */
function rdpByQuadrature(q: number, sigma: number, alpha: number): number {
  const twoSigma2 = 2 * sigma * sigma;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const lo = Math.min(0, alpha) - 40 * sigma - 1;
  const hi = Math.max(alpha, 1) + 40 * sigma + 1;
  const h = Math.min(sigma, sigma * sigma) / 10;
  const logNorm = Math.log(sigma * Math.sqrt(2 * Math.PI));
  const values: number[] = [];
  let max = -Infinity;
  for (let z = lo; z <= hi; z += h) {
    const a = log1mQ;
    const b = logQ + (2 * z - 1) / twoSigma2;
    const logRatio = Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
    const v = -(z * z) / twoSigma2 - logNorm + alpha * logRatio;
    values.push(v);
    if (v > max) max = v;
  }
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return (max + Math.log(sum) + Math.log(h)) / (alpha - 1);
}

describe('sgmRdp: closed forms and limits', () => {
  it('is 0 without sampling (q = 0)', () => {
    // tensorflow_privacy rdp_accountant_test.test_compute_rdp_no_data: compute_rdp(0, 10, 1, 20) = 0.
    expect(sgmRdp(0, 10, [20])).toEqual([0]);
    expect(sgmRdp(0, 0.3).every((r) => r === 0)).toBe(true);
  });

  it('is the Gaussian mechanism α/(2σ²) at q = 1, and tends to it as q → 1', () => {
    // tensorflow_privacy test_compute_rdp_no_sampling: compute_rdp(1, 10, 1, 20) = 0.1.
    expect(sgmRdp(1, 10, [20])[0]).toBeCloseTo(0.1, 15);
    for (const sigma of [0.5, 1, 3]) {
      const orders = [1.5, 2, 4.5, 7, 20.25];
      const atOne = sgmRdp(1, sigma, orders);
      // q just below 1 goes through the binomial sum and the erfc series, not the shortcut.
      const nearOne = sgmRdp(1 - 1e-9, sigma, orders);
      orders.forEach((alpha, i) => {
        expect(atOne[i]).toBeCloseTo(alpha / (2 * sigma * sigma), 14);
        expectNear(nearOne[i]!, atOne[i]!, 1e-6 * atOne[i]!, `σ=${sigma} α=${alpha}`);
      });
    }
  });

  it('has the exact closed form log(1 + q²(e^(1/σ²) − 1)) at α = 2', () => {
    // A₂ = (1−q)² + 2q(1−q) + q²·e^(1/σ²) (MTZ 2019 §3.3 with α = 2).
    for (const q of [1e-6, 1e-3, 0.01, 0.3, 0.9]) {
      for (const sigma of [0.5, 1, 3]) {
        const exact = Math.log1p(q * q * Math.expm1(1 / (sigma * sigma)));
        expectNear(sgmRdp(q, sigma, [2])[0]!, exact, 1e-12 * exact + 1e-300, `q=${q} σ=${sigma}`);
      }
    }
  });

  it('approaches α·q²·(e^(1/σ²) − 1)/2 as q → 0', () => {
    // The q² term of the binomial expansion (the q¹ terms cancel); the next term is O(q³).
    for (const sigma of [1, 2]) {
      for (const alpha of [1.5, 2.5, 3, 4.5, 8]) {
        const q = 1e-5;
        const asymptote = (alpha * q * q * Math.expm1(1 / (sigma * sigma))) / 2;
        const rdp = sgmRdp(q, sigma, [alpha])[0]!;
        expectNear(rdp / asymptote, 1, 1e-3, `σ=${sigma} α=${alpha}`);
      }
    }
  });

  it('equals numerical integration of the definition (fractional and integer orders)', () => {
    // The parameters of tensorflow_privacy test_compute_log_a_equals_mp (which asserts rtol 1e-4
    // on log A against mpmath), plus large-q and mid-q fractional cases. Tolerance on
    // log A = (α − 1)·RDP: 1e-6 relative, plus 2e-14 absolute for the double-precision quadrature
    // when A is within rounding of 1.
    const cases: [number, number, number][] = [
      [1e-7, 0.1, 1.01],
      [1e-6, 0.1, 256],
      [1e-5, 0.1, 256.1],
      [1e-6, 1, 27],
      [1e-4, 1, 1.5],
      [1e-3, 1, 2],
      [0.01, 10, 20],
      [0.1, 100, 20.5],
      [0.99, 0.1, 256],
      [0.999, 100, 256.1],
      [0.5, 1, 1.25],
      [0.3, 2, 3.5],
      [0.01, 1, 1.75],
      [0.9, 0.7, 2.25],
      [0.04, 1.5, 3.9],
    ];
    for (const [q, sigma, alpha] of cases) {
      const logA = sgmRdp(q, sigma, [alpha])[0]! * (alpha - 1);
      const expected = rdpByQuadrature(q, sigma, alpha) * (alpha - 1);
      expectNear(logA, expected, 1e-6 * Math.abs(expected) + 2e-14, `q=${q} σ=${sigma} α=${alpha}`);
    }
  });

  it('is non-decreasing in the order α (a Rényi divergence is)', () => {
    const orders = [...range(101, 200).map((x) => x / 100), ...DEFAULT_RDP_ORDERS.slice(1)];
    const sorted = [...new Set(orders)].sort((a, b) => a - b);
    for (const [q, sigma] of [
      [0.01, 1],
      [0.1, 0.8],
      [0.5, 2],
      [0.9, 5],
    ] as const) {
      const rdp = sgmRdp(q, sigma, sorted);
      for (let i = 1; i < rdp.length; i++) {
        expect(rdp[i]! / rdp[i - 1]!, `q=${q} σ=${sigma} α=${sorted[i]}`).toBeGreaterThanOrEqual(
          1 - 1e-9,
        );
      }
    }
  });

  it('rejects arguments out of range, quoting them', () => {
    expect(() => sgmRdp(-0.1, 1)).toThrow(/q must be a number in \[0, 1\], got -0.1/);
    expect(() => sgmRdp(1.5, 1)).toThrow(RangeError);
    expect(() => sgmRdp(0.1, 0)).toThrow(/sigma .* got 0/);
    expect(() => sgmRdp(0.1, NaN)).toThrow(RangeError);
    expect(() => sgmRdp(0.1, 1, [])).toThrow(RangeError);
    expect(() => sgmRdp(0.1, 1, [1])).toThrow(/orders\[0\]/);
    expect(() => sgmRdp(0.1, 1, [3, 2])).toThrow(/strictly increasing/);
    expect(() => sgmRdp(0.1, 1, [2, Infinity])).toThrow(RangeError);
  });
});

describe('published reference values', () => {
  // tensorflow_privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py
  // (github.com/tensorflow/privacy), tests of compute_rdp and get_privacy_spent.

  it('tensorflow_privacy test_compute_rdp_scalar: compute_rdp(0.1, 2, 10, 5) = 0.07737', () => {
    // assertAlmostEqual(..., places=5).
    expectNear(sgmRdp(0.1, 2, [5])[0]! * 10, 0.07737, 5e-6);
  });

  it('tensorflow_privacy test_compute_rdp_sequence: q = 0.01, σ = 2.5, 50 steps', () => {
    // assertSequenceAlmostEqual(..., delta=1e-5); the test's order ∞ is not supported here.
    const rdp = sgmRdp(0.01, 2.5, [1.5, 2.5, 5, 50, 100]).map((r) => r * 50);
    const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    rdp.forEach((r, i) => expectNear(r, expected[i]!, 1e-5, `order ${i}`));
  });

  it('tensorflow_privacy test_get_privacy_spent_check_target_delta (Balle et al. conversion)', () => {
    // Constant RDP 1.1 on orders 2..32 at δ = 1e-5 → ε = 1.32783806176 at order 32 (places=7).
    const orders = range(2, 33);
    const spent = epsilonFromRdp(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(spent.order).toBe(32);
    expectNear(spent.epsilon, 1.32783806176, 5e-8);
    // Second half of the same test: the Gaussian mechanism with σ = 4.530877117 is exactly
    // (1, 1e-6)-DP; over a fine grid of orders the RDP bound gets within places=7 of it.
    const fine = range(1001, 100000).map((i) => 0.001 * i);
    const gaussian = epsilonFromRdp(fine, sgmRdp(1, 4.530877117, fine), 1e-6);
    expectNear(gaussian.epsilon, 1, 5e-8);
  });

  it('tensorflow_privacy test_check_composition: two mechanisms composed', () => {
    // compute_rdp(1e-4, 0.4, 40000) + compute_rdp(0.1, 2, 100) on the test's orders, δ = 1e-5:
    // ε = 8.509656 (places=5) at order 2.5 with the classic conversion (the test's commented-out
    // assertions); the current conversion must stay at or below it.
    const orders = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64];
    orders.push(256);
    const a = sgmRdp(1e-4, 0.4, orders).map((r) => r * 40000);
    const b = sgmRdp(0.1, 2, orders).map((r) => r * 100);
    const rdp = a.map((r, i) => r + b[i]!);
    const classic = epsilonFromRdp(orders, rdp, 1e-5, 'mironov2017');
    expectNear(classic.epsilon, 8.509656, 5e-6);
    expect(classic.order).toBe(2.5);
    expect(epsilonFromRdp(orders, rdp, 1e-5, 'balle2020').epsilon).toBeLessThanOrEqual(8.509656);
  });

  // tensorflow_privacy, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
  // test_compute_dp_sgd_privacy: (N, batch, σ, epochs, δ) → (ε, order), with q = batch/N,
  // steps = ceil(epochs·N/batch) and the orders of compute_dp_sgd_privacy_lib (our default list).
  // The expected ε were first computed with the classic conversion, and replaced when the library
  // moved to the Balle et al. one; both versions of the file are checked against.
  const dpSgdCases = [
    { n: 60000, batch: 150, sigma: 1.3, epochs: 15, delta: 1e-5, order: 19 },
    { n: 100000, batch: 100, sigma: 1.0, epochs: 30, delta: 1e-7, order: 13 },
    { n: 100000000, batch: 1024, sigma: 0.1, epochs: 10, delta: 1e-7, order: 1.25 },
  ];
  const classicEps = [0.941870567, 1.70928734, 5907984.81339406];
  const balleEps = [0.7242234026109595, 1.4154988495444845, 5907982.31138195];

  it('tensorflow_privacy compute_dp_sgd_privacy_test, both conversions', () => {
    dpSgdCases.forEach((c, i) => {
      const steps = Math.ceil((c.epochs * c.n) / c.batch);
      const classic = dpSgdEpsilon(c.batch / c.n, c.sigma, steps, c.delta, 'mironov2017');
      const balle = dpSgdEpsilon(c.batch / c.n, c.sigma, steps, c.delta, 'balle2020');
      // assertAlmostEqual(places=7) for the first two; the third (ε ≈ 5.9e6, σ = 0.1, order
      // 1.25: the fractional series at its hardest) is held to 1e-12 relative, the spread
      // between tensorflow_privacy's own versions of it is 3e-12.
      const tolerance = (expected: number) => Math.max(5e-8, 1e-12 * expected);
      expectNear(classic.epsilon, classicEps[i]!, tolerance(classicEps[i]!), `classic case ${i}`);
      expectNear(balle.epsilon, balleEps[i]!, tolerance(balleEps[i]!), `balle case ${i}`);
      expect(classic.order).toBe(c.order);
      expect(balle.order).toBe(c.order);
    });
  });

  it('tensorflow_privacy MNIST DP-SGD tutorial figures (classic conversion, 3 digits)', () => {
    // tutorials/README.md: "compute_dp_sgd_privacy.py --N=60000 --batch_size=256
    // --noise_multiplier=1.1 --epochs=60 --delta=1e-5 … satisfies differential privacy with
    // eps = 3.01 and delta = 1e-05", and compute_dp_sgd_privacy.py's docstring: the same with
    // --noise_multiplier=1.12 gives (2.92, 1e-5)-DP. Printed with '{:.3g}': ± 0.005. The script's
    // orders are our default list, steps = ceil(epochs·N/batch) = 14063.
    const q = 256 / 60000;
    const steps = Math.ceil((60 * 60000) / 256);
    expectNear(dpSgdEpsilon(q, 1.1, steps, 1e-5, 'mironov2017').epsilon, 3.01, 0.005);
    expectNear(dpSgdEpsilon(q, 1.12, steps, 1e-5, 'mironov2017').epsilon, 2.92, 0.005);
    // The README's table and expected output, from mnist_dpsgd_tutorial.py's compute_epsilon:
    // orders [1 + x/10 for x in range(1, 100)] + range(12, 64), steps = epochs·60000 // 256.
    const table: [sigma: number, epochs: number, epsilon: number][] = [
      [1.1, 1, 1.03],
      [1.1, 2, 1.11],
      [1.1, 60, 3.01],
      [1.3, 15, 1.19],
      [0.7, 45, 7.1],
    ];
    for (const [sigma, epochs, epsilon] of table) {
      const tutorialSteps = Math.floor((epochs * 60000) / 256);
      const spent = dpSgdEpsilon(q, sigma, tutorialSteps, 1e-5, 'mironov2017', OPACUS_ORDERS);
      expectNear(spent.epsilon, epsilon, 0.005, `σ=${sigma} epochs=${epochs}`);
    }
  });

  it('Opacus accountants_test.test_rdp_accountant: ε = 7.32911117143', () => {
    // github.com/pytorch/opacus, opacus/tests/accountants_test.py: σ = 1.5, q = 0.04,
    // steps = int(90 / 0.04) = 2250, δ = 1e-5, RDPAccountant.DEFAULT_ALPHAS, Opacus's
    // get_privacy_spent (the Balle et al. conversion); assertAlmostEqual(places=7).
    const spent = dpSgdEpsilon(0.04, 1.5, 2250, 1e-5, 'balle2020', OPACUS_ORDERS);
    expectNear(spent.epsilon, 7.32911117143, 5e-8);
  });

  it('never claims more than the exact Gaussian mechanism allows (Balle & Wang 2018)', () => {
    // q = 1: the optimal δ(ε) of the Gaussian mechanism is Φ(−εσ + 1/(2σ)) − e^ε·Φ(−εσ − 1/(2σ))
    // (Balle & Wang, ICML 2018, Theorem 8; tensorflow_privacy test_get_privacy_spent_gaussian
    // uses it the same way). The RDP-derived ε must be at least the exact one: δ(ε_RDP) ≤ δ.
    const phi = (x: number) => 0.5 * Math.exp(logErfc(-x / Math.SQRT2));
    for (const sigma of [0.7, 1, 2, 5, 20]) {
      for (const delta of [1e-3, 1e-5, 1e-9]) {
        for (const conversion of ['balle2020', 'mironov2017'] as const) {
          const { epsilon } = epsilonFromRdp(
            DEFAULT_RDP_ORDERS,
            sgmRdp(1, sigma),
            delta,
            conversion,
          );
          const exactDelta =
            phi(-epsilon * sigma + 1 / (2 * sigma)) -
            Math.exp(epsilon) * phi(-epsilon * sigma - 1 / (2 * sigma));
          expect(exactDelta, `σ=${sigma} δ=${delta} ${conversion}`).toBeLessThanOrEqual(delta);
        }
      }
    }
  });
});

describe('epsilonFromRdp', () => {
  it('Balle et al. is never looser than the classic conversion', () => {
    for (const [q, sigma, steps] of [
      [0.001, 0.8, 10],
      [0.01, 1.1, 1000],
      [0.1, 2, 50],
      [1, 5, 3],
    ] as const) {
      const rdp = sgmRdp(q, sigma).map((r) => r * steps);
      for (const delta of [1e-3, 1e-5, 1e-8]) {
        const balle = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, delta, 'balle2020');
        const classic = epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, delta, 'mironov2017');
        expect(balle.epsilon).toBeLessThan(classic.epsilon);
      }
    }
  });

  it('gives ε = 0 when the KL bound already covers δ, ∞ when no order bounds it', () => {
    // δ² + expm1(−rdp) > 0, i.e. δ ≥ √(1 − e^−rdp) (dp_accounting compute_epsilon).
    expect(epsilonFromRdp([2, 4], [1e-12, 2e-12], 1e-5)).toEqual({ epsilon: 0, order: 2 });
    expect(epsilonFromRdp([2, 4], [Infinity, Infinity], 1e-5).epsilon).toBe(Infinity);
    // Orders ≤ 1.01 are numerically unstable in the Balle et al. bound and give none.
    expect(epsilonFromRdp([1.005], [0.5], 1e-5).epsilon).toBe(Infinity);
    expect(epsilonFromRdp([1.005], [0.5], 1e-5, 'mironov2017').epsilon).toBeCloseTo(
      0.5 + Math.log(1e5) / 0.005,
      9,
    );
  });

  it('rejects malformed input', () => {
    expect(() => epsilonFromRdp([2, 3], [0.1], 1e-5)).toThrow(/one value per order/);
    expect(() => epsilonFromRdp([2], [-0.1], 1e-5)).toThrow(/rdp\[0\] .* got -0.1/);
    expect(() => epsilonFromRdp([2], [NaN], 1e-5)).toThrow(RangeError);
    expect(() => epsilonFromRdp([2], [0.1], 0)).toThrow(/delta/);
    expect(() => epsilonFromRdp([2], [0.1], 1)).toThrow(/delta/);
    expect(() => epsilonFromRdp([2], [0.1], 1e-5, 'best' as RdpConversion)).toThrow(
      /conversion .* got "best"/,
    );
  });
});

describe('monotonicity of ε', () => {
  const delta = 1e-5;
  const eps = (q: number, sigma: number, steps: number) =>
    dpSgdEpsilon(q, sigma, steps, delta, 'balle2020').epsilon;

  it('grows with the number of steps', () => {
    for (const [q, sigma] of [
      [0.01, 1],
      [0.1, 1.5],
      [0.5, 4],
    ] as const) {
      const values = [1, 2, 5, 10, 100, 1000, 10000].map((steps) => eps(q, sigma, steps));
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!);
    }
  });

  it('grows with the sampling rate q', () => {
    for (const sigma of [0.8, 2]) {
      const values = [1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.9, 1].map((q) => eps(q, sigma, 100));
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!);
    }
  });

  it('falls with the noise multiplier σ', () => {
    for (const q of [0.01, 0.3]) {
      const values = [0.5, 0.7, 1, 1.5, 2, 4, 8].map((sigma) => eps(q, sigma, 100));
      for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]!);
    }
  });
});

describe('PrivacyAccountant', () => {
  const config = { delta: 1e-5, epsilonBudget: 8 };

  it('reports each round and the cumulated ε, composing by adding RDP', () => {
    const acct = new PrivacyAccountant(config);
    expect(acct.spent).toEqual({ epsilon: 0, order: DEFAULT_RDP_ORDERS[0] });
    const first = acct.spend(0.1, 1.2);
    expect(first.total).toEqual(first.round);
    expect(first).toMatchObject({ delta: 1e-5, epsilonBudget: 8 });
    const second = acct.spend(0.1, 1.2);
    expect(second.round).toEqual(first.round);
    // RDP composes; ε does not add: two rounds cost more than one and less than twice one.
    expect(second.total.epsilon).toBeGreaterThan(first.total.epsilon);
    expect(second.total.epsilon).toBeLessThan(2 * first.total.epsilon);
    expect(second.total).toEqual(dpSgdEpsilon(0.1, 1.2, 2, 1e-5, 'balle2020'));
    expect(acct.spent).toEqual(second.total);
  });

  it('composes heterogeneous rounds as the sum of their RDP', () => {
    const acct = new PrivacyAccountant(config);
    acct.spend(0.05, 1, 3);
    acct.spend(0.2, 2);
    acct.spend(0.05, 1);
    const rdp = sgmRdp(0.05, 1).map((r, i) => 4 * r + sgmRdp(0.2, 2)[i]!);
    expect(acct.spent.epsilon).toBeCloseTo(
      epsilonFromRdp(DEFAULT_RDP_ORDERS, rdp, 1e-5).epsilon,
      12,
    );
    expect(acct.history).toEqual([
      { q: 0.05, sigma: 1, steps: 3, rounds: 1 },
      { q: 0.2, sigma: 2, steps: 1, rounds: 1 },
      { q: 0.05, sigma: 1, steps: 1, rounds: 1 },
    ]);
  });

  it('merges consecutive rounds with the same q and σ in its history', () => {
    const acct = new PrivacyAccountant(config);
    for (let i = 0; i < 5; i++) acct.spend(0.1, 1.5);
    acct.spend(0.1, 1.5, 2);
    expect(acct.history).toEqual([{ q: 0.1, sigma: 1.5, steps: 7, rounds: 6 }]);
  });

  it('costs nothing for a round nobody can be sampled into (q = 0)', () => {
    const acct = new PrivacyAccountant(config);
    expect(acct.spend(0, 1).total.epsilon).toBe(0);
  });

  it('refuses, before it opens, the round that would exceed the budget', () => {
    // Budget between the ε after 3 and after 4 rounds.
    const three = dpSgdEpsilon(0.2, 1, 3, 1e-5, 'balle2020').epsilon;
    const four = dpSgdEpsilon(0.2, 1, 4, 1e-5, 'balle2020').epsilon;
    const acct = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: (three + four) / 2 });
    for (let round = 0; round < 3; round++) {
      expect(acct.wouldExceed(0.2, 1)).toBe(false);
      acct.spend(0.2, 1);
    }
    expect(acct.wouldExceed(0.2, 1)).toBe(true);
    // A cheaper round (more noise, fewer devices) may still fit.
    expect(acct.wouldExceed(0.01, 4)).toBe(false);
    expect(acct.preview(0.2, 1).total.epsilon).toBeCloseTo(four, 12);
  });

  it('records nothing when spend is refused, and says why with a code', () => {
    const acct = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: 1 });
    acct.spend(0.01, 1.5, 10);
    const before = JSON.stringify(acct);
    let error: unknown;
    try {
      acct.spend(0.5, 0.8, 10);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PrivacyBudgetError);
    expect(error).toMatchObject({ code: 'ERR_PRIVACY_BUDGET' });
    expect(JSON.stringify(acct)).toBe(before);
  });

  it('allows spending exactly up to the budget', () => {
    const exact = dpSgdEpsilon(0.1, 1, 5, 1e-5, 'balle2020').epsilon;
    const acct = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: exact });
    expect(acct.wouldExceed(0.1, 1, 5)).toBe(false);
    expect(acct.spend(0.1, 1, 5).total.epsilon).toBe(exact);
  });

  it('uses the configured conversion and orders', () => {
    const orders = [2, 4, 8, 16, 32];
    const acct = new PrivacyAccountant({ ...config, orders, conversion: 'mironov2017' });
    const { total } = acct.spend(0.05, 1.1, 100);
    expect(total).toEqual(dpSgdEpsilon(0.05, 1.1, 100, 1e-5, 'mironov2017', orders));
  });

  it('rejects bad round arguments and records nothing', () => {
    const acct = new PrivacyAccountant(config);
    const bad: [number, number, number][] = [
      [-0.1, 1, 1],
      [1.1, 1, 1],
      [NaN, 1, 1],
      [0.1, 0, 1],
      [0.1, -1, 1],
      [0.1, Infinity, 1],
      [0.1, 1, 0],
      [0.1, 1, 1.5],
      [0.1, 1, 2e9],
    ];
    for (const [q, sigma, steps] of bad) {
      expect(() => acct.spend(q, sigma, steps), `${q} ${sigma} ${steps}`).toThrow(RangeError);
      expect(() => acct.wouldExceed(q, sigma, steps)).toThrow(RangeError);
    }
    expect(acct.history).toEqual([]);
  });

  it('fails fast on a bad configuration, quoting the bad value', () => {
    expect(() => new PrivacyAccountant({ delta: 0, epsilonBudget: 8 })).toThrow(/delta .* got 0/);
    expect(() => new PrivacyAccountant({ delta: 1, epsilonBudget: 8 })).toThrow(/delta/);
    expect(() => new PrivacyAccountant({ delta: 1e-5, epsilonBudget: 0 })).toThrow(
      /epsilonBudget .* got 0/,
    );
    expect(() => new PrivacyAccountant({ delta: 1e-5, epsilonBudget: Infinity })).toThrow(
      RangeError,
    );
    expect(() => new PrivacyAccountant({ ...config, orders: [2, 2] })).toThrow(/increasing/);
    expect(
      () => new PrivacyAccountant({ ...config, conversion: 'classic' as RdpConversion }),
    ).toThrow(/conversion/);
    expect(() => new PrivacyAccountant({ ...config, budget: 3 } as never)).toThrow(
      /unknown option "budget"/,
    );
    expect(() => new PrivacyAccountant(null as never)).toThrow(TypeError);
  });

  it('round-trips through JSON and carries on identically', () => {
    const acct = new PrivacyAccountant({ ...config, orders: [1.5, 2, 3, 8, 32] });
    acct.spend(0.1, 1.1, 2);
    acct.spend(0.3, 2);
    const state = JSON.parse(JSON.stringify(acct)) as unknown;
    expect(state).toEqual({
      format: ACCOUNTANT_FORMAT,
      version: ACCOUNTANT_VERSION,
      delta: 1e-5,
      epsilonBudget: 8,
      conversion: 'balle2020',
      orders: [1.5, 2, 3, 8, 32],
      history: [
        { q: 0.1, sigma: 1.1, steps: 2, rounds: 1 },
        { q: 0.3, sigma: 2, steps: 1, rounds: 1 },
      ],
    });
    const restored = PrivacyAccountant.fromJSON(state);
    expect(restored.spent).toEqual(acct.spent);
    expect(restored.toJSON()).toEqual(acct.toJSON());
    expect(restored.spend(0.05, 1)).toEqual(acct.spend(0.05, 1));
  });

  it('restores a state over its budget (the past was spent) and refuses any further round', () => {
    const acct = new PrivacyAccountant({ delta: 1e-5, epsilonBudget: 100 });
    acct.spend(0.5, 0.7, 50);
    const state = { ...acct.toJSON(), epsilonBudget: 1 };
    const restored = PrivacyAccountant.fromJSON(state);
    expect(restored.spent.epsilon).toBeGreaterThan(1);
    expect(restored.wouldExceed(0, 1)).toBe(true);
  });

  it('rejects a malformed or foreign state with a code', () => {
    const good = () => {
      const acct = new PrivacyAccountant(config);
      acct.spend(0.1, 1);
      return JSON.parse(JSON.stringify(acct)) as Record<string, any>;
    };
    const entry = (patch: Record<string, unknown>) => {
      const s = good();
      s.history = [{ ...s.history[0], ...patch }];
      return s;
    };
    const hostile: unknown[] = [
      null,
      undefined,
      42,
      'tacit-privacy-accountant',
      [],
      {},
      { ...good(), format: 'tacit-user-model' },
      { ...good(), extra: 1 },
      { ...good(), orders: undefined },
      (({ conversion: _, ...rest }) => rest)(good()),
      { ...good(), delta: -1 },
      { ...good(), delta: '1e-5' },
      { ...good(), epsilonBudget: null },
      { ...good(), conversion: 'rdp' },
      { ...good(), orders: [3, 2] },
      { ...good(), orders: 'all' },
      { ...good(), history: {} },
      { ...good(), history: [null] },
      { ...good(), history: [[0.1, 1, 1]] },
      entry({ q: 2 }),
      entry({ q: '0.1' }),
      entry({ sigma: 0 }),
      entry({ steps: 0 }),
      entry({ steps: 1.5 }),
      entry({ rounds: 0 }),
      entry({ rounds: undefined }),
      entry({ epsilon: 0 }),
    ];
    for (const state of hostile) {
      let error: unknown;
      try {
        PrivacyAccountant.fromJSON(state);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(state)).toBeInstanceOf(AccountantStateError);
      expect(error, JSON.stringify(state)).toMatchObject({ code: 'ERR_ACCOUNTANT_FORMAT' });
    }
    expect(() => PrivacyAccountant.fromJSON({ ...good(), version: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_ACCOUNTANT_VERSION' }),
    );
  });
});
