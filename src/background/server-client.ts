/**
 * The extension's only HTTP client. It talks to the configured server only: never to a URL
 * taken from a message or a page. Bodies are signed statements; nothing else is sent. Calls
 * that are not statements (`/v1/device/*`) carry a DPoP proof of the device key instead
 * (RFC 9449: the `DPoP` header alone, no `Authorization`: there is no access token).
 */
import { ExtensionError } from '../shared/errors';
// Wire types from the server's contract (type-only: no server code in the extension).
import type {
  AttestationAnswer,
  BoundAnswer,
  DeviceSessionView,
} from '../../server/src/contract/schemas';
import { dpopProof } from './device-key';

/** A session id as the server issues them; anything else never reaches a URL path. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

async function send<T>(
  serverUrl: string,
  path: string,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body?: Record<string, string>,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${serverUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ExtensionError('ERR_NETWORK', 'server unreachable');
  }
  const json = (await response.json().catch(() => null)) as
    (T & { error?: { code?: string } }) | null;
  if (!response.ok) {
    const code = json?.error?.code;
    throw new ExtensionError('ERR_SERVER', `server refused ${path} (${response.status})`, code);
  }
  if (json === null) throw new ExtensionError('ERR_SERVER', `server sent no JSON for ${path}`);
  return json;
}

function post<T>(serverUrl: string, path: string, body: Record<string, string>): Promise<T> {
  return send<T>(serverUrl, path, 'POST', {}, body);
}

/** A `/v1/device/*` call, authenticated by a fresh DPoP proof for exactly this method and URL. */
async function deviceCall<T>(serverUrl: string, method: 'GET' | 'POST', path: string): Promise<T> {
  const proof = await dpopProof(method, `${serverUrl}${path}`);
  return send<T>(serverUrl, path, method, { DPoP: proof });
}

/** The server's view of a session this device is bound to. */
export async function readDeviceSession(
  serverUrl: string,
  sid: string,
): Promise<DeviceSessionView> {
  if (!SESSION_ID.test(sid)) throw new ExtensionError('ERR_SENDER', 'malformed session id');
  return deviceCall(serverUrl, 'GET', `/v1/device/sessions/${sid}`);
}

/** Revokes every enrolment of this device's key at the server. */
export function revokeThisDevice(serverUrl: string) {
  return deviceCall<{ deviceId: string; revoked: number }>(serverUrl, 'POST', '/v1/device/revoke');
}

export function enrollDevice(serverUrl: string, enrollment: string) {
  return post<{ deviceId: string; subject: string }>(serverUrl, '/v1/devices', { enrollment });
}

/** Binds a session; the server answers with the subject the bank opened it for. */
export async function bindSession(serverUrl: string, binding: string) {
  const reply = await post<BoundAnswer>(serverUrl, '/v1/sessions/bind', { binding });
  // Checked even though the contract types it: an old server answering without a subject must not
  // make the device learn for nobody.
  if (typeof reply.subject !== 'string' || reply.subject.length === 0) {
    throw new ExtensionError('ERR_SERVER', 'server named no subject for the session');
  }
  return { sessionId: reply.sessionId, subject: reply.subject };
}

export function sendAttestation(serverUrl: string, attestation: string) {
  return post<AttestationAnswer>(serverUrl, '/v1/attestations', { attestation });
}
