import { describe, expect, it } from 'vitest';
import golden from './golden-v2.json';
import { checkGolden } from './golden';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from './schema';
import { createWindower } from './windower';

/**
 * The expected vectors in golden-v2.json were computed by hand, not by this code:
 *
 * keystroke (keysPerWindow 8). The three presses before the br are discarded (the stray ku
 * after it too). Then the usable presses are P1 letter 1000→1090, P2 letter 1150→1230 (its
 * auto-repeat kd ignored), P3 letter 1300→1400, P4 space 1380→1480 (down before P3 is up:
 * roll-over), P5 letter 1550→1620, P6 letter 1700→1790, (fc) P7 letter 2300→2380, P8 letter
 * 3500→3590; the untrusted pair, the paste-flagged punct press, the untrusted fc and the
 * untrusted br are ignored, the last kd stays pending. textInputs: the `in` after the br, the
 * composing `in` and the paste-flagged kd = 3.
 *   holds 90, 80, 100, 100, 70, 90, 80, 90 → mean 87.5, std √93.75, median 90;
 *     letter 600/7, space 100, other: none → 87.5
 *   pairs: P6→P7 crosses the fc (in no statistic), P7→P8 has ud 1120 > 1000 (a pause; its
 *     dd 1200 counts only for the rate); the 5 flight pairs P1→…→P6:
 *   dd 150, 150, 80, 170, 150 → mean 140, std √960, median 150
 *   ud 60, 70, −20, 70, 80 → mean 52, std √1336, median 70
 *   uu 140, 170, 80, 140, 170 → 140, √1080;  du 230, 250, 180, 240, 240 → 228, √616
 *   rate (8 − 1 break) · 1000 / (700 + 1200 + last hold 90) = 7000 / 1990
 *   backspace 0; 6 rhythm pairs: roll-over 1/6, pause 1/6
 *   letter→letter dd 150, 150, 150 → 150; letter→space 80; space→letter 170;
 *     trigraph P1→P3 = 300 (P4-P5-P6 starts with a space; P5-P6-P7 crosses the fc)
 *
 * pointer (pointerEventsPerWindow 13): samples after merging the same-timestamp pairs are
 * s0 (0,0)@0, s1 (20,0)@10, s2 (30,0)@20, s3 (30,10)@30 (pm + pd), s4 @110 (pu), then a 190 ms
 * pause, s5 (60,50)@300, s6 (60,60)@310, s7 (90,60)@320, s8 @400 (pd), s9 @450 (pu),
 * s10 (90,90)@460 (times − 5000; untrusted, NaN and paste-flagged events ignored).
 *   speeds 2, 1, 1, 0 | 1, 3, 0, 0, 3 → mean 11/9, std √104 / 9, p50 1, p90 3
 *   accels −0.1, 0, −1/45 | 0.2, −1/15, 0, 0.1 (Δt between midpoints 10, 10, 45 | 10, 45, 65,
 *     30) → mean|a| 0.4888889/7, std 0.0949997
 *   jerks 0.01, (−1/45)/27.5 | (−1/15 − 0.2)/27.5, (1/15)/55, 0.1/47.5 → mean|j| 0.00476449
 *   turns 0, π/2 | π/2 → π/3; curvatures 0, (π/2)/10 | (π/2)/20 → π/40
 *   straightness (√1000/40 + 50/70) / 2; pause 1/10; click holds 80, 50 → 65; 2 clicks;
 *   drag 1/9 (9 usable pm, the one at 300 flagged); span 460 ms: wheel 2 / 0.46 s
 *   click interval 400 − 30 = 370 (std 0); wheel |Δ| 120 + 50 → 170 / 0.46 s; wheel interval 130
 *   precision: click 1 approach s0→s3, 40 px for a √1000 chord; click 2: dwell s7→s8 skipped,
 *     approach s5→s7 (the pause before s5 ends it), 40 px for √1000 → mean √1000/40
 */
describe('golden-v2.json', () => {
  it('is for the current feature schema', () => {
    expect(golden.featureSchema).toBe(FEATURE_SCHEMA_VERSION);
  });

  it('matches createWindower output to 1e-4', () => {
    const result = checkGolden(golden);
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.windows).toBe(2);
    expect(result.maxAbsDiff).toBeLessThan(1e-4);
  });

  it('covers one keystroke and one pointer window with a vector per feature', () => {
    const expected = golden.cases.flatMap((c) => c.expected);
    expect(expected.map((e) => e.modality)).toEqual(['keystroke', 'pointer']);
    expect(expected[0]!.vector).toHaveLength(FEATURE_NAMES.keystroke.length);
    expect(expected[1]!.vector).toHaveLength(FEATURE_NAMES.pointer.length);
  });

  it('fails on a tampered expected value and reports the size of the difference', () => {
    const tampered = structuredClone(golden);
    tampered.cases[0]!.expected[0]!.vector[7]! += 0.01;
    const result = checkGolden(tampered);
    expect(result.ok).toBe(false);
    expect(result.maxAbsDiff).toBeCloseTo(0.01, 4);
    expect(result.failures[0]).toMatch(/keystroke: .* window 0 differs/);
  });

  it('fails when a case yields another number of windows', () => {
    const tampered = structuredClone(golden);
    tampered.cases[1]!.config = { pointerEventsPerWindow: 14 };
    const result = checkGolden(tampered);
    expect(result.ok).toBe(false);
    expect(result.maxAbsDiff).toBe(Infinity);
  });

  it('refuses a golden file of another feature schema without throwing', () => {
    const result = checkGolden({ ...golden, featureSchema: FEATURE_SCHEMA_VERSION + 1 });
    expect(result.ok).toBe(false);
    expect(result.failures[0]).toMatch(/feature schema/);
  });

  it('refuses a v1 golden file even if its vectors were right (the worker must switch files)', () => {
    const v1 = structuredClone(golden) as { featureSchema: number };
    v1.featureSchema = 1;
    const result = checkGolden(v1);
    expect(result).toMatchObject({ ok: false, windows: 0, maxAbsDiff: Infinity });
    expect(result.failures).toEqual(['golden file is for feature schema 1, this build is 2']);
  });

  it('checks the text-input side note when the file states it', () => {
    const tampered = structuredClone(golden);
    tampered.cases[0]!.expected[0]!.textInputs = 2;
    const result = checkGolden(tampered);
    expect(result.ok).toBe(false);
    expect(result.failures[0]).toMatch(/text-input count/);
  });

  it.each([null, 42, 'x', {}, { format: 'tacit-feature-golden', featureSchema: 2, cases: [null] }])(
    'returns ok: false for malformed input %j',
    (input) => {
      expect(checkGolden(input).ok).toBe(false);
    },
  );

  it('treats its null (NaN) coordinate event exactly like a missing event', () => {
    const pointerCase = golden.cases[1]!;
    const events = pointerCase.batches.flat();
    expect(events.filter((e) => 'x' in e && e.x === null)).toHaveLength(1);
    const withNaN = events.map((e) => ('x' in e && e.x === null ? { ...e, x: NaN } : e));
    const without = events.filter((e) => !('x' in e) || e.x !== null);
    const a = createWindower(pointerCase.config).push(withNaN as never);
    const b = createWindower(pointerCase.config).push(without as never);
    expect(a).toHaveLength(1);
    expect(Array.from(a[0]!.vector)).toEqual(Array.from(b[0]!.vector));
    a[0]!.vector.forEach((v, j) => expect(v).toBeCloseTo(pointerCase.expected[0]!.vector[j]!, 4));
  });
});
