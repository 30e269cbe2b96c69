import { describe, expect, it } from 'vitest';
import type { RawEvent } from '../events/schema';
import { POINTER_A, TYPIST_A, syntheticKeystrokes, syntheticPointer } from '../testing/synthetic';
import {
  keystrokeAaltoProtocol,
  keystrokeFixedProtocol,
  mouseSapiMouseProtocol,
  truncateKeys,
} from './protocols';

const fast = { detector: { epochs: 3 } };
const typists = [TYPIST_A, { holdMs: 60, flightMs: 200 }, { holdMs: 150, flightMs: 80 }];

function typist(
  p: (typeof typists)[number],
  sequences: number,
  keys: number,
  seed: number,
): RawEvent[][] {
  return Array.from({ length: sequences }, (_, k) =>
    syntheticKeystrokes(p, keys, { seed: seed * 100 + k }),
  );
}

describe('truncateKeys', () => {
  it('keeps the events of the first M complete presses', () => {
    const events = syntheticKeystrokes(TYPIST_A, 60, { seed: 1 });
    const t = truncateKeys(events, 50);
    expect(t.presses).toBe(50);
    expect(t.events).toHaveLength(100);
    expect(new Set(t.events.map((e) => e.i))).toEqual(
      new Set(Array.from({ length: 50 }, (_, k) => k + 1)),
    );
  });

  it('returns a shorter stream as it is, and does not count incomplete or flagged presses', () => {
    const events: RawEvent[] = [
      { t: 0, k: 'kd', c: 'letter', i: 1 },
      { t: 50, k: 'ku', c: 'letter', i: 1 },
      { t: 60, k: 'kd', c: 'letter', i: 2, f: 2 }, // auto-repeat
      { t: 70, k: 'kd', c: 'letter', i: 3 }, // never released
    ];
    expect(truncateKeys(events, 50)).toEqual({ events, presses: 1 });
    const two: RawEvent[] = [
      ...events,
      { t: 90, k: 'kd', c: 'space', i: 4 },
      { t: 120, k: 'ku', c: 'space', i: 4 },
    ];
    expect(truncateKeys(two, 1)).toEqual({ events: events.slice(0, 2), presses: 1 });
  });
});

describe('keystrokeAaltoProtocol', () => {
  it('scores 5 genuine and one impostor query per other subject, deterministically', async () => {
    const users = typists.map((p, k) => ({ userId: `u${k}`, sequences: typist(p, 12, 60, k + 1) }));
    users.push({ userId: 'short', sequences: typist(TYPIST_A, 9, 60, 9) });
    const a = await keystrokeAaltoProtocol(users, fast);
    expect(a.users).toBe(3);
    expect(a.skipped).toEqual([{ userId: 'short', reason: '9 sequences < G + 5' }]);
    expect(a.genuine).toHaveLength(15);
    expect(a.impostor).toHaveLength(6);
    expect(a.perUser.map((u) => [u.genuine, u.impostor])).toEqual([
      [5, 2],
      [5, 2],
      [5, 2],
    ]);
    for (const s of [...a.genuine, ...a.impostor]) expect(s).toBeGreaterThanOrEqual(0);
    const b = await keystrokeAaltoProtocol(users, fast);
    expect(b.genuine).toEqual(a.genuine);
    expect(b.impostor).toEqual(a.impostor);
  });

  it('does not enrol a subject whose gallery is too short, but keeps it as an impostor', async () => {
    const users = typists.map((p, k) => ({ userId: `u${k}`, sequences: typist(p, 10, 50, k + 1) }));
    users[0] = { userId: 'tiny', sequences: typist(TYPIST_A, 10, 8, 7) }; // 8 keys: no 10-key window
    const r = await keystrokeAaltoProtocol(users, fast);
    expect(r.skipped.map((s) => s.userId)).toEqual(['tiny']);
    expect(r.users).toBe(2);
    expect(r.emptyQueries.impostor).toBe(2); // tiny's queries have no window
  });
});

describe('mouseSapiMouseProtocol', () => {
  it('never uses folders of the same subject as impostors, and groups blocks', async () => {
    const session = (p: typeof POINTER_A, events: number, seed: number): RawEvent[] =>
      syntheticPointer(p, events, { seed });
    const slow = { speedPxPerMs: 0.5, curvature: 0.3 };
    const users = [
      {
        userId: '1',
        subject: '1',
        session3min: session(POINTER_A, 128 * 8, 1),
        session1min: session(POINTER_A, 128 * 6, 2),
      },
      {
        userId: '35.1',
        subject: '35',
        session3min: session(slow, 128 * 8, 3),
        session1min: session(slow, 128 * 6, 4),
      },
      {
        userId: '35.2',
        subject: '35',
        session3min: session(slow, 128 * 8, 5),
        session1min: session(slow, 128 * 6, 6),
      },
    ];
    const r = await mouseSapiMouseProtocol(users, { ...fast, blockCounts: [1, 3] });
    expect(r.users).toBe(3);
    const one = r.byBlocks['1']!;
    // user 1 sees both 35.x folders (12 blocks); each 35.x sees only user 1 (6 blocks).
    expect(one.perUser.map((u) => [u.userId, u.genuine, u.impostor])).toEqual([
      ['1', 6, 12],
      ['35.1', 6, 6],
      ['35.2', 6, 6],
    ]);
    expect(r.byBlocks['3']!.perUser.map((u) => [u.genuine, u.impostor])).toEqual([
      [2, 4],
      [2, 2],
      [2, 2],
    ]);
  });
});

describe('keystrokeFixedProtocol', () => {
  it('holds out each sample in turn; the same sample of every other user is an impostor', async () => {
    const users = typists.map((p, k) => ({ userId: `u${k}`, sequences: typist(p, 4, 40, k + 1) }));
    const r = await keystrokeFixedProtocol([{ name: 'text', users, keysPerWindow: 10 }], {
      ...fast,
      maxFolds: 2,
    });
    expect(r.fits).toBe(6);
    expect(r.bySet['text']!.perUser.map((u) => [u.genuine, u.impostor])).toEqual([
      [2, 4],
      [2, 4],
      [2, 4],
    ]);
    expect(r.genuine).toHaveLength(6);
    expect(r.impostor).toHaveLength(12);
  });
});
