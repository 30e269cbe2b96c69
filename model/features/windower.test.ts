import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { POINTER_A, TYPIST_A, syntheticKeystrokes, syntheticPointer } from '../testing/synthetic';
import { keystrokeFeatures, pairKeyPresses } from './keystroke';
import { pointerFeatures } from './pointer';
import { FEATURE_SCHEMA_VERSION, KEYSTROKE_FEATURES, POINTER_FEATURES } from './schema';
import {
  DEFAULT_WINDOWER_CONFIG,
  type FeatureWindow,
  createWindower,
  resolveWindowerConfig,
} from './windower';

/** `n` presses: 80 ms holds, a key every 200 ms from `t0`, ids from `id0`. */
function typing(n: number, t0 = 0, id0 = 1): RawEvent[] {
  const out: RawEvent[] = [];
  for (let k = 0; k < n; k++) {
    out.push(
      { t: t0 + 200 * k, k: 'kd', c: 'letter', i: id0 + k },
      { t: t0 + 200 * k + 80, k: 'ku', c: 'letter', i: id0 + k },
    );
  }
  return out;
}

/** `n` pointer moves 10 ms apart from `t0`. */
function moving(n: number, t0 = 0): RawEvent[] {
  return Array.from({ length: n }, (_, j) => ({
    t: t0 + 10 * j,
    k: 'pm' as const,
    x: 3 * j,
    y: j,
  }));
}

describe('resolveWindowerConfig', () => {
  it('has the documented defaults', () => {
    expect(resolveWindowerConfig()).toEqual({
      keysPerWindow: 20,
      keyHop: 20,
      pointerEventsPerWindow: 64,
      maxPauseMs: 5000,
    });
    expect(DEFAULT_WINDOWER_CONFIG.keysPerWindow).toBe(20);
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ keysPerWindow: 1 }, /keysPerWindow must be an integer in \[2, 1000\], got 1$/],
    [{ keysPerWindow: 2.5 }, /got 2\.5/],
    [{ pointerEventsPerWindow: 3 }, /pointerEventsPerWindow .* got 3$/],
    [{ keyHop: 0 }, /keyHop must be an integer in \[1, 20\], got 0$/],
    [{ keysPerWindow: 10, keyHop: 11 }, /keyHop must be an integer in \[1, 10\], got 11$/],
    [{ maxPauseMs: 50 }, /maxPauseMs must be a number in \[100, 3600000\], got 50$/],
    [{ maxPauseMs: NaN }, /got NaN/],
    [{ maxPauseMs: '5000' }, /got "5000"/],
    [{ keyPerWindow: 20 }, /unknown option "keyPerWindow"/],
  ];
  it.each(bad)('rejects %j quoting the bad value', (config, message) => {
    expect(() => createWindower(config as never)).toThrow(message);
  });
});

describe('createWindower', () => {
  it('emits one keystroke window per keysPerWindow complete presses', () => {
    const w = createWindower({ keysPerWindow: 5 });
    const windows = w.push(typing(12));
    expect(windows.map((x) => [x.modality, x.count, x.start, x.end])).toEqual([
      ['keystroke', 5, 0, 880],
      ['keystroke', 5, 1000, 1880],
    ]);
    expect(windows[0]!.schema).toBe(FEATURE_SCHEMA_VERSION);
    expect(windows[0]!.vector).toHaveLength(KEYSTROKE_FEATURES.length);
    expect(w.pending().keystroke).toBe(2);
  });

  it('a hop left at its default follows keysPerWindow: no overlap unless asked for', () => {
    expect(resolveWindowerConfig({ keysPerWindow: 8 }).keyHop).toBe(8);
  });

  it('with keyHop < keysPerWindow, emits a full-size window every keyHop presses', () => {
    const windows = createWindower({ keysPerWindow: 5, keyHop: 2 }).push(typing(12));
    // Presses 1–5, 3–7, 5–9, 7–11: each window starts keyHop presses after the previous one.
    expect(windows.map((x) => [x.count, x.start, x.end])).toEqual([
      [5, 0, 880],
      [5, 400, 1280],
      [5, 800, 1680],
      [5, 1200, 2080],
    ]);
    const plain = createWindower({ keysPerWindow: 5 }).push(typing(12));
    // The first window, and every window whose presses no earlier window holds, is the same.
    expect(windows[0]).toEqual(plain[0]);
  });

  it('gives the same windows whatever the batch boundaries', () => {
    const events = [
      ...syntheticKeystrokes(TYPIST_A, 65, { seed: 3 }),
      ...syntheticPointer(POINTER_A, 200, { seed: 4, startMs: 30_000 }),
    ];
    const once = createWindower().push(events);
    const w = createWindower();
    const pieces: FeatureWindow[] = [];
    for (let i = 0; i < events.length; i += 7) pieces.push(...w.push(events.slice(i, i + 7)));
    expect(once.length).toBe(6); // 3 keystroke (60 of 65 presses) + 3 pointer (192 of 200 events)
    expect(pieces).toEqual(once);
  });

  it('uses the same feature functions as the pure API (one implementation)', () => {
    const events = syntheticKeystrokes(TYPIST_A, 20, { seed: 9 });
    const [win] = createWindower().push(events);
    expect(Array.from(win!.vector)).toEqual(Array.from(keystrokeFeatures(pairKeyPresses(events))));

    const moves = syntheticPointer(POINTER_A, 64, { seed: 9 });
    const [pwin] = createWindower().push(moves);
    expect(Array.from(pwin!.vector)).toEqual(Array.from(pointerFeatures(moves)));
  });

  it('orders roll-over presses by key down, pairing by press id', () => {
    const w = createWindower({ keysPerWindow: 2 });
    const [win] = w.push([
      { t: 0, k: 'kd', c: 'letter', i: 7 },
      { t: 50, k: 'kd', c: 'space', i: 8 },
      { t: 90, k: 'ku', c: 'space', i: 8 },
      { t: 120, k: 'ku', c: 'letter', i: 7 },
    ]);
    expect(Array.from(win!.vector)).toEqual(
      Array.from(
        keystrokeFeatures([
          { down: 0, up: 120, c: 'letter' },
          { down: 50, up: 90, c: 'space' },
        ]),
      ),
    );
    expect([win!.start, win!.end]).toEqual([0, 120]);
  });

  it('ignores flagged key events entirely', () => {
    const clean = createWindower({ keysPerWindow: 3 }).push(typing(3));
    const noisy: RawEvent[] = [];
    for (const e of typing(3)) {
      noisy.push(e);
      noisy.push({ ...e, i: (e.i ?? 0) + 100, f: FLAG.untrusted });
      if (e.k === 'kd') noisy.push({ ...e, t: e.t + 30, f: FLAG.repeat });
    }
    noisy.push(
      { t: 10, k: 'kd', c: 'other', i: 500, f: FLAG.composing },
      { t: 20, k: 'ku', c: 'other', i: 500 },
    );
    noisy.sort((a, b) => a.t - b.t);
    expect(createWindower({ keysPerWindow: 3 }).push(noisy)).toEqual(clean);
  });

  it('discards a partial keystroke window after a silence longer than maxPauseMs', () => {
    const w = createWindower({ keysPerWindow: 5, maxPauseMs: 1000 });
    expect(w.push(typing(4))).toEqual([]);
    // 1.1 s after the last key up: the 4 pending presses are dropped, a new window starts.
    const windows = w.push(typing(5, 600 + 80 + 1100, 10));
    expect(windows).toHaveLength(1);
    expect(windows[0]!.start).toBe(1780);
  });

  it('keeps a partial window across a silence of exactly maxPauseMs', () => {
    const w = createWindower({ keysPerWindow: 5, maxPauseMs: 1000 });
    w.push(typing(4));
    const windows = w.push(typing(1, 680 + 1000, 10));
    expect(windows.map((x) => x.start)).toEqual([0]);
  });

  it('discards the keystroke window when a key stays down longer than maxPauseMs', () => {
    const w = createWindower({ keysPerWindow: 3, maxPauseMs: 1000 });
    const events: RawEvent[] = [
      { t: 0, k: 'kd', c: 'modifier', i: 1 }, // never released in time
      ...typing(3, 100, 2).map((e) => ({ ...e })),
      ...typing(3, 1200, 10),
    ];
    events.sort((a, b) => a.t - b.t);
    const windows = w.push(events);
    expect(windows.map((x) => x.start)).toEqual([1200]);
  });

  it('starts afresh when timestamps jump back (a new page timeline)', () => {
    const w = createWindower({ keysPerWindow: 4 });
    w.push(typing(3, 10_000));
    const windows = w.push(typing(4, 0, 50));
    expect(windows.map((x) => [x.start, x.count])).toEqual([[0, 4]]);
  });

  it('tolerates small timestamp regressions', () => {
    const w = createWindower({ pointerEventsPerWindow: 4 });
    const windows = w.push([...moving(2, 100), { t: 95, k: 'pm', x: 9, y: 9 }, ...moving(1, 120)]);
    expect(windows).toHaveLength(1);
  });

  it('emits pointer windows of pm/pd/pu events; wheel events ride along uncounted', () => {
    const w = createWindower({ pointerEventsPerWindow: 4 });
    const events: RawEvent[] = [
      ...moving(2),
      { t: 15, k: 'wh', dx: 0, dy: 100 },
      { t: 20, k: 'pd', x: 6, y: 2, b: 0 },
      { t: 30, k: 'pu', x: 6, y: 2, b: 0 },
      ...moving(3, 40),
    ];
    const windows = w.push(events);
    expect(windows.map((x) => [x.modality, x.count, x.start, x.end])).toEqual([
      ['pointer', 4, 0, 30],
    ]);
    expect(windows[0]!.vector).toHaveLength(POINTER_FEATURES.length);
    expect(
      windows[0]!.vector[POINTER_FEATURES.findIndex((f) => f.name === 'wheel_rate')],
    ).toBeCloseTo(10, 4);
    expect(w.pending().pointer).toBe(3);
  });

  it('does not count untrusted or NaN pointer events', () => {
    const w = createWindower({ pointerEventsPerWindow: 4 });
    const windows = w.push([
      ...moving(3),
      { t: 35, k: 'pm', x: NaN, y: 0 },
      { t: 36, k: 'pm', x: 1, y: 0, f: FLAG.untrusted },
      { t: 37, k: 'pd', y: 0 },
    ]);
    expect(windows).toEqual([]);
    expect(w.pending().pointer).toBe(3);
  });

  it('discards a partial pointer window after a silence longer than maxPauseMs', () => {
    const w = createWindower({ pointerEventsPerWindow: 4, maxPauseMs: 500 });
    w.push(moving(3));
    const windows = w.push(moving(4, 1000));
    expect(windows.map((x) => x.start)).toEqual([1000]);
  });

  it('keeps keystroke and pointer state apart', () => {
    const w = createWindower({ keysPerWindow: 3, pointerEventsPerWindow: 4, maxPauseMs: 500 });
    // Typing continues while the pointer is idle for 2 s: only the pointer window is discarded.
    const events = [...typing(3, 0), ...moving(2, 0), ...moving(4, 2000)].sort((a, b) => a.t - b.t);
    const windows = w.push(events);
    expect(windows.map((x) => [x.modality, x.start])).toEqual([
      ['keystroke', 0],
      ['pointer', 2000],
    ]);
  });

  it('reset() drops all pending state', () => {
    const w = createWindower({ keysPerWindow: 3, pointerEventsPerWindow: 4 });
    w.push([...typing(2), ...moving(3)]);
    w.reset();
    expect(w.pending()).toEqual({ keystroke: 0, pointer: 0 });
    expect(w.push([{ t: 500, k: 'ku', c: 'letter', i: 2 }, ...moving(1, 500)])).toEqual([]);
  });

  describe('v2 event kinds', () => {
    it('br discards the pending partial windows of both modalities', () => {
      const w = createWindower({ keysPerWindow: 5, pointerEventsPerWindow: 4 });
      expect(w.push([...typing(4), ...moving(3, 0)].sort((a, b) => a.t - b.t))).toEqual([]);
      expect(w.push([{ t: 700, k: 'br' }])).toEqual([]);
      expect(w.pending()).toEqual({ keystroke: 0, pointer: 0 });
      // Back 300 ms later (not a long pause): the windows start afresh from the new events.
      const windows = w.push(
        [...typing(5, 1000, 10), ...moving(4, 1000)].sort((a, b) => a.t - b.t),
      );
      expect(windows.map((x) => [x.modality, x.start])).toEqual([
        ['pointer', 1000],
        ['keystroke', 1000],
      ]);
    });

    it('br forgets a key held across it: its late ku is ignored', () => {
      const w = createWindower({ keysPerWindow: 2 });
      const windows = w.push([
        { t: 0, k: 'kd', c: 'letter', i: 1 },
        { t: 50, k: 'br' },
        { t: 900, k: 'ku', c: 'letter', i: 1 },
        ...typing(2, 1000, 5),
      ]);
      expect(windows.map((x) => [x.start, x.end])).toEqual([[1000, 1280]]);
    });

    it('lets an untrusted ku cancel its open press instead of leaving it stuck', () => {
      // A page script's synthetic keyup consumes the press id in the content script, so the
      // real ku never comes: waiting for it would discard the whole window as a stuck key.
      const w = createWindower({ keysPerWindow: 3, maxPauseMs: 1000 });
      const windows = w.push([
        { t: 0, k: 'kd', c: 'letter', i: 1 },
        { t: 40, k: 'ku', c: 'letter', i: 1, f: FLAG.untrusted },
        ...typing(3, 200, 2),
        ...typing(1, 800, 9),
      ]);
      expect(windows.map((x) => [x.start, x.count])).toEqual([[200, 3]]);
    });

    it('ignores an untrusted br', () => {
      const w = createWindower({ keysPerWindow: 5 });
      w.push(typing(4));
      w.push([{ t: 700, k: 'br', f: FLAG.untrusted }]);
      expect(w.pending().keystroke).toBe(4);
      expect(w.push(typing(1, 800, 10)).map((x) => x.start)).toEqual([0]);
    });

    it('fc keeps the window but keeps the flight across it out of the statistics', () => {
      // Two presses, a click into another field 600 ms later, two more presses.
      const events: RawEvent[] = [...typing(2), { t: 500, k: 'fc' }, ...typing(2, 1000, 10)];
      const [win] = createWindower({ keysPerWindow: 4 }).push(events);
      expect([win!.start, win!.count]).toEqual([0, 4]);
      const presses = [
        { down: 0, up: 80, c: 'letter' as const },
        { down: 200, up: 280, c: 'letter' as const },
        { down: 1000, up: 1080, c: 'letter' as const, focusBreak: true },
        { down: 1200, up: 1280, c: 'letter' as const },
      ];
      expect(Array.from(win!.vector)).toEqual(Array.from(keystrokeFeatures(presses)));
      const named = Object.fromEntries(KEYSTROKE_FEATURES.map((f, j) => [f.name, win!.vector[j]!]));
      expect(named.dd_mean).toBe(200); // not (200 + 800 + 200) / 3
      expect(named.pause_fraction).toBe(0); // the 720 ms across the focus change is no pause either
    });

    it('an fc does not move the key clock and an untrusted fc is ignored', () => {
      const w = createWindower({ keysPerWindow: 4, maxPauseMs: 1000 });
      // fc at 5000 does not refresh the clock: the key at 5100 comes 4.8 s after the last key.
      expect(w.push([...typing(2), { t: 5000, k: 'fc' }, ...typing(2, 5100, 10)])).toEqual([]);
      expect(w.pending().keystroke).toBe(2);
      const [win] = createWindower({ keysPerWindow: 4 }).push([
        ...typing(2),
        { t: 500, k: 'fc', f: FLAG.untrusted },
        ...typing(2, 1000, 10),
      ]);
      const [plain] = createWindower({ keysPerWindow: 4 }).push([
        ...typing(2),
        ...typing(2, 1000, 10),
      ]);
      expect(Array.from(win!.vector)).toEqual(Array.from(plain!.vector));
    });

    it('in, paste and autofill never form windows, and are counted as a side note', () => {
      const text: RawEvent[] = [
        { t: 10, k: 'in', n: 5, f: FLAG.paste },
        { t: 20, k: 'in', n: 1, f: FLAG.composing },
        { t: 30, k: 'in', n: -3 },
        { t: 40, k: 'in', n: 12, f: FLAG.autofill },
        { t: 45, k: 'in', n: 2, f: FLAG.untrusted }, // not counted
        { t: 50, k: 'kd', c: 'modifier', i: 90, f: FLAG.paste }, // counted once, on its kd
        { t: 60, k: 'ku', c: 'modifier', i: 90, f: FLAG.paste },
        { t: 70, k: 'kd', c: 'other', i: 91, f: FLAG.autofill },
        { t: 75, k: 'ku', c: 'other', i: 91 },
      ];
      const only = createWindower({ keysPerWindow: 2 });
      expect(
        only.push([
          ...text,
          ...text.map((e) => ({ ...e, t: e.t + 100, i: e.i === undefined ? undefined : e.i + 10 })),
        ]),
      ).toEqual([]);
      expect(only.pending()).toEqual({ keystroke: 0, pointer: 0 });

      const clean = createWindower({ keysPerWindow: 3 }).push(typing(6, 1000));
      const mixed = createWindower({ keysPerWindow: 3 }).push([...text, ...typing(6, 1000)]);
      expect(mixed.map((x) => Array.from(x.vector))).toEqual(
        clean.map((x) => Array.from(x.vector)),
      );
      expect(mixed.map((x) => x.textInputs)).toEqual([6, 0]);
      expect(clean.map((x) => x.textInputs)).toEqual([0, 0]);
    });

    it('starts the text-input count afresh after a br or reset(), not after a long pause', () => {
      const w = createWindower({ keysPerWindow: 2, maxPauseMs: 1000 });
      w.push([
        { t: 0, k: 'in', n: 4 },
        { t: 10, k: 'br' },
        { t: 20, k: 'in', n: 1 },
      ]);
      expect(w.push(typing(2, 100)).map((x) => x.textInputs)).toEqual([1]);
      // One key, a paste during a 5 s silence, then typing: the partial window is discarded,
      // the paste is counted in the next window.
      w.push(typing(1, 1000, 10));
      w.push([{ t: 3000, k: 'in', n: 12, f: FLAG.paste }]);
      expect(w.push(typing(2, 6000, 20)).map((x) => [x.start, x.textInputs])).toEqual([[6000, 1]]);
      w.push([{ t: 7000, k: 'in', n: 1 }]);
      w.reset();
      expect(w.push(typing(2, 8000, 30)).map((x) => x.textInputs)).toEqual([0]);
    });

    it('gives pointer windows textInputs 0', () => {
      const [win] = createWindower({ pointerEventsPerWindow: 4 }).push([
        { t: 0, k: 'in', n: 1 },
        ...moving(4, 10),
      ]);
      expect(win!.textInputs).toBe(0);
    });
  });

  it('ignores unknown event kinds and empty batches', () => {
    const w = createWindower();
    expect(w.push([])).toEqual([]);
    expect(w.push([{ t: 1, k: 'zz' as never }])).toEqual([]);
    expect(w.pending()).toEqual({ keystroke: 0, pointer: 0 });
  });
});
