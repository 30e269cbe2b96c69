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

describe('feature schema v2', () => {
  it('is version 2', () => {
    expect(FEATURE_SCHEMA_VERSION).toBe(2);
  });

  it('keeps the v1 features first, in their v1 order, and appends the v2 ones', () => {
    expect(FEATURE_NAMES.keystroke.slice(20)).toEqual([
      'dd_letter_letter_mean',
      'dd_letter_space_mean',
      'dd_space_letter_mean',
      'trigraph_letter_mean',
    ]);
    expect(FEATURE_NAMES.keystroke.slice(0, 3)).toEqual(['hold_mean', 'hold_std', 'hold_median']);
    expect(FEATURE_NAMES.pointer.slice(15)).toEqual([
      'click_interval_mean',
      'click_interval_std',
      'wheel_speed',
      'wheel_interval_mean',
      'precision_index',
    ]);
    expect(FEATURE_NAMES.pointer[14]).toBe('wheel_rate');
  });

  it.each(MODALITIES)(
    '%s: names are unique snake_case with a unit, description and positive minScale',
    (m) => {
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
    },
  );

  it('has 24 keystroke and 20 pointer features, matching the extractors', () => {
    expect(featureDimension('keystroke')).toBe(24);
    expect(featureDimension('pointer')).toBe(20);
    expect(keystrokeFeatures([])).toHaveLength(24);
    expect(pointerFeatures([])).toHaveLength(20);
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
