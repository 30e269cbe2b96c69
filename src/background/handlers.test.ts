import { describe, expect, it, vi } from 'vitest';
import type { Runtime } from 'webextension-polyfill';
import { DEFAULT_CONFIG } from '../shared/config';
import { ExtensionError } from '../shared/errors';
import type { ScoreUpdate } from '../shared/protocol';
import { createListener, type HandlerDeps } from './handlers';
import type { SessionService } from './session';

vi.mock('webextension-polyfill', () => ({ default: {} }));

const ID = 'abcdefghijklmnopabcdefghijklmnop';
const EXT = `chrome-extension://${ID}/`;
const BANK = 'https://bank.example';

const update: ScoreUpdate = {
  state: 'enrolling',
  progress: 0.5,
  confidence: null,
  windowsScored: 0,
  counts: { k: 2, p: 0 },
  modelVersion: 'fs1',
};

function setup(stored: Record<string, unknown> = {}) {
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
  const deps: HandlerDeps = {
    config: async () => ({ ...DEFAULT_CONFIG, protectedOrigins: [BANK] }),
    host: () => ({ ingest, status: vi.fn(), checkGolden: vi.fn() }),
    sessions: {
      handleHints,
      onScore,
      recordError,
      serverSession,
      forgetDevice,
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
  };
}

const tabSender = (url: string, id = ID): Runtime.MessageSender =>
  ({ id, url, tab: { id: 7 } }) as unknown as Runtime.MessageSender;
const batch = { schema: 2, events: [{ t: 1, k: 'kd', c: 'letter', i: 1 }], dropped: 0 };

describe('service worker listener', () => {
  it('tells a content script on a protected origin to capture, and nowhere else', async () => {
    const { listener } = setup();
    await expect(listener({ type: 'capture-policy' }, tabSender(`${BANK}/accounts`))).resolves.toEqual({ capture: true });
    await expect(listener({ type: 'capture-policy' }, tabSender('https://evil.example/'))).resolves.toEqual({ capture: false });
    await expect(listener({ type: 'capture-policy' }, tabSender('https://bank.example.evil.example/'))).resolves.toEqual({ capture: false });
  });

  it('feeds the model only from protected origins', async () => {
    const { listener, ingest } = setup();
    await expect(listener({ type: 'events', batch }, tabSender('https://evil.example/'))).resolves.toBeUndefined();
    expect(ingest).not.toHaveBeenCalled();
    await expect(listener({ type: 'events', batch }, tabSender(`${BANK}/x`))).resolves.toEqual({ accepted: 1 });
    expect(ingest).toHaveBeenCalledOnce();
  });

  it('scores a tab\'s events for the session its page declared', async () => {
    const { listener, onScore, handleHints } = setup();
    const hints = { session: { sid: 'session-1234', challenge: 'c'.repeat(43) } };
    await listener({ type: 'page-hints', hints }, tabSender(`${BANK}/a`));
    expect(handleHints).toHaveBeenCalledWith(hints);
    await listener({ type: 'events', batch }, tabSender(`${BANK}/a`));
    expect(onScore).toHaveBeenCalledWith('session-1234', update);
  });

  it('still knows the tab\'s session after the service worker was stopped and restarted', async () => {
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
      [{ target: 'offscreen', type: 'ingest', batch }, { id: ID, url: `${EXT}x` } as Runtime.MessageSender],
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
    const page = { id: ID, url: `${EXT}src/popup/popup.html`, tab: { id: 3 } } as unknown as Runtime.MessageSender;
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
      session: { sid: 'session-of-tab-7', status: 'active', assurance: 0.8, level: 'high', state: 'scoring', attestations: 4 },
      error: null,
    });
    expect(await listener({ type: 'session-assurance', tabId: 8 }, page)).toEqual({ session: null, error: null });
    expect(serverSession).toHaveBeenCalledOnce();
  });

  it('reports a failure as a stable code', async () => {
    const { listener, serverSession } = setup({ tabSessions: { '7': 'sid' } });
    serverSession.mockRejectedValueOnce(new ExtensionError('ERR_SERVER', 'refused', 'ERR_UNKNOWN_SESSION'));
    expect(await listener({ type: 'session-assurance', tabId: 7 }, page)).toEqual({
      session: null,
      error: 'ERR_SERVER/ERR_UNKNOWN_SESSION',
    });
  });

  it('forgets the device for our own pages only', async () => {
    const { listener, forgetDevice, recordError } = setup();
    expect(await listener({ type: 'forget-device' }, page)).toEqual({ ok: true, revoked: 1, error: null });
    expect(await listener({ type: 'forget-device' }, tabSender(`${BANK}/`))).toBeUndefined();
    expect(forgetDevice).toHaveBeenCalledOnce();
    forgetDevice.mockRejectedValueOnce(new ExtensionError('ERR_NETWORK', 'down'));
    expect(await listener({ type: 'forget-device' }, page)).toEqual({ ok: false, revoked: null, error: 'ERR_NETWORK' });
    expect(recordError).toHaveBeenCalledOnce();
  });

  it('drops malformed session-assurance messages', async () => {
    const { listener, serverSession } = setup({ tabSessions: { '7': 'sid' } });
    for (const tabId of ['7', -1, 1.5, null, undefined, Number.MAX_SAFE_INTEGER + 1]) {
      expect(await listener({ type: 'session-assurance', tabId }, page)).toBeUndefined();
    }
    expect(await listener({ type: 'session-assurance', tabId: 7 }, tabSender(`${BANK}/`))).toBeUndefined();
    expect(serverSession).not.toHaveBeenCalled();
  });
});
