import { describe, expect, it } from 'vitest';
import { pairKeyPresses } from '../features/keystroke';
import { keystrokeSteps } from '../features/sequence';
import { createRng } from '../random';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { cosine, encoderFromJSON } from '../shared/encoder';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import { codeWord, deviceTarget } from './device-target';
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
