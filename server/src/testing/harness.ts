/**
 * Test harness: the real app over a real store (a SQLite file in a temporary directory, or a
 * fresh Redis namespace when `TACIT_TEST_STORE=redis`: see test-store.ts), a frozen clock, a memory logger, and devices with real jose-generated ES256 keys. Used by the
 * `*.test.ts` files; never by production code.
 *
 * @module
 */
import {
  CompactSign,
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type CryptoKey,
} from 'jose';
import { createApp, type AppDeps, type AppServices } from '../app';
import type { AuditTrail } from '../services/audit';
import { chainHash } from '../crypto/attestation';
import { createApiKeyRegistry } from '../http/middleware/auth';
import { manualClock, type ManualClock } from '../clock';
import { loadServerKeys } from '../crypto/keys';
import { memoryLogger } from '../observability/log';
import type { Metrics } from '../observability/metrics';
import { NO_RATE_LIMITS } from '../http/middleware/rate-limit';
import type { AuditRecord, PublicJwk, SessionRecord, Store, StoreCounts } from '../store/store';
import { contractViolations, type Exchange } from './contract-check';
import { openTestStore, type AuditTamper } from './test-store';

/** 2025-06-02T09:00:00Z: where every test clock starts. */
export const T0 = Date.UTC(2025, 5, 2, 9, 0, 0);

/** API keys the harness configures. */
export const KEYS = {
  bankA: 'bank-a-secret-0123456789abcdef',
  bankB: 'bank-b-secret-0123456789abcdef',
  admin: 'admin-secret-0123456789abcdef',
  auditor: 'auditor-secret-0123456789abcdef',
  demo: 'demo-bank-secret-0123456789abcdef',
  aggregator: 'aggregator-secret-0123456789abcdef',
} as const;

/** A parsed answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined if it is not JSON. */
  json: any;
}

/** Options of {@link Harness.call}. */
export interface CallOptions {
  /** Bearer API key. */
  key?: string;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Raw body (with `contentType`). */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** The client's remote address as the node server would report it. */
  remote?: string;
}

/** Options of {@link createHarness}: the optional {@link AppDeps} (rate limits off by default). */
export type HarnessOptions = Partial<
  Pick<
    AppDeps,
    | 'policy'
    | 'auditRetentionDays'
    | 'metricsToken'
    | 'rateLimits'
    | 'rateLimiter'
    | 'trustProxy'
    | 'hsts'
    | 'cors'
    | 'ssfDelivery'
    | 'ssfFetch'
  >
>;

/** A running in-process server. */
export interface Harness {
  app: ReturnType<typeof createApp>['app'];
  /** The app's services (the same instances its routes call). */
  services: AppServices;
  audit: AuditTrail;
  metrics: Metrics;
  store: Store;
  /** Which store this run uses. */
  storeKind: 'sqlite' | 'redis';
  clock: ManualClock;
  logger: ReturnType<typeof memoryLogger>;
  issuer: string;
  /** The SQLite file (SQLite runs only). */
  dbPath: string | undefined;
  /** Everything stored, as text (to check a secret is stored nowhere). */
  dump(): Promise<string>;
  /** Edits stored audit records behind the server's back. */
  tamper: AuditTamper;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** Every {@link Harness.call} so far, with its answer. */
  exchanges: Exchange[];
  /**
   * Closes the store. Throws if an exchange disagreed with the contract (contract-check.ts),
   * unless the test said it sends what the contract forbids (`allowOffContract`).
   */
  close(): Promise<void>;
  /** For a test that deliberately goes off the contract (none so far): no check at close. */
  allowOffContract(): void;
}

/** Starts a harness. Close it in `afterEach`. */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const testStore = await openTestStore();
  const { store } = testStore;
  const rateLimiter = testStore.rateLimiter();
  const clock = manualClock(T0);
  const logger = memoryLogger();
  const keys = await loadServerKeys(store, clock);
  const issuer = 'http://tacit.test';
  const { app, services, audit, metrics } = createApp({
    store,
    keys,
    clock,
    logger,
    issuer,
    rateLimits: NO_RATE_LIMITS,
    // Shared counters when the store is Redis, as in production.
    ...(rateLimiter ? { rateLimiter } : {}),
    ...options,
    apiKeys: createApiKeyRegistry([
      { id: 'bank-a', role: 'bank', secret: KEYS.bankA },
      { id: 'bank-b', role: 'bank', secret: KEYS.bankB },
      { id: 'ops', role: 'admin', secret: KEYS.admin },
      { id: 'siem', role: 'auditor', secret: KEYS.auditor },
      { id: 'demo-bank', role: 'bank', secret: KEYS.demo },
      { id: 'fl-aggregator', role: 'aggregator', secret: KEYS.aggregator },
    ]),
  });
  const exchanges: Exchange[] = [];
  let checkContract = true;
  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Answer> => {
    const headers = new Headers(o.headers);
    if (o.key !== undefined) headers.set('authorization', `Bearer ${o.key}`);
    let body: string | undefined;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers.set('content-type', 'application/json');
    } else if (o.body !== undefined) {
      body = o.body;
      if (o.contentType !== undefined) headers.set('content-type', o.contentType);
    }
    // What @hono/node-server passes as env: the incoming message and its socket.
    const env =
      o.remote === undefined ? undefined : { incoming: { socket: { remoteAddress: o.remote } } };
    const res = await app.request(path, { method, headers, body }, env);
    const text = await res.text();
    exchanges.push({
      method,
      url: path,
      requestHeaders: headers,
      requestBody: body,
      status: res.status,
      responseHeaders: res.headers,
      responseText: text,
    });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    app,
    services,
    audit,
    metrics,
    store,
    storeKind: testStore.kind,
    clock,
    logger,
    issuer,
    dbPath: testStore.dbPath,
    dump: () => testStore.dump(),
    tamper: testStore.tamper,
    call,
    exchanges,
    allowOffContract: () => {
      checkContract = false;
    },
    close: async () => {
      await testStore.destroy();
      const violations = checkContract ? exchanges.flatMap(contractViolations) : [];
      if (violations.length > 0) {
        throw new Error(`off the contract (contract/routes.ts):\n${violations.join('\n')}`);
      }
    },
  };
}

/** Seconds since the epoch on the harness clock. */
export const nowS = (h: Harness) => Math.floor(h.clock.now() / 1000);

let jtiCounter = 0;
/** A unique jti. */
export const newJti = () => `jti-${++jtiCounter}-${Math.random().toString(36).slice(2)}`;

/** Attestation claims a test may set (sid and seq are required). */
export interface AttestationInput {
  sid: string;
  seq: number;
  iat?: number;
  state?: 'enrolling' | 'scoring';
  conf?: number | null;
  progress?: number;
  mv?: string;
  n?: { k: number; p: number };
  /** Defaults to the chain hash of this device's last committed attestation of `sid`. */
  prev?: string;
  /** The session signals claim (`sig`); absent by default. Any value, to test refusals. */
  sig?: unknown;
}

type Claims = Record<string, unknown>;

/** A device with a real non-extractable-in-spirit ES256 key, as the extension would hold. */
export class TestDevice {
  readonly #chain = new Map<string, string>();

  private constructor(
    readonly privateKey: CryptoKey,
    readonly jwk: PublicJwk,
    readonly jkt: string,
    readonly clock: ManualClock,
  ) {}

  static async create(clock: ManualClock): Promise<TestDevice> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const full = await exportJWK(publicKey);
    const jwk: PublicJwk = { kty: 'EC', crv: 'P-256', x: full.x!, y: full.y! };
    return new TestDevice(privateKey, jwk, await calculateJwkThumbprint(jwk, 'sha256'), clock);
  }

  /** Signs `payload` with this device's key; `header` is merged over `{alg: ES256}`. */
  sign(header: Record<string, unknown>, payload: unknown): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', ...header })
      .sign(this.privateKey);
  }

  get #iat(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** A `tacit-enroll+jwt` for `code`. */
  enrollment(code: string, claims: Claims = {}, header: Claims = {}) {
    return this.sign(
      { typ: 'tacit-enroll+jwt', jwk: this.jwk, ...header },
      { code, iat: this.#iat, jti: newJti(), ...claims },
    );
  }

  /** A `tacit-bind+jwt` for a session. */
  binding(sid: string, chal: string, claims: Claims = {}, header: Claims = {}) {
    return this.sign(
      { typ: 'tacit-bind+jwt', kid: this.jkt, ...header },
      { sid, chal, iat: this.#iat, jti: newJti(), ...claims },
    );
  }

  /** A DPoP proof (`dpop+jwt`, own public key in `jwk`) for `method` and `htu`. */
  dpop(method: string, htu: string, claims: Claims = {}, header: Claims = {}) {
    return this.sign(
      { typ: 'dpop+jwt', jwk: this.jwk, ...header },
      { jti: newJti(), htm: method, htu, iat: this.#iat, ...claims },
    );
  }

  /** A `tacit-rotate+jwt` signed by this (new) key naming the key it replaces. */
  rotation(old: string, claims: Claims = {}, header: Claims = {}) {
    return this.sign(
      { typ: 'tacit-rotate+jwt', jwk: this.jwk, ...header },
      { old, iat: this.#iat, jti: newJti(), ...claims },
    );
  }

  /** A `tacit-att+jwt`, chained to the last committed one of the session by default. */
  attestation(input: AttestationInput, header: Record<string, unknown> = {}) {
    const state = input.state ?? 'scoring';
    return this.sign(
      { typ: 'tacit-att+jwt', kid: this.jkt, ...header },
      {
        sid: input.sid,
        seq: input.seq,
        iat: input.iat ?? this.#iat,
        state,
        conf: input.conf !== undefined ? input.conf : state === 'scoring' ? 0.9 : null,
        progress: input.progress ?? 1,
        mv: input.mv ?? 'test-model-1',
        n: input.n ?? { k: 40, p: 120 },
        prev: input.prev ?? this.#chain.get(input.sid) ?? '',
        ...(input.sig === undefined ? {} : { sig: input.sig }),
      },
    );
  }

  /** Records `jws` as the last accepted attestation of `sid` (the next one chains to it). */
  commit(sid: string, jws: string): void {
    this.#chain.set(sid, chainHash(jws));
  }
}

/** A compact JWS with `alg: none` and an empty signature, built by hand. */
export function unsecuredJws(header: Record<string, unknown>, payload: unknown): string {
  const enc = (v: unknown) => base64url.encode(JSON.stringify(v));
  return `${enc({ alg: 'none', ...header })}.${enc(payload)}.`;
}

/** A compact JWS signed with HMAC-SHA256 over a shared secret. */
export function hs256Jws(header: Record<string, unknown>, payload: unknown): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...header, alg: 'HS256' })
    .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
}

/** A session opened by bank A for `subject`, bound to a freshly enrolled device. */
export interface BoundSession {
  device: TestDevice;
  sid: string;
  challenge: string;
  subject: string;
}

/** Enrolls a new device for `subject` at the relying party of `key` and returns it. */
export async function enrollDevice(
  h: Harness,
  subject = 'alice',
  key: string = KEYS.bankA,
): Promise<TestDevice> {
  const code = await h.call('POST', '/v1/enrollment-codes', { key, json: { subject } });
  if (code.status !== 201) throw new Error(`code: ${code.status} ${code.text}`);
  const device = await TestDevice.create(h.clock);
  const enrolled = await h.call('POST', '/v1/devices', {
    json: { enrollment: await device.enrollment(code.json.code) },
  });
  if (enrolled.status !== 201) throw new Error(`enroll: ${enrolled.status} ${enrolled.text}`);
  return device;
}

/** Opens a session for `subject` at the relying party of `key`. */
export async function openSession(h: Harness, subject = 'alice', key: string = KEYS.bankA) {
  const res = await h.call('POST', '/v1/sessions', { key, json: { subject } });
  if (res.status !== 201) throw new Error(`open: ${res.status} ${res.text}`);
  return res.json as { sessionId: string; challenge: string; expiresAt: string };
}

/** Code → enrolled device → open session → bound. */
export async function boundSession(
  h: Harness,
  subject = 'alice',
  key: string = KEYS.bankA,
): Promise<BoundSession> {
  const device = await enrollDevice(h, subject, key);
  const { sessionId, challenge } = await openSession(h, subject, key);
  const bound = await h.call('POST', '/v1/sessions/bind', {
    json: { binding: await device.binding(sessionId, challenge) },
  });
  if (bound.status !== 200) throw new Error(`bind: ${bound.status} ${bound.text}`);
  return { device, sid: sessionId, challenge, subject };
}

/** Posts an attestation; on 202 the device chains the next one to it. */
export async function attest(h: Harness, device: TestDevice, input: AttestationInput) {
  const jws = await device.attestation(input);
  const res = await h.call('POST', '/v1/attestations', { json: { attestation: jws } });
  if (res.status === 202) device.commit(input.sid, jws);
  return res;
}

/** Everything a rejected request must leave untouched: row counts and one session. */
export interface Snapshot {
  counts: StoreCounts;
  session?: SessionRecord | undefined;
}

/** Takes a {@link Snapshot} (with the session `sid` if given). */
export async function snapshot(h: Harness, sid?: string): Promise<Snapshot> {
  return {
    counts: await h.store.counts(),
    ...(sid === undefined ? {} : { session: await h.store.getSession(sid) }),
  };
}

/** Asserts an error answer: status, exact code, and the fixed-message shape. */
export function expectError(res: Answer, status: number, code: string): void {
  if (res.status !== status || res.json?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text}`);
  }
  if (typeof res.json.error.message !== 'string' || Object.keys(res.json).length !== 1) {
    throw new Error(`malformed error body: ${res.text}`);
  }
}

/** `POST /v1/sessions/:sid/token` as the relying party of `key`. */
export function requestToken(h: Harness, sid: string, key: string = KEYS.bankA): Promise<Answer> {
  return h.call('POST', `/v1/sessions/${sid}/token`, { key });
}

/** `POST /v1/introspect` (JSON body) as the relying party of `key`. */
export function introspect(h: Harness, token: string, key: string = KEYS.bankA): Promise<Answer> {
  return h.call('POST', '/v1/introspect', { key, json: { token } });
}

/** `POST /v1/devices/:id/revoke` for `subject` as the relying party of `key`. */
export function revoke(h: Harness, deviceId: string, subject = 'alice', key: string = KEYS.bankA) {
  return h.call('POST', `/v1/devices/${deviceId}/revoke`, { key, json: { subject } });
}

/** Options of {@link deviceCall}: a harness call plus what to change in the DPoP proof. */
export interface DeviceCallOptions extends CallOptions {
  /** Claims merged over the proof's (`htm`, `htu`, `iat`, `jti`). */
  claims?: Record<string, unknown>;
  /** Header members merged over the proof's. */
  header?: Record<string, unknown>;
  /** Send this as the `DPoP` header instead of a fresh proof (null: no header). */
  proof?: string | null;
}

/** Calls a `/v1/device/*` endpoint as `device`, with a fresh DPoP proof for that exact request. */
export async function deviceCall(
  h: Harness,
  device: TestDevice,
  method: string,
  path: string,
  options: DeviceCallOptions = {},
): Promise<Answer> {
  const { claims, header, proof, ...call } = options;
  const htu = `${h.issuer}${path.split(/[?#]/)[0]}`;
  const dpop = proof === undefined ? await device.dpop(method, htu, claims, header) : proof;
  const headers = { ...call.headers, ...(dpop === null ? {} : { dpop }) };
  return h.call(method, path, { ...call, headers });
}

/** Every stored audit record, oldest first. */
export function auditRecords(h: Harness): Promise<AuditRecord[]> {
  return h.store.listAudit(0, 100_000);
}
