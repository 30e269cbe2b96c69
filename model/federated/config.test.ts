import { describe, expect, it } from 'vitest';
import { FEDERATED_DEFAULTS } from './config';
import { resolveLocalUpdateConfig } from './local-update';
import { resolvePrivatisationConfig } from './privatise';
import { aggregationByName, robustMean } from './robust-aggregate';

describe('FEDERATED_DEFAULTS', () => {
  it('are valid settings of every part that reads them', () => {
    const f = FEDERATED_DEFAULTS;
    expect(resolveLocalUpdateConfig(f.localUpdate)).toEqual(f.localUpdate);
    resolvePrivatisationConfig({
      clipNorm: f.clipNorm,
      noiseMultiplier: f.noiseMultiplier,
      minDevices: f.minDevices,
    });
    expect(aggregationByName(f.aggregation.method).method).toBe(f.aggregation.method);
    expect(robustMean([Float32Array.of(1), Float32Array.of(3)], f.aggregation)).toHaveLength(1);
    expect(Number.isInteger(f.rounds) && f.rounds >= 1).toBe(true);
    expect(f.serverLearningRate).toBeGreaterThan(0);
  });
});
