import { describe, expect, it } from 'vitest';
import { PrivacyAccountant } from './accountant';
import { FEDERATED_DEFAULTS } from './config';
import { resolveLocalUpdateConfig } from './local-update';
import { resolvePrivatisationConfig } from './privatise';
import { resolveServerOptimizerConfig } from './server-optimizer';

describe('FEDERATED_DEFAULTS', () => {
  it('are valid settings of every part', () => {
    const d = FEDERATED_DEFAULTS;
    expect(resolveLocalUpdateConfig(d.local)).toEqual(d.local);
    expect(resolveServerOptimizerConfig(d.serverOptimizer)).toEqual(d.serverOptimizer);
    const { clipNorm, noiseMultiplier, minDevices } = d;
    expect(resolvePrivatisationConfig({ clipNorm, noiseMultiplier, minDevices })).toEqual({
      clipNorm,
      noiseMultiplier,
      minDevices,
    });
    expect(d.local.objective).toBe('frozen-centres');
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
