import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { RemoteSignal, resolveRemoteConfig } from './remote';

/** Pointer moves every `dt()` ms, each `step()` px to the right (wrapping every 1000 px). */
function moves(n: number, dt: (i: number) => number, step: (i: number) => number): RawEvent[] {
  const out: RawEvent[] = [];
  let t = 0;
  let x = 0;
  for (let i = 0; i < n; i++) {
    t += dt(i);
    x = (x + step(i)) % 1000;
    out.push({ t, k: 'pm', x, y: 300 + (i % 7) });
  }
  return out;
}

describe('remote signal', () => {
  it('flags moves at a low, constant rate with coarse jumps (a remote viewer at 20 Hz)', () => {
    const s = new RemoteSignal();
    s.push(
      moves(
        120,
        (i) => 50 + ((i * 7) % 5) - 2,
        () => 40,
      ),
    );
    expect(s.value()).toBe(1);
  });

  it('does not flag a local pointer: 60 Hz moves, small or large steps', () => {
    for (const step of [3, 40]) {
      const s = new RemoteSignal();
      s.push(
        moves(
          400,
          (i) => (i % 3 === 0 ? 17 : 16),
          () => step,
        ),
      );
      expect(s.value()).toBe(0);
    }
  });

  it('does not flag slow, small movements (long intervals, pixel steps)', () => {
    const s = new RemoteSignal();
    s.push(
      moves(
        200,
        () => 50,
        () => 2,
      ),
    );
    expect(s.value()).toBe(0);
  });

  it('does not flag a lagging local machine at 30 Hz (two frames per move)', () => {
    const s = new RemoteSignal();
    s.push(
      moves(
        200,
        (i) => (i % 2 ? 33 : 34),
        () => 60,
      ),
    );
    expect(s.value()).toBe(0);
  });

  it('does not flag irregular sparse moves', () => {
    const s = new RemoteSignal();
    s.push(
      moves(
        200,
        (i) => 40 + ((i * 37) % 90),
        () => 40,
      ),
    );
    expect(s.value()).toBe(0);
  });

  it('ignores untrusted moves and rests', () => {
    const s = new RemoteSignal();
    s.push(
      moves(
        120,
        () => 50,
        () => 40,
      ).map((e) => ({ ...e, f: FLAG.untrusted })),
    );
    s.push(
      moves(
        120,
        () => 300,
        () => 40,
      ),
    );
    expect(s.value()).toBe(0);
  });

  it('refuses a bad config, quoting the value', () => {
    expect(() => resolveRemoteConfig({ slowFromMs: 50, slowFullMs: 40 })).toThrow(/got 40/);
    expect(() => resolveRemoteConfig({ windowMoves: 3 })).toThrow(RangeError);
  });
});
