import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { pointerFeatures } from './pointer';
import { FEATURE_NAMES, POINTER_FEATURES } from './schema';

function named(v: Float32Array): Record<string, number> {
  return Object.fromEntries(FEATURE_NAMES.pointer.map((n, j) => [n, v[j]!]));
}

function expectFeatures(v: Float32Array, expected: Record<string, number>): void {
  const got = named(v);
  for (const [name, value] of Object.entries(expected)) {
    expect(name in got, name).toBe(true);
    expect(got[name], name).toBeCloseTo(value, 4);
  }
}

const pm = (t: number, x: number, y: number, f?: number): RawEvent => ({ t, k: 'pm', x, y, ...(f ? { f } : {}) });
const pd = (t: number, x: number, y: number, b = 0): RawEvent => ({ t, k: 'pd', x, y, b });
const pu = (t: number, x: number, y: number, b = 0): RawEvent => ({ t, k: 'pu', x, y, b });
const wh = (t: number): RawEvent => ({ t, k: 'wh', dx: 0, dy: 100 });

describe('pointerFeatures', () => {
  it('measures a straight line at constant speed', () => {
    const v = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(20, 20, 0), pm(30, 30, 0)]);
    expect(v).toHaveLength(POINTER_FEATURES.length);
    expectFeatures(v, {
      speed_mean: 1,
      speed_std: 0,
      speed_p50: 1,
      speed_p90: 1,
      accel_mean_abs: 0,
      accel_std: 0,
      jerk_mean_abs: 0,
      angle_change_mean: 0,
      curvature_mean: 0,
      straightness: 1,
      pause_fraction: 0,
      click_hold_mean: 0,
      click_count: 0,
      drag_fraction: 0,
      wheel_rate: 0,
    });
  });

  it('measures speed, acceleration and jerk with Δt between interval midpoints', () => {
    // Steps of 10, 20, 40 px every 10 ms: speeds 1, 2, 4 px/ms; accels 0.1, 0.2 px/ms²; jerk 0.01.
    const v = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(20, 30, 0), pm(30, 70, 0)]);
    expectFeatures(v, {
      speed_mean: 7 / 3,
      speed_std: Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 3),
      speed_p50: 2,
      speed_p90: 2 + 2 * 0.8, // position 0.9 × 2 = 1.8 between 2 and 4
      accel_mean_abs: 0.15,
      accel_std: 0.05,
      jerk_mean_abs: 0.01,
    });
  });

  it('measures turning angle, curvature and straightness', () => {
    // Right 10 px, then up 10 px, then right 10 px: two 90° turns over 10 px steps.
    const v = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(20, 10, 10), pm(30, 20, 10)]);
    expectFeatures(v, {
      angle_change_mean: Math.PI / 2,
      curvature_mean: Math.PI / 2 / 10,
      straightness: Math.hypot(20, 10) / 30,
    });
  });

  it('wraps turning angles to at most π', () => {
    // Direction +179° then −179°: the turn is 2°, not 358°.
    const a = (179 * Math.PI) / 180;
    const v = pointerFeatures([
      pm(0, 0, 0),
      pm(10, 10 * Math.cos(a), 10 * Math.sin(a)),
      pm(20, 10 * Math.cos(a) + 10 * Math.cos(-a), 10 * Math.sin(a) + 10 * Math.sin(-a)),
    ]);
    expect(named(v).angle_change_mean).toBeCloseTo((2 * Math.PI) / 180, 4);
  });

  it('splits movement segments at pauses longer than 100 ms and counts them', () => {
    // Segment 1: 0→20 px straight; pause of 500 ms; segment 2: an L of 10 + 10 px.
    const v = pointerFeatures([
      pm(0, 0, 0),
      pm(10, 10, 0),
      pm(20, 20, 0),
      pm(520, 100, 100),
      pm(530, 110, 100),
      pm(540, 110, 110),
    ]);
    expectFeatures(v, {
      pause_fraction: 1 / 5,
      straightness: (1 + Math.SQRT2 * 10 / 20) / 2,
      speed_mean: 1, // the pause interval carries no speed
      accel_mean_abs: 0, // nor acceleration across it
    });
  });

  it('does not treat exactly 100 ms as a pause', () => {
    expectFeatures(pointerFeatures([pm(0, 0, 0), pm(100, 10, 0)]), { pause_fraction: 0, speed_mean: 0.1 });
  });

  it('merges same-timestamp samples instead of dividing by zero', () => {
    // (10,0) and (20,0) share t = 10: one sample at (20,0); speeds 2 then 1.
    const v = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(10, 20, 0), pm(20, 30, 0)]);
    expectFeatures(v, { speed_mean: 1.5, speed_p50: 1.5, accel_mean_abs: 0.1 });
  });

  it('measures click hold, click count and drags', () => {
    const v = pointerFeatures([
      pm(0, 0, 0),
      pd(10, 0, 0),
      pm(20, 5, 0), // button down: drag
      pm(30, 10, 0, FLAG.drag),
      pu(130, 10, 0),
      pm(140, 20, 0),
      pd(150, 20, 0, 2),
      pu(190, 20, 0, 2),
      pu(200, 20, 0, 1), // pu without pd: ignored
    ]);
    expectFeatures(v, { click_hold_mean: (120 + 40) / 2, click_count: 2, drag_fraction: 2 / 4 });
  });

  it('clips click holds at 2000 ms', () => {
    expectFeatures(pointerFeatures([pd(0, 0, 0), pu(5000, 0, 0)]), { click_hold_mean: 2000, click_count: 1 });
  });

  it('counts wheel events per second of window span, with a 100 ms floor', () => {
    expectFeatures(pointerFeatures([pm(0, 0, 0), wh(100), wh(200), pm(1000, 10, 0)]), { wheel_rate: 2 });
    expectFeatures(pointerFeatures([pm(0, 0, 0), wh(5), pm(10, 1, 0)]), { wheel_rate: 10 });
  });

  it('ignores untrusted events and events with non-finite coordinates', () => {
    const clean = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(20, 20, 0)]);
    const noisy = pointerFeatures([
      pm(0, 0, 0),
      pm(5, 500, 500, FLAG.untrusted),
      { t: 6, k: 'pm', x: NaN, y: 3 },
      { t: 7, k: 'pm', y: 3 },
      pm(10, 10, 0),
      { t: 15, k: 'wh', f: FLAG.untrusted },
      pm(20, 20, 0),
    ]);
    expect(Array.from(noisy)).toEqual(Array.from(clean));
  });

  it('clips extreme speeds', () => {
    expectFeatures(pointerFeatures([pm(0, 0, 0), pm(1, 5000, 0)]), { speed_mean: 10 });
  });

  const hostile: [string, RawEvent[]][] = [
    ['empty', []],
    ['single event', [pm(0, 1, 1)]],
    ['identical timestamps', [pm(5, 0, 0), pm(5, 10, 10), pd(5, 10, 10), pu(5, 10, 10), pm(5, 3, 3)]],
    ['NaN coordinates', [pm(0, NaN, NaN), pm(10, NaN, 0), pm(20, 0, NaN)]],
    ['NaN and infinite times', [pm(NaN, 0, 0), pm(Infinity, 1, 1), wh(NaN)]],
    ['decreasing timestamps', [pm(100, 0, 0), pm(50, 10, 0), pm(0, 20, 0), pm(-50, 30, 0)]],
    ['huge coordinates', [pm(0, -1e308, -1e308), pm(10, 1e308, 1e308), pm(20, -1e308, 1e308)]],
    ['huge timestamps', [pm(1.7e308, 0, 0), pm(1.79e308, 10, 0), pm(-1.7e308, 20, 0)]],
    ['only wheel', [wh(0), wh(0), wh(0)]],
    ['pu without pd', [pu(0, 0, 0), pu(10, 0, 0)]],
    ['zero-length moves', [pm(0, 5, 5), pm(10, 5, 5), pm(20, 5, 5)]],
  ];
  it.each(hostile)('gives a finite vector of the right length for %s', (_, events) => {
    const v = pointerFeatures(events);
    expect(v).toHaveLength(POINTER_FEATURES.length);
    for (const [name, value] of Object.entries(named(v))) expect(Number.isFinite(value), name).toBe(true);
  });
});
