/**
 * The relying-party client: offline verification of session tokens against the server's JWKS,
 * RFC 7662 introspection, and the session calls a bank backend makes (docs/protocol.md §5).
 *
 * Configuration is validated once, in {@link createTacitClient}, which throws a `TypeError`
 * naming the option (never its value). Every call afterwards rejects with a
 * `TacitSdkError` (errors.ts).
 *
 * @module
 */
import { ApiError, ServerResponse, ServerUnavailable } from './errors';
import {
  MAX_TOKEN_LENGTH,
  createSessionTokenVerifier,
  type SessionTokenVerifier,
} from './session-token';
import type {
  Action,
  ActiveIntrospection,
  AssuranceLevel,
  Decision,
  DeviceEnrollment,
  EnrollmentCode,
  Introspection,
  IssuedToken,
  OpenedSession,
  PollResult,
  SecurityEvent,
  SessionConfirmation,
  SessionTokenClaims,
  StreamConfiguration,
  StreamDelivery,
} from './types';
import { createSecurityEventVerifier, type SecurityEventVerifier } from './security-event';

/** Options of {@link createTacitClient}. */
export interface TacitClientOptions {
  /**
   * Base URL of the verification server, e.g. `https://tacit.bank.internal` (a path prefix is
   * kept). `https:` is required unless the host is a loopback address or {@link allowHttp} is
   * set: the API key travels in every request.
   */
  serverUrl: string;
  /** The relying party's API key (role `bank`): 16–256 printable ASCII characters. */
  apiKey: string;
  /**
   * Expected `iss` of session tokens: the server's `TACIT_ISSUER`. Default: `serverUrl`
   * without a trailing `/` (the server's own default is the URL it listens on).
   */
  issuer?: string;
  /**
   * Expected `aud` of session tokens: the relying party's id, i.e. the id of its API key in
   * `TACIT_API_KEYS` (`id:role:secret`). The server always sets `aud`, so offline
   * verification requires it ({@link TacitClient.verifySessionToken} throws a `TypeError`
   * without it); introspection does not need it (the server checks the audience itself).
   */
  audience?: string;
  /** The fetch to use (tests inject an in-process one). Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Allowed clock skew with the server for `exp`, `iat` (s). Default 5, range 0–300.
   */
  clockToleranceSeconds?: number;
  /** Timeout of each request to the server, JWKS included (ms). Default 5000, range 1–60000. */
  timeoutMs?: number;
  /** The clock for token times (ms since the epoch). Default `Date.now`; tests freeze it. */
  now?: () => number;
  /** Permit `http:` to a non-loopback host (e.g. a private network). Default false. */
  allowHttp?: boolean;
}

/** A configured client. Create one per process and reuse it: it caches the JWKS. */
export interface TacitClient {
  /** The `iss` tokens must have. */
  readonly issuer: string;
  /** The `aud` tokens must have; undefined if not configured (offline verification refused). */
  readonly audience: string | undefined;
  /**
   * Verifies a session token offline (no call to the server except the cached JWKS): ES256,
   * `typ: tacit-session+jwt`, a published `kid`, signature, `iss`, `aud`, `exp`, `iat` no
   * older than 5 min, every claim present and typed. The assurance is the one at issue time.
   *
   * @throws {TacitSdkError} `ERR_TOKEN_*` when the token is not acceptable;
   *   `ERR_SERVER_UNAVAILABLE` / `ERR_SERVER_RESPONSE` when the JWKS could not be had.
   * @throws {TypeError} when no `audience` is configured or `token` is not a string.
   */
  verifySessionToken(token: string): Promise<SessionTokenClaims>;
  /**
   * RFC 7662 introspection (`POST /v1/introspect`): `{active: false}` for anything not a live
   * session token issued to this relying party; otherwise its claims with the session's
   * **current** assurance and `tacit_action`. An empty or over-long token is answered
   * `{active: false}` without a request.
   */
  introspect(token: string): Promise<Introspection>;
  /** Opens a behavioral session for `subject` (1–128 printable ASCII, no spaces). */
  openSession(subject: string): Promise<OpenedSession>;
  /** Gets a session token for a bound session (`POST /v1/sessions/:sid/token`). */
  issueSessionToken(sid: string): Promise<IssuedToken>;
  /**
   * Asks for a decision (`POST /v1/sessions/:sid/decision`). A `terminate` ends the session
   * on the server for good: end the user's login too.
   */
  decision(sid: string): Promise<Decision>;
  /**
   * Reports a strong-factor confirmation the relying party verified for its session
   * (`POST /v1/sessions/:sid/confirm`): `method` (`webauthn`), `at` when it was verified
   * (ms since the epoch; default: now). The session's assurance recovers and the device resets
   * its decision. A terminated session cannot be confirmed (`ERR_SESSION_TERMINATED`).
   */
  confirmSession(
    sid: string,
    confirmation: { method: 'webauthn'; at?: number },
  ): Promise<SessionConfirmation>;
  /** Ends a session (`DELETE /v1/sessions/:sid`), e.g. at logout. */
  endSession(sid: string): Promise<void>;
  /**
   * Issues a one-time enrollment code for `subject` (`POST /v1/enrollment-codes`): the page
   * hands it to the extension, which enrolls the device's key for that subject.
   */
  createEnrollmentCode(subject: string): Promise<EnrollmentCode>;
  /** The subject's enrollments at this relying party, revoked ones included (`GET /v1/devices`). */
  listDevices(subject: string): Promise<DeviceEnrollment[]>;
  /**
   * Revokes one enrollment of the subject (`POST /v1/devices/:deviceId/revoke`); its sessions
   * stop getting tokens and decisions terminate them.
   */
  revokeDevice(subject: string, deviceId: string): Promise<DeviceEnrollment>;
  /**
   * Verifies a Security Event Token from this relying party's Shared Signals stream (see
   * security-event.ts for every rule). Keep the `jti`s you accepted: a retried push may
   * bring one again.
   *
   * @throws {TacitSdkError} `ERR_TOKEN_*` when it is not acceptable.
   * @throws {TypeError} when no `audience` is configured.
   */
  verifySecurityEvent(set: string): Promise<SecurityEvent>;
  /** Creates a Shared Signals stream (`POST /v1/ssf/streams`), enabled. */
  createStream(options: {
    delivery: StreamDelivery;
    eventsRequested: string[];
    description?: string;
  }): Promise<StreamConfiguration>;
  /** This relying party's streams (`GET /v1/ssf/streams`). */
  listStreams(): Promise<StreamConfiguration[]>;
  /** Deletes a stream with its queued events (`DELETE /v1/ssf/streams?stream_id=`). */
  deleteStream(streamId: string): Promise<void>;
  /** Enables, pauses (events held) or disables (events dropped) a stream. */
  setStreamStatus(
    streamId: string,
    status: 'enabled' | 'paused' | 'disabled',
    reason?: string,
  ): Promise<void>;
  /** Asks for a verification event on the stream (`POST /v1/ssf/verify`). */
  verifyStream(streamId: string, state?: string): Promise<void>;
  /** RFC 8936 poll of a poll stream: acknowledges `ack`, then returns waiting SETs. */
  pollEvents(
    streamId: string,
    options?: { ack?: string[]; maxEvents?: number; returnImmediately?: boolean },
  ): Promise<PollResult>;
}

const API_KEY = /^[\x21-\x7e]{16,256}$/;
const RP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SUBJECT = /^[\x21-\x7e]{1,128}$/;
const PATH_ID = /^[A-Za-z0-9_-]{1,128}$/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const LEVELS: ReadonlySet<unknown> = new Set<AssuranceLevel>([
  'none',
  'enrolling',
  'high',
  'medium',
  'low',
]);
const ACTIONS: ReadonlySet<unknown> = new Set<Action>(['allow', 'step-up', 'terminate']);
const STATES: ReadonlySet<unknown> = new Set([null, 'enrolling', 'scoring']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isAssurance = (v: unknown) => v === null || (isNumber(v) && v >= 0 && v <= 1);

function baseUrl(serverUrl: unknown, allowHttp: boolean): string {
  if (typeof serverUrl !== 'string') throw new TypeError('serverUrl must be a URL string');
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new TypeError('serverUrl must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('serverUrl must be an http(s) URL');
  }
  if (url.protocol === 'http:' && !allowHttp && !LOOPBACK.has(url.hostname)) {
    throw new TypeError('serverUrl must be https (or set allowHttp)');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError('serverUrl must not have credentials, a query or a fragment');
  }
  return url.href.replace(/\/+$/, '');
}

function inRange(name: string, v: unknown, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!isNumber(v) || v < min || v > max) {
    throw new TypeError(`${name} must be a number from ${min} to ${max}`);
  }
  return v;
}

function checkPathId(sid: unknown, name = 'sid'): string {
  if (typeof sid !== 'string' || !PATH_ID.test(sid)) {
    throw new TypeError(`${name} must be an id ([A-Za-z0-9_-], 1-128)`);
  }
  return sid;
}

function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || !SUBJECT.test(subject)) {
    throw new TypeError('subject must be 1-128 printable ASCII characters without spaces');
  }
  return subject;
}

function enrollmentOf(v: unknown): DeviceEnrollment {
  const ok =
    isObject(v) &&
    isString(v.deviceId) &&
    isString(v.subject) &&
    isString(v.createdAt) &&
    (v.revokedAt === null || isString(v.revokedAt));
  if (!ok) throw new ServerResponse({ cause: 'device: members' });
  return {
    deviceId: v.deviceId as string,
    subject: v.subject as string,
    createdAt: v.createdAt as string,
    revokedAt: v.revokedAt as string | null,
  };
}

function activeIntrospection(v: Json): ActiveIntrospection {
  const ok =
    isString(v.iss) &&
    isString(v.aud) &&
    isString(v.sub) &&
    isString(v.sid) &&
    isNumber(v.iat) &&
    isNumber(v.exp) &&
    isString(v.jti) &&
    v.token_type === 'tacit-session' &&
    isObject(v.cnf) &&
    isString(v.cnf.jkt) &&
    isAssurance(v.tacit_assurance) &&
    LEVELS.has(v.tacit_level) &&
    STATES.has(v.tacit_state) &&
    (v.tacit_last_attestation_at === null || isNumber(v.tacit_last_attestation_at)) &&
    isNumber(v.tacit_attestations) &&
    ACTIONS.has(v.tacit_action) &&
    (v.tacit_progress === undefined || isAssurance(v.tacit_progress)) &&
    (v.tacit_confirmed_at === undefined ||
      v.tacit_confirmed_at === null ||
      isNumber(v.tacit_confirmed_at));
  if (!ok) throw new ServerResponse({ cause: 'introspection: members' });
  // A server older than `tacit_progress` (`tacit_signals`, `tacit_confirmed_at`) does not send it.
  return {
    ...v,
    tacit_progress: v.tacit_progress ?? null,
    tacit_signals: isObject(v.tacit_signals) ? v.tacit_signals : null,
    tacit_confirmed_at: v.tacit_confirmed_at ?? null,
  } as unknown as ActiveIntrospection;
}

function decisionOf(v: Json): Decision {
  const p = v.policy;
  const ok =
    ACTIONS.has(v.action) &&
    Array.isArray(v.reasons) &&
    v.reasons.every(isString) &&
    isAssurance(v.assurance) &&
    LEVELS.has(v.level) &&
    isObject(p) &&
    isNumber(p.stepUpBelow) &&
    isNumber(p.terminateBelow) &&
    isNumber(p.staleAfterSeconds) &&
    ACTIONS.has(p.enrollingAction) &&
    ACTIONS.has(p.staleAction) &&
    ACTIONS.has(p.noAttestationAction);
  if (!ok) throw new ServerResponse({ cause: 'decision: members' });
  return {
    ...v,
    policy: { ...p, signals: isObject(p.signals) ? p.signals : {} },
  } as unknown as Decision;
}

/**
 * Creates a client. Validates every option and throws a `TypeError` naming the bad one;
 * nothing is fetched until the first call.
 *
 * @example
 * ```ts
 * const tacit = createTacitClient({
 *   serverUrl: 'https://tacit.bank.internal',
 *   apiKey: process.env.TACIT_API_KEY!,
 *   audience: 'bank-a',
 * });
 * const claims = await tacit.verifySessionToken(token); // throws TacitSdkError
 * ```
 */
export function createTacitClient(options: TacitClientOptions): TacitClient {
  if (!isObject(options)) throw new TypeError('options must be an object');
  const base = baseUrl(options.serverUrl, options.allowHttp === true);
  if (typeof options.apiKey !== 'string' || !API_KEY.test(options.apiKey)) {
    throw new TypeError('apiKey must be 16-256 printable ASCII characters');
  }
  const authorization = `Bearer ${options.apiKey}`;
  const issuer = options.issuer ?? base;
  if (!isString(issuer)) throw new TypeError('issuer must be a non-empty string');
  const { audience } = options;
  if (audience !== undefined && (typeof audience !== 'string' || !RP_ID.test(audience))) {
    throw new TypeError('audience must be a relying-party id ([a-z0-9][a-z0-9._-]{0,63})');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('fetch must be a function');
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new TypeError('now must be a function');
  const clockToleranceSeconds = inRange(
    'clockToleranceSeconds',
    options.clockToleranceSeconds,
    0,
    300,
    5,
  );
  const timeoutMs = Math.round(inRange('timeoutMs', options.timeoutMs, 1, 60_000, 5000));

  const verifier: SessionTokenVerifier | undefined =
    audience === undefined
      ? undefined
      : createSessionTokenVerifier({
          jwksUrl: new URL(`${base}/.well-known/jwks.json`),
          issuer,
          audience,
          clockToleranceSeconds,
          timeoutMs,
          now,
          fetch: fetchImpl,
        });

  const eventVerifier: SecurityEventVerifier | undefined =
    audience === undefined
      ? undefined
      : createSecurityEventVerifier({
          jwksUrl: new URL(`${base}/.well-known/jwks.json`),
          issuer,
          audience,
          clockToleranceSeconds,
          timeoutMs,
          now,
          fetch: fetchImpl,
        });

  /** One API call: the answer's JSON (undefined for 204), or a typed error. */
  async function call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    expected: number,
    body?: { json: unknown } | { form: URLSearchParams },
    list = false,
  ): Promise<Json | undefined> {
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    let payload: string | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = body.form.toString();
    }
    let res: Response;
    try {
      res = await fetchImpl(`${base}${path}`, {
        method,
        headers,
        body: payload,
        // A redirect would carry the API key elsewhere: treat it as a wrong answer.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timeout = err instanceof Error && err.name === 'TimeoutError';
      throw new ServerUnavailable({ cause: timeout ? 'timeout' : 'fetch failed' });
    }
    let json: unknown;
    try {
      const text = await res.text();
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status === expected) {
      if (expected === 204) return undefined;
      if (list && Array.isArray(json)) return json as unknown as Json;
      if (!isObject(json)) throw new ServerResponse({ cause: `${res.status}: not a JSON object` });
      return json;
    }
    if (res.status >= 500) throw new ServerUnavailable({ cause: `HTTP ${res.status}` });
    const code = isObject(json) && isObject(json.error) ? json.error.code : undefined;
    if (res.status >= 400 && typeof code === 'string' && /^ERR_[A-Z_]{1,64}$/.test(code)) {
      const retry = Number(res.headers.get('retry-after') ?? Number.NaN);
      const retryAfter = Number.isInteger(retry) && retry >= 0 ? retry : undefined;
      throw new ApiError(res.status, code, retryAfter);
    }
    throw new ServerResponse({ cause: `HTTP ${res.status}` });
  }

  return {
    issuer,
    audience,

    async verifySessionToken(token) {
      if (!verifier) throw new TypeError('verifySessionToken needs the audience option');
      return verifier(token);
    },

    async introspect(token) {
      if (typeof token !== 'string') throw new TypeError('token must be a string');
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { active: false };
      const answer = (await call('POST', '/v1/introspect', 200, {
        form: new URLSearchParams({ token }),
      }))!;
      if (answer.active === false) return { active: false };
      if (answer.active !== true) throw new ServerResponse({ cause: 'introspection: active' });
      return activeIntrospection(answer);
    },

    async openSession(subject) {
      checkSubject(subject);
      const v = (await call('POST', '/v1/sessions', 201, { json: { subject } }))!;
      if (!isString(v.sessionId) || !isString(v.challenge) || !isString(v.expiresAt)) {
        throw new ServerResponse({ cause: 'session: members' });
      }
      return { sessionId: v.sessionId, challenge: v.challenge, expiresAt: v.expiresAt };
    },

    async issueSessionToken(sid) {
      const v = (await call('POST', `/v1/sessions/${checkPathId(sid)}/token`, 200))!;
      if (!isString(v.token) || !isString(v.expiresAt)) {
        throw new ServerResponse({ cause: 'token: members' });
      }
      return { token: v.token, expiresAt: v.expiresAt };
    },

    async decision(sid) {
      return decisionOf((await call('POST', `/v1/sessions/${checkPathId(sid)}/decision`, 200))!);
    },

    async confirmSession(sid, confirmation) {
      if (confirmation.method !== 'webauthn') throw new TypeError('method must be webauthn');
      const at = confirmation.at ?? now();
      if (!isNumber(at)) throw new TypeError('at must be a time in ms');
      const v = (await call('POST', `/v1/sessions/${checkPathId(sid)}/confirm`, 200, {
        json: { method: confirmation.method, at: new Date(at).toISOString() },
      }))!;
      if (
        !isString(v.sessionId) ||
        !isString(v.confirmedAt) ||
        !isNumber(v.assurance) ||
        !LEVELS.has(v.level)
      ) {
        throw new ServerResponse({ cause: 'confirmation: members' });
      }
      return {
        sessionId: v.sessionId,
        confirmedAt: v.confirmedAt,
        assurance: v.assurance,
        level: v.level as AssuranceLevel,
      };
    },

    async endSession(sid) {
      await call('DELETE', `/v1/sessions/${checkPathId(sid)}`, 204);
    },

    async createEnrollmentCode(subject) {
      checkSubject(subject);
      const v = (await call('POST', '/v1/enrollment-codes', 201, { json: { subject } }))!;
      if (!isString(v.code) || !isString(v.expiresAt)) {
        throw new ServerResponse({ cause: 'enrollment code: members' });
      }
      return { code: v.code, expiresAt: v.expiresAt };
    },

    async listDevices(subject) {
      const query = new URLSearchParams({ subject: checkSubject(subject) });
      const v = (await call('GET', `/v1/devices?${query.toString()}`, 200))!;
      if (!Array.isArray(v.devices)) throw new ServerResponse({ cause: 'devices: members' });
      return v.devices.map(enrollmentOf);
    },

    async revokeDevice(subject, deviceId) {
      checkSubject(subject);
      const path = `/v1/devices/${checkPathId(deviceId, 'deviceId')}/revoke`;
      return enrollmentOf(await call('POST', path, 200, { json: { subject } }));
    },

    async verifySecurityEvent(set) {
      if (!eventVerifier) throw new TypeError('verifySecurityEvent needs the audience option');
      return eventVerifier(set);
    },

    async createStream({ delivery, eventsRequested, description }) {
      const json = { delivery, events_requested: eventsRequested, description };
      return streamOf(await call('POST', '/v1/ssf/streams', 201, { json }));
    },

    async listStreams() {
      // The one list answer of the API that is a JSON array, not an object.
      const v = await call('GET', '/v1/ssf/streams', 200, undefined, true);
      if (!Array.isArray(v)) throw new ServerResponse({ cause: 'streams: not a list' });
      return v.map(streamOf);
    },

    async deleteStream(streamId) {
      const query = new URLSearchParams({ stream_id: checkPathId(streamId, 'streamId') });
      await call('DELETE', `/v1/ssf/streams?${query.toString()}`, 204);
    },

    async setStreamStatus(streamId, status, reason) {
      const json = { stream_id: checkPathId(streamId, 'streamId'), status, reason };
      await call('POST', '/v1/ssf/status', 200, { json });
    },

    async verifyStream(streamId, state) {
      const json = { stream_id: checkPathId(streamId, 'streamId'), state };
      await call('POST', '/v1/ssf/verify', 204, { json });
    },

    async pollEvents(streamId, options = {}) {
      const path = `/v1/ssf/poll/${checkPathId(streamId, 'streamId')}`;
      const v = (await call('POST', path, 200, { json: options }))!;
      if (!isObject(v.sets) || typeof v.moreAvailable !== 'boolean') {
        throw new ServerResponse({ cause: 'poll: members' });
      }
      return { sets: v.sets as Record<string, string>, moreAvailable: v.moreAvailable };
    },
  };
}

function streamOf(v: unknown): StreamConfiguration {
  const ok =
    isObject(v) &&
    isString(v.stream_id) &&
    isString(v.iss) &&
    isString(v.aud) &&
    isObject(v.delivery) &&
    isString(v.delivery.method) &&
    isString(v.delivery.endpoint_url) &&
    Array.isArray(v.events_delivered);
  if (!ok) throw new ServerResponse({ cause: 'stream: members' });
  return v as unknown as StreamConfiguration;
}
