/**
 * Handler tables for the closed message protocol. The listener checks who is speaking:
 * content scripts only from protected origins, extension pages only from our own origin.
 * Unknown types and unexpected senders are dropped without an answer.
 */
import type { Runtime } from 'webextension-polyfill';
import { RAW_EVENT_SCHEMA_VERSION } from '../../model/events/schema';
import type { TacitConfig } from '../shared/config';
import type { ConsentState } from '../shared/consent';
import { ExtensionError } from '../shared/errors';
import type {
  AttestationRecord,
  ContentMessage,
  ContentReplies,
  ExtensionStatus,
  PageMessage,
  PageReplies,
  TabStatus,
  WorkerStatus,
} from '../shared/protocol';
import type { DataControl } from './data-control';
import type { ModelHost } from './model-host';
import type { SessionService } from './session';

export interface HandlerDeps {
  config(): Promise<TacitConfig>;
  /**
   * Whether capture may run at all under `config` (shared/consent.ts): read for every batch,
   * never cached, with the config the listener already loaded.
   */
  consent(config: TacitConfig): Promise<ConsentState>;
  host(): ModelHost;
  sessions: SessionService;
  data: DataControl;
  history(): Promise<AttestationRecord[]>;
  pausedOrigins(): Promise<string[]>;
  setOriginPaused(origin: string, paused: boolean): Promise<string[]>;
  storageSession: {
    get(key: string): Promise<Record<string, unknown>>;
    set(items: Record<string, unknown>): Promise<void>;
  };
  extensionId: string;
  extensionOrigin: string;
}

/** Who sent a content message, and the config in force when it arrived (loaded once). */
interface ContentSender {
  origin: string;
  tabId: number;
  config: TacitConfig;
}

type ContentHandlers = {
  [K in ContentMessage['type']]: (
    message: Extract<ContentMessage, { type: K }>,
    sender: ContentSender,
  ) => Promise<ContentReplies[K]>;
};

/** Tabs whose site is remembered for the popup (the newest). */
const MAX_TABS = 64;

/** A problem older than this is not shown as the tab's current one. */
const RECENT_ERROR_MS = 5 * 60_000;

/** How long a page waits for the model's status before saying it did not answer. */
const MODEL_STATUS_TIMEOUT_MS = 5000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new ExtensionError('ERR_MODEL', 'model did not answer in time')), ms),
    ),
  ]);
}

type PageHandlers = {
  [K in PageMessage['type']]: (
    message: Extract<PageMessage, { type: K }>,
  ) => Promise<PageReplies[K]>;
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
  // Read-modify-write of the stored map: after a restart memory holds only some tabs.
  const storeTabSession = async (tabId: number, sid: string | null): Promise<void> => {
    if (sid === null) tabSessions.delete(tabId);
    else tabSessions.set(tabId, sid);
    const { tabSessions: stored } = await deps.storageSession.get('tabSessions');
    const next = { ...((stored ?? {}) as Record<string, string>) };
    if (sid === null) delete next[String(tabId)];
    else next[String(tabId)] = sid;
    const entries = Object.entries(next);
    await deps.storageSession.set({ tabSessions: Object.fromEntries(entries.slice(-MAX_TABS)) });
  };
  return {
    // A new page in the tab: it has no session until it declares one (a login page after a
    // bank page must not be scored or learned as the earlier session), and the popup learns
    // which site the tab shows.
    'capture-policy': async (_message, sender) => {
      await storeTabSession(sender.tabId, null);
      const { tabOrigins } = await deps.storageSession.get('tabOrigins');
      const origins = Object.entries((tabOrigins ?? {}) as Record<string, string>).filter(
        ([tab]) => tab !== String(sender.tabId),
      );
      await deps.storageSession.set({
        tabOrigins: Object.fromEntries([
          ...origins.slice(-(MAX_TABS - 1)),
          [String(sender.tabId), sender.origin],
        ]),
      });
      const paused = (await deps.pausedOrigins()).includes(sender.origin);
      const consent = await deps.consent(sender.config);
      return {
        capture: consent.given && sender.config.protectedOrigins.includes(sender.origin) && !paused,
      };
    },
    events: async (message, sender) => {
      const batch = message.batch;
      // Consent withdrawn while the page was open: nothing more is taken, and the page stops.
      if (!(await deps.consent(sender.config)).given) return { accepted: 0, stop: true };
      // A paused site's events are dropped here too: a page loaded before the pause still sends.
      if ((await deps.pausedOrigins()).includes(sender.origin)) return { accepted: 0 };
      const sid = await sessionOfTab(sender.tabId);
      // Learning only for a session the bank vouched for (bound, live, enrolled subject).
      const learn = sid === null ? null : await deps.sessions.learningContext(sid);
      let update;
      try {
        update = await deps.host().ingest(batch, sid, learn);
      } catch (error) {
        // One model failure loses this batch only: the page keeps capturing, the next batch
        // goes to a restarted worker (model-host.ts).
        await deps.sessions.recordError(
          error instanceof ExtensionError
            ? error
            : new ExtensionError('ERR_MODEL', 'ingest failed'),
        );
        return { accepted: 0 };
      }
      await deps.data.maybeApplyRetention().catch((e: unknown) => deps.sessions.recordError(e));
      if (sid)
        await deps.sessions
          .onScore(sid, update)
          .catch((e: unknown) => deps.sessions.recordError(e));
      return { accepted: batch.events.length };
    },
    'page-hints': async (message, sender) => {
      // Without consent a page's session or enrolment code is not acted on (no request is made).
      if (!(await deps.consent(sender.config)).given) return { ok: true };
      if (message.hints.session) await storeTabSession(sender.tabId, message.hints.session.sid);
      await deps.sessions
        .handleHints(message.hints)
        .catch((e: unknown) => deps.sessions.recordError(e));
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
      const learn = session ? await deps.sessions.learningContext(session.sid) : null;
      const model = await deps
        .host()
        .status(learn)
        .catch(() => null);
      return {
        enrolled: enrolment !== null,
        deviceId: enrolment?.deviceId ?? null,
        serverUrl: config.serverUrl,
        model,
        lastConfidence: session?.last?.confidence ?? null,
        session: session
          ? {
              sid: session.sid,
              bound: session.bound,
              seq: session.seq,
              lastSentAt: session.lastSentAt,
            }
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
    'tab-status': async ({ tabId }): Promise<TabStatus> => {
      const config = await deps.config();
      const { tabOrigins, tabSessions } = {
        ...(await deps.storageSession.get('tabOrigins')),
        ...(await deps.storageSession.get('tabSessions')),
      } as { tabOrigins?: Record<string, string>; tabSessions?: Record<string, string> };
      const origin = tabOrigins?.[String(tabId)] ?? null;
      const paused = await deps.pausedOrigins();
      const isProtected = origin !== null && config.protectedOrigins.includes(origin);
      const site =
        origin === null
          ? null
          : { origin, protected: isProtected, paused: paused.includes(origin) };
      const enrolment = await deps.sessions.enrolment();
      const sid = isProtected ? (tabSessions?.[String(tabId)] ?? null) : null;
      const state = sid === null ? null : await deps.sessions.session(sid);
      const learn = sid === null ? null : await deps.sessions.learningContext(sid);
      let model: WorkerStatus | null = null;
      let modelError: string | null = null;
      try {
        model = await withTimeout(deps.host().status(learn), MODEL_STATUS_TIMEOUT_MS);
      } catch (error) {
        modelError = failureCode(
          error instanceof ExtensionError
            ? error
            : new ExtensionError('ERR_MODEL', 'status failed'),
        );
      }
      const statements = sid === null ? [] : (await deps.history()).filter((r) => r.sid === sid);
      const { lastError } = await deps.storageSession.get('lastError');
      const { lastErrorAt } = await deps.storageSession.get('lastErrorAt');
      // An old problem that did not recur is not shown as current.
      const recent = typeof lastErrorAt === 'number' && Date.now() - lastErrorAt < RECENT_ERROR_MS;
      const consent = await deps.consent(config);
      return {
        site,
        capturing: consent.given && isProtected && site?.paused === false,
        consent: { given: consent.given, by: consent.by },
        device: {
          enrolled: enrolment !== null,
          deviceId: enrolment?.deviceId ?? null,
          subjects: enrolment?.subjects.length ?? 0,
        },
        serverUrl: config.serverUrl,
        session: state && {
          sid: state.sid,
          bound: state.bound,
          ended: state.ended === true,
          learning: learn !== null,
          seq: state.seq,
        },
        model,
        modelError,
        confidence: learn !== null ? (state?.last?.confidence ?? null) : null,
        series: statements.flatMap((r) => (r.conf === null ? [] : [{ at: r.at, conf: r.conf }])),
        lastStatement: statements.at(-1) ?? null,
        lastError: recent && typeof lastError === 'string' ? lastError : null,
      };
    },
    'set-site-paused': async ({ origin, paused }) => {
      const config = await deps.config();
      if (!config.protectedOrigins.includes(origin)) {
        return { ok: false, paused: await deps.pausedOrigins(), error: 'ERR_CONFIG' };
      }
      return { ok: true, paused: await deps.setOriginPaused(origin, paused), error: null };
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
    'export-data': async () => {
      try {
        return { ok: true, document: await deps.data.exportDocument(), error: null };
      } catch (error) {
        await deps.sessions.recordError(error);
        return { ok: false, document: null, error: failureCode(error) };
      }
    },
    'delete-everything': async () => {
      try {
        const { revoked } = await deps.data.deleteEverything();
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
  'export-data',
  'delete-everything',
  'tab-status',
  'set-site-paused',
]);

function isPageMessage(message: unknown): message is PageMessage {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as { type?: unknown; tabId?: unknown };
  if (!PAGE_TYPES.has(m.type)) return false;
  if (m.type === 'session-assurance' || m.type === 'tab-status') {
    return typeof m.tabId === 'number' && Number.isSafeInteger(m.tabId) && m.tabId >= 0;
  }
  if (m.type === 'set-site-paused') {
    const p = message as { origin?: unknown; paused?: unknown };
    return typeof p.origin === 'string' && p.origin.length <= 256 && typeof p.paused === 'boolean';
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
      return deps.config().then(async (config) => {
        const isProtected = config.protectedOrigins.includes(origin);
        // Asked by every page the content script runs on, protected or not.
        if (message.type === 'capture-policy')
          return content['capture-policy'](message, { origin, tabId, config });
        // A content script elsewhere never gets to feed the model; one left running on a site
        // that is no longer protected is told to stop.
        if (!isProtected)
          return message.type === 'events' ? { accepted: 0, stop: true } : undefined;
        const handler = content[message.type] as (
          m: ContentMessage,
          s: ContentSender,
        ) => Promise<unknown>;
        return handler(message, { origin, tabId, config });
      });
    }
    return undefined;
  };
}
