// Offscreen document (Chrome): hosts the model worker and relays typed messages to it.
import type { Runtime } from 'webextension-polyfill';
import browser from 'webextension-polyfill';
import { logError } from '../shared/errors';
import type { OffscreenMessage, OffscreenReplies } from '../shared/protocol';
import { startModelWorker } from '../shared/worker-client';

const worker = startModelWorker();

type Handlers = {
  [K in OffscreenMessage['type']]: (
    message: Extract<OffscreenMessage, { type: K }>,
  ) => Promise<OffscreenReplies[K]>;
};

const handlers: Handlers = {
  ingest: (message) => worker.ingest(message.batch, message.sid, message.learn),
  status: (message) => worker.status(message.learn),
  'confirm-session': (message) => worker.confirmSession(message.sid, message.learn),
  'check-golden': () => worker.checkGolden(),
  describe: () => worker.describe(),
  'apply-retention': (message) => worker.applyRetention(message.maxAgeMs),
  'erase-all': async () => {
    await worker.eraseAll();
    return { ok: true } as const;
  },
  'federated-update': (message) => worker.federatedUpdate(message.spec),
  'adopt-encoder': (message) =>
    worker.adoptEncoder(message.encoder, message.ver, message.enc, message.centres),
};

function isOffscreenMessage(message: unknown): message is OffscreenMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { target?: unknown; type?: unknown };
  return m.target === 'offscreen' && typeof m.type === 'string' && Object.hasOwn(handlers, m.type);
}

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => {
  // Only our own service worker talks to this document (it has no tab and our id).
  if (sender.id !== browser.runtime.id || sender.tab !== undefined) return undefined;
  if (!isOffscreenMessage(message)) return undefined;
  const handler = handlers[message.type] as (m: OffscreenMessage) => Promise<unknown>;
  return handler(message).catch((error: unknown) => {
    logError(`offscreen ${message.type}`, error);
    throw error;
  });
});
