import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawEvent } from '../../model/events/schema';
import { parseAalto } from '../../model/datasets/aalto';
import { aaltoFiles } from '../../model/cli/load-datasets';
import {
  DATASETS_DIR,
  HELD_OUT,
  MAX_GAP_MS,
  MIN_ENROL_PRESSES,
  MIN_SENTENCES,
  SENTENCE_PAUSE_MS,
  enrolPresses,
  keySchedule,
  pickPairs,
  pointerChunk,
  shuffled,
  splitGenuine,
  type ReplayStep,
} from './takeover-data';

/** A sentence of presses [press, release, class] in ms, as the Aalto adapter yields them. */
function sentence(presses: [number, number, RawEvent['c']][]): RawEvent[] {
  const events: RawEvent[] = [];
  presses.forEach(([down, up, c], k) => {
    events.push({ t: down, k: 'kd', c, i: k + 1 });
    events.push({ t: up, k: 'ku', c, i: k + 1 });
  });
  return events.sort((a, b) => a.t - b.t);
}

const downs = (steps: ReplayStep[]) => steps.filter((s) => s.kind === 'down');
const upOf = (steps: ReplayStep[], press: number) =>
  steps.find((s) => s.kind === 'up' && s.press === press)!;

describe('keySchedule', () => {
  it('keeps every recorded hold and press-to-press interval', () => {
    const steps = keySchedule([
      sentence([
        [0, 95, 'letter'],
        [180, 260, 'letter'],
        [240, 330, 'space'], // rollover: pressed before the previous key is released
        [510, 600, 'punct'],
      ]),
    ]);
    const d = downs(steps);
    expect(d.map((s) => s.at)).toEqual([0, 180, 240, 510]);
    expect(d.map((s) => upOf(steps, (s as { press: number }).press).at - s.at)).toEqual([
      95, 80, 90, 90,
    ]);
    // Overlapping presses are different keys, so the second does not release the first.
    expect(new Set(d.slice(1, 3).map((s) => (s as { key: string }).key)).size).toBe(2);
  });

  it(`shortens a gap over ${MAX_GAP_MS} ms to it and nothing else`, () => {
    const steps = keySchedule([
      sentence([
        [0, 100, 'letter'],
        [9100, 9200, 'letter'],
        [9300, 9400, 'letter'],
      ]),
    ]);
    // up at 100, next down 9,000 ms later → 2,000 ms; later intervals unchanged.
    expect(downs(steps).map((s) => s.at)).toEqual([0, 2100, 2300]);
    expect(upOf(steps, 2).at - downs(steps)[1]!.at).toBe(100);
  });

  it('plays sentences one after another, and keys of each class as keys of that class', () => {
    const steps = keySchedule([
      sentence([[0, 50, 'digit']]),
      sentence([
        [0, 50, 'modifier'],
        [60, 120, 'backspace'],
      ]),
    ]);
    expect(downs(steps).map((s) => s.at)).toEqual([
      0,
      50 + SENTENCE_PAUSE_MS,
      110 + SENTENCE_PAUSE_MS,
    ]);
    expect(downs(steps).map((s) => (s as { key: string }).key)).toEqual([
      'Numpad1',
      'ShiftLeft',
      'Backspace',
    ]);
  });

  it('puts pointer moves between sentences, with the recorded timings', () => {
    const moves: RawEvent[] = [0, 16, 33, 5000, 5016].map((t, n) => ({
      t,
      k: 'pm',
      x: 100 + n,
      y: 200,
    }));
    const chunk = pointerChunk(moves, 0, 2040);
    expect(chunk.steps.map((s) => s.at)).toEqual([0, 16, 33, 33 + MAX_GAP_MS]);
    expect(chunk.next).toBe(4);
    const cursor = { next: 0 };
    const steps = keySchedule([sentence([[0, 50, 'letter']])], {
      moves,
      msPerSentence: 1000,
      cursor,
    });
    expect(steps.filter((s) => s.kind === 'move').map((s) => s.at)).toEqual([
      50 + SENTENCE_PAUSE_MS,
      66 + SENTENCE_PAUSE_MS,
      83 + SENTENCE_PAUSE_MS,
    ]);
    expect(cursor.next).toBe(3);
  });

  it('goes on with moves not played yet in the next schedule of the same cursor', () => {
    const moves: RawEvent[] = Array.from({ length: 40 }, (_, n) => ({
      t: n * 20,
      k: 'pm',
      x: n,
      y: 0,
    }));
    const cursor = { next: 0 };
    const xs = (steps: ReplayStep[]) =>
      steps.flatMap((s) => (s.kind === 'move' ? [Math.round(s.x / 0.6)] : []));
    const pointer = { moves, msPerSentence: 200, cursor };
    const first = xs(keySchedule([sentence([[0, 50, 'letter']])], pointer));
    const second = xs(keySchedule([sentence([[0, 50, 'letter']])], pointer));
    expect(first).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(second).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(cursor.next).toBe(22);
  });
});

describe.skipIf(!existsSync(join(DATASETS_DIR, 'aalto-dev')))('pickPairs (the Aalto data)', () => {
  it('draws the same disjoint, eligible pairs for a seed, and others for another seed', () => {
    const dir = join(DATASETS_DIR, 'aalto-dev');
    const a = pickPairs(dir, 3, 12);
    const b = pickPairs(dir, 3, 12);
    const ids = (pairs: typeof a) => pairs.flatMap((p) => [p.genuine.userId, p.impostor.userId]);
    expect(ids(a)).toEqual(ids(b));
    expect(new Set(ids(a)).size).toBe(6);
    expect(ids(pickPairs(dir, 3, 13))).not.toEqual(ids(a));
    for (const p of [...a, ...pickPairs(dir, 3, 13)]) {
      for (const t of [p.genuine, p.impostor]) {
        expect(t.sentences.length).toBeGreaterThanOrEqual(MIN_SENTENCES);
        // Enough presses left for the product's keystroke enrolment (20 windows of 20 keys).
        expect(enrolPresses(t)).toBeGreaterThanOrEqual(MIN_ENROL_PRESSES);
      }
      const split = splitGenuine(p.genuine);
      expect(split.heldOut).toHaveLength(HELD_OUT);
      expect(split.warmUp).toHaveLength(1);
      expect(split.enrol.length + 1 + HELD_OUT).toBe(p.genuine.sentences.length);
    }
  });

  it('takes the typists of the seeded order that the rule admits, skipping no other', () => {
    const dir = join(DATASETS_DIR, 'aalto-dev');
    const picked = pickPairs(dir, 3, 12).flatMap((p) => [p.genuine.userId, p.impostor.userId]);
    const last = shuffled(aaltoFiles(dir), 12).findIndex((f) => f.id === picked.at(-1));
    const admitted = shuffled(aaltoFiles(dir), 12)
      .slice(0, last + 1)
      .map((f) => parseAalto(readFileSync(f.path, 'utf8'), f.id))
      .map((u) => ({
        userId: u.userId,
        sentences: u.sequences.filter((s) => s.some((e) => e.k === 'kd')),
      }))
      .filter((t) => t.sentences.length >= MIN_SENTENCES && enrolPresses(t) >= MIN_ENROL_PRESSES);
    expect(admitted.map((t) => t.userId)).toEqual(picked);
    // The rule rejects some: the draw is not simply the first six files.
    expect(last).toBeGreaterThan(5);
  });
});
