import { describe, expect, it } from 'vitest';
import golden from './golden-v1.json';
import { checkGolden } from './golden';
import { FEATURE_NAMES, FEATURE_SCHEMA_VERSION } from './schema';
import { createWindower } from './windower';

/**
 * The expected vectors in golden-v1.json were computed by hand, not by this code:
 *
 * keystroke (keysPerWindow 5): the usable presses are letter 1000→1100, letter 1180→1270,
 * space 1250→1370 (down before the previous up: a roll-over), letter 1450→1540 and backspace
 * 1600→1680; the auto-repeat kd, the untrusted pair, the composing kd (and its now unmatched ku)
 * and the stray ku 77 are ignored, the last kd stays pending.
 *   holds 100, 90, 120, 90, 80 → mean 96, std √184, median 90; letter 280/3, space 120, other 80
 *   dd 180, 70, 200, 150 → mean 150, std √2450, median 165
 *   ud 80, −20, 80, 60 → mean 50, std √1700, median 70;  uu 170, 100, 170, 140 → 145, √825
 *   du 270, 190, 290, 230 → 245, √1475;  rate 5·1000 / (600 + 80);  backspace 1/5, roll-over 1/4
 *
 * pointer (pointerEventsPerWindow 8): samples after merging the same-timestamp pairs are
 * (0,0)@0, (20,0)@10, (30,0)@20, (30,10)@30, (30,10)@110 (pu), (60,50)@300 (pause before it).
 *   speeds 2, 1, 1, 0 → mean 1, std √0.5, p50 1, p90 1.7
 *   accels −0.1, 0, −1/45 (Δt 10, 10, 45) → mean|a| 0.040741, std 0.042873
 *   jerks 0.01, (−1/45)/27.5 → mean|j| 0.005404
 *   turns 0, π/2 → mean π/4; curvature (0 + (π/2)/10)/2; straightness √1000 / 40
 *   pause 1/5; click hold 80, 1 click; drag 1/6 (the last pm is flagged); wheel 1 / 0.3 s
 */
describe('golden-v1.json', () => {
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
    tampered.cases[1]!.config = { pointerEventsPerWindow: 9 };
    const result = checkGolden(tampered);
    expect(result.ok).toBe(false);
    expect(result.maxAbsDiff).toBe(Infinity);
  });

  it('refuses a golden file of another feature schema without throwing', () => {
    const result = checkGolden({ ...golden, featureSchema: FEATURE_SCHEMA_VERSION + 1 });
    expect(result.ok).toBe(false);
    expect(result.failures[0]).toMatch(/feature schema/);
  });

  it.each([null, 42, 'x', {}, { format: 'tacit-feature-golden', featureSchema: 1, cases: [null] }])(
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
