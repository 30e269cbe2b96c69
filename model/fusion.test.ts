import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FUSION_CONFIG,
  EMPTY_FUSION_STATE,
  type ScoredWindow,
  fuseWindows,
  fusionResult,
  resolveFusionConfig,
  updateFusion,
} from './fusion';

const k = (confidence: number): ScoredWindow => ({ modality: 'keystroke', confidence });
const p = (confidence: number): ScoredWindow => ({ modality: 'pointer', confidence });

describe('fusion', () => {
  it('has no confidence before the first window', () => {
    expect(fusionResult(EMPTY_FUSION_STATE)).toEqual({ confidence: null, windows: 0 });
    expect(fuseWindows([])).toEqual({ confidence: null, windows: 0 });
  });

  it('returns the confidence of a single window, and of a constant stream', () => {
    expect(fuseWindows([k(0.7)])).toEqual({ confidence: 0.7, windows: 1 });
    expect(fuseWindows([k(0.4), p(0.4), k(0.4), p(0.4)]).confidence).toBeCloseTo(0.4, 12);
  });

  it('halves a window’s weight after halfLifeWindows further windows', () => {
    const config = resolveFusionConfig({ halfLifeWindows: 2 });
    // weights λ², λ, 1 with λ = 2^(−1/2): (1·0.5) / (0.5 + √½ + 1)
    expect(fuseWindows([k(1), k(0), k(0)], config).confidence).toBeCloseTo(
      0.5 / (1.5 + Math.SQRT1_2),
      12,
    );
  });

  it('follows a change of user within a few half-lives', () => {
    const config = resolveFusionConfig({ halfLifeWindows: 4 });
    const session = [...Array(20).fill(k(0.95)), ...Array(12).fill(k(0.05))];
    const results = session.map((_, i) => fuseWindows(session.slice(0, i + 1), config).confidence!);
    expect(results[19]).toBeCloseTo(0.95, 12);
    expect(results[23]).toBeLessThan(0.6); // 4 impostor windows: one half-life
    expect(results[31]).toBeLessThan(0.2); // 12: three half-lives
  });

  it('weights modalities', () => {
    const flat = resolveFusionConfig({ halfLifeWindows: 10000 });
    // keystroke weight 1, pointer 0.5 (defaults): (1·1 + 0.5·0) / 1.5
    expect(fuseWindows([k(1), p(0)], flat).confidence).toBeCloseTo(2 / 3, 3);
    const pointerOnly = resolveFusionConfig({ halfLifeWindows: 10000, weights: { keystroke: 0 } });
    expect(fuseWindows([k(1), p(0.25)], pointerOnly).confidence).toBeCloseTo(0.25, 3);
    expect(fuseWindows([k(1)], pointerOnly)).toEqual({ confidence: null, windows: 1 });
  });

  it('ages one modality’s evidence while the other keeps arriving', () => {
    const config = resolveFusionConfig({
      halfLifeWindows: 1,
      weights: { keystroke: 1, pointer: 1 },
    });
    // An old low keystroke window barely counts after 10 pointer windows.
    const c = fuseWindows([k(0), ...Array(10).fill(p(1))], config).confidence!;
    expect(c).toBeGreaterThan(0.999);
  });

  it('clamps confidences to [0, 1] and fails closed on NaN', () => {
    expect(fuseWindows([k(1.7)]).confidence).toBe(1);
    expect(fuseWindows([k(-3)]).confidence).toBe(0);
    expect(fuseWindows([k(NaN)]).confidence).toBe(0);
    expect(
      fuseWindows([k(1), k(NaN)], resolveFusionConfig({ halfLifeWindows: 10000 })).confidence,
    ).toBeCloseTo(0.5, 3);
  });

  it('is pure: updating returns a new state and leaves the old one as it was', () => {
    const s1 = updateFusion(EMPTY_FUSION_STATE, k(0.8));
    const s2 = updateFusion(s1, p(0.2));
    expect(s1).toEqual({ num: 0.8, den: 1, counts: { keystroke: 1, pointer: 0 } });
    expect(s2.counts).toEqual({ keystroke: 1, pointer: 1 });
    expect(fusionResult(s1).confidence).toBeCloseTo(0.8, 12);
    expect(EMPTY_FUSION_STATE).toEqual({ num: 0, den: 0, counts: { keystroke: 0, pointer: 0 } });
  });

  it('has the documented defaults', () => {
    expect(resolveFusionConfig()).toEqual({
      halfLifeWindows: 8,
      weights: { keystroke: 1, pointer: 0.5 },
    });
    expect(DEFAULT_FUSION_CONFIG.halfLifeWindows).toBe(8);
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ halfLifeWindows: 0 }, /halfLifeWindows must be a number in \(0, 10000\], got 0$/],
    [{ halfLifeWindows: Infinity }, /got Infinity/],
    [{ weights: { keystroke: -1 } }, /weights.keystroke must be a number in \[0, 100\], got -1$/],
    [
      { weights: { keystroke: 0, pointer: 0 } },
      /must not all be 0, got {"keystroke":0,"pointer":0}/,
    ],
    [{ weights: { touch: 1 } }, /unknown option "touch"/],
    [{ halfLife: 3 }, /unknown option "halfLife"/],
  ];
  it.each(bad)('rejects %j quoting the bad value', (config, message) => {
    expect(() => resolveFusionConfig(config as never)).toThrow(message);
  });

  it('rejects an unknown modality', () => {
    expect(() =>
      updateFusion(EMPTY_FUSION_STATE, { modality: 'touch' as never, confidence: 1 }),
    ).toThrow(TypeError);
  });
});
