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

const pm = (t: number, x: number, y: number, f?: number): RawEvent => ({
  t,
  k: 'pm',
  x,
  y,
  ...(f ? { f } : {}),
});
const pd = (t: number, x: number, y: number, b = 0): RawEvent => ({ t, k: 'pd', x, y, b });
const pu = (t: number, x: number, y: number, b = 0): RawEvent => ({ t, k: 'pu', x, y, b });
const wh = (t: number, dy = 100, dx = 0): RawEvent => ({ t, k: 'wh', dx, dy });

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
      click_interval_mean: 0,
      click_interval_std: 0,
      wheel_speed: 0,
      wheel_interval_mean: 0,
      precision_index: 1, // no click: the window's straightness
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
      straightness: (1 + (Math.SQRT2 * 10) / 20) / 2,
      speed_mean: 1, // the pause interval carries no speed
      accel_mean_abs: 0, // nor acceleration across it
    });
  });

  it('does not treat exactly 100 ms as a pause', () => {
    expectFeatures(pointerFeatures([pm(0, 0, 0), pm(100, 10, 0)]), {
      pause_fraction: 0,
      speed_mean: 0.1,
    });
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
    expectFeatures(pointerFeatures([pd(0, 0, 0), pu(5000, 0, 0)]), {
      click_hold_mean: 2000,
      click_count: 1,
    });
  });

  it('counts wheel events per second of window span, with a 100 ms floor', () => {
    expectFeatures(pointerFeatures([pm(0, 0, 0), wh(100), wh(200), pm(1000, 10, 0)]), {
      wheel_rate: 2,
    });
    expectFeatures(pointerFeatures([pm(0, 0, 0), wh(5), pm(10, 1, 0)]), { wheel_rate: 10 });
  });

  it('measures the click rhythm over pd events of any button', () => {
    // Clicks at 0, 300 (right button) and 1000: intervals 300 and 700.
    const v = pointerFeatures([
      pd(0, 0, 0),
      pu(50, 0, 0),
      pd(300, 0, 0, 2),
      pu(340, 0, 0, 2),
      pm(600, 5, 0),
      pd(1000, 5, 0),
      pu(1080, 5, 0),
    ]);
    expectFeatures(v, { click_count: 3, click_interval_mean: 500, click_interval_std: 200 });
    expectFeatures(pointerFeatures([pd(0, 0, 0), pd(8000, 0, 0)]), {
      click_interval_mean: 5000,
      click_interval_std: 0,
    });
    expectFeatures(pointerFeatures([pm(0, 0, 0), pd(10, 0, 0)]), { click_interval_mean: 0 });
  });

  it('measures scroll speed and the rhythm within scroll gestures', () => {
    // Span 0 → 2500 ms; |deltas| 100, 50 (3-4-5), 100, 100: 350 px; intervals 30, 30, and a
    // 1840 ms gap between gestures that is left out.
    const v = pointerFeatures([
      pm(0, 0, 0),
      wh(100),
      wh(130, 40, 30),
      wh(160, -100),
      wh(2000),
      pm(2500, 10, 0),
    ]);
    expectFeatures(v, { wheel_rate: 4 / 2.5, wheel_speed: 350 / 2.5, wheel_interval_mean: 30 });
  });

  it('counts a non-finite wheel delta as 0 and clips a huge one', () => {
    const v = pointerFeatures([pm(0, 0, 0), wh(10, NaN), wh(20, 1e308, 1e308), pm(1000, 1, 0)]);
    expectFeatures(v, { wheel_speed: 2000, wheel_interval_mean: 10 });
  });

  describe('precision_index', () => {
    it('is 1 for a straight approach, skipping the dwell before the press', () => {
      // Right 30 px in 30 ms, rest 170 ms, press where the pointer rests.
      const v = pointerFeatures([
        pm(0, 0, 0),
        pm(10, 10, 0),
        pm(20, 20, 0),
        pm(30, 30, 0),
        pd(200, 30, 0),
        pu(260, 30, 0),
      ]);
      expectFeatures(v, { precision_index: 1 });
    });

    it('is chord / path of the movement since the last pause', () => {
      // (100,100) then a 500 ms pause; the approach is (0,0) → (30,0) → (30,40): 50 / 70.
      const v = pointerFeatures([
        pm(0, 100, 100),
        pm(500, 0, 0),
        pm(510, 30, 0),
        pm(520, 30, 40),
        pd(600, 30, 40),
      ]);
      expectFeatures(v, { precision_index: 50 / 70 });
    });

    it('looks at most 1 s back from the press', () => {
      // Up 50 px every 100 ms (0 → 1000 ms), then right 100 px every 100 ms to (300,500) at
      // 1300; press at 1301. Samples from 301 ms on: (0,200)@400 … (300,500): path 300 + 300.
      const up = Array.from({ length: 11 }, (_, k) => pm(100 * k, 0, 50 * k));
      const right = [1, 2, 3].map((k) => pm(1000 + 100 * k, 100 * k, 500));
      const v = pointerFeatures([...up, ...right, pd(1301, 300, 500)]);
      expectFeatures(v, { precision_index: Math.hypot(300, 300) / 600 });
    });

    it('averages over clicks', () => {
      const v = pointerFeatures([
        pm(0, 0, 0),
        pm(10, 30, 0),
        pd(20, 30, 0), // straight: 1
        pu(80, 30, 0),
        pm(400, 30, 0),
        pm(410, 60, 0),
        pm(420, 60, 40),
        pd(430, 60, 40), // L: 50 / 70
        pu(500, 60, 40),
      ]);
      expectFeatures(v, { click_count: 2, precision_index: (1 + 50 / 70) / 2 });
    });

    it('falls back to straightness when no click has an approach of 5 px', () => {
      // An L (straightness √200 / 20), then a press after a pause at another place (a jump).
      const events = [pm(0, 0, 0), pm(10, 10, 0), pm(20, 10, 10)];
      const fallback = Math.sqrt(200) / 20;
      expectFeatures(pointerFeatures([...events, pd(300, 50, 50)]), {
        straightness: fallback,
        precision_index: fallback,
      });
      expectFeatures(pointerFeatures(events), { precision_index: fallback });
      // A 3 px approach is too short to say anything (and too short a segment for straightness).
      expectFeatures(pointerFeatures([...events, pm(400, 0, 0), pm(410, 3, 0), pd(420, 3, 0)]), {
        straightness: fallback,
        precision_index: fallback,
      });
    });
  });

  it('ignores paste- and autofill-flagged pointer events', () => {
    const clean = pointerFeatures([pm(0, 0, 0), pm(10, 10, 0), pm(20, 20, 0)]);
    const noisy = pointerFeatures([
      pm(0, 0, 0),
      pm(5, 500, 500, FLAG.paste),
      pm(10, 10, 0),
      { t: 12, k: 'pd', x: 10, y: 0, b: 0, f: FLAG.autofill },
      { t: 15, k: 'wh', dy: 100, f: FLAG.paste },
      pm(20, 20, 0),
    ]);
    expect(Array.from(noisy)).toEqual(Array.from(clean));
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
    [
      'identical timestamps',
      [pm(5, 0, 0), pm(5, 10, 10), pd(5, 10, 10), pu(5, 10, 10), pm(5, 3, 3)],
    ],
    ['NaN coordinates', [pm(0, NaN, NaN), pm(10, NaN, 0), pm(20, 0, NaN)]],
    ['NaN and infinite times', [pm(NaN, 0, 0), pm(Infinity, 1, 1), wh(NaN)]],
    ['decreasing timestamps', [pm(100, 0, 0), pm(50, 10, 0), pm(0, 20, 0), pm(-50, 30, 0)]],
    ['huge coordinates', [pm(0, -1e308, -1e308), pm(10, 1e308, 1e308), pm(20, -1e308, 1e308)]],
    ['huge timestamps', [pm(1.7e308, 0, 0), pm(1.79e308, 10, 0), pm(-1.7e308, 20, 0)]],
    ['only wheel', [wh(0), wh(0), wh(0)]],
    ['hostile wheel deltas', [wh(0, NaN, Infinity), wh(-1e308, 1e308, -1e308), { t: 5, k: 'wh' }]],
    [
      'clicks at identical and decreasing times',
      [pd(5, 0, 0), pd(5, 0, 0), pd(-1e308, 1, 1), pd(1e308, 2, 2)],
    ],
    ['pu without pd', [pu(0, 0, 0), pu(10, 0, 0)]],
    ['zero-length moves', [pm(0, 5, 5), pm(10, 5, 5), pm(20, 5, 5)]],
  ];
  it.each(hostile)('gives a finite vector of the right length for %s', (_, events) => {
    const v = pointerFeatures(events);
    expect(v).toHaveLength(POINTER_FEATURES.length);
    for (const [name, value] of Object.entries(named(v)))
      expect(Number.isFinite(value), name).toBe(true);
  });
});
