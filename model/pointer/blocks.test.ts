import { describe, expect, it } from 'vitest';
import { FLAG, type RawEvent } from '../events/schema';
import { pointerFeatures } from '../features/pointer';
import { createWindower } from '../features/windower';
import { POINTER_A, syntheticPointer } from '../testing/synthetic';
import { pointerBlocks } from './blocks';

/** A stream with everything that can split, reset or be ignored by the pointer windows. */
function hostileStream(): RawEvent[] {
  const a = syntheticPointer(POINTER_A, 300, { seed: 3 });
  const b = syntheticPointer({ ...POINTER_A, speedPxPerMs: 2 }, 300, { seed: 4, startMs: 0 });
  const end = a[a.length - 1]!.t;
  const events: RawEvent[] = [];
  a.forEach((e, i) => {
    events.push(e);
    if (i === 50)
      events.push(
        { t: e.t, k: 'kd', c: 'letter', i: 1 },
        { t: e.t + 1, k: 'ku', c: 'letter', i: 1 },
      );
    if (i === 90) events.push({ t: e.t, k: 'br', f: FLAG.untrusted }); // ignored
    if (i === 120) events.push({ t: e.t, k: 'br' }); // discards the partial window
    if (i === 140) events.push({ t: e.t, k: 'pm', x: 1, y: 1, f: FLAG.untrusted }); // not usable
    if (i === 160) events.push({ t: e.t, k: 'pm', x: NaN, y: 1 }); // not usable
  });
  // A long silence, then a jump back in time (a new page timeline).
  events.push(...a.slice(0, 100).map((e) => ({ ...e, t: e.t + end + 10_000 })));
  events.push(...b);
  return events;
}

describe('pointerBlocks', () => {
  it('cuts exactly the windows the windower emits', () => {
    for (const size of [16, 64, 128]) {
      const events = hostileStream();
      const windows = createWindower({ pointerEventsPerWindow: size })
        .push(events)
        .filter((w) => w.modality === 'pointer');
      const blocks = pointerBlocks(events, { pointerEventsPerWindow: size });
      expect(blocks.length).toBe(windows.length);
      expect(blocks.length).toBeGreaterThan(0);
      blocks.forEach((block, j) => {
        expect(Array.from(pointerFeatures(block))).toEqual(Array.from(windows[j]!.vector));
        const counted = block.filter((e) => e.k !== 'wh').length;
        expect(counted).toBe(size);
      });
    }
  });

  it('discards a partial block at a long pause', () => {
    const a = syntheticPointer(POINTER_A, 10, { seed: 1 });
    const b = syntheticPointer(POINTER_A, 16, { seed: 2, startMs: a[a.length - 1]!.t + 6000 });
    const blocks = pointerBlocks([...a, ...b], { pointerEventsPerWindow: 16 });
    expect(blocks).toHaveLength(1);
    expect(blocks[0]![0]).toBe(b[0]);
  });

  it('rejects an invalid config', () => {
    expect(() => pointerBlocks([], { pointerEventsPerWindow: 1 })).toThrow(RangeError);
  });
});
