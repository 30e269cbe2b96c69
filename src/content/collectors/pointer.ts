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
        // Coalesced samples carry the real movement between two dispatched events (the
        // browser merges them per frame): speeds and curvature need them.
        const samples = event.getCoalescedEvents?.() ?? [];
        if (samples.length === 0) {
          sink.push({
            t: event.timeStamp,
            k: 'pm',
            x: round(event.clientX),
            y: round(event.clientY),
            ...(f ? { f } : {}),
          });
          return;
        }
        for (const sample of samples) {
          sink.push({
            t: sample.timeStamp,
            k: 'pm',
            x: round(sample.clientX),
            y: round(sample.clientY),
            ...(f ? { f } : {}),
          });
        }
      },
      options,
    );
    window.addEventListener(
      'pointerdown',
      (event) => {
        const f = baseFlags(event);
        sink.push({
          t: event.timeStamp,
          k: 'pd',
          x: round(event.clientX),
          y: round(event.clientY),
          b: event.button,
          ...(f ? { f } : {}),
        });
      },
      options,
    );
    window.addEventListener(
      'pointerup',
      (event) => {
        const f = baseFlags(event);
        sink.push({
          t: event.timeStamp,
          k: 'pu',
          x: round(event.clientX),
          y: round(event.clientY),
          b: event.button,
          ...(f ? { f } : {}),
        });
      },
      options,
    );
  },
};
