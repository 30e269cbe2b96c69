import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { POINTER_A, syntheticPointer } from '../testing/synthetic';
import { BLOCK_FEATURES, BLOCK_FEATURE_NAMES, blockFeatures } from './block-features';

function named(v: Float64Array): Record<string, number> {
  return Object.fromEntries(BLOCK_FEATURE_NAMES.map((n, j) => [n, v[j]!]));
}

const pm = (t: number, x: number, y: number): RawEvent => ({ t, k: 'pm', x, y });

describe('blockFeatures', () => {
  it('has one value per uniquely named feature', () => {
    expect(new Set(BLOCK_FEATURE_NAMES).size).toBe(BLOCK_FEATURES.length);
    expect(BLOCK_FEATURES.length).toBeGreaterThanOrEqual(90);
    expect(blockFeatures(syntheticPointer(POINTER_A, 128, { seed: 1 }))).toHaveLength(
      BLOCK_FEATURES.length,
    );
  });

  it('is deterministic', () => {
    const events = syntheticPointer(POINTER_A, 128, { seed: 7 });
    expect(Array.from(blockFeatures(events))).toEqual(Array.from(blockFeatures([...events])));
  });

  it('measures a straight horizontal line at constant speed', () => {
    // 20 px every 10 ms to the right: speed 2 px/ms, no turn, all steps in direction bin 0.
    const events = Array.from({ length: 11 }, (_, j) => pm(1000 + 10 * j, 20 * j, 50));
    const f = named(blockFeatures(events));
    expect(f['speed_mean']).toBeCloseTo(2, 10);
    expect(f['speed_p90']).toBeCloseTo(2, 10);
    expect(f['speed_y_mean']).toBe(0);
    expect(f['accel_abs_mean']).toBe(0);
    expect(f['turn_abs_mean']).toBe(0);
    expect(f['dir_count_0']).toBe(1);
    expect(f['dt_hist_lt13_ge9']).toBe(1);
    expect(f['step_hist_lt32.5_ge16.5']).toBe(1);
    expect(f['straightness_mean']).toBeCloseTo(1, 10);
    expect(f['net_over_path']).toBeCloseTo(1, 10);
    expect(f['horizontal_only_fraction']).toBe(1);
    expect(f['span']).toBe(100);
    expect(f['path']).toBe(200);
    expect(f['clicks']).toBe(0);
  });

  it('counts clicks, holds and drags', () => {
    const events: RawEvent[] = [
      pm(0, 0, 0),
      { t: 10, k: 'pd', x: 0, y: 0, b: 0 },
      { t: 20, k: 'pm', x: 10, y: 0, f: FLAG.drag },
      { t: 30, k: 'pm', x: 20, y: 0, f: FLAG.drag },
      { t: 90, k: 'pu', x: 20, y: 0, b: 0 },
      { t: 200, k: 'pd', x: 20, y: 0, b: 2 },
      { t: 300, k: 'pu', x: 20, y: 0, b: 2 },
    ];
    const f = named(blockFeatures(events));
    expect(f['clicks']).toBe(2);
    expect(f['hold_mean']).toBe(90);
    expect(f['non_left_press_fraction']).toBe(0.5);
    expect(f['drag_fraction']).toBeCloseTo(2 / 3, 10);
    expect(f['drag_path_mean']).toBe(10);
    expect(f['click_interval_p50']).toBe(190);
  });

  it('stays finite on hostile input', () => {
    const hostile: RawEvent[][] = [
      [],
      [pm(0, 1, 1)],
      [pm(5, 1, 1), pm(5, 1, 1), pm(5, 1, 1)],
      [pm(5, 1, 1), pm(4, 1e308, -1e308), pm(3, -1e308, 1e308)],
      [pm(NaN, 1, 1), pm(1, NaN, 2), pm(2, Infinity, 2), { t: 3, k: 'wh', dx: NaN, dy: Infinity }],
      [
        { t: 1, k: 'pu', x: 1, y: 1, b: 0 },
        { t: 1, k: 'pd', x: 1, y: 1, b: NaN },
      ],
      [pm(0, 0, 0), pm(1e12, 0, 0), pm(-1e12, 5, 5)],
      [
        { t: 0, k: 'kd', c: 'letter', i: 1 },
        { t: 0, k: 'in', n: 3 },
      ],
    ];
    for (const events of hostile) {
      const v = blockFeatures(events);
      expect(v).toHaveLength(BLOCK_FEATURES.length);
      for (const x of v) expect(Number.isFinite(x)).toBe(true);
    }
  });
});
