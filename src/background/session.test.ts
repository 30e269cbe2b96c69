import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../shared/config';
import { ExtensionError } from '../shared/errors';

const m = vi.hoisted(() => {
  const local: Record<string, unknown> = {};
  const session: Record<string, unknown> = {};
  const area = (store: Record<string, unknown>) => ({
    get: async (key: string) => ({ [key]: store[key] }),
    set: async (items: Record<string, unknown>) => void Object.assign(store, items),
    remove: async (keys: string | string[]) => {
      for (const k of [keys].flat()) delete store[k];
    },
  });
  const calls: string[] = [];
  return { local, session, area, calls };
});
const { local, session, calls } = m;

vi.mock('webextension-polyfill', () => ({
  default: { storage: { local: m.area(m.local), session: m.area(m.session) } },
}));
vi.mock('./device-key', () => ({
  deviceKey: vi.fn(),
  signStatement: vi.fn(),
  hashStatement: vi.fn(),
  forgetDeviceKey: vi.fn(async () => void m.calls.push('forget-key')),
}));
const revokeThisDevice = vi.fn(async () => {
  calls.push('revoke');
  return { deviceId: 'dev', revoked: 2 };
});
const readDeviceSession = vi.fn(async (_url: string, sid: string) => ({
  sessionId: sid,
  status: 'active',
  assurance: 0.7,
  level: 'medium',
  state: 'scoring',
  attestations: 5,
  lastAttestationAt: 1,
  expiresAt: 'x',
}));
vi.mock('./server-client', () => ({
  bindSession: vi.fn(),
  enrollDevice: vi.fn(),
  sendAttestation: vi.fn(),
  revokeThisDevice: (...args: unknown[]) => revokeThisDevice(...(args as [])),
  readDeviceSession: (...args: unknown[]) => readDeviceSession(...(args as [string, string])),
}));

const { SessionService } = await import('./session');
const service = () => new SessionService(async () => DEFAULT_CONFIG);
const enrolled = { deviceId: 'dev', subject: 's', serverUrl: DEFAULT_CONFIG.serverUrl, enrolledAt: 1 };

beforeEach(() => {
  for (const k of Object.keys(local)) delete local[k];
  for (const k of Object.keys(session)) delete session[k];
  calls.length = 0;
  revokeThisDevice.mockClear();
  readDeviceSession.mockClear();
});

describe('forgetDevice', () => {
  it('revokes at the server first, then deletes the key, the enrolment and session state', async () => {
    Object.assign(local, { device: enrolled });
    Object.assign(session, { sessions: { a: {} }, tabSessions: { '1': 'a' }, lastError: 'x' });
    await expect(service().forgetDevice()).resolves.toEqual({ revoked: 2 });
    expect(calls).toEqual(['revoke', 'forget-key']);
    expect(local).toEqual({});
    expect(session).toEqual({});
  });

  it('goes on when the server no longer knows or already revoked the device', async () => {
    for (const code of ['ERR_UNKNOWN_DEVICE', 'ERR_DEVICE_REVOKED']) {
      Object.assign(local, { device: enrolled });
      calls.length = 0;
      revokeThisDevice.mockRejectedValueOnce(new ExtensionError('ERR_SERVER', 'refused', code));
      await expect(service().forgetDevice()).resolves.toEqual({ revoked: null });
      expect(calls).toEqual(['forget-key']);
      expect(local.device).toBeUndefined();
    }
  });

  it('deletes nothing when the server cannot be reached (the user retries)', async () => {
    Object.assign(local, { device: enrolled });
    revokeThisDevice.mockRejectedValueOnce(new ExtensionError('ERR_NETWORK', 'down'));
    await expect(service().forgetDevice()).rejects.toMatchObject({ code: 'ERR_NETWORK' });
    expect(calls).not.toContain('forget-key');
    expect(local.device).toEqual(enrolled);
  });

  it('without an enrolment there is nothing to revoke: only the key goes', async () => {
    await expect(service().forgetDevice()).resolves.toEqual({ revoked: null });
    expect(revokeThisDevice).not.toHaveBeenCalled();
    expect(calls).toEqual(['forget-key']);
  });
});

describe('serverSession', () => {
  it('asks the configured server as this device, and passes on only what the popup shows', async () => {
    Object.assign(local, { device: enrolled });
    await expect(service().serverSession('sid-9')).resolves.toEqual({
      status: 'active',
      assurance: 0.7,
      level: 'medium',
      state: 'scoring',
      attestations: 5,
    });
    expect(readDeviceSession).toHaveBeenCalledWith(DEFAULT_CONFIG.serverUrl, 'sid-9');
  });

  it('is null while not enrolled (no request)', async () => {
    await expect(service().serverSession('sid-9')).resolves.toBeNull();
    expect(readDeviceSession).not.toHaveBeenCalled();
  });
});
