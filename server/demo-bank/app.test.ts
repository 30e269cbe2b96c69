/**
 * The demo bank in-process, in front of the real verifier (the harness) reached through the
 * SDK with an injected fetch: every call the bank makes is a real HTTP request to the verifier's
 * app, authenticated with the bank's own key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTacitClient } from '../sdk';
import { appFetch, SERVER_URL } from '../sdk/testing';
import { parsePolicy } from '../src/domain/decision';
import {
  KEYS,
  TestDevice,
  attest,
  createHarness,
  snapshot,
  type Answer,
  type Harness,
  type HarnessOptions,
} from '../src/testing/harness';
import { BANK_COOKIE, createBankApp } from './app';
import { webauthnRelyingParty } from './passkeys';
import { SoftAuthenticator } from './testing';
import { openBankStore, type BankStore } from './store';

let h: Harness;
let bankStore: BankStore;
let bank: ReturnType<typeof createBankApp>;
let logs: { event: string; fields: Record<string, unknown> }[];
let verifierCalls: Map<string, number>;

async function start(options: HarnessOptions = {}) {
  h = await createHarness(options);
  bankStore = openBankStore(':memory:');
  logs = [];
  const { fetch, calls } = appFetch(h);
  verifierCalls = calls;
  const tacit = createTacitClient({
    serverUrl: SERVER_URL,
    apiKey: KEYS.demo,
    audience: 'demo-bank',
    issuer: h.issuer,
    fetch,
    now: () => h.clock.now(),
  });
  const log = (event: string, fields: Record<string, unknown> = {}) => logs.push({ event, fields });
  bank = createBankApp({
    tacit,
    store: bankStore,
    now: () => h.clock.now(),
    logger: { info: log, error: log },
    https: false,
    webauthn: webauthnRelyingParty('http://localhost'),
  });
}

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  bankStore.close();
  await h.close();
});

/** A request to the bank (not the verifier). */
async function call(
  method: string,
  path: string,
  o: { body?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers = new Headers(o.headers);
  if (o.contentType !== undefined) headers.set('content-type', o.contentType);
  const res = await bank.request(`http://localhost${path}`, { method, headers, body: o.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const ORIGIN = { origin: 'http://localhost' };

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  contentType: 'application/x-www-form-urlencoded',
});

const submitLogin = (username: string, password: string, headers = ORIGIN) =>
  call('POST', '/bank/login', { ...form({ username, password }), headers });

/** Logs in and returns the Cookie header value. */
async function login(username = 'alice', password = 'demo'): Promise<string> {
  const res = await submitLogin(username, password);
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/bank/accounts');
  const setCookie = res.headers.get('set-cookie') ?? '';
  const match = new RegExp(`${BANK_COOKIE}=([^;]+)`).exec(setCookie.split(/,(?=\s*\w+=)/).at(-1)!);
  expect(match).not.toBeNull();
  return `${BANK_COOKIE}=${match![1]}`;
}

const get = (path: string, cookie?: string) =>
  call('GET', path, cookie ? { headers: { cookie } } : {});
const post = (path: string, cookie: string, fields: Record<string, string> = {}) =>
  call('POST', path, { ...form(fields), headers: { ...ORIGIN, cookie } });

const meta = (page: Answer, name: string) =>
  new RegExp(`<meta name="${name}" content="([^"]*)"(?: data-challenge="([^"]*)")?`).exec(
    page.text,
  );
const byId = (page: Answer, id: string) =>
  new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(page.text)?.[1];
const sidOf = async (cookie: string) =>
  meta(await get('/bank/accounts', cookie), 'tacit-session')![1]!;

describe('demo bank login', () => {
  it('GET /bank/login has the form ids, a CSP and no inline script', async () => {
    const res = await get('/bank/login');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<input\s+id="username"[^>]*type="text"/);
    expect(res.text).toMatch(/<input\s+id="password"[^>]*type="password"/);
    expect(res.text).toMatch(/<button id="login"/);
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(res.text).not.toContain('tacit-session');
  });

  it('a wrong password → 401 with the form again, no session opened', async () => {
    const before = await snapshot(h);
    const res = await submitLogin('alice', 'nope');
    expect(res.status).toBe(401);
    expect(res.text).toContain('id="username"');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await snapshot(h)).toEqual(before);
    expect(bankStore.countLogins()).toBe(0);
    expect(verifierCalls.size).toBe(0);
  });

  it('sets an HttpOnly SameSite=Lax cookie and opens a Tacit session for the pseudonym', async () => {
    const res = await submitLogin('Alice', 'demo');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/bank/);
    expect((await h.store.counts()).sessions).toBe(1);
    expect(bankStore.countLogins()).toBe(1);
  });

  it('the subject is a 22-character pseudonym, stable per username, not the username', async () => {
    const a1 = await login('alice');
    const a2 = await login('ALICE ');
    const b = await login('bob');
    const subject = async (cookie: string) =>
      (await h.store.getSession(await sidOf(cookie)))!.subject;
    expect(await subject(a1)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await subject(a1)).toBe(await subject(a2));
    expect(await subject(a1)).not.toBe(await subject(b));
    expect(await subject(a1)).not.toContain('alice');
  });

  it('a cross-site form post is refused', async () => {
    const before = await snapshot(h);
    const res = await submitLogin('alice', 'demo', { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(await snapshot(h)).toEqual(before);
    expect(bankStore.countLogins()).toBe(0);
  });

  it('pages need a login', async () => {
    for (const path of ['/bank/accounts', '/bank/transfer']) {
      const res = await get(path);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/bank/login');
    }
    const api = await get('/bank/api/assurance');
    expect(api.status).toBe(401);
    expect(api.json.error.code).toBe('ERR_UNAUTHORIZED');
    expect((await get('/bank/accounts', `${BANK_COOKIE}=forged`)).status).toBe(303);
  });
});

describe('demo bank accounts, enrollment and assurance', () => {
  it('accounts page: session meta, assurance panel, device status, enroll form, transfer link', async () => {
    const cookie = await login();
    const page = await get('/bank/accounts', cookie);
    expect(page.status).toBe(200);
    const m = meta(page, 'tacit-session')!;
    const session = await h.store.getSession(m[1]!);
    expect(session?.rp).toBe('demo-bank');
    expect(m[2]).toBe(session?.challenge);
    expect(byId(page, 'assurance')).toBe('—');
    expect(byId(page, 'assurance-level')).toBe('none');
    expect(byId(page, 'attestation-count')).toBe('0');
    expect(byId(page, 'device-status')).toBe('not enrolled');
    expect(page.text).toMatch(
      /<form method="post" action="\/bank\/enroll" id="enroll-form" >\s*<button id="enroll"/,
    );
    expect(page.text).toMatch(/<a id="to-transfer"[^>]*href="\/bank\/transfer"/);
    expect(page.text).toMatch(/<script src="\/bank\/static\/bank.js" defer><\/script>/);
    expect(page.text).not.toContain('tacit-enrollment');
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it('enroll → pending code in the page (not the URL) → device enrolls, binds, attests → assurance', async () => {
    const cookie = await login();
    const enroll = await post('/bank/enroll', cookie);
    expect(enroll.status).toBe(303);
    expect(enroll.headers.get('location')).toBe('/bank/accounts?enrolled=pending');

    const page = await get('/bank/accounts?enrolled=pending', cookie);
    const code = meta(page, 'tacit-enrollment')![1]!;
    expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    expect(byId(page, 'enrollment-code')).toBe(code);

    // What the extension does with the page's meta tags.
    const [, sid, challenge] = meta(page, 'tacit-session')!;
    const device = await TestDevice.create(h.clock);
    const enrollment = await device.enrollment(code);
    expect((await h.call('POST', '/v1/devices', { json: { enrollment } })).status).toBe(201);
    const binding = await device.binding(sid!, challenge!);
    expect((await h.call('POST', '/v1/sessions/bind', { json: { binding } })).status).toBe(200);

    const after = await get('/bank/accounts?enrolled=pending', cookie);
    expect(byId(after, 'device-status')).toBe('enrolled');
    expect(after.text).not.toContain('tacit-enrollment'); // the used code is gone
    expect(after.text).not.toContain('id="enrollment-code"');
    expect(after.text).toMatch(/id="enroll-form" hidden/); // no Enroll button once enrolled

    let api = await get('/bank/api/assurance', cookie);
    expect(api.json).toEqual({
      assurance: null,
      level: 'none',
      state: null,
      progress: null,
      attestations: 0,
      deviceEnrolled: true,
      bound: true,
    });

    await attest(h, device, { sid: sid!, seq: 1, state: 'enrolling', conf: null, progress: 0.3 });
    api = await get('/bank/api/assurance', cookie);
    expect(api.json).toMatchObject({
      level: 'enrolling',
      state: 'enrolling',
      progress: 0.3,
      attestations: 1,
    });
    const enrolling = await get('/bank/accounts', cookie);
    expect(byId(enrolling, 'enrolment-value')).toBe('30 %');

    await attest(h, device, { sid: sid!, seq: 2, conf: 0.86 });
    api = await get('/bank/api/assurance', cookie);
    expect(api.json).toEqual({
      assurance: 0.86,
      level: 'high',
      state: 'scoring',
      progress: null,
      attestations: 2,
      deviceEnrolled: true,
      bound: true,
    });
    const panel = await get('/bank/accounts', cookie);
    expect(byId(panel, 'assurance')).toBe('0.86');
    expect(byId(panel, 'assurance-level')).toBe('high');
    expect(byId(panel, 'attestation-count')).toBe('2');
  });

  it('the pending code is shown only with ?enrolled=pending and only to its login', async () => {
    const cookie = await login();
    await post('/bank/enroll', cookie);
    expect(meta(await get('/bank/accounts', cookie), 'tacit-enrollment')).toBeNull();
    const other = await login('alice');
    const otherPage = await get('/bank/accounts?enrolled=pending', other);
    expect(meta(otherPage, 'tacit-enrollment')).toBeNull();
  });

  it('the demo bank acts as relying party demo-bank: its key gets tokens for its sessions', async () => {
    const cookie = await login();
    const sid = await sidOf(cookie);
    const asBankA = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.bankA });
    expect(asBankA.json.error.code).toBe('ERR_UNKNOWN_SESSION');
    const asDemo = await h.call('POST', `/v1/sessions/${sid}/token`, { key: KEYS.demo });
    expect(asDemo.json.error.code).toBe('ERR_SESSION_NOT_BOUND');
  });
});

describe('demo bank transfer and logout', () => {
  it('transfer form has the ids; POST confirms with the assurance level and stores nothing', async () => {
    const cookie = await login();
    const page = await get('/bank/transfer', cookie);
    for (const re of [
      /<input\s+id="payee"[^>]*type="text"/,
      /<input\s+id="amount"[^>]*type="text"/,
      /<textarea id="memo"/,
      /<input\s+id="confirm-password"[^>]*type="password"/,
      /<button id="send"/,
      /id="assurance-level"/,
    ]) {
      expect(page.text).toMatch(re);
    }
    expect(meta(page, 'tacit-session')).not.toBeNull();

    const before = await snapshot(h);
    const memo = 'secret memo <script>alert(1)</script>';
    const res = await post('/bank/transfer', cookie, {
      payee: 'Bob <b>&',
      amount: '12.50',
      memo,
      'confirm-password': 'demo',
    });
    expect(res.status).toBe(200);
    expect(byId(res, 'confirm-level')).toBe('none');
    expect(res.text).toContain('Bob &lt;b&gt;&amp;');
    expect(res.text).not.toContain('secret memo');
    expect(await snapshot(h)).toEqual(before);
    expect(JSON.stringify(logs)).not.toMatch(/secret memo|Bob/);
    expect(JSON.stringify(h.logger.records)).not.toMatch(/secret memo|Bob/);
  });

  it('a wrong confirmation password → 401, nothing stored', async () => {
    const cookie = await login();
    const before = await snapshot(h);
    const fields = { payee: 'x', amount: '1', memo: '', 'confirm-password': 'no' };
    const res = await post('/bank/transfer', cookie, fields);
    expect(res.status).toBe(401);
    expect(res.text).toContain('id="send"');
    expect(await snapshot(h)).toEqual(before);
  });

  it('bad amounts → 400', async () => {
    const cookie = await login();
    for (const amount of ['', 'abc', '-5', '0', '1.234', '1e5']) {
      const fields = { payee: 'x', amount, memo: '', 'confirm-password': 'demo' };
      const res = await post('/bank/transfer', cookie, fields);
      expect(res.status).toBe(400);
    }
  });

  it('logout ends the bank login and the Tacit session', async () => {
    const cookie = await login();
    const sid = await sidOf(cookie);
    const res = await post('/bank/logout', cookie);
    expect(res.status).toBe(303);
    expect((await h.store.getSession(sid))?.endedAt).toBe(h.clock.now());
    expect(bankStore.countLogins()).toBe(0);
    expect((await get('/bank/accounts', cookie)).status).toBe(303);
  });

  it('the login ends with the Tacit session (30 min)', async () => {
    const cookie = await login();
    h.clock.advance(30 * 60 * 1000);
    expect((await get('/bank/accounts', cookie)).status).toBe(303);
    expect((await get('/bank/api/assurance', cookie)).status).toBe(401);
  });
});

describe('demo bank step-up with a passkey', () => {
  const BANK_ORIGIN = 'http://localhost';
  const TRANSFER = { payee: 'Bob', amount: '12.50', memo: 'rent' };

  /** Logs in, registers a passkey (bank.js's calls), enrolls and binds a device. */
  async function holder() {
    const cookie = await login();
    const options = await call('POST', '/bank/api/passkeys/options', {
      headers: { ...ORIGIN, cookie },
    });
    expect(options.status).toBe(200);
    const authenticator = new SoftAuthenticator();
    const registered = await call('POST', '/bank/api/passkeys', {
      body: JSON.stringify(authenticator.create(options.json as never, BANK_ORIGIN)),
      contentType: 'application/json',
      headers: { cookie },
    });
    expect(registered.status, registered.text).toBe(201);
    await post('/bank/enroll', cookie);
    const page = await get('/bank/accounts?enrolled=pending', cookie);
    expect(byId(page, 'passkey-status')).toBe('registered');
    expect(page.text).toMatch(/id="register-passkey" type="button" hidden/);
    const code = meta(page, 'tacit-enrollment')![1]!;
    const [, sid, challenge] = meta(page, 'tacit-session')!;
    const device = await TestDevice.create(h.clock);
    const enrollment = await device.enrollment(code);
    expect((await h.call('POST', '/v1/devices', { json: { enrollment } })).status).toBe(201);
    const binding = await device.binding(sid!, challenge!);
    expect((await h.call('POST', '/v1/sessions/bind', { json: { binding } })).status).toBe(200);
    return { cookie, authenticator, device, sid: sid! };
  }

  /** The assertion options the step-up page hands to bank.js. */
  const stepUpOptions = (page: Answer) => {
    const attr = /id="webauthn-confirm" type="button" data-options="([^"]*)"/.exec(page.text)![1]!;
    return JSON.parse(attr.replaceAll('&quot;', '"').replaceAll('&amp;', '&')) as never;
  };

  it('allow: the transfer goes through without a password', async () => {
    const { cookie, device, sid } = await holder();
    expect((await get('/bank/transfer', cookie)).text).not.toContain('confirm-password');
    await attest(h, device, { sid, seq: 1, conf: 0.9 });
    const res = await post('/bank/transfer', cookie, TRANSFER);
    expect(res.status).toBe(200);
    expect(byId(res, 'confirm-level')).toBe('high');
    expect((await h.store.getSession(sid))?.confirmedAt).toBeNull();
  });

  it('step-up: the passkey confirms the transfer, the verifier learns it, the assurance recovers', async () => {
    const { cookie, authenticator, device, sid } = await holder();
    await attest(h, device, { sid, seq: 1, conf: 0.3 });
    const stepUp = await post('/bank/transfer', cookie, TRANSFER);
    expect(stepUp.status).toBe(200);
    expect(byId(stepUp, 'step-up-payee')).toBe('Bob');
    expect(stepUp.text).not.toContain('id="confirm-level"'); // not sent yet
    const options = stepUpOptions(stepUp);
    const answer = authenticator.get(options, BANK_ORIGIN);
    h.clock.advance(1500);
    const done = await post('/bank/transfer/confirm', cookie, {
      payee: 'Bob',
      amount: '12.50',
      webauthn: JSON.stringify(answer),
    });
    expect(done.status, done.text).toBe(200);
    expect(byId(done, 'confirm-payee')).toBe('Bob');
    expect(byId(done, 'confirm-level')).toBe('high');
    expect(byId(done, 'confirm-assurance')).toBe('0.95');
    // At the verifier: confirmed by the demo bank, audited, the decision allows again.
    expect((await h.store.getSession(sid))?.confirmedAt).toBe(h.clock.now());
    const records = await h.store.listAudit(0, 1000);
    expect(records.find((r) => r.type === 'session.confirmed')).toMatchObject({
      actor: 'rp:demo-bank',
      data: { sid, method: 'webauthn' },
    });
    const decided = await h.call('POST', `/v1/sessions/${sid}/decision`, { key: KEYS.demo });
    expect(decided.json).toMatchObject({ action: 'allow', level: 'high' });
    expect(JSON.stringify(logs)).not.toMatch(/Bob|rent/);
  });

  it('a failed, replayed or mismatched assertion is refused and reports nothing', async () => {
    const { cookie, authenticator, device, sid } = await holder();
    await attest(h, device, { sid, seq: 1, conf: 0.3 });
    const confirmWith = (fields: Record<string, string>) =>
      post('/bank/transfer/confirm', cookie, { payee: 'Bob', amount: '12.50', ...fields });

    // Signed for another origin (a phishing page).
    let options = stepUpOptions(await post('/bank/transfer', cookie, TRANSFER));
    const phished = authenticator.get(options, 'https://phish.example');
    expect((await confirmWith({ webauthn: JSON.stringify(phished) })).status).toBe(401);
    // For this transfer, presented for another payee.
    options = stepUpOptions(await post('/bank/transfer', cookie, TRANSFER));
    const answer = JSON.stringify(authenticator.get(options, BANK_ORIGIN));
    expect((await confirmWith({ payee: 'Mallory', webauthn: answer })).status).toBe(401);
    // Replayed (its challenge was used by the refusal above).
    expect((await confirmWith({ webauthn: answer })).status).toBe(401);
    // Junk.
    expect((await confirmWith({ webauthn: 'not json' })).status).toBe(401);
    expect((await h.store.getSession(sid))?.confirmedAt).toBeNull();
    expect((await h.store.listAudit(0, 1000)).some((r) => r.type === 'session.confirmed')).toBe(
      false,
    );
  });

  it('terminate: the login ends, and no passkey brings the session back', async () => {
    const { cookie, device, sid } = await holder();
    await attest(h, device, { sid, seq: 1, conf: 0.1 });
    const res = await post('/bank/transfer', cookie, TRANSFER);
    expect(res.status).toBe(403);
    expect(res.text).toContain('Session ended');
    expect((await h.store.getSession(sid))?.terminatedAt).not.toBeNull();
    expect(bankStore.countLogins()).toBe(0);
    expect((await get('/bank/transfer', cookie)).status).toBe(303);
  });
});

describe('demo bank and the verifier', () => {
  it('/ and /bank redirect to the login page', async () => {
    for (const path of ['/', '/bank']) {
      const res = await get(path);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/bank/login');
    }
  });

  it('talks to the verifier through the SDK only, with its own key', async () => {
    const cookie = await login();
    await post('/bank/enroll', cookie);
    await get('/bank/accounts?enrolled=pending', cookie);
    expect([...verifierCalls.keys()].every((p) => p.startsWith('/v1/'))).toBe(true);
    expect(verifierCalls.get('/v1/sessions')).toBe(1);
    expect(verifierCalls.get('/v1/enrollment-codes')).toBe(1);
  });

  it('ends its login when the verifier terminated the session', async () => {
    bankStore.close();
    await h.close();
    await start({ policy: parsePolicy({ default: { noAttestationAction: 'terminate' } }) });
    const cookie = await login('erin');
    const sid = await sidOf(cookie);
    // The demo bank's backend key asks for a decision on its own session.
    const decision = await h.call('POST', `/v1/sessions/${sid}/decision`, { key: KEYS.demo });
    expect(decision.json).toMatchObject({
      action: 'terminate',
      reasons: ['SESSION_NOT_BOUND', 'NO_ATTESTATION'],
    });
    const after = await get('/bank/accounts', cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/bank/login');
    expect(bankStore.countLogins()).toBe(0);
  });

  it('the verifier unreachable: a 503 page and a 503 JSON, nothing stored', async () => {
    const cookie = await login();
    const down = createBankApp({
      tacit: createTacitClient({
        serverUrl: SERVER_URL,
        apiKey: KEYS.demo,
        fetch: async () => {
          throw new TypeError('fetch failed');
        },
      }),
      store: bankStore,
      now: () => h.clock.now(),
      logger: { info: () => {}, error: (event) => logs.push({ event, fields: {} }) },
      https: false,
      webauthn: webauthnRelyingParty('http://localhost'),
    });
    const page = await down.request('http://localhost/bank/accounts', { headers: { cookie } });
    expect(page.status).toBe(503);
    const api = await down.request('http://localhost/bank/api/assurance', { headers: { cookie } });
    expect(api.status).toBe(503);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('ERR_UNAVAILABLE');
    expect(logs.map((l) => l.event)).toContain('tacit_unavailable');
    expect(bankStore.countLogins()).toBe(1);
  });

  it('over HTTPS the cookie is Secure and HSTS is sent', async () => {
    const secure = createBankApp({
      tacit: createTacitClient({
        serverUrl: SERVER_URL,
        apiKey: KEYS.demo,
        fetch: appFetch(h).fetch,
      }),
      store: bankStore,
      now: () => h.clock.now(),
      logger: { info: () => {}, error: () => {} },
      https: true,
      webauthn: webauthnRelyingParty('http://localhost'),
    });
    const res = await secure.request('https://localhost/bank/login', {
      method: 'POST',
      headers: { origin: 'https://localhost', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&password=demo',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });
});

describe('demo bank static files', () => {
  it('serves bank.js and bank.css with their types; unknown files 404', async () => {
    const js = await get('/bank/static/bank.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.text).toContain('/bank/api/assurance');
    const css = await get('/bank/static/bank.css');
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await get('/bank/static/..%2Fbank.ts')).status).toBe(404);
    expect((await get('/bank/static/nope.js')).status).toBe(404);
  });
});
