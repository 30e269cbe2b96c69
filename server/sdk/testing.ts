/**
 * Test fixtures of the SDK: the real in-process server (server/src/testing/harness.ts) behind
 * an injected `fetch`, and helpers to mint the tokens a test needs. Used by the `*.test.ts`
 * files only; never exported by `index.ts`.
 *
 * @module
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { loadServerKeys } from '../src/crypto/keys';
import {
  KEYS,
  attest,
  boundSession,
  type BoundSession,
  type Harness,
} from '../src/testing/harness';
import { createTacitClient, type TacitClient, type TacitClientOptions } from './client';
import { SESSION_TOKEN_TYP } from './session-token';

/** The server URL the clients are configured with (requests never leave the process). */
export const SERVER_URL = 'http://127.0.0.1:8787';

/** A fetch that hands every request to the harness app, counting them per path. */
export interface AppFetch {
  fetch: typeof fetch;
  /** Requests made, by path. */
  calls: Map<string, number>;
}

/** A fetch routed into `h.app` (`app.request` takes a full URL and the init). */
export function appFetch(h: Harness): AppFetch {
  const calls = new Map<string, number>();
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const path = new URL(url).pathname;
    calls.set(path, (calls.get(path) ?? 0) + 1);
    return h.app.request(url, init);
  };
  return { fetch, calls };
}

/** A client of bank A over `h`, with the harness clock and issuer. */
export function bankAClient(
  h: Harness,
  options: Partial<TacitClientOptions> = {},
): TacitClient & { calls: Map<string, number> } {
  const { fetch, calls } = appFetch(h);
  const client = createTacitClient({
    serverUrl: SERVER_URL,
    apiKey: KEYS.bankA,
    issuer: h.issuer,
    audience: 'bank-a',
    fetch,
    now: () => h.clock.now(),
    ...options,
  });
  return Object.assign(client, { calls });
}

/** Options of {@link attestedSession}. */
export interface AttestedSessionOptions {
  /** `conf` of the attestation (default 0.9: level high). */
  conf?: number | null;
  /** The relying party's API key (default bank A). */
  key?: string;
  subject?: string;
  state?: 'scoring' | 'enrolling';
}

/** A bound session with one accepted attestation. */
export async function attestedSession(
  h: Harness,
  options: AttestedSessionOptions = {},
): Promise<BoundSession> {
  const { conf = 0.9, key = KEYS.bankA, subject = 'alice', state = 'scoring' } = options;
  const session = await boundSession(h, subject, key);
  const res = await attest(h, session.device, { sid: session.sid, seq: 1, conf, state });
  if (res.status !== 202) throw new Error(`attest: ${res.status} ${res.text}`);
  return session;
}

/** A session token for a freshly attested session (bank A, level high by default). */
export async function validToken(
  h: Harness,
  options: AttestedSessionOptions = {},
): Promise<{ token: string; session: BoundSession }> {
  const session = await attestedSession(h, options);
  const key = options.key ?? KEYS.bankA;
  const res = await h.call('POST', `/v1/sessions/${session.sid}/token`, { key });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
  return { token: res.json.token as string, session };
}

/** Signs `payload` with the server's own active key (what a forged-but-signed token needs). */
export async function serverSigned(
  h: Harness,
  payload: JWTPayload,
  typ: string = SESSION_TOKEN_TYP,
): Promise<string> {
  const keys = await loadServerKeys(h.store, h.clock);
  return keys.sign(payload, typ);
}

/** The payload of `token`, undecoded-verified (for re-signing variants). */
export const payloadOf = (token: string): JWTPayload => decodeJwt(token);
