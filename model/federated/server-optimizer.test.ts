import { describe, expect, it } from 'vitest';
import { initialServerState, resolveServerOptimizerConfig, serverStep } from './server-optimizer';

const p0 = Float32Array.from([1, -2, 0.5]);
const d = Float32Array.from([0.1, -0.2, 0]);

describe('serverStep()', () => {
  it('fedavg adds η·Δ and keeps no moments', () => {
    const r = serverStep(p0, d, initialServerState(), { kind: 'fedavg', learningRate: 0.5 });
    expect(Array.from(r.parameters)).toEqual(Array.from(Float32Array.from([1.05, -2.1, 0.5])));
    expect(r.state).toEqual({ steps: 1 });
    expect(Array.from(p0)).toEqual([1, -2, 0.5]); // inputs untouched
  });

  it('fedavgm accumulates momentum: the same Δ twice moves 1 + (1 + β) times Δ', () => {
    const cfg = { kind: 'fedavgm' as const, learningRate: 1, momentum: 0.9 };
    const one = serverStep(p0, d, initialServerState(), cfg);
    const two = serverStep(one.parameters, d, one.state, cfg);
    for (let i = 0; i < 3; i++) {
      expect(one.parameters[i]).toBeCloseTo(p0[i]! + d[i]!, 6);
      expect(two.parameters[i]).toBeCloseTo(p0[i]! + (1 + 1.9) * d[i]!, 6);
    }
    expect(two.state.steps).toBe(2);
    // A zero Δ after that keeps moving along the momentum (what damps round-to-round noise).
    const three = serverStep(two.parameters, new Float32Array(3), two.state, cfg);
    expect(three.parameters[0]).toBeCloseTo(two.parameters[0]! + 0.9 * 1.9 * d[0]!, 6);
  });

  it('fedadam steps by η·m/(√v + τ): a constant Δ moves every coordinate by about η·sign(Δ)·(1−β₁)/√(1−β₂)', () => {
    const cfg = {
      kind: 'fedadam' as const,
      learningRate: 0.01,
      momentum: 0.9,
      beta2: 0.99,
      tau: 1e-6,
    };
    const r = serverStep(p0, d, initialServerState(), cfg);
    const expected = (0.01 * 0.1) / Math.sqrt(0.01); // (1−β₁)|Δ| / √((1−β₂)Δ²)
    expect(r.parameters[0]! - p0[0]!).toBeCloseTo(expected, 5);
    expect(r.parameters[1]! - p0[1]!).toBeCloseTo(-expected, 5);
    expect(r.parameters[2]).toBe(p0[2]); // Δ = 0: no move
    expect(r.state.m).toHaveLength(3);
    expect(r.state.v).toHaveLength(3);
  });

  it('fedyogi grows v additively (Yogi): a Δ that jumps raises v by at most (1 − β₂)·Δ²', () => {
    const cfg = {
      kind: 'fedyogi' as const,
      learningRate: 0.01,
      momentum: 0.9,
      beta2: 0.99,
      tau: 1e-6,
    };
    const one = serverStep(p0, d, initialServerState(), cfg);
    // From v = 0 the first step equals fedadam's.
    const adam = serverStep(p0, d, initialServerState(), { ...cfg, kind: 'fedadam' });
    expect(Array.from(one.parameters)).toEqual(Array.from(adam.parameters));
    const big = Float32Array.from([1, -2, 0]);
    const two = serverStep(one.parameters, big, one.state, cfg);
    const twoAdam = serverStep(adam.parameters, big, adam.state, { ...cfg, kind: 'fedadam' });
    // v < Δ²: Yogi adds (1 − β₂)Δ², Adam shrinks v by β₂ first; both then differ from Adam's.
    expect(two.state.v![0]).toBeCloseTo(one.state.v![0]! + 0.01 * 1, 7);
    expect(twoAdam.state.v![0]).toBeCloseTo(0.99 * adam.state.v![0]! + 0.01 * 1, 7);
    // v > Δ²: Yogi lowers v by (1 − β₂)Δ², never below it in one step.
    const three = serverStep(two.parameters, d, two.state, cfg);
    expect(three.state.v![0]).toBeCloseTo(two.state.v![0]! - 0.01 * 0.01, 7);
    expect(() => resolveServerOptimizerConfig({ kind: 'fedprox' as never })).toThrow(/fedyogi/);
  });

  it('refuses mismatched lengths and bad settings, quoting the value', () => {
    expect(() => serverStep(p0, new Float32Array(2), initialServerState())).toThrow(RangeError);
    expect(() =>
      serverStep(p0, d, { steps: 1, m: new Float32Array(5) }, { kind: 'fedavgm' }),
    ).toThrow(/state m/);
    expect(() => resolveServerOptimizerConfig({ kind: 'sgd' as never })).toThrow(/sgd/);
    expect(() => resolveServerOptimizerConfig({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => resolveServerOptimizerConfig({ momentum: 1 })).toThrow(/momentum/);
    expect(() => resolveServerOptimizerConfig({ lr: 1 } as never)).toThrow(TypeError);
  });
});
