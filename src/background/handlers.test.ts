import { describe, expect, it, vi } from 'vitest';
import type { Runtime } from 'webextension-polyfill';
import { DEFAULT_CONFIG } from '../shared/config';
import { ExtensionError } from '../shared/errors';
import type { AttestationRecord, ScoreUpdate, WorkerStatus } from '../shared/protocol';
import { createListener, type HandlerDeps } from './handlers';
import type { DataControl } from './data-control';
import type { SessionService } from './session';

vi.mock('webextension-polyfill', () => ({ default: {} }));

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const EXT = `chrome-extension://${ID}/`;
const BANK = 'https://bank.example';

const update: ScoreUpdate = {
  learning: true,
  state: 'enrolling',
  progress: 0.5,
  confidence: null,
  decision: null,
  windowsScored: 0,
  counts: { k: 2, p: 0 },
  modelVersion: 'fs1',
};

function setup(
  stored: Record<string, unknown> = {},
  consent: { given: boolean } = { given: true },
) {
  const ingest = vi.fn(async () => update);
  const handleHints = vi.fn(async () => undefined);
  const onScore = vi.fn(async () => undefined);
  const serverSession = vi.fn(async (_sid: string) => ({
    status: 'active' as const,
    assurance: 0.8,
    level: 'high' as const,
    state: 'scoring' as const,
    attestations: 4,
  }));
  const forgetDevice = vi.fn(async () => ({ revoked: 1 }));
  const recordError = vi.fn(async () => undefined);
  // The service's rule (session.test.ts): here only the vouched-for session has a subject.
  const learningContext = vi.fn(async (sid: string) =>
    sid === 'session-1234' ? { subjectKey: 'alice-key' } : null,
  );
  const data = {
    maybeApplyRetention: vi.fn(async () => undefined),
    exportDocument: vi.fn(async () => ({ format: 'tacit-export' })),
    deleteEverything: vi.fn(async () => ({ revoked: 2 })),
  };
  const paused: string[] = [];
  const history = vi.fn(async () => [] as AttestationRecord[]);
  const status = vi.fn(async (): Promise<WorkerStatus> => ({
    subject: true,
    backend: 'wasm',
    state: 'enrolling',
    progress: 0.4,
    modelVersion: 'um1',
    modalities: {
      keystroke: { trained: false, enrolWindows: 4 },
      pointer: { trained: false, enrolWindows: 0 },
    },
  }));
  const sessionState = vi.fn(async (_sid: string) => null as unknown);
  const enrolment = vi.fn(async () => null as unknown);
  const deps: HandlerDeps = {
    data: data as unknown as DataControl,
    history,
    pausedOrigins: async () => [...paused],
    setOriginPaused: async (origin, on) => {
      const i = paused.indexOf(origin);
      if (i >= 0) paused.splice(i, 1);
      if (on) paused.push(origin);
      return [...paused];
    },
    config: async () => ({ ...DEFAULT_CONFIG, protectedOrigins: [BANK] }),
    consent: async (_config) =>
      consent.given
        ? { given: true, by: 'user', givenAt: 1 }
        : { given: false, by: null, givenAt: null },
    host: () => ({
      ingest,
      status,
      checkGolden: vi.fn(),
      describe: vi.fn(),
      applyRetention: vi.fn(),
      eraseAll: vi.fn(),
      federatedUpdate: vi.fn(),
      adoptEncoder: vi.fn(),
      confirmSession: vi.fn(),
    }),
    sessions: {
      handleHints,
      onScore,
      recordError,
      serverSession,
      forgetDevice,
      learningContext,
      session: sessionState,
      enrolment,
    } as unknown as SessionService,
    storageSession: {
      get: async (key: string) => ({ [key]: stored[key] }),
      set: async (items: Record<string, unknown>) => void Object.assign(stored, items),
    },
    extensionId: ID,
    extensionOrigin: EXT,
  };
  return {
    listener: createListener(deps),
    ingest,
    handleHints,
    onScore,
    serverSession,
    forgetDevice,
    recordError,
    stored,
    data,
    paused,
    history,
    status,
    sessionState,
    enrolment,
    consent,
  };
}

const tabSender = (url: string, id = ID): Runtime.MessageSender =>
  ({ id, url, tab: { id: 7 } }) as unknown as Runtime.MessageSender;
const batch = { schema: 2, events: [{ t: 1, k: 'kd', c: 'letter', i: 1 }], dropped: 0 };

describe('service worker listener', () => {
  it('tells a content script on a protected origin to capture, and nowhere else', async () => {
    const { listener } = setup();
    await expect(
      listener({ type: 'capture-policy' }, tabSender(`${BANK}/accounts`)),
    ).resolves.toEqual({ capture: true });
    await expect(
      listener({ type: 'capture-policy' }, tabSender('https://evil.example/')),
    ).resolves.toEqual({ capture: false });
    await expect(
      listener({ type: 'capture-policy' }, tabSender('https://bank.example.evil.example/')),
    ).resolves.toEqual({ capture: false });
  });

  it('captures nowhere before consent, and stops a running page when consent is withdrawn', async () => {
    const { listener, ingest, handleHints, consent } = setup({}, { given: false });
    await expect(
      listener({ type: 'capture-policy' }, tabSender(`${BANK}/accounts`)),
    ).resolves.toEqual({ capture: false });
    const hints = {
      session: { sid: 'session-1234', challenge: 'c'.repeat(43) },
      enrollmentCode: 'ABCD-EFGH',
    };
    await listener({ type: 'page-hints', hints }, tabSender(`${BANK}/a`));
    expect(handleHints).not.toHaveBeenCalled();
    consent.given = true;
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/x`))).resolves.toEqual({
      accepted: 1,
    });
    consent.given = false;
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/x`))).resolves.toEqual({
      accepted: 0,
      stop: true,
    });
    expect(ingest).toHaveBeenCalledOnce();
  });

  it('feeds the model only from protected origins', async () => {
    const { listener, ingest } = setup();
    await expect(
      listener({ type: 'events', batch }, tabSender('https://evil.example/')),
    ).resolves.toEqual({
      accepted: 0,
      stop: true,
    });
    await expect(
      listener({ type: 'page-hints', hints: {} }, tabSender('https://evil.example/')),
    ).resolves.toBeUndefined();
    expect(ingest).not.toHaveBeenCalled();
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/x`))).resolves.toEqual({
      accepted: 1,
    });
    expect(ingest).toHaveBeenCalledOnce();
  });

  it("scores a tab's events for the session its page declared", async () => {
    const { listener, onScore, handleHints, ingest } = setup();
    const hints = { session: { sid: 'session-1234', challenge: 'c'.repeat(43) } };
    await listener({ type: 'page-hints', hints }, tabSender(`${BANK}/a`));
    expect(handleHints).toHaveBeenCalledWith(hints);
    await listener({ type: 'events', batch }, tabSender(`${BANK}/a`));
    expect(ingest).toHaveBeenCalledWith(batch, 'session-1234', { subjectKey: 'alice-key' });
    expect(onScore).toHaveBeenCalledWith('session-1234', update);
  });

  it('gives the worker no learning context on a page without a vouched session (login page)', async () => {
    const { listener, ingest, onScore } = setup();
    await listener({ type: 'events', batch }, tabSender(`${BANK}/login`));
    expect(ingest).toHaveBeenCalledWith(batch, null, null);
    expect(onScore).not.toHaveBeenCalled();
    await listener(
      { type: 'page-hints', hints: { session: { sid: 'unbound-sid', challenge: 'c'.repeat(43) } } },
      tabSender(`${BANK}/a`),
    );
    await listener({ type: 'events', batch }, tabSender(`${BANK}/a`));
    expect(ingest).toHaveBeenLastCalledWith(batch, 'unbound-sid', null);
  });

  it("still knows the tab's session after the service worker was stopped and restarted", async () => {
    const first = setup();
    const hints = { session: { sid: 'session-5678', challenge: 'c'.repeat(43) } };
    await first.listener({ type: 'page-hints', hints }, tabSender(`${BANK}/a`));
    const restarted = setup(first.stored); // new listener, empty memory, same storage.session
    await restarted.listener({ type: 'events', batch }, tabSender(`${BANK}/a`));
    expect(restarted.onScore).toHaveBeenCalledWith('session-5678', update);
  });

  it('drops other extensions, unknown types, malformed batches and offscreen traffic', async () => {
    const { listener, ingest, handleHints } = setup();
    const hostile: [unknown, Runtime.MessageSender][] = [
      [{ type: 'events', batch }, tabSender(`${BANK}/`, 'another-extension-id')],
      [{ type: 'fetch', url: 'https://evil.example' }, tabSender(`${BANK}/`)],
      [{ type: 'events', batch: { schema: 1, events: [] } }, tabSender(`${BANK}/`)],
      [{ type: 'events' }, tabSender(`${BANK}/`)],
      [{ type: 'page-hints' }, tabSender(`${BANK}/`)],
      [null, tabSender(`${BANK}/`)],
      ['status', tabSender(`${BANK}/`)],
      [
        { target: 'offscreen', type: 'ingest', batch },
        { id: ID, url: `${EXT}x` } as Runtime.MessageSender,
      ],
      [{ type: 'status' }, tabSender(`${BANK}/`)],
      [{ type: 'status' }, { id: ID, url: 'https://evil.example/' } as Runtime.MessageSender],
    ];
    for (const [message, sender] of hostile) {
      expect(await listener(message, sender)).toBeUndefined();
    }
    expect(ingest).not.toHaveBeenCalled();
    expect(handleHints).not.toHaveBeenCalled();
  });
});

describe('extension pages', () => {
  it('answers status to our own page, even opened in a tab, and never treats it as a content script', async () => {
    const { listener, ingest } = setup();
    const page = {
      id: ID,
      url: `${EXT}src/popup/popup.html`,
      tab: { id: 3 },
    } as unknown as Runtime.MessageSender;
    expect(await listener({ type: 'events', batch }, page)).toBeUndefined();
    expect(ingest).not.toHaveBeenCalled();
  });
});

describe('server-side assurance and forgetting the device', () => {
  const page = { id: ID, url: `${EXT}src/popup/popup.html` } as Runtime.MessageSender;

  it('asks the server about the session the tab declared, never one named by the message', async () => {
    const { listener, serverSession } = setup({ tabSessions: { '7': 'session-of-tab-7' } });
    const reply = await listener({ type: 'session-assurance', tabId: 7, sid: 'chosen' }, page);
    expect(serverSession).toHaveBeenCalledWith('session-of-tab-7');
    expect(reply).toEqual({
      session: {
        sid: 'session-of-tab-7',
        status: 'active',
        assurance: 0.8,
        level: 'high',
        state: 'scoring',
        attestations: 4,
      },
      error: null,
    });
    expect(await listener({ type: 'session-assurance', tabId: 8 }, page)).toEqual({
      session: null,
      error: null,
    });
    expect(serverSession).toHaveBeenCalledOnce();
  });

  it('reports a failure as a stable code', async () => {
    const { listener, serverSession } = setup({ tabSessions: { '7': 'sid' } });
    serverSession.mockRejectedValueOnce(
      new ExtensionError('ERR_SERVER', 'refused', 'ERR_UNKNOWN_SESSION'),
    );
    expect(await listener({ type: 'session-assurance', tabId: 7 }, page)).toEqual({
      session: null,
      error: 'ERR_SERVER/ERR_UNKNOWN_SESSION',
    });
  });

  it('forgets the device for our own pages only', async () => {
    const { listener, forgetDevice, recordError } = setup();
    expect(await listener({ type: 'forget-device' }, page)).toEqual({
      ok: true,
      revoked: 1,
      error: null,
    });
    expect(await listener({ type: 'forget-device' }, tabSender(`${BANK}/`))).toBeUndefined();
    expect(forgetDevice).toHaveBeenCalledOnce();
    forgetDevice.mockRejectedValueOnce(new ExtensionError('ERR_NETWORK', 'down'));
    expect(await listener({ type: 'forget-device' }, page)).toEqual({
      ok: false,
      revoked: null,
      error: 'ERR_NETWORK',
    });
    expect(recordError).toHaveBeenCalledOnce();
  });

  it('drops malformed session-assurance messages', async () => {
    const { listener, serverSession } = setup({ tabSessions: { '7': 'sid' } });
    for (const tabId of ['7', -1, 1.5, null, undefined, Number.MAX_SAFE_INTEGER + 1]) {
      expect(await listener({ type: 'session-assurance', tabId }, page)).toBeUndefined();
    }
    expect(
      await listener({ type: 'session-assurance', tabId: 7 }, tabSender(`${BANK}/`)),
    ).toBeUndefined();
    expect(serverSession).not.toHaveBeenCalled();
  });
});

describe('data control messages', () => {
  const page = { id: ID, url: `${EXT}src/options/options.html` } as Runtime.MessageSender;

  it('exports and deletes everything for our own pages only', async () => {
    const { listener, data } = setup();
    expect(await listener({ type: 'export-data' }, page)).toEqual({
      ok: true,
      document: { format: 'tacit-export' },
      error: null,
    });
    expect(await listener({ type: 'delete-everything' }, page)).toEqual({
      ok: true,
      revoked: 2,
      error: null,
    });
    expect(await listener({ type: 'export-data' }, tabSender(`${BANK}/`))).toBeUndefined();
    expect(await listener({ type: 'delete-everything' }, tabSender(`${BANK}/`))).toBeUndefined();
    expect(data.deleteEverything).toHaveBeenCalledOnce();
    data.deleteEverything.mockRejectedValueOnce(
      new ExtensionError('ERR_SERVER', 'refused', 'ERR_RATE_LIMITED'),
    );
    expect(await listener({ type: 'delete-everything' }, page)).toEqual({
      ok: false,
      revoked: null,
      error: 'ERR_SERVER/ERR_RATE_LIMITED',
    });
  });

  it('applies retention when events arrive', async () => {
    const { listener, data } = setup();
    await listener({ type: 'events', batch }, tabSender(`${BANK}/x`));
    expect(data.maybeApplyRetention).toHaveBeenCalledOnce();
  });
});

describe('pages in a tab, pause, and model failures', () => {
  const popup = { id: ID, url: `${EXT}src/popup/popup.html` } as Runtime.MessageSender;
  const hints = { session: { sid: 'session-1234', challenge: 'c'.repeat(43) } };

  it('a new page in the tab has no session until it declares one (login page after a bank page)', async () => {
    const { listener, ingest } = setup();
    await listener({ type: 'page-hints', hints }, tabSender(`${BANK}/accounts`));
    await listener({ type: 'capture-policy' }, tabSender(`${BANK}/login`));
    await listener({ type: 'events', batch }, tabSender(`${BANK}/login`));
    expect(ingest).toHaveBeenLastCalledWith(batch, null, null);
  });

  it('a paused site is told not to capture and its events are dropped', async () => {
    const { listener, ingest, paused } = setup();
    expect(await listener({ type: 'set-site-paused', origin: BANK, paused: true }, popup)).toEqual({
      ok: true,
      paused: [BANK],
      error: null,
    });
    expect(paused).toEqual([BANK]);
    await expect(listener({ type: 'capture-policy' }, tabSender(`${BANK}/a`))).resolves.toEqual({
      capture: false,
    });
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/a`))).resolves.toEqual({
      accepted: 0,
    });
    expect(ingest).not.toHaveBeenCalled();
    await listener({ type: 'set-site-paused', origin: BANK, paused: false }, popup);
    await expect(listener({ type: 'capture-policy' }, tabSender(`${BANK}/a`))).resolves.toEqual({
      capture: true,
    });
  });

  it('pauses only protected origins, and only for our pages', async () => {
    const { listener, paused } = setup();
    expect(
      await listener(
        { type: 'set-site-paused', origin: 'https://evil.example', paused: true },
        popup,
      ),
    ).toMatchObject({ ok: false, error: 'ERR_CONFIG' });
    expect(
      await listener(
        { type: 'set-site-paused', origin: BANK, paused: true },
        tabSender(`${BANK}/`),
      ),
    ).toBeUndefined();
    for (const bad of [
      { origin: 7, paused: true },
      { origin: BANK, paused: 'yes' },
      { origin: BANK },
    ]) {
      expect(await listener({ type: 'set-site-paused', ...bad }, popup)).toBeUndefined();
    }
    expect(paused).toEqual([]);
  });

  it("a model failure loses one batch, never the page's capture", async () => {
    const { listener, ingest, recordError } = setup();
    ingest.mockRejectedValueOnce(
      new ExtensionError('ERR_MODEL', 'offscreen document did not answer'),
    );
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/a`))).resolves.toEqual({
      accepted: 0,
    });
    expect(recordError).toHaveBeenCalledOnce();
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/a`))).resolves.toEqual({
      accepted: 1,
    });
  });

  it("tab-status describes this tab's site and session, with its statements for the chart", async () => {
    const { listener, history, sessionState, enrolment } = setup();
    await listener({ type: 'capture-policy' }, tabSender(`${BANK}/a`));
    await listener({ type: 'page-hints', hints }, tabSender(`${BANK}/a`));
    enrolment.mockResolvedValue({
      deviceId: 'dev',
      subjects: ['alice'],
      serverUrl: 'x',
      enrolledAt: 1,
    });
    sessionState.mockResolvedValue({
      sid: 'session-1234',
      bound: true,
      seq: 3,
      last: { confidence: 0.8 },
    });
    const sent = (sid: string, seq: number, conf: number | null): AttestationRecord => ({
      sid,
      seq,
      at: seq * 1000,
      state: conf === null ? 'enrolling' : 'scoring',
      conf,
      progress: 1,
      result: 'accepted',
      code: null,
      assurance: conf,
      level: 'high',
    });
    history.mockResolvedValue([
      sent('session-1234', 1, null),
      sent('other', 1, 0.1),
      sent('session-1234', 2, 0.7),
      sent('session-1234', 3, 0.8),
    ]);
    const reply = await listener({ type: 'tab-status', tabId: 7 }, popup);
    expect(reply).toMatchObject({
      site: { origin: BANK, protected: true, paused: false },
      capturing: true,
      device: { enrolled: true, deviceId: 'dev', subjects: 1 },
      session: { sid: 'session-1234', bound: true, ended: false, learning: true, seq: 3 },
      model: { state: 'enrolling', progress: 0.4 },
      modelError: null,
      confidence: 0.8,
      series: [
        { at: 2000, conf: 0.7 },
        { at: 3000, conf: 0.8 },
      ],
      lastStatement: { sid: 'session-1234', seq: 3 },
    });
    // A tab on which the content script never ran: Tacit is not on that page.
    expect(await listener({ type: 'tab-status', tabId: 99 }, popup)).toMatchObject({
      site: null,
      capturing: false,
      session: null,
    });
  });

  it('tab-status says when the model does not answer instead of waiting for ever', async () => {
    vi.useFakeTimers();
    try {
      const { listener, status } = setup();
      status.mockReturnValueOnce(new Promise(() => undefined));
      const reply = listener({ type: 'tab-status', tabId: 7 }, popup) as Promise<unknown>;
      await vi.advanceTimersByTimeAsync(6000);
      expect(await reply).toMatchObject({ model: null, modelError: 'ERR_MODEL' });
    } finally {
      vi.useRealTimers();
    }
  });
});
