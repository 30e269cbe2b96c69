/**
 * Where the model worker lives. Chrome: an MV3 service worker cannot start workers, so the
 * worker lives in an offscreen document (reason WORKERS) and we talk to it with typed
 * messages. Firefox: the background is an event page that starts the worker directly.
 */
import { ExtensionError } from '../shared/errors';
import { sendToOffscreen } from '../shared/messaging';
import type { ModelWorkerApi } from '../shared/protocol';

/** What the background asks of the model, wherever it lives: the worker's own API. */
export type ModelHost = ModelWorkerApi;

export const OFFSCREEN_PATH = 'src/offscreen/offscreen.html';

let creating: Promise<void> | undefined;

async function ensureOffscreen(): Promise<void> {
  const url = chrome.runtime.getURL(OFFSCREEN_PATH);
  const contexts = await chrome.runtime.getContexts({
    contextTypes: [chrome.runtime.ContextType.OFFSCREEN_DOCUMENT],
    documentUrls: [url],
  });
  if (contexts.length > 0) return;
  // Only one offscreen document may exist: concurrent callers share one creation.
  creating ??= chrome.offscreen
    .createDocument({
      url: OFFSCREEN_PATH,
      reasons: [chrome.offscreen.Reason.WORKERS],
      justification: 'Runs the on-device behavioral model in a Web Worker.',
    })
    .finally(() => {
      creating = undefined;
    });
  await creating;
}

async function viaOffscreen<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      // Every attempt: the document may have been closed (by the browser, or mid-call).
      await ensureOffscreen();
      const reply = await send();
      if (reply === undefined)
        throw new ExtensionError('ERR_MODEL', 'offscreen document did not answer');
      return reply;
    } catch (error) {
      // The document may still be loading its script: retry briefly.
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const offscreenHost: ModelHost = {
  ingest: (batch, sid, learn) =>
    viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'ingest', batch, sid, learn })),
  status: (learn) =>
    viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'status', learn })),
  confirmSession: (sid, learn) =>
    viaOffscreen(() =>
      sendToOffscreen({ target: 'offscreen', type: 'confirm-session', sid, learn }),
    ),
  checkGolden: () =>
    viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'check-golden' })),
  describe: () => viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'describe' })),
  applyRetention: (maxAgeMs) =>
    viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'apply-retention', maxAgeMs })),
  eraseAll: async () => {
    await viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'erase-all' }));
  },
  federatedUpdate: (spec) =>
    viaOffscreen(() => sendToOffscreen({ target: 'offscreen', type: 'federated-update', spec })),
  adoptEncoder: (encoder, ver, enc, centres) =>
    viaOffscreen(() =>
      sendToOffscreen({ target: 'offscreen', type: 'adopt-encoder', encoder, ver, enc, centres }),
    ),
};

let direct: Promise<ModelWorkerApi> | undefined;

function directHost(): ModelHost {
  direct ??= import('../shared/worker-client').then((m) => m.startModelWorker());
  return {
    ingest: async (batch, sid, learn) => (await direct!).ingest(batch, sid, learn),
    status: async (learn) => (await direct!).status(learn),
    confirmSession: async (sid, learn) => (await direct!).confirmSession(sid, learn),
    checkGolden: async () => (await direct!).checkGolden(),
    describe: async () => (await direct!).describe(),
    applyRetention: async (maxAgeMs) => (await direct!).applyRetention(maxAgeMs),
    eraseAll: async () => (await direct!).eraseAll(),
    federatedUpdate: async (spec) => (await direct!).federatedUpdate(spec),
    adoptEncoder: async (encoder, ver, enc, centres) =>
      (await direct!).adoptEncoder(encoder, ver, enc, centres),
  };
}

/** The model host for this browser. */
export function modelHost(): ModelHost {
  return __TACIT_BROWSER__ === 'chrome' ? offscreenHost : directHost();
}
