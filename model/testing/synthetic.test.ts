import { describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { pointerFeatures } from '../features/pointer';
import { FEATURE_NAMES } from '../features/schema';
import { POINTER_A, TYPIST_A, syntheticKeystrokes, syntheticPointer } from './synthetic';

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('syntheticKeystrokes', () => {
  const events = syntheticKeystrokes(TYPIST_A, 2000, { seed: 1 });
  const presses = pairKeyPresses(events);

  it('emits a time-ordered kd/ku pair per press with consecutive press ids', () => {
    expect(events).toHaveLength(4000);
    for (let j = 1; j < events.length; j++)
      expect(events[j]!.t).toBeGreaterThanOrEqual(events[j - 1]!.t);
    expect(presses).toHaveLength(2000);
    expect(new Set(events.map((e) => e.i))).toEqual(
      new Set(Array.from({ length: 2000 }, (_, k) => k + 1)),
    );
  });

  it('has the profile’s mean letter hold and up-down flight (±15 % jitter averages out)', () => {
    const letters = presses.filter((p) => p.c === 'letter').map((p) => p.up - p.down);
    expect(mean(letters)).toBeGreaterThan(97);
    expect(mean(letters)).toBeLessThan(103);
    expect(Math.min(...letters)).toBeGreaterThanOrEqual(84.9);
    expect(Math.max(...letters)).toBeLessThanOrEqual(115.1);
    const flights = presses
      .slice(1)
      .map((p, k) => p.down - presses[k]!.up)
      .filter((f) => f > 0 && f < 500);
    expect(mean(flights)).toBeGreaterThan(114);
    expect(mean(flights)).toBeLessThan(126);
  });

  it('produces roll-over at about the configured rate', () => {
    const rollovers =
      presses.slice(1).filter((p, k) => p.down < presses[k]!.up).length / (presses.length - 1);
    expect(rollovers).toBeGreaterThan(0.07);
    expect(rollovers).toBeLessThan(0.13);
    expect(
      pairKeyPresses(syntheticKeystrokes({ ...TYPIST_A, rolloverRate: 0 }, 200, { seed: 2 })).every(
        (p, k, all) => k === 0 || p.down >= all[k - 1]!.up,
      ),
    ).toBe(true);
  });

  it('is deterministic per seed and continues press ids', () => {
    expect(syntheticKeystrokes(TYPIST_A, 50, { seed: 7 })).toEqual(
      syntheticKeystrokes(TYPIST_A, 50, { seed: 7 }),
    );
    expect(syntheticKeystrokes(TYPIST_A, 50, { seed: 7 })).not.toEqual(
      syntheticKeystrokes(TYPIST_A, 50, { seed: 8 }),
    );
    expect(
      syntheticKeystrokes(TYPIST_A, 3, { seed: 7, firstId: 100, startMs: 5000 })[0],
    ).toMatchObject({ i: 100, t: 5000, k: 'kd' });
  });
});

describe('syntheticPointer', () => {
  it('emits exactly the requested number of pm/pd/pu events, in time order', () => {
    const events = syntheticPointer(POINTER_A, 640, { seed: 1 });
    expect(events.filter((e) => e.k !== 'wh')).toHaveLength(640);
    expect(events.some((e) => e.k === 'pd')).toBe(true);
    for (let j = 1; j < events.length; j++) {
      if (events[j]!.k !== 'wh' && events[j - 1]!.k !== 'wh')
        expect(events[j]!.t).toBeGreaterThanOrEqual(events[j - 1]!.t);
    }
  });

  it('moves at about the profile’s speed, and curves more with more curvature', () => {
    const speedIndex = FEATURE_NAMES.pointer.indexOf('speed_mean');
    const turnIndex = FEATURE_NAMES.pointer.indexOf('angle_change_mean');
    const v = pointerFeatures(syntheticPointer(POINTER_A, 4000, { seed: 3 }));
    // Path speed exceeds chord speed a little (the bow), never by much at curvature 0.15.
    expect(v[speedIndex]).toBeGreaterThan(0.95);
    expect(v[speedIndex]).toBeLessThan(1.2);
    const fast = pointerFeatures(
      syntheticPointer({ ...POINTER_A, speedPxPerMs: 2 }, 4000, { seed: 3 }),
    );
    expect(fast[speedIndex]! / v[speedIndex]!).toBeGreaterThan(1.8);
    const curvy = pointerFeatures(
      syntheticPointer({ ...POINTER_A, curvature: 0.45 }, 4000, { seed: 3 }),
    );
    expect(curvy[turnIndex]!).toBeGreaterThan(1.5 * v[turnIndex]!);
  });

  it('is deterministic per seed', () => {
    expect(syntheticPointer(POINTER_A, 100, { seed: 5 })).toEqual(
      syntheticPointer(POINTER_A, 100, { seed: 5 }),
    );
  });
});
