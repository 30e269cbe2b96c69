// Content script entry: wiring only. Capture starts only if the service worker says this
// page's origin is protected.
import { logError } from '../shared/errors';
import { sendFromContent } from '../shared/messaging';
import { startCapture } from './orchestrator';
import { readPageHints } from './page-hints';

async function main(): Promise<void> {
  const policy = await sendFromContent({ type: 'capture-policy' });
  if (!policy.capture) return;

  const controller = new AbortController();
  startCapture(controller.signal, (batch) => {
    sendFromContent({ type: 'events', batch })
      .then((reply) => {
        // Consent withdrawn or the site removed: every collector stops now, not at the next load.
        if (reply?.stop) controller.abort();
      })
      .catch((error: unknown) => {
        // Only an orphaned script stops (the extension was reloaded or updated: no runtime id);
        // any other failure loses this batch and capture goes on.
        if (!chrome.runtime?.id) controller.abort();
        logError('send events', error);
      });
  });

  const sendHints = (): void => {
    const hints = readPageHints(document);
    if (hints.session || hints.enrollmentCode) {
      sendFromContent({ type: 'page-hints', hints }).catch((e: unknown) =>
        logError('page hints', e),
      );
    }
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', sendHints, {
      once: true,
      signal: controller.signal,
    });
  } else {
    sendHints();
  }
}

main().catch((error: unknown) => logError('content script', error));
