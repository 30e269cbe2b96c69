import { baseFlags } from './target-flags';
import type { Collector, EventSink } from './types';

/** Wheel/scroll deltas and timings. */
export const wheelCollector: Collector = {
  name: 'wheel',
  init(signal: AbortSignal, sink: EventSink): void {
    window.addEventListener(
      'wheel',
      (event) => {
        const f = baseFlags(event);
        sink.push({
          t: event.timeStamp,
          k: 'wh',
          dx: Math.round(event.deltaX),
          dy: Math.round(event.deltaY),
          ...(f ? { f } : {}),
        });
      },
      { capture: true, passive: true, signal },
    );
  },
};
