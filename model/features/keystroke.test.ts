import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { type KeyPress, KeyPairer, keystrokeFeatures, pairKeyPresses } from './keystroke';
import { FEATURE_NAMES, KEYSTROKE_FEATURES } from './schema';

/** The vector as {name: value}, so assertions read like the feature table. */
function named(v: Float32Array): Record<string, number> {
  return Object.fromEntries(FEATURE_NAMES.keystroke.map((n, j) => [n, v[j]!]));
}

function expectFeatures(v: Float32Array, expected: Record<string, number>): void {
  const got = named(v);
  for (const [name, value] of Object.entries(expected)) {
    expect(name in got, name).toBe(true);
    expect(got[name], name).toBeCloseTo(value, 3);
  }
}

const press = (down: number, up: number, c: KeyPress['c'] = 'letter'): KeyPress => ({
  down,
  up,
  c,
});
const kd = (t: number, i: number, c: RawEvent['c'] = 'letter', f?: number): RawEvent => ({
  t,
  k: 'kd',
  c,
  i,
  ...(f ? { f } : {}),
});
const ku = (t: number, i: number, c: RawEvent['c'] = 'letter', f?: number): RawEvent => ({
  t,
  k: 'ku',
  c,
  i,
  ...(f ? { f } : {}),
});

describe('keystrokeFeatures', () => {
  it('computes every v1 feature for two presses', () => {
    // letter 0→100, space 150→230: hold 100 and 80; dd 150, ud 50, uu 130, du 230.
    const v = keystrokeFeatures([press(0, 100), press(150, 230, 'space')]);
    expect(v).toHaveLength(KEYSTROKE_FEATURES.length);
    expectFeatures(v, {
      hold_mean: 90,
      hold_std: 10,
      hold_median: 90,
      hold_letter_mean: 100,
      hold_space_mean: 80,
      hold_other_mean: 90, // no other key: falls back to hold_mean
      dd_mean: 150,
      dd_std: 0,
      dd_median: 150,
      ud_mean: 50,
      ud_std: 0,
      ud_median: 50,
      uu_mean: 130,
      uu_std: 0,
      du_mean: 230,
      du_std: 0,
      typing_rate: 2000 / (150 + 80), // n·1000 / (Σdd + last hold)
      backspace_fraction: 0,
      rollover_fraction: 0,
      pause_fraction: 0,
      dd_letter_letter_mean: 150, // no letter→letter pair: falls back to dd_mean
      dd_letter_space_mean: 150,
      dd_space_letter_mean: 150, // fallback
      trigraph_letter_mean: 300, // fallback: 2 × dd_mean
    });
  });

  it('computes class digraphs, letter trigraphs and bursts', () => {
    // A–F one burst, a 1220 ms up-down pause, then G–I a second burst.
    const v = keystrokeFeatures([
      press(0, 80), //               A
      press(100, 170), //            B   dd 100 letter→letter
      press(250, 330), //            C   dd 150 letter→letter; A→C trigraph 250
      press(400, 500, 'space'), //   D   dd 150 letter→space
      press(560, 640), //            E   dd 160 space→letter
      press(700, 780), //            F   dd 140 letter→letter (D-E-F starts with a space)
      press(2000, 2080), //          G   ud 1220: a pause (dd 1300 clipped only for the rate)
      press(2150, 2230), //          H   dd 150 letter→letter (F-G-H crosses the pause)
      press(2300, 2380), //          I   dd 150 letter→letter; G→I trigraph 300
    ]);
    expectFeatures(v, {
      dd_mean: 1000 / 7, // 100 + 150 + 150 + 160 + 140 + 150 + 150
      dd_letter_letter_mean: (100 + 150 + 140 + 150 + 150) / 5,
      dd_letter_space_mean: 150,
      dd_space_letter_mean: 160,
      trigraph_letter_mean: (250 + 300) / 2,
      pause_fraction: 1 / 8,
      typing_rate: 9000 / (1000 + 1300 + 80),
    });
  });

  it('falls back to the window rhythm when no letter digraph is present', () => {
    // Digits only (a PIN): dd 200 and 300.
    const v = keystrokeFeatures([
      press(0, 90, 'digit'),
      press(200, 290, 'digit'),
      press(500, 590, 'digit'),
    ]);
    expectFeatures(v, {
      dd_mean: 250,
      dd_letter_letter_mean: 250,
      dd_letter_space_mean: 250,
      dd_space_letter_mean: 250,
      trigraph_letter_mean: 500,
    });
  });

  it('keeps the flight across a focus change out of every statistic', () => {
    // Two fields: letters 0→80, 150→230, then (focus change) 900→980, 1050→1130.
    const v = keystrokeFeatures([
      press(0, 80),
      press(150, 230),
      { ...press(900, 980), focusBreak: true },
      press(1050, 1130),
    ]);
    expectFeatures(v, {
      dd_mean: 150, // 150 and 150; the 750 ms across the fields is not a flight
      dd_std: 0,
      ud_mean: 70,
      uu_mean: 150,
      du_mean: 230,
      dd_letter_letter_mean: 150,
      trigraph_letter_mean: 300, // each letter triple crosses the break: 2 × dd_mean
      pause_fraction: 0, // 0 pauses among the 2 rhythm pairs
      rollover_fraction: 0,
      typing_rate: 3000 / (150 + 150 + 80), // (n − breaks) keys over the rhythm time
    });
    // The same presses without the break: the 670 ms gap is an ordinary (slow) flight.
    expectFeatures(
      keystrokeFeatures([press(0, 80), press(150, 230), press(900, 980), press(1050, 1130)]),
      {
        dd_mean: (150 + 750 + 150) / 3,
      },
    );
  });

  it('ignores the focus-break mark of the first press', () => {
    const plain = keystrokeFeatures([press(0, 80), press(150, 230)]);
    const marked = keystrokeFeatures([{ ...press(0, 80), focusBreak: true }, press(150, 230)]);
    expect(Array.from(marked)).toEqual(Array.from(plain));
  });

  it('computes spreads, medians and per-class holds on five presses', () => {
    // holds 100, 90, 120, 90, 80; dd 180, 70, 200, 150; ud 80, -20, 80, 60 (one roll-over)
    const v = keystrokeFeatures([
      press(1000, 1100),
      press(1180, 1270),
      press(1250, 1370, 'space'),
      press(1450, 1540),
      press(1600, 1680, 'backspace'),
    ]);
    expectFeatures(v, {
      hold_mean: 96,
      hold_std: Math.sqrt(184),
      hold_median: 90,
      hold_letter_mean: 280 / 3,
      hold_space_mean: 120,
      hold_other_mean: 80,
      dd_mean: 150,
      dd_std: Math.sqrt(2450),
      dd_median: 165,
      ud_mean: 50,
      ud_std: Math.sqrt(1700),
      ud_median: 70,
      uu_mean: 145,
      uu_std: Math.sqrt(825),
      du_mean: 245,
      du_std: Math.sqrt(1475),
      typing_rate: 5000 / 680,
      backspace_fraction: 0.2,
      rollover_fraction: 0.25,
      pause_fraction: 0,
      dd_letter_letter_mean: 180, // only the first pair; 1180 → 1250 is letter→space
      dd_letter_space_mean: 70,
      dd_space_letter_mean: 200,
      trigraph_letter_mean: 300, // no letter triple: 2 × dd_mean
    });
  });

  it('sorts presses by key-down time before pairing them', () => {
    const ordered = keystrokeFeatures([press(0, 100), press(150, 230), press(400, 480)]);
    const shuffled = keystrokeFeatures([press(400, 480), press(0, 100), press(150, 230)]);
    expect(Array.from(shuffled)).toEqual(Array.from(ordered));
  });

  it('handles a press released inside the previous one (B up before A up)', () => {
    // A 0→200 (shift), B 50→100: ud = 50 − 200, uu = 100 − 200, du = 100 − 0.
    const v = keystrokeFeatures([press(0, 200, 'modifier'), press(50, 100)]);
    expectFeatures(v, {
      ud_mean: -150,
      uu_mean: -100,
      du_mean: 100,
      dd_mean: 50,
      rollover_fraction: 1,
    });
  });

  it('clips long holds and keeps pauses out of the flight statistics', () => {
    // Hold of 3 s → 1000; a 3 s up-down gap is a pause: dd clipped to 1500 for the rate only.
    const v = keystrokeFeatures([press(0, 3000), press(6000, 6100), press(6200, 6300)]);
    expectFeatures(v, {
      hold_mean: (1000 + 100 + 100) / 3,
      hold_median: 100,
      pause_fraction: 0.5,
      dd_mean: 200, // only the non-pause pair 6000 → 6200
      ud_mean: 100,
      uu_mean: 200,
      du_mean: 300,
      typing_rate: 3000 / (1500 + 200 + 100),
    });
  });

  it('clips flights at ±1500 ms', () => {
    // Second key down 900 ms after the first is up, but held 2 s: uu = 2900 → 1500, du → 1500.
    const v = keystrokeFeatures([press(0, 100), press(1000, 3000)]);
    expectFeatures(v, {
      ud_mean: 900,
      uu_mean: 1500,
      du_mean: 1500,
      dd_mean: 1000,
      hold_mean: 550,
    });
  });

  const hostile: [string, KeyPress[]][] = [
    ['empty', []],
    ['single press', [press(5, 50)]],
    ['identical timestamps', [press(10, 10), press(10, 10), press(10, 10)]],
    ['NaN times', [press(NaN, 10), press(0, NaN), press(NaN, NaN)]],
    ['infinite times', [press(-Infinity, Infinity), press(0, 10), press(Infinity, Infinity)]],
    ['up before down', [press(100, 0), press(200, 150)]],
    ['huge values', [press(-1e308, 1e308), press(1e308, 1.7e308)]],
  ];
  it.each(hostile)('gives a finite vector of the right length for %s', (_, presses) => {
    const v = keystrokeFeatures(presses);
    expect(v).toHaveLength(KEYSTROKE_FEATURES.length);
    for (const [name, value] of Object.entries(named(v)))
      expect(Number.isFinite(value), name).toBe(true);
  });

  it('gives all zeros for no presses and zero flights for one press', () => {
    expect(Array.from(keystrokeFeatures([]))).toEqual(new Array(KEYSTROKE_FEATURES.length).fill(0));
    expectFeatures(keystrokeFeatures([press(0, 80)]), {
      hold_mean: 80,
      dd_mean: 0,
      ud_std: 0,
      typing_rate: 12.5,
      dd_letter_letter_mean: 0,
      trigraph_letter_mean: 0,
    });
  });
});

describe('pairKeyPresses', () => {
  it('pairs kd and ku by press id under roll-over and emits in key-down order', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      kd(50, 2),
      ku(80, 2),
      ku(120, 1),
      kd(130, 3, 'space'),
      ku(200, 3, 'space'),
    ]);
    expect(presses).toEqual([press(0, 120), press(50, 80), press(130, 200, 'space')]);
  });

  it('ignores untrusted, auto-repeat and composing key downs', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      kd(30, 1, 'letter', FLAG.repeat), // repeat of the held key: the press keeps its first down
      kd(40, 9, 'letter', FLAG.untrusted),
      ku(60, 9, 'letter', FLAG.untrusted),
      kd(70, 8, 'other', FLAG.composing),
      ku(90, 8),
      ku(100, 1),
    ]);
    expect(presses).toEqual([press(0, 100)]);
  });

  it('ignores paste- and autofill-flagged key events (text changed without the rhythm)', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      ku(80, 1),
      kd(100, 2, 'letter', FLAG.paste),
      ku(150, 2, 'letter', FLAG.paste),
      kd(200, 3, 'letter', FLAG.autofill),
      ku(250, 3),
      kd(300, 4),
      ku(390, 4, 'letter', FLAG.autofill), // cancels press 4
      kd(400, 5),
      ku(470, 5),
    ]);
    expect(presses).toEqual([press(0, 80), press(400, 470)]);
  });

  it('marks the first press after a trusted focus change', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      ku(80, 1),
      { t: 100, k: 'fc' },
      kd(120, 2, 'letter', FLAG.untrusted), // ignored, so the mark waits for the next press
      kd(300, 3),
      ku(380, 3),
      { t: 400, k: 'fc', f: FLAG.untrusted }, // a page script cannot split the rhythm
      kd(450, 4),
      ku(520, 4),
    ]);
    expect(presses).toEqual([
      press(0, 80),
      { ...press(300, 380), focusBreak: true },
      press(450, 520),
    ]);
  });

  it('marks a Tab that moves the focus: the flight after the Tab is the break', () => {
    // Tab down moves the focus (fc) before Tab up; the next press is in the other field.
    const presses = pairKeyPresses([
      kd(0, 1, 'nav'),
      { t: 2, k: 'fc' },
      ku(90, 1, 'nav'),
      kd(400, 2),
      ku(480, 2),
    ]);
    expect(presses).toEqual([press(0, 90, 'nav'), { ...press(400, 480), focusBreak: true }]);
  });

  it('forgets open presses on a page blur (their ku never comes) and marks the next press', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      ku(60, 1),
      kd(100, 2),
      { t: 120, k: 'br' },
      ku(5000, 2),
      kd(5100, 3),
      ku(5180, 3),
    ]);
    expect(presses).toEqual([press(0, 60), { ...press(5100, 5180), focusBreak: true }]);
  });

  it('ignores a ku without kd and a second unflagged kd of an open press', () => {
    expect(pairKeyPresses([ku(10, 4), kd(20, 5), kd(40, 5), ku(90, 5)])).toEqual([press(20, 90)]);
  });

  it('cancels an open press whose ku is flagged, without stalling later presses', () => {
    const presses = pairKeyPresses([
      kd(0, 1),
      kd(20, 2),
      ku(50, 1, 'letter', FLAG.untrusted),
      ku(80, 2),
    ]);
    expect(presses).toEqual([press(20, 80)]);
  });

  it('defaults a missing key class to other and clamps up to down', () => {
    const events: RawEvent[] = [
      { t: 10, k: 'kd', i: 1 },
      { t: 5, k: 'ku', i: 1 },
    ];
    expect(pairKeyPresses(events)).toEqual([{ down: 10, up: 10, c: 'other' }]);
  });

  it('drops events without a finite press id or time', () => {
    const events: RawEvent[] = [
      { t: 0, k: 'kd', c: 'letter' },
      { t: NaN, k: 'kd', c: 'letter', i: 2 },
      { t: 10, k: 'ku', c: 'letter', i: NaN },
      kd(20, 3),
      ku(60, 3),
    ];
    expect(pairKeyPresses(events)).toEqual([press(20, 60)]);
  });

  it('reports the oldest open press for stuck-key detection', () => {
    const p = new KeyPairer();
    p.push(kd(10, 1));
    p.push(kd(20, 2));
    p.push(ku(30, 2));
    expect(p.oldestOpenDown()).toBe(10);
    expect(p.pending).toBe(2);
    expect(p.push(ku(40, 1))).toEqual([press(10, 40), press(20, 30)]);
    expect(p.oldestOpenDown()).toBeUndefined();
  });
});
