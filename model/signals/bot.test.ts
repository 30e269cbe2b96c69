import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { BotSignal, resolveBotConfig } from './bot';

/** Key events of presses with the given holds and down-to-down gaps (ms). */
function presses(holds: readonly number[], gaps: readonly number[], f = 0): RawEvent[] {
  const events: RawEvent[] = [];
  let t = 1000;
  holds.forEach((hold, i) => {
    events.push({ t, k: 'kd', c: 'letter', i: i + 1, ...(f ? { f } : {}) });
    events.push({ t: t + hold, k: 'ku', c: 'letter', i: i + 1, ...(f ? { f } : {}) });
    t += gaps[i % gaps.length]!;
  });
  return events.sort((a, b) => a.t - b.t);
}

/** A seeded person-like rhythm: holds around 95 ms, gaps around 170 ms, both jittered. */
function human(n: number, seed: number): RawEvent[] {
  let s = seed;
  const rand = (): number => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
  const holds = Array.from({ length: n }, () => 60 + 70 * rand());
  const gaps = Array.from({ length: n }, () => 90 + 160 * rand());
  return presses(holds, gaps);
}

describe('bot signal', () => {
  it("flags Playwright's fast type(): near-zero holds and gaps", () => {
    const s = new BotSignal();
    s.push(presses(Array(20).fill(0.4), [3, 2.5, 3.5]));
    expect(s.value()).toBe(1);
  });

  it('flags type() with a delay: every hold and gap the same to a millisecond', () => {
    const s = new BotSignal();
    s.push(presses([100, 100.6, 99.8, 100.2], [101, 101.5, 100.7]).concat());
    s.push(
      presses(
        Array(16)
          .fill(100)
          .map((h, i) => h + (i % 3) * 0.4),
        [101.2, 100.8],
      ),
    );
    expect(s.value()).toBe(1);
  });

  it('does not flag person-like jittered rhythms, fast or slow', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const s = new BotSignal();
      s.push(human(60, seed));
      expect(s.value()).toBe(0);
    }
  });

  it('counts untrusted key, pointer and wheel events (not input or focus) and says so', () => {
    const s = new BotSignal();
    const u = FLAG.untrusted;
    s.push([
      { t: 1, k: 'in', n: 1, f: u },
      { t: 2, k: 'fc', f: u },
      { t: 3, k: 'kd', c: 'letter', i: 1, f: u },
    ]);
    expect(s.untrusted).toBe(1);
    expect(s.value()).toBeCloseTo(1 / 3);
    s.push([
      { t: 4, k: 'ku', c: 'letter', i: 1, f: u },
      { t: 5, k: 'pm', x: 1, y: 1, f: u },
    ]);
    expect(s.untrusted).toBe(3);
    expect(s.value()).toBe(1);
  });

  it('untrusted presses never feed the timing check', () => {
    const s = new BotSignal({ untrustedFull: 1000 });
    s.push(presses(Array(20).fill(0.4), [3], FLAG.untrusted));
    expect(s.value()).toBeCloseTo(40 / 1000);
  });

  it('is 1 once the page reports automation, and never falls within the session', () => {
    const s = new BotSignal();
    s.push([], true);
    expect(s.value()).toBe(1);
    s.push(human(30, 3));
    expect(s.value()).toBe(1);
  });

  it('refuses a bad config, quoting the value', () => {
    expect(() => resolveBotConfig({ windowPresses: 2 })).toThrow(/windowPresses.*got 2/);
    expect(() => resolveBotConfig({ regularCv: -1 })).toThrow(RangeError);
    expect(() => resolveBotConfig({ windowPreses: 12 } as never)).toThrow(/unknown option/);
  });
});
