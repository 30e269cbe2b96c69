/**
 * The forgery suite's world: the real app (instance A) over a real store, a second app on the
 * same store (instance B, the cross-instance replays), and a second deployment with its own
 * store and signing key; devices with real P-256 keys, a victim session with an accepted
 * attestation chain, and statements already accepted (the replays). Also the oracle: what
 * counts as the server accepting a request.
 */
import { type KeyObject, createPrivateKey, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { createApp } from '../../server/src/app';
import { chainHash } from '../../server/src/crypto/attestation';
import { loadServerKeys } from '../../server/src/crypto/keys';
import { createApiKeyRegistry } from '../../server/src/http/middleware/auth';
import { NO_RATE_LIMITS } from '../../server/src/http/middleware/rate-limit';
import { memoryLogger } from '../../server/src/observability/log';
import { KEYS, createHarness, type Harness } from '../../server/src/testing/harness';
import type { SessionRecord, StoreCounts } from '../../server/src/store/store';
import { startRedisServer, type TestRedisServer } from '../../server/src/testing/redis-server';
import { TEST_STORE } from '../../server/src/testing/test-store';
import { fromKeyObjects, newKey, signJson, type Es256Key } from './jws-forge';

type App = Harness['app'];

/** The statement kinds under attack, as the rows' columns of cases. */
export const KINDS = [
  'attestation',
  'dpop',
  'enrollment',
  'binding',
  'rotation',
  'session-jwt',
] as const;
export type Kind = (typeof KINDS)[number];

export const TYP: Record<Kind, string> = {
  attestation: 'tacit-att+jwt',
  dpop: 'dpop+jwt',
  enrollment: 'tacit-enroll+jwt',
  binding: 'tacit-bind+jwt',
  rotation: 'tacit-rotate+jwt',
  'session-jwt': 'tacit-session+jwt',
};

/** Kinds whose key is named by `kid` (looked up by the server), not carried in `jwk`. */
export const KID_KINDS: readonly Kind[] = ['attestation', 'binding', 'session-jwt'];

interface OpenSession {
  sid: string;
  challenge: string;
}

/** One accepted attestation of the victim's chain. */
export interface ChainLink {
  jws: string;
  seq: number;
  hash: string;
}

export interface World {
  a: Harness;
  /** Instance B: another app over the same store (same signing keys, same replay state). */
  b: App;
  /** Another deployment: its own store and signing key. */
  other: Harness;
  /** A's signing key (private), to re-sign session tokens under a changed policy. */
  serverKey: KeyObject;
  serverKid: string;
  serverJwk: Es256Key['jwk'];
  victim: Es256Key;
  victimSession: OpenSession;
  /** Enrolled for `bob` at bank A, bound to its own session. */
  peer: Es256Key;
  peerSession: OpenSession;
  /** Never enrolled anywhere. */
  attackers: Es256Key[];
  /** Not enrolled: signs fresh enrollments for the unused bait code. */
  enrollee: Es256Key;
  baitCode: string;
  /** Open, unbound session of `alice` at bank A: what a forged binding would take. */
  freeSession: OpenSession;
  /** A session of `alice` at bank B (the victim is enrolled at bank A only). */
  bankBSession: OpenSession;
  /** Enrolled for `dave`, bound to `rotatorSession`: the key a forged rotation would move. */
  rotator: Es256Key;
  rotatorSession: OpenSession;
  /** Never enrolled: signs fresh rotation statements. */
  rotateTo: Es256Key;
  /** The victim session's JWT (bank A) and its parts. */
  token: string;
  tokenClaims: JWTPayload;
  /** Session JWTs that must introspect inactive at bank A. */
  deadTokens: string[];
  /** A session JWT issued by the other deployment. */
  otherToken: string;
  /** The victim's accepted attestations, oldest first. */
  chain: ChainLink[];
  /** Statements the server accepted once (replays of them must be refused). */
  used: Record<Kind, string[]>;
  /** An attestation accepted by the other deployment (its device is unknown to A). */
  otherAttestation: string;
  /** Highest audit `seq` seen: the oracle reads what came after. */
  auditSeq: number;
  /** Seconds since the epoch on the (frozen) clock. */
  nowS: number;
  close(): Promise<void>;
}

/** Sends a raw request to an app. */
export async function send(
  app: App,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; json: any }> {
  const res = await app.request(path, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

const jsonHeaders = (extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  ...extra,
});

let jtiCounter = 0;
/** A unique `jti`. */
export const jti = () => `f-${++jtiCounter}-${randomUUID()}`;

async function must(app: App, method: string, path: string, key: string | null, body?: unknown) {
  const headers = jsonHeaders(key === null ? {} : { authorization: `Bearer ${key}` });
  const res = await send(
    app,
    method,
    path,
    headers,
    body === undefined ? undefined : JSON.stringify(body),
  );
  if (res.status >= 300)
    throw new Error(`setup ${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

/** Enrolls `key` for `subject` at the relying party of `bankKey`; returns the statement. */
async function enroll(h: Harness, key: Es256Key, subject: string, bankKey: string = KEYS.bankA) {
  const { code } = await must(h.app, 'POST', '/v1/enrollment-codes', bankKey, { subject });
  const iat = Math.floor(h.clock.now() / 1000);
  const jws = signJson(
    { alg: 'ES256', typ: TYP.enrollment, jwk: key.jwk },
    { code, iat, jti: jti() },
    key.privateKey,
  );
  await must(h.app, 'POST', '/v1/devices', null, { enrollment: jws });
  return jws;
}

async function open(
  h: Harness,
  subject: string,
  bankKey: string = KEYS.bankA,
): Promise<OpenSession> {
  const { sessionId, challenge } = await must(h.app, 'POST', '/v1/sessions', bankKey, { subject });
  return { sid: sessionId, challenge };
}

async function bind(h: Harness, key: Es256Key, s: OpenSession) {
  const iat = Math.floor(h.clock.now() / 1000);
  const jws = signJson(
    { alg: 'ES256', typ: TYP.binding, kid: key.jkt },
    { sid: s.sid, chal: s.challenge, iat, jti: jti() },
    key.privateKey,
  );
  await must(h.app, 'POST', '/v1/sessions/bind', null, { binding: jws });
  return jws;
}

/** Claims of a valid attestation of `sid` continuing a chain whose last link is `last`. */
export function attestationClaims(nowS: number, sid: string, last: ChainLink | undefined) {
  return {
    sid,
    seq: (last?.seq ?? 0) + 1,
    iat: nowS,
    state: 'scoring',
    conf: 0.9,
    progress: 1,
    mv: 'um1.fs2.sq1+K+P',
    n: { k: 40, p: 120 },
    prev: last?.hash ?? '',
  };
}

async function attestAccepted(h: Harness, key: Es256Key, sid: string, chain: ChainLink[]) {
  const claims = attestationClaims(Math.floor(h.clock.now() / 1000), sid, chain.at(-1));
  const jws = signJson(
    { alg: 'ES256', typ: TYP.attestation, kid: key.jkt },
    claims,
    key.privateKey,
  );
  await must(h.app, 'POST', '/v1/attestations', null, { attestation: jws });
  chain.push({ jws, seq: claims.seq, hash: chainHash(jws) });
  return jws;
}

/** A DPoP proof by `key` for `method` on `path` of `h`. */
export function dpopProof(
  h: Harness,
  key: Es256Key,
  method: string,
  path: string,
  claims: Record<string, unknown> = {},
) {
  return signJson(
    { alg: 'ES256', typ: TYP.dpop, jwk: key.jwk },
    {
      jti: jti(),
      htm: method,
      htu: `${h.issuer}${path}`,
      iat: Math.floor(h.clock.now() / 1000),
      ...claims,
    },
    key.privateKey,
  );
}

/** Builds the world on a fresh harness (SQLite, or Redis under `TACIT_TEST_STORE=redis`). */
export async function createWorld(): Promise<World> {
  // On Redis without a given server (`TACIT_TEST_STORE=redis npm run test:proof`): a
  // throwaway redis-server for this world.
  let redis: TestRedisServer | undefined;
  if (TEST_STORE === 'redis' && !process.env.TACIT_TEST_REDIS_URL) {
    redis = await startRedisServer();
    process.env.TACIT_TEST_REDIS_URL = redis.url;
  }
  // The SQLite files on a tmpfs when there is one: every refusal appends an audit record and
  // commits it, and the suite measures refusals, not this machine's fsync.
  const tmp = process.env.TMPDIR;
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  let a: Harness;
  let other: Harness;
  try {
    a = await createHarness();
    other = await createHarness();
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  // Off-contract requests are the point of this suite: the harness's contract check is not.
  a.allowOffContract();
  other.allowOffContract();
  const keysB = await loadServerKeys(a.store, a.clock);
  const { app: b } = createApp({
    store: a.store,
    keys: keysB,
    clock: a.clock,
    logger: memoryLogger(),
    issuer: a.issuer,
    rateLimits: NO_RATE_LIMITS,
    apiKeys: createApiKeyRegistry([
      { id: 'bank-a', role: 'bank', secret: KEYS.bankA },
      { id: 'bank-b', role: 'bank', secret: KEYS.bankB },
    ]),
  });
  const [signing] = (await a.store.listSigningKeys()).filter((k) => k.retiredAt === null);
  const serverKey = createPrivateKey({ key: JSON.parse(signing!.privateJwk), format: 'jwk' });
  const serverJwk = (await fromKeyObjects(serverKey)).jwk;

  const [victim, peer, enrollee, rotator0, rotator, rotateTo, bankBDevice, ...attackers] =
    await Promise.all(Array.from({ length: 14 }, () => newKey()));
  const used: World['used'] = {
    attestation: [],
    dpop: [],
    enrollment: [],
    binding: [],
    rotation: [],
    'session-jwt': [],
  };

  used.enrollment.push(await enroll(a, victim!, 'alice'));
  const victimSession = await open(a, 'alice');
  used.binding.push(await bind(a, victim!, victimSession));
  const chain: ChainLink[] = [];
  for (let i = 0; i < 4; i++)
    used.attestation.push(await attestAccepted(a, victim!, victimSession.sid, chain));

  used.enrollment.push(await enroll(a, peer!, 'bob'));
  const peerSession = await open(a, 'bob');
  used.binding.push(await bind(a, peer!, peerSession));
  const peerChain: ChainLink[] = [];
  used.attestation.push(await attestAccepted(a, peer!, peerSession.sid, peerChain));

  const freeSession = await open(a, 'alice');
  const bankBSession = await open(a, 'alice', KEYS.bankB);
  const { code: baitCode } = await must(a.app, 'POST', '/v1/enrollment-codes', KEYS.bankA, {
    subject: 'carol',
  });

  // DPoP proofs accepted once.
  for (const path of [`/v1/device/sessions/${victimSession.sid}`, '/v1/device/enrollments']) {
    const proof = dpopProof(a, victim!, 'GET', path);
    const res = await send(a.app, 'GET', path, { dpop: proof });
    if (res.status !== 200) throw new Error(`setup dpop: ${res.status}`);
    used.dpop.push(proof);
  }

  // A rotation accepted once: rotator0 → rotator; rotator0's token dies with it.
  used.enrollment.push(await enroll(a, rotator0!, 'dave'));
  const rotatorSession = await open(a, 'dave');
  used.binding.push(await bind(a, rotator0!, rotatorSession));
  const { token: rotatedToken } = await must(
    a.app,
    'POST',
    `/v1/sessions/${rotatorSession.sid}/token`,
    KEYS.bankA,
  );
  const rotation = signJson(
    { alg: 'ES256', typ: TYP.rotation, jwk: rotator!.jwk },
    { old: rotator0!.jkt, iat: Math.floor(a.clock.now() / 1000), jti: jti() },
    rotator!.privateKey,
  );
  const rotated = await send(
    a.app,
    'POST',
    '/v1/device/rotate',
    jsonHeaders({ dpop: dpopProof(a, rotator0!, 'POST', '/v1/device/rotate') }),
    JSON.stringify({ rotation }),
  );
  if (rotated.status !== 200)
    throw new Error(`setup rotate: ${rotated.status} ${JSON.stringify(rotated.json)}`);
  used.rotation.push(rotation);

  // Session JWTs: the victim's (live), an ended session's, the rotated-away key's.
  const { token } = await must(
    a.app,
    'POST',
    `/v1/sessions/${victimSession.sid}/token`,
    KEYS.bankA,
  );
  const ended = await open(a, 'alice');
  await bind(a, victim!, ended);
  const { token: endedToken } = await must(
    a.app,
    'POST',
    `/v1/sessions/${ended.sid}/token`,
    KEYS.bankA,
  );
  await must(a.app, 'DELETE', `/v1/sessions/${ended.sid}`, KEYS.bankA);
  // A token bank B holds for a session of its own (bank A must not get it introspected).
  await enroll(a, bankBDevice!, 'erin', KEYS.bankB);
  const bankBOwn = await open(a, 'erin', KEYS.bankB);
  await bind(a, bankBDevice!, bankBOwn);
  const { token: bankBToken } = await must(
    a.app,
    'POST',
    `/v1/sessions/${bankBOwn.sid}/token`,
    KEYS.bankB,
  );
  used['session-jwt'].push(endedToken, rotatedToken);

  // The other deployment: a device, a session, an accepted attestation, a token.
  const otherDevice = await newKey();
  await enroll(other, otherDevice, 'alice');
  const otherSession = await open(other, 'alice');
  await bind(other, otherDevice, otherSession);
  const otherChain: ChainLink[] = [];
  const otherAttestation = await attestAccepted(other, otherDevice, otherSession.sid, otherChain);
  const { token: otherToken } = await must(
    other.app,
    'POST',
    `/v1/sessions/${otherSession.sid}/token`,
    KEYS.bankA,
  );

  const audit = await a.store.listAudit(0, 1_000_000);
  return {
    a,
    b,
    other,
    serverKey,
    serverKid: decodeProtectedHeader(token).kid!,
    serverJwk,
    victim: victim!,
    victimSession,
    peer: peer!,
    peerSession,
    attackers,
    enrollee: enrollee!,
    baitCode,
    freeSession,
    bankBSession,
    rotator: rotator!,
    rotatorSession,
    rotateTo: rotateTo!,
    token,
    tokenClaims: decodeJwt(token),
    deadTokens: [endedToken, rotatedToken, bankBToken],
    otherToken,
    chain,
    used,
    otherAttestation,
    auditSeq: audit.at(-1)?.seq ?? 0,
    nowS: Math.floor(a.clock.now() / 1000),
    close: async () => {
      await a.close();
      await other.close();
      if (redis) {
        delete process.env.TACIT_TEST_REDIS_URL;
        await redis.stop();
      }
    },
  };
}

/** What the oracle compares before and after a request. */
interface State {
  counts: StoreCounts;
  sessions: (SessionRecord | undefined)[];
}

async function state(w: World): Promise<State> {
  const sids = [w.victimSession, w.peerSession, w.freeSession, w.bankBSession, w.rotatorSession];
  return {
    counts: await w.a.store.counts(),
    sessions: await Promise.all(sids.map((s) => w.a.store.getSession(s.sid))),
  };
}

/** How one request came out. */
export interface Verdict {
  status: number;
  /** 2xx (an active introspection for session JWTs), or any state change. */
  accepted: boolean;
  /** What changed, for the report of an acceptance. */
  changes: string[];
}

/**
 * Runs `request` and judges it. A state change is any row count that moved (except up to
 * `spentJtis` of `jtis`: a valid DPoP proof of an enrolled key spends its `jti` even when the
 * request it authenticates is then refused), any field of the watched sessions that moved, or
 * an audit record other than a `*_rejected` one (rejections are audited by design).
 */
export async function judge(
  w: World,
  request: () => Promise<{ status: number; json: any }>,
  options: { introspection?: boolean; spentJtis?: number } = {},
): Promise<Verdict> {
  const before = await state(w);
  const res = await request();
  const after = await state(w);
  const changes: string[] = [];
  for (const [name, value] of Object.entries(after.counts) as [keyof StoreCounts, number][]) {
    const delta = value - before.counts[name];
    const allowed = name === 'jtis' ? (options.spentJtis ?? 0) : 0;
    if (delta < 0 || delta > allowed) changes.push(`${name} ${before.counts[name]}→${value}`);
  }
  after.sessions.forEach((s, i) => {
    if (JSON.stringify(s) !== JSON.stringify(before.sessions[i]))
      changes.push(`session ${i} changed`);
  });
  const audit = await w.a.store.listAudit(w.auditSeq, 10_000);
  for (const r of audit) if (!/[._]rejected$/.test(r.type)) changes.push(`audit ${r.type}`);
  if (audit.length > 0) w.auditSeq = audit.at(-1)!.seq;
  const ok = options.introspection
    ? res.status === 200 && res.json?.active === true
    : res.status >= 200 && res.status < 300;
  return { status: res.status, accepted: ok || changes.length > 0, changes };
}
