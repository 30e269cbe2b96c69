import { describe, expect, it } from 'vitest';
import { TYPIST_A, syntheticKeystrokes } from '../testing/synthetic';
import {
  type ActionStream,
  actionStream,
  censoredQuantile,
  continuousTrials,
  emptyTrials,
  formatContinuous,
  mergeTrials,
  resolveContinuousOptions,
  summarizeContinuous,
} from './continuous';
import { keystrokeAaltoProtocol } from './protocols';
import { PRODUCT } from '../product/scorer';

/** A stream of one-number windows whose value is the confidence the fake scorer returns. */
function stream(confidences: number[], keysPerWindow = 10, extra = 0): ActionStream {
  return actionStream([
    {
      windows: confidences.map((c) => ({ window: Float32Array.of(c), count: keysPerWindow })),
      actions: confidences.length * keysPerWindow + extra,
    },
  ]);
}
const identity = (ws: readonly Float32Array[]): number[] => ws.map((w) => w[0]!);

describe('the simulated product', () => {
  it('fuses with the product scorer’s configuration unless told otherwise', () => {
    expect(resolveContinuousOptions({}).fusion).toBe(PRODUCT.fusion);
  });
});

describe('actionStream', () => {
  it('counts actions across segments, the ones in no window included', () => {
    const v = new Float32Array(1);
    const s = actionStream([
      {
        windows: [
          { window: v, count: 10 },
          { window: v, count: 10 },
        ],
        actions: 27,
      },
      { windows: [], actions: 4 },
      { windows: [{ window: v, count: 10 }], actions: 12 },
    ]);
    expect(s.actionsAt).toEqual([10, 20, 41]);
    expect(s.actions).toBe(43);
    expect(s.windows).toHaveLength(3);
  });
});

describe('censoredQuantile', () => {
  it('ranks null (never reached) above every number, nearest rank', () => {
    expect(censoredQuantile([30, 10, 20, null], 0.5)).toBe(20);
    expect(censoredQuantile([30, 10, 20, null], 0.75)).toBe(30);
    expect(censoredQuantile([30, 10, 20, null], 0.95)).toBeNull();
    expect(censoredQuantile([5], 0.95)).toBe(5);
    expect(censoredQuantile([], 0.5)).toBeNull();
  });
});

describe('continuousTrials', () => {
  // Half-life 3: λ = 2^(−1/3) ≈ 0.7937. After five windows at 0.9 the weight sum is
  // (1 − λ⁵)/(1 − λ) ≈ 3.3203. An impostor window at 0: fused = 0.9·3.3203λ / (3.3203λ + 1)
  // = 2.3718 / 3.6353 ≈ 0.652; a second one: 0.9·3.3203λ² / (3.3203λ² + λ + 1) ≈ 0.484 < 0.5.
  it('counts impostor actions up to the window that first flags, from the warm-up state', async () => {
    const own = stream([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]);
    const t = await continuousTrials(identity, 'keystroke', own, [
      stream([0, 0, 0]),
      stream([0.9, 0.9], 10, 3),
    ]);
    expect(t.impostor).toEqual([
      {
        actionsToFlag: 20,
        actions: 30,
        windows: 3,
        startConfidence: expect.closeTo(0.9, 6) as unknown as number,
      },
      {
        actionsToFlag: null,
        actions: 23,
        windows: 2,
        startConfidence: expect.closeTo(0.9, 6) as unknown as number,
      },
    ]);
    expect(t.genuine).toEqual([
      { actionsToFlag: null, actions: 70, windows: 7, flagEpisodes: 0, windowsBelow: 0 },
    ]);
    // A longer warm-up carries more weight: the same impostor needs a third window.
    const long = await continuousTrials(
      identity,
      'keystroke',
      stream(Array(20).fill(0.9)),
      [stream([0, 0, 0])],
      { warmupWindows: 20 },
    );
    expect(long.impostor[0]!.actionsToFlag).toBe(30);
  });

  it('counts genuine false flags from an empty session, and each crossing as an episode', async () => {
    // Fused: 0.9 alone; (0.9λ + 0.1)/(λ + 1) ≈ 0.454 (flagged at 20 keys); 0.308; then 0.545,
    // 0.682, 0.769, 0.829 above; 0.626; 0.478 below again: two episodes, three windows below.
    const t = await continuousTrials(
      identity,
      'keystroke',
      stream([0.9, 0.1, 0.1, 1, 1, 1, 1, 0, 0]),
      [],
    );
    const g = t.genuine[0]!;
    expect(g.actionsToFlag).toBe(20);
    expect(g.flagEpisodes).toBe(2);
    expect(g.windowsBelow).toBe(3);
    expect(t.impostor).toEqual([]);
  });

  it('starts an attack below the threshold when the genuine warm-up already was', async () => {
    const t = await continuousTrials(identity, 'keystroke', stream([0.1, 0.2]), [stream([1, 1])]);
    expect(t.impostor[0]!.startConfidence).toBeLessThan(0.5);
    expect(t.impostor[0]!.actionsToFlag).toBeNull(); // windows at 1 lift it above 0.5 at once
    expect(t.genuine[0]!.actionsToFlag).toBe(10);
  });

  it('gives no outcome for a user without held-out windows, and skips empty impostor streams', async () => {
    expect((await continuousTrials(identity, 'pointer', stream([]), [stream([0])])).users).toBe(0);
    expect(
      (await continuousTrials(identity, 'pointer', stream([1]), [stream([])])).impostor,
    ).toEqual([]);
  });

  it('accepts an asynchronous scorer and refuses a wrong number of confidences', async () => {
    const async = (ws: readonly Float32Array[]): Promise<number[]> => Promise.resolve(identity(ws));
    expect(
      (await continuousTrials(async, 'keystroke', stream([0.9, 0]), [])).genuine[0]!.actionsToFlag,
    ).toBe(20);
    await expect(
      continuousTrials(() => [1], 'keystroke', stream([1, 1]), []),
    ).rejects.toBeInstanceOf(TypeError);
  });

  it('checks its options', () => {
    expect(() => resolveContinuousOptions({ warmupWindows: 0 })).toThrow(RangeError);
    expect(() => resolveContinuousOptions({ threshold: 1.5 })).toThrow(/1\.5/);
  });
});

describe('summarizeContinuous', () => {
  it('pools outcomes into medians, p95s, fractions and a rate per 1,000 actions', async () => {
    const own = stream([0.9, 0.9, 0.9, 0.9, 0.9, 0, 0], 10, 5);
    const a = await continuousTrials(identity, 'keystroke', own, [
      stream([0, 0]),
      stream([0.6, 0.6]),
      stream([0, 0, 0, 0]),
    ]);
    const b = await continuousTrials(identity, 'keystroke', stream([0.9, 0.9]), [
      stream([0.2, 0.2, 0.2]),
    ]);
    const pooled = mergeTrials(mergeTrials(emptyTrials(), a), b);
    const s = summarizeContinuous(pooled, 'keystroke');
    expect(s.users).toBe(2);
    expect(s.unit).toBe('keystrokes');
    expect(s.threshold).toBe(0.5);
    expect(s.fusion.halfLifeWindows).toBe(3);
    expect(s.impostor.pairs).toBe(4);
    expect(s.impostor.flagged).toBe(3);
    expect(s.impostor.neverFlaggedFraction).toBe(0.25);
    expect(s.impostor.actionsToFlag.median).toBe(20);
    expect(s.impostor.actionsToFlag.p95).toBeNull();
    expect(s.impostor.actionsToFlagWhenFlagged.p95).toBe(20);
    expect(s.genuine.sessions).toBe(2);
    expect(s.genuine.falseFlagged).toBe(1);
    expect(s.genuine.noFalseFlagFraction).toBe(0.5);
    expect(s.genuine.sessionActions).toEqual({ min: 20, median: 20, max: 75, total: 95 });
    expect(s.genuine.falseFlagsPer1000).toBeCloseTo((1000 * s.genuine.falseFlagEpisodes) / 95, 12);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(formatContinuous(s).join('\n')).toMatch(
      /keystrokes to flag median 20, p95 not reached over 4 pairs/,
    );
  });
});

describe('in the protocols', () => {
  it('streams every held-out sentence and another subject’s as the impostor', async () => {
    const profiles = [TYPIST_A, { holdMs: 60, flightMs: 200 }, { holdMs: 150, flightMs: 80 }];
    const users = profiles.map((p, k) => ({
      userId: `u${k}`,
      sequences: Array.from({ length: 12 }, (_, j) =>
        syntheticKeystrokes(p, 40, { seed: k * 100 + j }),
      ),
    }));
    const r = await keystrokeAaltoProtocol(users, { detector: { epochs: 3 } });
    expect(r.continuous.users).toBe(3);
    expect(r.continuous.genuine.map((g) => g.actions)).toEqual([280, 280, 280]); // 7 sentences × 40 keys
    expect(r.continuous.genuine.map((g) => g.windows)).toEqual([28, 28, 28]);
    expect(r.continuous.impostor).toHaveLength(6);
    const capped = await keystrokeAaltoProtocol(users, {
      detector: { epochs: 3 },
      continuous: { impostorsPerUser: 1, warmupWindows: 2 },
    });
    expect(capped.continuous.impostor).toHaveLength(3);
    expect(capped.continuous.settings.warmupWindows).toBe(2);
  });
});
