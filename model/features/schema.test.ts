import { describe, expect, it } from 'vitest';
import { keystrokeFeatures } from './keystroke';
import { pointerFeatures } from './pointer';
import {
  FEATURE_NAMES,
  FEATURE_SCHEMA_VERSION,
  FEATURE_SPECS,
  MODALITIES,
  featureDimension,
  isModality,
} from './schema';

describe('feature schema v1', () => {
  it('is version 1', () => {
    expect(FEATURE_SCHEMA_VERSION).toBe(1);
  });

  it.each(MODALITIES)('%s: names are unique snake_case with a unit, description and positive minScale', (m) => {
    const specs = FEATURE_SPECS[m];
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
    for (const s of specs) {
      expect(s.name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(s.unit.length, s.name).toBeGreaterThan(0);
      expect(s.description.length, s.name).toBeGreaterThan(10);
      expect(s.minScale, s.name).toBeGreaterThan(0);
    }
    expect(FEATURE_NAMES[m]).toEqual(specs.map((s) => s.name));
    expect(featureDimension(m)).toBe(specs.length);
  });

  it('has 20 keystroke and 15 pointer features, matching the extractors', () => {
    expect(featureDimension('keystroke')).toBe(20);
    expect(featureDimension('pointer')).toBe(15);
    expect(keystrokeFeatures([])).toHaveLength(20);
    expect(pointerFeatures([])).toHaveLength(15);
  });

  it('is frozen, so no caller can reorder features at run time', () => {
    expect(Object.isFrozen(FEATURE_SPECS.keystroke)).toBe(true);
    expect(Object.isFrozen(FEATURE_NAMES.pointer)).toBe(true);
  });

  it('recognises modalities', () => {
    expect(isModality('keystroke')).toBe(true);
    expect(isModality('pointer')).toBe(true);
    expect(isModality('touch')).toBe(false);
  });
});
