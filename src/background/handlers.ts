/**
 * Handler tables for the closed message protocol. The listener checks who is speaking:
 * content scripts only from protected origins, extension pages only from our own origin.
 * Unknown types and unexpected senders are dropped without an answer.
 */
import type { Runtime } from 'webextension-polyfill';
import { RAW_EVENT_SCHEMA_VERSION } from '../../model/events/schema';
import type { TacitConfig } from '../shared/config';
import { ExtensionError } from '../shared/errors';
import type {
  ContentMessage,
  ContentReplies,
  ExtensionStatus,
  PageMessage,
  PageReplies,
} from '../shared/protocol';
import type { ModelHost } from './model-host';
import type { SessionService } from './session';

export interface HandlerDeps {
  config(): Promise<TacitConfig>;
  host(): ModelHost;
  sessions: SessionService;
  storageSession: {
    get(key: string): Promise<Record<string, unknown>>;
    set(items: Record<string, unknown>): Promise<void>;
  };
  extensionId: string;
  extensionOrigin: string;
}

type ContentHandlers = {
  [K in ContentMessage['type']]: (
    message: Extract<ContentMessage, { type: K }>,
    sender: { origin: string; tabId: number },
  ) => Promise<ContentReplies[K]>;
};

type PageHandlers = {
  [K in PageMessage['type']]: (message: Extract<PageMessage, { type: K }>) => Promise<PageReplies[K]>;
};

export function contentHandlers(deps: HandlerDeps): ContentHandlers {
  // The page's session id per tab, so each batch is scored for the right session. Mirrored in
  // storage.session because MV3 stops idle service workers and in-memory state goes with them.
  const tabSessions = new Map<number, string>();
  const sessionOfTab = async (tabId: number): Promise<string | null> => {
    const known = tabSessions.get(tabId);
    if (known) return known;
    const { tabSessions: stored } = await deps.storageSession.get('tabSessions');
    const sid = (stored as Record<string, string> | undefined)?.[String(tabId)];
    if (sid) tabSessions.set(tabId, sid);
    return sid ?? null;
  };
  return {
    'capture-policy': async () => ({ capture: true }),
    events: async (message, sender) => {
      const batch = message.batch;
      const sid = await sessionOfTab(sender.tabId);
      const update = await deps.host().ingest(batch, sid);
      if (sid) await deps.sessions.onScore(sid, update).catch((e: unknown) => deps.sessions.recordError(e));
      return { accepted: batch.events.length };
    },
    'page-hints': async (message, sender) => {
      if (message.hints.session) {
        tabSessions.set(sender.tabId, message.hints.session.sid);
        await deps.storageSession.set({ tabSessions: Object.fromEntries(tabSessions) });
      }
      await deps.sessions.handleHints(message.hints).catch((e: unknown) => deps.sessions.recordError(e));
      return { ok: true };
    },
  };
}

/** A stable code for a failure shown on an extension page (never a message or a value). */
function failureCode(error: unknown): string {
  if (!(error instanceof ExtensionError)) return 'ERR_INTERNAL';
  return error.serverCode ? `${error.code}/${error.serverCode}` : error.code;
}

export function pageHandlers(deps: HandlerDeps): PageHandlers {
  return {
    status: async (): Promise<ExtensionStatus> => {
      const config = await deps.config();
      const enrolment = await deps.sessions.enrolment();
      const session = await deps.sessions.latestSession();
      const stored = await deps.storageSession.get('lastError');
      const model = await deps.host().status().catch(() => null);
      return {
        enrolled: enrolment !== null,
        deviceId: enrolment?.deviceId ?? null,
        serverUrl: config.serverUrl,
        model,
        lastConfidence: session?.last?.confidence ?? null,
        session: session
          ? { sid: session.sid, bound: session.bound, seq: session.seq, lastSentAt: session.lastSentAt }
          : null,
        lastError: typeof stored.lastError === 'string' ? stored.lastError : null,
      };
    },
    // Lets a test (or a support page) prove the worker's features match the golden vectors.
    'check-golden': () => deps.host().checkGolden(),
    // The session id comes from what the tab's page declared (kept by the content handlers),
    // never from the message: the page only names a tab.
    'session-assurance': async ({ tabId }) => {
      const { tabSessions } = await deps.storageSession.get('tabSessions');
      const sid = (tabSessions as Record<string, string> | undefined)?.[String(tabId)];
      if (!sid) return { session: null, error: null };
      try {
        const view = await deps.sessions.serverSession(sid);
        return { session: view && { sid, ...view }, error: null };
      } catch (error) {
        return { session: null, error: failureCode(error) };
      }
    },
    'forget-device': async () => {
      try {
        const { revoked } = await deps.sessions.forgetDevice();
        return { ok: true, revoked, error: null };
      } catch (error) {
        await deps.sessions.recordError(error);
        return { ok: false, revoked: null, error: failureCode(error) };
      }
    },
  };
}

function isContentMessage(message: unknown): message is ContentMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { type?: unknown; batch?: unknown; hints?: unknown };
  switch (m.type) {
    case 'capture-policy':
      return true;
    case 'events': {
      const batch = m.batch as { schema?: unknown; events?: unknown } | undefined;
      return batch?.schema === RAW_EVENT_SCHEMA_VERSION && Array.isArray(batch.events);
    }
    case 'page-hints':
      return typeof m.hints === 'object' && m.hints !== null;
    default:
      return false;
  }
}

const PAGE_TYPES: ReadonlySet<unknown> = new Set<PageMessage['type']>([
  'status',
  'check-golden',
  'session-assurance',
  'forget-device',
]);

function isPageMessage(message: unknown): message is PageMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { type?: unknown; tabId?: unknown };
  if (!PAGE_TYPES.has(m.type)) return false;
  if (m.type === 'session-assurance') {
    return typeof m.tabId === 'number' && Number.isSafeInteger(m.tabId) && m.tabId >= 0;
  }
  return true;
}

/** Builds the runtime.onMessage listener: sender check, then table lookup. */
export function createListener(deps: HandlerDeps) {
  const content = contentHandlers(deps);
  const pages = pageHandlers(deps);
  return (message: unknown, sender: Runtime.MessageSender): Promise<unknown> | undefined => {
    if (sender.id !== deps.extensionId) return undefined;
    if (typeof message === 'object' && message !== null && 'target' in message) return undefined; // for the offscreen document
    // Our own pages (popup, options; also when opened in a tab) come first.
    if (sender.url?.startsWith(deps.extensionOrigin)) {
      if (!isPageMessage(message)) return undefined;
      const handler = pages[message.type] as (m: PageMessage) => Promise<unknown>;
      return handler(message);
    }
    if (sender.tab?.id !== undefined && sender.url) {
      if (!isContentMessage(message)) return undefined;
      const tabId = sender.tab.id;
      const origin = new URL(sender.url).origin;
      return deps.config().then((config) => {
        const isProtected = config.protectedOrigins.includes(origin);
        if (message.type === 'capture-policy') return { capture: isProtected };
        if (!isProtected) return undefined; // a content script elsewhere never gets to feed the model
        const handler = content[message.type] as (m: ContentMessage, s: { origin: string; tabId: number }) => Promise<unknown>;
        return handler(message, { origin, tabId });
      });
    }
    return undefined;
  };
}
