import type { RawEventBatch } from '../../model/events/schema';
import { logError } from '../shared/errors';
import { COLLECTORS } from './collectors';
import { createEventBuffer } from './event-buffer';

/**
 * Starts every collector on this page and stops them all when `signal` aborts. One
 * collector's failure is logged and does not stop the others.
 */
export function startCapture(signal: AbortSignal, send: (batch: RawEventBatch) => void): void {
  const buffer = createEventBuffer({
    capacity: 4096,
    flushAt: 256,
    flushEveryMs: 1000,
    // An automation marker for the scripted-input signal (model/signals/bot.ts); read once.
    automation: navigator.webdriver === true,
    send,
  });
  for (const collector of COLLECTORS) {
    try {
      collector.init(signal, buffer);
    } catch (error) {
      logError(`collector ${collector.name}`, error);
    }
  }
  // Don't lose the tail of a batch when the user leaves the page.
  window.addEventListener('pagehide', () => buffer.flush(), { signal });
  signal.addEventListener('abort', () => buffer.flush(), { once: true });
}
