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

/** A stream of one-number windows whose value is the LLR the fake scorer returns. */
function stream(llrs: number[], keysPerWindow = 10, extra = 0): ActionStream {
  return actionStream([
    {
      windows: llrs.map((c) => ({ window: Float32Array.of(c), count: keysPerWindow })),
      actions: llrs.length * keysPerWindow + extra,
    },
  ]);
}
// The worked examples use a fixed decision (h = ln 1000 ≈ 6.908, S capped at 2h), not the product's.
const D = { decision: { falseAlarmWindows: 1000, cap: 2 } };
const identity = (ws: readonly Float32Array[]): number[] => ws.map((w) => w[0]!);

describe('the simulated product', () => {
  it('decides with the product scorer’s configuration unless told otherwise', () => {
    expect(resolveContinuousOptions({}).decision).toBe(PRODUCT.decision);
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
  it('counts impostor actions up to the window that first fires, from the warm-up state', async () => {
    const own = stream([2, 2, 2, 2, 2, 2, 2]);
    const t = await continuousTrials(
      identity,
      'keystroke',
      own,
      [
        stream([-3, -3, -3]), // S = 3, 6, 9 ≥ h at the third window
        stream([-3, 3], 10, 3),
      ],
      D,
    );
    expect(t.impostor).toEqual([
      { actionsToFlag: 30, actions: 30, windows: 3, startFlagged: false },
      { actionsToFlag: null, actions: 23, windows: 2, startFlagged: false },
    ]);
    expect(t.genuine).toEqual([
      { actionsToFlag: null, actions: 70, windows: 7, flagEpisodes: 0, windowsBelow: 0 },
    ]);
    // A warm-up that left evidence against the user shortens the attack.
    const doubtful = await continuousTrials(identity, 'keystroke', stream([-2, -2, 0, 0, 0]), [
      stream([-3, -3, -3]),
    ]);
    expect(doubtful.impostor[0]!.actionsToFlag).toBe(10);
  });

  it('counts genuine false flags from an empty session, and each crossing of h as an episode', async () => {
    // S: 0, 4, 8 (≥ h: first flag at 30 keys), 5, 2, 0, 0, 5, 10 (≥ h again): two episodes.
    const t = await continuousTrials(
      identity,
      'keystroke',
      stream([2, -4, -4, 3, 3, 3, 3, -5, -5]),
      [],
      D,
    );
    const g = t.genuine[0]!;
    expect(g.actionsToFlag).toBe(30);
    expect(g.flagEpisodes).toBe(2);
    expect(g.windowsBelow).toBe(2);
    expect(t.impostor).toEqual([]);
  });

  it('does not credit an impostor with a flag the genuine warm-up already raised', async () => {
    const t = await continuousTrials(identity, 'keystroke', stream([-8, 0]), [stream([3, 3])], D);
    expect(t.impostor[0]!.startFlagged).toBe(true);
    expect(t.impostor[0]!.actionsToFlag).toBeNull(); // the decision is reset for the attack
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
      (await continuousTrials(async, 'keystroke', stream([1, -8]), [])).genuine[0]!.actionsToFlag,
    ).toBe(20);
    await expect(
      continuousTrials(() => [1], 'keystroke', stream([1, 1]), []),
    ).rejects.toBeInstanceOf(TypeError);
  });

  it('checks its options', () => {
    expect(() => resolveContinuousOptions({ warmupWindows: 0 })).toThrow(RangeError);
    expect(() =>
      resolveContinuousOptions({ decision: { falseAlarmWindows: 0.5, cap: 2 } }),
    ).toThrow(/0\.5/);
  });
});

describe('summarizeContinuous', () => {
  it('pools outcomes into medians, p95s, fractions and a rate per 1,000 actions', async () => {
    const own = stream([2, 2, 2, 2, 2, -4, -4], 10, 5);
    const a = await continuousTrials(identity, 'keystroke', own, [
      stream([-4, -4]),
      stream([1, 1]),
      stream([-4, -4, -4, -4]),
    ]);
    const b = await continuousTrials(identity, 'keystroke', stream([2, 2]), [stream([-3, -5, -1])]);
    const pooled = mergeTrials(mergeTrials(emptyTrials(), a), b);
    const s = summarizeContinuous(pooled, 'keystroke');
    expect(s.users).toBe(2);
    expect(s.unit).toBe('keystrokes');
    expect(s.decision.falseAlarmWindows).toBe(PRODUCT.decision.falseAlarmWindows);
    expect(s.decision.h).toBeCloseTo(Math.log(PRODUCT.decision.falseAlarmWindows), 12);
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
