import { FLAG } from '../../../model/events/schema';
import type { Collector, EventSink } from './types';

/**
 * Focus changes between fields (the flight across them is not typing rhythm) and breaks:
 * the page losing focus or being hidden (tab switch), after which pending windows end.
 */
export const focusCollector: Collector = {
  name: 'focus',
  init(signal: AbortSignal, sink: EventSink): void {
    let focused: EventTarget | null = null;
    window.addEventListener(
      'focusin',
      (event) => {
        if (focused !== null && event.target !== focused) {
          sink.push({
            t: event.timeStamp,
            k: 'fc',
            ...(event.isTrusted ? {} : { f: FLAG.untrusted }),
          });
        }
        focused = event.target;
      },
      { capture: true, passive: true, signal },
    );
    window.addEventListener(
      'blur',
      (event) => {
        // Not a capture listener: element blurs don't bubble, so this is the window's own.
        focused = null;
        sink.push({
          t: event.timeStamp,
          k: 'br',
          ...(event.isTrusted ? {} : { f: FLAG.untrusted }),
        });
      },
      { signal },
    );
    document.addEventListener(
      'visibilitychange',
      (event) => {
        if (document.visibilityState !== 'hidden') return;
        sink.push({
          t: event.timeStamp,
          k: 'br',
          ...(event.isTrusted ? {} : { f: FLAG.untrusted }),
        });
      },
      { signal },
    );
  },
};
