import { describe, expect, it } from 'vitest';
import { PrivacyAccountant } from './accountant';
import { FEDERATED_DEFAULTS } from './config';
import { resolveLocalUpdateConfig } from './local-update';
import { resolvePrivatisationConfig } from './privatise';
import { aggregationByName, robustMean } from './robust-aggregate';
import { resolveServerOptimizerConfig } from './server-optimizer';

describe('FEDERATED_DEFAULTS', () => {
  it('are valid settings of every part that reads them', () => {
    const f = FEDERATED_DEFAULTS;
    expect(resolveLocalUpdateConfig(f.localUpdate)).toEqual(f.localUpdate);
    // Run K (docs/federated.md "Second session"): the positive-only pull towards a kept target.
    expect(f.localUpdate).toMatchObject({ objective: 'positive-only', learningRate: 0.003 });
    expect(f.anchorOwnCentre).toBe(true);
    expect(f.codeWordWeight).toBe(3);
    expect(resolveServerOptimizerConfig(f.serverOptimizer)).toEqual(f.serverOptimizer);
    const { clipNorm, noiseMultiplier, minDevices } = f;
    expect(resolvePrivatisationConfig({ clipNorm, noiseMultiplier, minDevices })).toEqual({
      clipNorm,
      noiseMultiplier,
      minDevices,
    });
    expect(aggregationByName(f.aggregation.method).method).toBe(f.aggregation.method);
    expect(robustMean([Float32Array.of(1), Float32Array.of(3)], f.aggregation)).toHaveLength(1);
    expect(Number.isInteger(f.rounds) && f.rounds >= 1).toBe(true);
    expect(f.sampleRate).toBeGreaterThan(0);
    expect(f.sampleRate).toBeLessThanOrEqual(1);
  });

  it('never pair the positive-only pull with an own centre recomputed every round (it collapses)', () => {
    const f = FEDERATED_DEFAULTS;
    expect(f.localUpdate.objective !== 'positive-only' || f.anchorOwnCentre).toBe(true);
    expect(f.codeWordWeight).toBeGreaterThanOrEqual(0);
    expect(f.codeWordWeight).toBeLessThanOrEqual(10);
  });

  it('keep the privacy settings: q = 0.5, σ = 1.3, 10 rounds, C = 0.5, δ = 1e-5, budget 8', () => {
    const { sampleRate, noiseMultiplier, rounds, clipNorm, delta, epsilonBudget } =
      FEDERATED_DEFAULTS;
    expect({ sampleRate, noiseMultiplier, rounds, clipNorm, delta, epsilonBudget }).toEqual({
      sampleRate: 0.5,
      noiseMultiplier: 1.3,
      rounds: 10,
      clipNorm: 0.5,
      delta: 1e-5,
      epsilonBudget: 8,
    });
  });

  it('spend at most the ε budget over the whole run (7.89 at δ = 1e-5)', () => {
    const d = FEDERATED_DEFAULTS;
    const accountant = new PrivacyAccountant({ delta: d.delta, epsilonBudget: d.epsilonBudget });
    let epsilon = 0;
    for (let r = 0; r < d.rounds; r++) {
      epsilon = accountant.spend(d.sampleRate, d.noiseMultiplier).total.epsilon;
    }
    expect(epsilon).toBeLessThanOrEqual(d.epsilonBudget);
    expect(epsilon).toBeCloseTo(7.891, 2);
    // One round more would exceed it: the run uses what it is given.
    expect(accountant.wouldExceed(d.sampleRate, d.noiseMultiplier)).toBe(true);
  });
});
