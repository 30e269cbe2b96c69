import {
  RAW_EVENT_SCHEMA_VERSION,
  type RawEvent,
  type RawEventBatch,
} from '../../model/events/schema';
import type { EventSink } from './collectors/types';

export interface EventBufferOptions {
  /** Most events held before new ones are dropped (and counted). */
  capacity: number;
  /** Flush when this many events are waiting. */
  flushAt: number;
  /** Flush at least this often while events are waiting, ms. */
  flushEveryMs: number;
  /** The page reports browser automation (`navigator.webdriver`): every batch says so. */
  automation?: boolean;
  send(batch: RawEventBatch): void;
}

/**
 * A bounded buffer flushed in batches. Pushing is O(1) and allocation-light because it runs
 * inside every input event handler on the bank's page.
 */
export function createEventBuffer(options: EventBufferOptions): EventSink & { flush(): void } {
  let events: RawEvent[] = [];
  let dropped = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (events.length === 0 && dropped === 0) return;
    const batch: RawEventBatch = {
      schema: RAW_EVENT_SCHEMA_VERSION,
      events,
      dropped,
      ...(options.automation === true ? { automation: true as const } : {}),
    };
    events = [];
    dropped = 0;
    options.send(batch);
  };

  return {
    push(event: RawEvent): void {
      if (events.length >= options.capacity) {
        dropped++;
        return;
      }
      events.push(event);
      if (events.length >= options.flushAt) flush();
      else if (timer === undefined) timer = setTimeout(flush, options.flushEveryMs);
    },
    flush,
  };
}
