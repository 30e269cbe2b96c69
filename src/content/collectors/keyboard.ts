import { FLAG } from '../../../model/events/schema';
import { keyClass } from '../key-class';
import { baseFlags } from './target-flags';
import type { Collector, EventSink } from './types';

/**
 * Key down/up timings. The physical key (`event.code`) is used only as a transient map key
 * to pair a key's down with its up while it is held; it is never stored or emitted.
 */
export const keyboardCollector: Collector = {
  name: 'keyboard',
  init(signal: AbortSignal, sink: EventSink): void {
    const held = new Map<string, number>();
    let nextId = 1;
    const options = { capture: true, passive: true, signal };

    window.addEventListener(
      'keydown',
      (event) => {
        const slot = event.code || event.key;
        let f = baseFlags(event);
        if (event.isComposing || event.keyCode === 229) f |= FLAG.composing;
        let id = held.get(slot);
        if (event.repeat || id !== undefined) {
          f |= FLAG.repeat;
        }
        if (id === undefined) {
          id = nextId++;
          held.set(slot, id);
        }
        sink.push({
          t: event.timeStamp,
          k: 'kd',
          c: keyClass(event.key),
          i: id,
          ...(f ? { f } : {}),
        });
      },
      options,
    );

    window.addEventListener(
      'keyup',
      (event) => {
        const slot = event.code || event.key;
        const id = held.get(slot);
        held.delete(slot);
        if (id === undefined) return; // its down happened before we started, or in another window
        let f = baseFlags(event);
        if (event.isComposing || event.keyCode === 229) f |= FLAG.composing;
        sink.push({
          t: event.timeStamp,
          k: 'ku',
          c: keyClass(event.key),
          i: id,
          ...(f ? { f } : {}),
        });
      },
      options,
    );

    // Keys released while the page had no focus never send keyup: forget them.
    const forget = (): void => held.clear();
    window.addEventListener('blur', forget, { signal });
    document.addEventListener('visibilitychange', forget, { signal });
  },
};
