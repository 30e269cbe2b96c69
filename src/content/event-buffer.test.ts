import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RAW_EVENT_SCHEMA_VERSION, type RawEventBatch } from '../../model/events/schema';
import { createEventBuffer } from './event-buffer';

describe('createEventBuffer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('flushes when flushAt events are waiting', () => {
    const sent: RawEventBatch[] = [];
    const buffer = createEventBuffer({
      capacity: 10,
      flushAt: 3,
      flushEveryMs: 1000,
      send: (b) => sent.push(b),
    });
    for (let t = 0; t < 7; t++) buffer.push({ t, k: 'pm', x: t, y: t });
    expect(sent.map((b) => b.events.length)).toEqual([3, 3]);
    expect(sent[0]?.schema).toBe(RAW_EVENT_SCHEMA_VERSION);
  });

  it('marks every batch of an automated page (navigator.webdriver), and no other', () => {
    const sent: RawEventBatch[] = [];
    for (const automation of [true, false]) {
      const buffer = createEventBuffer({
        capacity: 10,
        flushAt: 1,
        flushEveryMs: 1000,
        automation,
        send: (b) => sent.push(b),
      });
      buffer.push({ t: 0, k: 'pm', x: 0, y: 0 });
    }
    expect(sent.map((b) => b.automation)).toEqual([true, undefined]);
  });

  it('flushes waiting events after flushEveryMs', () => {
    const sent: RawEventBatch[] = [];
    const buffer = createEventBuffer({
      capacity: 10,
      flushAt: 5,
      flushEveryMs: 500,
      send: (b) => sent.push(b),
    });
    buffer.push({ t: 1, k: 'kd', c: 'letter', i: 1 });
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(499);
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.events).toEqual([{ t: 1, k: 'kd', c: 'letter', i: 1 }]);
  });

  it('is bounded and counts what it dropped', () => {
    const sent: RawEventBatch[] = [];
    const buffer = createEventBuffer({
      capacity: 4,
      flushAt: 100,
      flushEveryMs: 500,
      send: (b) => sent.push(b),
    });
    for (let t = 0; t < 10; t++) buffer.push({ t, k: 'pm', x: 0, y: 0 });
    buffer.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.events).toHaveLength(4);
    expect(sent[0]?.dropped).toBe(6);
  });
});
