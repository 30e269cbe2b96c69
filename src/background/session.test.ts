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
  deviceKey: vi.fn(async () => ({ jkt: 'dev' })),
  signStatement: vi.fn(async (typ: string) => typ),
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
  confirmed: false,
  confirmedAt: null as string | null,
}));
const sendAttestation = vi.fn(async (_url: string, _jws: string) => ({
  seq: 1,
  assurance: 0.9,
  level: 'high',
}));
const enrollDevice = vi.fn(async (_url: string, _enrollment: string) => ({
  deviceId: 'dev',
  subject: 'alice',
}));
const bindSession = vi.fn(async (_url: string, _binding: string) => ({
  sessionId: 'sid',
  subject: 'alice',
}));
vi.mock('./server-client', () => ({
  bindSession: (...args: unknown[]) => bindSession(...(args as [string, string])),
  enrollDevice: (...args: unknown[]) => enrollDevice(...(args as [string, string])),
  sendAttestation: (...args: unknown[]) => sendAttestation(...(args as [string, string])),
  revokeThisDevice: (...args: unknown[]) => revokeThisDevice(...(args as [])),
  readDeviceSession: (...args: unknown[]) => readDeviceSession(...(args as [string, string])),
}));

const { SessionService } = await import('./session');
const service = () => new SessionService(async () => DEFAULT_CONFIG);
const enrolled = {
  deviceId: 'dev',
  subjects: ['s'],
  serverUrl: DEFAULT_CONFIG.serverUrl,
  enrolledAt: 1,
};
const { subjectKey } = await import('./subject-key');
const CHAL = 'c'.repeat(43);

beforeEach(() => {
  for (const k of Object.keys(local)) delete local[k];
  for (const k of Object.keys(session)) delete session[k];
  calls.length = 0;
  revokeThisDevice.mockClear();
  readDeviceSession.mockClear();
  enrollDevice.mockClear();
  bindSession.mockClear();
});

describe('learningContext: only the subject the bank vouched for', () => {
  it('is null on a page with a session before the device is enrolled, and before binding', async () => {
    const s = service();
    await s.handleHints({ session: { sid: 'sid-a', challenge: CHAL } });
    expect(bindSession).not.toHaveBeenCalled();
    await expect(s.learningContext('sid-a')).resolves.toBeNull();
    await expect(s.learningContext('never-seen')).resolves.toBeNull();
  });

  it("after enrolment and binding, is the session's subject at this server", async () => {
    const s = service();
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-a', challenge: CHAL } });
    expect(enrollDevice).toHaveBeenCalledOnce();
    expect(local.device).toMatchObject({ deviceId: 'dev', subjects: ['alice'] });
    await expect(s.learningContext('sid-a')).resolves.toEqual({
      subjectKey: await subjectKey(DEFAULT_CONFIG.serverUrl, 'alice'),
    });
    expect(await subjectKey(DEFAULT_CONFIG.serverUrl, 'alice')).not.toBe(
      await subjectKey('https://other.example', 'alice'),
    );
  });

  it('a second subject enrolled on the same device learns under its own key', async () => {
    const s = service();
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-a', challenge: CHAL } });
    enrollDevice.mockResolvedValueOnce({ deviceId: 'dev', subject: 'bob' });
    bindSession.mockResolvedValueOnce({ sessionId: 'sid-b', subject: 'bob' });
    await s.handleHints({ enrollmentCode: 'CODE-2', session: { sid: 'sid-b', challenge: CHAL } });
    expect(local.device).toMatchObject({ subjects: ['alice', 'bob'] });
    const a = await s.learningContext('sid-a');
    const b = await s.learningContext('sid-b');
    expect(b).toEqual({ subjectKey: await subjectKey(DEFAULT_CONFIG.serverUrl, 'bob') });
    expect(a).not.toEqual(b);
  });

  it('sends a one-time code once, even when the page shows it again', async () => {
    const s = service();
    await s.handleHints({ enrollmentCode: 'CODE-1' });
    await s.handleHints({ enrollmentCode: 'CODE-1' });
    expect(enrollDevice).toHaveBeenCalledOnce();
  });

  it('is null once the session is over, for a subject not enrolled here, or for another server', async () => {
    const s = service();
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-a', challenge: CHAL } });
    const sessions = session.sessions as Record<string, { ended?: boolean; subject?: string }>;
    sessions['sid-a']!.ended = true;
    await expect(s.learningContext('sid-a')).resolves.toBeNull();
    sessions['sid-a']!.ended = false;
    sessions['sid-a']!.subject = 'mallory';
    await expect(s.learningContext('sid-a')).resolves.toBeNull();
    sessions['sid-a']!.subject = 'alice';
    await expect(s.learningContext('sid-a')).resolves.not.toBeNull();
    const elsewhere = new SessionService(async () => ({
      ...DEFAULT_CONFIG,
      serverUrl: 'https://other.example',
    }));
    await expect(elsewhere.learningContext('sid-a')).resolves.toBeNull();
  });

  it('reads an enrolment stored by a build that kept one subject', async () => {
    Object.assign(local, {
      device: {
        deviceId: 'dev',
        subject: 'alice',
        serverUrl: DEFAULT_CONFIG.serverUrl,
        enrolledAt: 1,
      },
    });
    await expect(service().enrolment()).resolves.toMatchObject({ subjects: ['alice'] });
  });
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

describe('attestation history', () => {
  const update = {
    learning: true,
    state: 'scoring' as const,
    progress: 1,
    confidence: 0.9,
    decision: { takeover: false, windows: { k: 1, p: 0 } },
    windowsScored: 1,
    counts: { k: 40, p: 0 },
    modelVersion: 'um1',
  };

  it('attests at once when the decision fires, once, and states the decision', async () => {
    let now = 2_000_000;
    const s = new SessionService(
      async () => DEFAULT_CONFIG,
      () => now,
    );
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-t', challenge: CHAL } });
    const { signStatement } = await import('./device-key');
    const signed = vi.mocked(signStatement);
    signed.mockClear();
    await s.onScore('sid-t', update);
    expect(signed).toHaveBeenCalledTimes(1);
    expect(signed.mock.calls[0]![1]).toMatchObject({ dec: { takeover: false, w: { k: 1, p: 0 } } });
    // Within the interval: an ordinary update waits…
    now += 1_000;
    await s.onScore('sid-t', { ...update, decision: { takeover: false, windows: { k: 2, p: 0 } } });
    expect(signed).toHaveBeenCalledTimes(1);
    // …the takeover decision does not.
    now += 1_000;
    const fired = {
      ...update,
      confidence: 0.3,
      decision: { takeover: true, windows: { k: 3, p: 0 } },
    };
    await s.onScore('sid-t', fired);
    expect(signed).toHaveBeenCalledTimes(2);
    expect(signed.mock.calls[1]![1]).toMatchObject({ conf: 0.3, dec: { takeover: true } });
    // Said once: the next takeover update waits for the interval again.
    now += 1_000;
    await s.onScore('sid-t', fired);
    expect(signed).toHaveBeenCalledTimes(2);
  });

  it('states the session signals, and attests a change of them even without trusted events', async () => {
    let now = 3_000_000;
    const s = new SessionService(
      async () => DEFAULT_CONFIG,
      () => now,
    );
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-s', challenge: CHAL } });
    const { signStatement } = await import('./device-key');
    const signed = vi.mocked(signStatement);
    signed.mockClear();
    const signals = { bot: 0, remote: 0, paste: 0, otp: 0, syn: 0 };
    await s.onScore('sid-s', { ...update, signals });
    expect(signed.mock.calls[0]![1]).toMatchObject({ sig: signals });
    // A page script's events only: no trusted event, but the bot signal rose: it is said.
    now += DEFAULT_CONFIG.attestationIntervalMs;
    const scripted = { ...signals, bot: 1, syn: 12 };
    await s.onScore('sid-s', { ...update, counts: { k: 0, p: 0 }, signals: scripted });
    expect(signed).toHaveBeenCalledTimes(2);
    expect(signed.mock.calls[1]![1]).toMatchObject({ sig: scripted, n: { k: 0, p: 0 } });
    // Nothing new: nothing sent.
    now += DEFAULT_CONFIG.attestationIntervalMs;
    await s.onScore('sid-s', { ...update, counts: { k: 0, p: 0 }, signals: scripted });
    expect(signed).toHaveBeenCalledTimes(2);
  });

  it("records each statement sent with the server's answer, and a refusal with its code", async () => {
    let now = 1_000_000;
    const s = new SessionService(
      async () => DEFAULT_CONFIG,
      () => now,
    );
    await s.handleHints({ enrollmentCode: 'CODE-1', session: { sid: 'sid-a', challenge: CHAL } });
    await s.onScore('sid-a', update);
    now += 10_000;
    sendAttestation.mockRejectedValueOnce(
      new ExtensionError('ERR_SERVER', 'refused', 'ERR_RATE_LIMITED'),
    );
    await expect(s.onScore('sid-a', { ...update, confidence: 0.4 })).rejects.toMatchObject({
      serverCode: 'ERR_RATE_LIMITED',
    });
    expect(local.attestations).toEqual([
      {
        sid: 'sid-a',
        seq: 1,
        at: 1_000_000,
        state: 'scoring',
        conf: 0.9,
        progress: 1,
        result: 'accepted',
        code: null,
        assurance: 0.9,
        level: 'high',
      },
      {
        sid: 'sid-a',
        seq: 2,
        at: 1_010_000,
        state: 'scoring',
        conf: 0.4,
        progress: 1,
        result: 'refused',
        code: 'ERR_RATE_LIMITED',
        assurance: null,
        level: null,
      },
    ]);
  });
});

describe('a strong-factor confirmation by the bank', () => {
  const scored = (confidence: number, decision: { takeover: boolean; dipped?: boolean }) => ({
    learning: true,
    state: 'scoring' as const,
    progress: 1,
    confidence,
    decision: { ...decision, windows: { k: 5, p: 0 } },
    windowsScored: 1,
    counts: { k: 40, p: 0 },
    modelVersion: 'um1',
  });
  const confirmedView = (confirmedAt: string) => ({
    sessionId: 'sid-c',
    status: 'active',
    assurance: 0.95,
    level: 'high',
    state: 'scoring',
    attestations: 5,
    lastAttestationAt: 1,
    expiresAt: 'x',
    confirmed: true,
    confirmedAt,
  });

  async function started() {
    let now = 3_000_000;
    const confirmed = vi.fn(async (_sid: string, _learn: { subjectKey: string }) => ({
      reset: true,
    }));
    const s = new SessionService(
      async () => DEFAULT_CONFIG,
      () => now,
      confirmed,
    );
    await s.handleHints({ enrollmentCode: 'CODE-C', session: { sid: 'sid-c', challenge: CHAL } });
    const { signStatement } = await import('./device-key');
    const signed = vi.mocked(signStatement);
    signed.mockClear();
    return { s, confirmed, signed, tick: () => (now += 60_000) };
  }

  it('is not asked for while the session is above the safe level', async () => {
    const { s, signed, confirmed } = await started();
    await s.onScore('sid-c', scored(0.93, { takeover: false }));
    expect(signed).toHaveBeenCalledTimes(1);
    expect(readDeviceSession).not.toHaveBeenCalled();
    expect(confirmed).not.toHaveBeenCalled();
  });

  it('under suspicion: asked before each statement; a new one resets the model once, unsent', async () => {
    const { s, signed, confirmed, tick } = await started();
    // Below the safe level, not confirmed: the statement goes out as it is.
    await s.onScore('sid-c', scored(0.6, { takeover: false, dipped: true }));
    expect(readDeviceSession).toHaveBeenCalledTimes(1);
    expect(signed).toHaveBeenCalledTimes(1);
    // The bank stepped up and the holder confirmed with a passkey.
    const view = confirmedView('2026-12-07T12:00:00.000Z');
    readDeviceSession.mockResolvedValueOnce(view).mockResolvedValueOnce(view);
    tick();
    await s.onScore('sid-c', scored(0.3, { takeover: true, dipped: true }));
    // The pre-confirmation update is not stated; the model is told for this session's subject.
    expect(signed).toHaveBeenCalledTimes(1);
    expect(confirmed).toHaveBeenCalledTimes(1);
    expect(confirmed.mock.calls[0]![0]).toBe('sid-c');
    expect(confirmed.mock.calls[0]![1]).toEqual({
      subjectKey: await subjectKey(DEFAULT_CONFIG.serverUrl, 'alice'),
    });
    expect(await s.session('sid-c')).toMatchObject({
      confirmedAt: '2026-12-07T12:00:00.000Z',
      takeoverSent: false,
      pending: { k: 0, p: 0 },
    });
    // The model's new epoch speaks: sent, and the same confirmation is not acted on twice.
    tick();
    await s.onScore('sid-c', scored(0.94, { takeover: false }));
    expect(signed).toHaveBeenCalledTimes(2);
    expect(signed.mock.calls[1]![1]).toMatchObject({ conf: 0.94, dec: { takeover: false } });
    tick();
    await s.onScore('sid-c', scored(0.4, { takeover: true, dipped: true }));
    expect(confirmed).toHaveBeenCalledTimes(1);
    expect(signed).toHaveBeenCalledTimes(3);
  });

  it('a server that cannot say is no confirmation: the statement is sent', async () => {
    const { s, signed, confirmed } = await started();
    readDeviceSession.mockRejectedValueOnce(new ExtensionError('ERR_NETWORK', 'down'));
    await s.onScore('sid-c', scored(0.3, { takeover: true, dipped: true }));
    expect(signed).toHaveBeenCalledTimes(1);
    expect(confirmed).not.toHaveBeenCalled();
  });
});
