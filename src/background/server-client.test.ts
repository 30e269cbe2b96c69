import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExtensionError } from '../shared/errors';
import { readDeviceSession, revokeThisDevice, sendAttestation } from './server-client';

vi.mock('./device-key', () => ({
  dpopProof: vi.fn(async (method: string, url: string) => `proof(${method} ${url})`),
}));

const SERVER = 'https://tacit.example';

function stubFetch(status: number, body: unknown) {
  const fetch = vi.fn(
    async (_url: string, _init: RequestInit) =>
      new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      }),
  );
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('device calls (DPoP)', () => {
  it('reads a session with a DPoP proof for exactly that GET, and nothing else', async () => {
    const view = {
      sessionId: 'sid-1',
      status: 'active',
      assurance: 0.9,
      level: 'high',
      state: 'scoring',
      attestations: 3,
    };
    const fetch = stubFetch(200, view);
    await expect(readDeviceSession(SERVER, 'sid-1')).resolves.toEqual(view);
    expect(fetch).toHaveBeenCalledOnce();
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe(`${SERVER}/v1/device/sessions/sid-1`);
    expect(init).toMatchObject({ method: 'GET', credentials: 'omit', cache: 'no-store' });
    expect(init.headers).toEqual({ DPoP: `proof(GET ${SERVER}/v1/device/sessions/sid-1)` });
    expect(init.body).toBeUndefined();
  });

  it('revokes with a POST and no body', async () => {
    const fetch = stubFetch(200, { deviceId: 'd', revoked: 2 });
    await expect(revokeThisDevice(SERVER)).resolves.toEqual({ deviceId: 'd', revoked: 2 });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe(`${SERVER}/v1/device/revoke`);
    expect(init).toMatchObject({ method: 'POST' });
    expect(init.headers).toEqual({ DPoP: `proof(POST ${SERVER}/v1/device/revoke)` });
    expect(init.body).toBeUndefined();
  });

  it('puts no page-supplied string into the path that is not a session id', async () => {
    const fetch = stubFetch(200, {});
    for (const sid of ['../revoke', 'a/b', '', 'x?y', 'a'.repeat(129), 'sid#f']) {
      await expect(readDeviceSession(SERVER, sid)).rejects.toMatchObject({ code: 'ERR_SENDER' });
    }
    expect(fetch).not.toHaveBeenCalled();
  });

  it('reports the server’s code on a refusal', async () => {
    stubFetch(401, { error: { code: 'ERR_DPOP_STALE', message: 'x' } });
    const error = await readDeviceSession(SERVER, 'sid-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExtensionError);
    expect(error).toMatchObject({ code: 'ERR_SERVER', serverCode: 'ERR_DPOP_STALE' });
  });

  it('statements are still plain JSON posts without a DPoP header', async () => {
    const fetch = stubFetch(202, { seq: 1, assurance: null, level: 'enrolling' });
    await sendAttestation(SERVER, 'a.b.c');
    const [, init] = fetch.mock.calls[0]!;
    expect(init.headers).toEqual({ 'content-type': 'application/json' });
    expect(init.body).toBe(JSON.stringify({ attestation: 'a.b.c' }));
  });
});
