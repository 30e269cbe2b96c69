/**
 * The demo bank's Shared Signals receiver in front of the real verifier (the harness): the
 * bank creates its stream through the SDK, the verifier's transmitter pushes real SETs to the
 * bank's app (an in-process fetch: real requests and answers, no socket), and the bank
 * verifies, stores and shows them; forged or misdirected SETs are refused per RFC 8935.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTacitClient, type TacitClient } from '../sdk';
import { appFetch, SERVER_URL } from '../sdk/testing';
import {
  KEYS,
  TestDevice,
  attest,
  boundSession,
  createHarness,
  type Harness,
} from '../src/testing/harness';
import { BANK_COOKIE, createBankApp } from './app';
import { webauthnRelyingParty } from './passkeys';
import { RECEIVER_PATH, ensureStream, receiverToken } from './receiver';
import { openBankStore, type BankStore } from './store';

const ENDPOINT = `http://localhost${RECEIVER_PATH}`;
let h: Harness;
let store: BankStore;
let tacit: TacitClient;
let bank: ReturnType<typeof createBankApp>;

beforeEach(async () => {
  // The verifier pushes into the bank's app; `bank` is set before anything is pushed.
  h = await createHarness({
    ssfFetch: async (input, init) => bank.request(String(input), init),
  });
  store = openBankStore(':memory:');
  tacit = createTacitClient({
    serverUrl: SERVER_URL,
    apiKey: KEYS.demo,
    audience: 'demo-bank',
    issuer: h.issuer,
    fetch: appFetch(h).fetch,
    now: () => h.clock.now(),
  });
  const log = () => {};
  bank = createBankApp({
    tacit,
    store,
    now: () => h.clock.now(),
    logger: { info: log, error: log },
    https: false,
    webauthn: webauthnRelyingParty('http://localhost'),
  });
});
afterEach(async () => {
  store.close();
  await h.close();
});

const push = (
  body: string,
  auth = `Bearer ${receiverToken(store)}`,
  type = 'application/secevent+jwt',
) =>
  bank.request(ENDPOINT, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': type },
    body,
  });
const deliverAll = async () => {
  await h.services.transmitter.fanOutAll();
  return h.services.transmitter.pushOnce();
};

describe('demo bank SSF receiver', () => {
  it('creates its stream, receives verified SETs, and a revocation ends the login', async () => {
    const streamId = await ensureStream(tacit, ENDPOINT, receiverToken(store));
    // A restart replaces the stream instead of adding one.
    expect(await ensureStream(tacit, ENDPOINT, receiverToken(store))).not.toBe(streamId);
    expect(await tacit.listStreams()).toHaveLength(1);

    const s = await boundSession(h, 'alice', KEYS.demo);
    store.createLogin({
      idHash: 'h1',
      username: 'alice',
      subject: s.subject,
      tacitSid: s.sid,
      challenge: s.challenge,
      createdAt: h.clock.now(),
      expiresAt: h.clock.now() + 60_000,
      pendingCode: null,
      pendingCodeIssuedAt: null,
      pendingCodeExpiresAt: null,
    });
    await attest(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    await attest(h, s.device, { sid: s.sid, seq: 2, conf: 0.1 });
    expect((await tacit.decision(s.sid)).action).toBe('terminate');
    expect(await deliverAll()).toBe(5);
    // Pushes are not ordered (RFC 8935; the transmitter pushes several at once, retries apart):
    // the five events, each once, whatever order they arrived in (receivers order by `txn`).
    const byArrival = store.eventsOf(s.sid, 10).map((e) => [e.type, e.summary] as const);
    const sorted = (l: readonly (readonly [string, string])[]) =>
      [...l].sort((a, b) => `${a[0]} ${a[1]}`.localeCompare(`${b[0]} ${b[1]}`));
    expect(sorted(byArrival)).toEqual(
      sorted([
        ['assurance-level-change', 'high'],
        ['risk-level-change', 'LOW (ASSURANCE_ABOVE_STEP_UP)'],
        ['assurance-level-change', 'high → low'],
        ['risk-level-change', 'LOW → HIGH (ASSURANCE_BELOW_TERMINATE)'],
        ['session-revoked', byArrival.find(([t]) => t === 'session-revoked')?.[1] ?? 'missing'],
      ]),
    );
    expect(byArrival.find(([t]) => t === 'session-revoked')?.[1]).toContain(
      'ASSURANCE_BELOW_TERMINATE',
    );
    expect(store.getLogin('h1')).toBeUndefined();
    // Nothing left to push: every SET was answered 202.
    h.clock.advance(600_000);
    expect(await h.services.transmitter.pushOnce()).toBe(0);
  });

  it('refuses SETs that do not verify, with the RFC 8935 error, and dedupes by jti', async () => {
    await ensureStream(tacit, ENDPOINT, receiverToken(store));
    await tacit.verifyStream((await tacit.listStreams())[0]!.stream_id, 'hello');
    const { set } = (await h.store.ssf.claimPush(h.clock.now(), 'test', h.clock.now() + 1, 1))[0]!;
    expect((await push(set)).status).toBe(202);
    expect((await push(set)).status).toBe(202);

    const refused = async (res: Response, status: number, err: string) => {
      expect(res.status).toBe(status);
      expect(((await res.json()) as { err: string }).err).toBe(err);
    };
    await refused(await push(set, 'Bearer wrong'), 401, 'authentication_failed');
    await refused(await push(set, undefined, 'application/jwt'), 400, 'invalid_request');
    // Signed by a key not in the verifier's JWKS.
    const device = await TestDevice.create(h.clock);
    const payload = JSON.parse(Buffer.from(set.split('.')[1]!, 'base64url').toString());
    const forged = await device.sign({ typ: 'secevent+jwt', kid: 'not-a-server-key' }, payload);
    await refused(await push(forged), 400, 'invalid_key');
    // Signed by the verifier, but for another relying party.
    const other = await h.services.transmitter.sign(
      { ...(await h.store.ssf.listStreams('demo-bank'))[0]!, aud: 'bank-a' },
      'https://schemas.openid.net/secevent/ssf/event-type/verification',
      {},
      { subId: { format: 'opaque', id: 'x' } },
    );
    await refused(await push(other.set), 400, 'invalid_audience');
  });

  it("shows the session's events on the accounts page and in its API", async () => {
    const login = await bank.request('http://localhost/bank/login', {
      method: 'POST',
      headers: { origin: 'http://localhost', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=demo',
    });
    const cookie = /tacit_demo_bank=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
    expect(cookie.startsWith(BANK_COOKIE)).toBe(true);
    const page = await (
      await bank.request('http://localhost/bank/accounts', { headers: { cookie } })
    ).text();
    const sid = /<meta name="tacit-session" content="([^"]+)"/.exec(page)![1]!;
    store.addEvent({
      jti: 'j1',
      sid,
      type: 'risk-level-change',
      summary: 'LOW → MEDIUM (ASSURANCE_BELOW_STEP_UP)',
      receivedAt: h.clock.now(),
    });
    const again = await (
      await bank.request('http://localhost/bank/accounts', { headers: { cookie } })
    ).text();
    expect(again).toContain('id="security-events"');
    expect(again).toContain('LOW → MEDIUM (ASSURANCE_BELOW_STEP_UP)');
    const api = await bank.request('http://localhost/bank/api/security-events', {
      headers: { cookie },
    });
    expect(await api.json()).toEqual({
      events: [
        {
          type: 'risk-level-change',
          summary: 'LOW → MEDIUM (ASSURANCE_BELOW_STEP_UP)',
          receivedAt: new Date(h.clock.now()).toISOString(),
        },
      ],
    });
  });
});
