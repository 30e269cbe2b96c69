import { FLAG } from '../../../model/events/schema';
import { baseFlags } from './target-flags';
import type { Collector, EventSink } from './types';

const round = (v: number): number => Math.round(v * 10) / 10;

/** Pointer moves, button down/up (with coordinates and timestamps). */
export const pointerCollector: Collector = {
  name: 'pointer',
  init(signal: AbortSignal, sink: EventSink): void {
    const options = { capture: true, passive: true, signal };
    window.addEventListener(
      'pointermove',
      (event) => {
        let f = baseFlags(event);
        if (event.buttons !== 0) f |= FLAG.drag;
        sink.push({ t: event.timeStamp, k: 'pm', x: round(event.clientX), y: round(event.clientY), ...(f ? { f } : {}) });
      },
      options,
    );
    window.addEventListener(
      'pointerdown',
      (event) => {
        const f = baseFlags(event);
        sink.push({ t: event.timeStamp, k: 'pd', x: round(event.clientX), y: round(event.clientY), b: event.button, ...(f ? { f } : {}) });
      },
      options,
    );
    window.addEventListener(
      'pointerup',
      (event) => {
        const f = baseFlags(event);
        sink.push({ t: event.timeStamp, k: 'pu', x: round(event.clientX), y: round(event.clientY), b: event.button, ...(f ? { f } : {}) });
      },
      options,
    );
  },
};
