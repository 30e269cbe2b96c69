import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { pairKeyPresses } from './keystroke';
import {
  KEY_STEP_FEATURES,
  POINTER_STEP_FEATURES,
  compress,
  keystrokeSteps,
  pointerSteps,
} from './sequence';
import { createWindower } from './windower';

const row = (steps: Float32Array, width: number, k: number): number[] =>
  Array.from(steps.subarray(k * width, (k + 1) * width));

describe('keystrokeSteps', () => {
  it('gives hold, dd, ud, uu (log-compressed), start and the class one-hot per press', () => {
    const { steps, n } = keystrokeSteps([
      { down: 1000, up: 1100, c: 'letter' },
      { down: 1150, up: 1230, c: 'space' },
      { down: 1200, up: 1300, c: 'letter', focusBreak: true },
    ]);
    const w = KEY_STEP_FEATURES.length;
    expect(n).toBe(3);
    expect(w).toBe(14);
    const r0 = row(steps, w, 0);
    expect(r0[0]).toBeCloseTo(Math.log1p(1), 6); // 100 ms hold
    expect(r0.slice(1, 5)).toEqual([0, 0, 0, 1]); // first press: a start, no flights
    expect(r0[5]).toBe(1); // letter
    const r1 = row(steps, w, 1);
    expect(r1[0]).toBeCloseTo(Math.log1p(0.8), 6);
    expect(r1[1]).toBeCloseTo(compress(150), 6);
    expect(r1[2]).toBeCloseTo(compress(50), 6);
    expect(r1[3]).toBeCloseTo(compress(130), 6);
    expect(r1[4]).toBe(0);
    expect(r1[5 + 2]).toBe(1); // space
    const r2 = row(steps, w, 2);
    expect(r2.slice(1, 5)).toEqual([0, 0, 0, 1]); // focus break: flights dropped, a start
    expect(compress(-50)).toBeCloseTo(-Math.log1p(0.5), 6);
  });

  it('is always finite and drops presses with non-finite times', () => {
    const { steps, n } = keystrokeSteps([
      { down: Number.NaN, up: 1, c: 'letter' },
      { down: 0, up: 1e308, c: 'digit' },
      { down: 5, up: 3, c: 'other' },
    ]);
    expect(n).toBe(2);
    expect(Array.from(steps).every(Number.isFinite)).toBe(true);
  });
});

describe('pointerSteps', () => {
  it('merges samples closer than 1 ms, marks pauses, presses, releases and drags', () => {
    const events: RawEvent[] = [
      { t: 0, k: 'pm', x: 0, y: 0 },
      { t: 10, k: 'pm', x: 30, y: 40 },
      { t: 10.5, k: 'pd', x: 30, y: 40, b: 0 },
      { t: 20, k: 'pm', x: 40, y: 40, f: FLAG.drag },
      { t: 300, k: 'pu', x: 40, y: 40, b: 0 },
      { t: 301, k: 'wh', dx: 0, dy: 100 },
      { t: 302, k: 'pm', x: Number.NaN, y: 0 },
    ];
    const { steps, n } = pointerSteps(events);
    const w = POINTER_STEP_FEATURES.length;
    expect(n).toBe(4);
    expect(row(steps, w, 0)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    const r1 = row(steps, w, 1);
    expect(r1[0]).toBeCloseTo(0.3, 6);
    expect(r1[1]).toBeCloseTo(0.4, 6);
    expect(r1[2]).toBeCloseTo(0.01, 6);
    expect(r1[3]).toBeCloseTo(Math.log1p(5), 5); // 50 px in 10 ms
    expect(r1[4]).toBe(1); // the merged pd
    expect(row(steps, w, 2)[6]).toBe(1); // drag
    const r3 = row(steps, w, 3);
    expect(r3[3]).toBe(0); // 280 ms: a pause, no speed
    expect(r3[5]).toBe(1);
    expect(r3[7]).toBe(1);
  });
});

describe('windower steps', () => {
  it('carry exactly the presses behind the window vector', () => {
    const events: RawEvent[] = [];
    for (let k = 0; k < 4; k++)
      events.push(
        { t: 1000 + 200 * k, k: 'kd', c: 'letter', i: k + 1 },
        { t: 1090 + 200 * k, k: 'ku', c: 'letter', i: k + 1 },
      );
    const [window] = createWindower({ keysPerWindow: 4 }).push(events);
    expect(window!.stepCount).toBe(4);
    expect(window!.steps).toEqual(keystrokeSteps(pairKeyPresses(events)).steps);
  });
});
