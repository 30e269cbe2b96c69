import { describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { keystrokeSteps } from '../features/sequence';
import { createRng } from '../random';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { cosine, encoderFromJSON } from '../shared/encoder';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { codeWord, deviceTarget, roundTarget } from './device-target';
import { applyDelta, parameterCount } from './parameters';
import { userCentre } from './public-centres';

const shipped = encoderFromJSON(keystrokeEncoderFile);
const sequences = [1, 2, 3].map((seed) =>
  keystrokeSteps(pairKeyPresses(syntheticKeystrokes(TYPIST_A, 30, { seed }))),
);

describe('codeWord()', () => {
  it('is a unit vector, and independent code words are near-orthogonal', () => {
    const words = Array.from({ length: 60 }, (_, k) => codeWord(48, createRng(k + 1)));
    for (const w of words) expect(Math.hypot(...w)).toBeCloseTo(1, 5);
    const cosines: number[] = [];
    words.forEach((a, i) => words.slice(i + 1).forEach((b) => cosines.push(cosine(a, b))));
    const mean = cosines.reduce((s, c) => s + c, 0) / cosines.length;
    const rms = Math.sqrt(cosines.reduce((s, c) => s + c * c, 0) / cosines.length);
    // In 48 dimensions the cosine of two random directions has mean 0 and std 1/√48 ≈ 0.144.
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(rms).toBeGreaterThan(0.12);
    expect(rms).toBeLessThan(0.17);
  });
});

describe('deviceTarget()', () => {
  const anchor = userCentre(shipped, sequences)!;

  it('is the own centre alone at γ = 0, and the normalised anchor + γ · code word otherwise', () => {
    expect(deviceTarget(shipped, sequences, 0, createRng(1))).toEqual(anchor);
    const word = codeWord(48, createRng(5));
    const target = deviceTarget(shipped, sequences, 2, createRng(5));
    expect(Math.hypot(...target)).toBeCloseTo(1, 5);
    const aw = cosine(anchor, word);
    // cos(anchor, (anchor + γw)/‖anchor + γw‖) for unit anchor and w.
    const expected = (1 + 2 * aw) / Math.sqrt(1 + 4 + 4 * aw);
    expect(cosine(anchor, target)).toBeCloseTo(expected, 5);
  });

  it('differs between devices with different secrets, and refuses what it cannot use', () => {
    const a = deviceTarget(shipped, sequences, 1, createRng(1));
    const b = deviceTarget(shipped, sequences, 1, createRng(2));
    expect(cosine(a, b)).toBeLessThan(0.9);
    expect(() => deviceTarget(shipped, [], 1, createRng(1))).toThrow(
      expect.objectContaining({ code: 'ERR_TOO_FEW_WINDOWS' }),
    );
    expect(() => deviceTarget(shipped, sequences, -1, createRng(1))).toThrow(/codeWordWeight/);
    expect(() => deviceTarget(shipped, sequences, 11, createRng(1))).toThrow(/codeWordWeight/);
  });
});

describe('roundTarget(): the one rule of the worker, fl:sim and the experiment', () => {
  const kept = { anchorOwnCentre: true, codeWordWeight: 3 };

  it('makes the target under the first version trained, then keeps it for every later one', () => {
    const first = roundTarget(undefined, shipped, sequences, kept, createRng(9));
    expect(first.created).toBe(true);
    expect(first.target).toEqual(deviceTarget(shipped, sequences, 3, createRng(9)));
    // A later version (the encoder moved): the same target, not one recomputed under it.
    const later = applyDelta(shipped, new Float32Array(parameterCount(shipped)).fill(1e-3));
    const again = roundTarget(first.target, later, sequences, kept, createRng(10));
    expect(again).toEqual({ target: first.target, created: false });
    expect(deviceTarget(later, sequences, 3, createRng(9))).not.toEqual(first.target);
  });

  it('gives none without anchorOwnCentre, and replaces a kept target of another dimension', () => {
    const none = roundTarget(
      undefined,
      shipped,
      sequences,
      { ...kept, anchorOwnCentre: false },
      createRng(1),
    );
    expect(none).toEqual({ target: undefined, created: false });
    const stale = roundTarget(
      new Float32Array(8).fill(0.5),
      shipped,
      sequences,
      kept,
      createRng(1),
    );
    expect(stale.created).toBe(true);
    expect(stale.target).toHaveLength(48);
    expect(() => roundTarget(undefined, shipped, [], kept, createRng(1))).toThrow(
      expect.objectContaining({ code: 'ERR_TOO_FEW_WINDOWS' }),
    );
  });
});
