import { describe, expect, it } from 'vitest';
import { DEFAULT_ENCODER_TRAIN_CONFIG } from '../shared/train';
import { TUNE_GRIDS, candidateEpochs, encoderParameterCount, meanStd, pickBest } from './tuning';

describe('tuning helpers', () => {
  it('has tiny named grids of valid overrides', () => {
    expect(Object.keys(TUNE_GRIDS)).toEqual(['default', 'epochs', 'smoke']);
    for (const grid of Object.values(TUNE_GRIDS)) {
      expect(grid.candidates.length).toBeGreaterThanOrEqual(2);
      expect(grid.candidates.length).toBeLessThanOrEqual(4);
      expect(new Set(grid.candidates.map((c) => c.name)).size).toBe(grid.candidates.length);
    }
    expect(TUNE_GRIDS['default']!.candidates.map((c) => c.overrides)).toEqual([
      { embedding: 32, margin: 0.1 },
      { embedding: 32, margin: 0.2 },
      { embedding: 48, margin: 0.1 },
      { embedding: 48, margin: 0.2 },
    ]);
  });

  it('scales epochs', () => {
    expect(candidateEpochs({ name: 'a', overrides: {} }, 40)).toBe(40);
    expect(candidateEpochs({ name: 'a', overrides: {}, epochsScale: 0.5 }, 41)).toBe(21);
    expect(candidateEpochs({ name: 'a', overrides: {}, epochsScale: 0.1 }, 2)).toBe(1);
    expect(() => candidateEpochs({ name: 'a', overrides: {}, epochsScale: 0 }, 2)).toThrow(
      RangeError,
    );
  });

  it('counts the encoder weights', () => {
    // keystroke: 14 step features; 5·14·48+48 + 5·48·48+48 + 3·48·48+48 + 96·48+48
    expect(encoderParameterCount('keystroke', DEFAULT_ENCODER_TRAIN_CONFIG)).toBe(
      3408 + 11568 + 6960 + 4656,
    );
    expect(
      encoderParameterCount('keystroke', { ...DEFAULT_ENCODER_TRAIN_CONFIG, embedding: 32 }),
    ).toBe(3408 + 11568 + 6960 + 96 * 32 + 32);
  });

  it('gives mean and sample std', () => {
    expect(meanStd([0.2])).toEqual({ mean: 0.2, std: 0 });
    const { mean, std } = meanStd([0.1, 0.2, 0.3]);
    expect(mean).toBeCloseTo(0.2, 12);
    expect(std).toBeCloseTo(0.1, 12);
    expect(() => meanStd([])).toThrow(RangeError);
  });

  it('picks the lowest mean EER, ties to the smaller model', () => {
    const c = (name: string, meanEer: number, parameters: number, epochs = 10) => ({
      name,
      meanEer,
      parameters,
      epochs,
    });
    expect(pickBest([c('a', 0.2, 10), c('b', 0.1, 99), c('c', 0.3, 1)]).name).toBe('b');
    expect(pickBest([c('big', 0.1, 99), c('small', 0.1, 10)]).name).toBe('small');
    expect(pickBest([c('long', 0.1, 10, 20), c('short', 0.1, 10, 10)]).name).toBe('short');
    expect(pickBest([c('first', 0.1, 10), c('second', 0.1, 10)]).name).toBe('first');
    expect(() => pickBest([])).toThrow(RangeError);
    expect(() => pickBest([c('nan', NaN, 1)])).toThrow(RangeError);
  });
});
