/**
 * The extension's only HTTP client. It talks to the configured server only: never to a URL
 * taken from a message or a page. Bodies are signed statements; nothing else is sent.
 */
import { ExtensionError } from '../shared/errors';

async function post<T>(serverUrl: string, path: string, body: Record<string, string>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${serverUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ExtensionError('ERR_NETWORK', 'server unreachable');
  }
  const json = (await response.json().catch(() => null)) as
    | (T & { error?: { code?: string } })
    | null;
  if (!response.ok) {
    const code = json?.error?.code;
    throw new ExtensionError('ERR_SERVER', `server refused ${path} (${response.status})`, code);
  }
  if (json === null) throw new ExtensionError('ERR_SERVER', `server sent no JSON for ${path}`);
  return json;
}

export function enrollDevice(serverUrl: string, enrollment: string) {
  return post<{ deviceId: string; subject: string }>(serverUrl, '/v1/devices', { enrollment });
}

export function bindSession(serverUrl: string, binding: string) {
  return post<{ sessionId: string }>(serverUrl, '/v1/sessions/bind', { binding });
}

export function sendAttestation(serverUrl: string, attestation: string) {
  return post<{ seq: number; assurance: number | null; level: string }>(
    serverUrl,
    '/v1/attestations',
    { attestation },
  );
}
