/**
 * The demo bank: a relying party like any bank, in its own process beside the verifier. It
 * talks to the verifier only through the SDK (`server/sdk/`), over HTTP, with its own `bank`
 * API key: open a session at login, issue enrollment codes, list devices, get a session token
 * and introspect it for the assurance panel, end the session at logout.
 *
 * A transfer asks the verifier for a decision (docs/protocol.md §5): `allow` → it goes through;
 * `step-up` → the user's passkey must confirm that transfer (passkeys.ts), and the verified
 * confirmation is reported to the verifier (`confirmSession`), which clears the step-up;
 * `terminate` → the login ends. A user without a passkey has no strong factor to step up with:
 * the demo then confirms with its password, as before, and reports nothing (a password typed
 * at the same keyboard proves nothing about who is typing).
 *
 * It stores its logins (cookie value hashed) in its own store and nothing a user types: no
 * form contents, no password, no memo.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import { ApiError, TacitSdkError, type TacitClient } from '../sdk';
import {
  accountsPage,
  loginPage,
  messagePage,
  stepUpPage,
  transferDonePage,
  transferPage,
  type AssuranceSnapshot,
  type SignedInContext,
  type Transfer,
} from './pages';
import { Passkeys, transferPurpose, type WebAuthnRelyingParty } from './passkeys';
import { receiverRoutes, receiverToken } from './receiver';
import type { BankLogin, BankStore } from './store';

/** Name of the login cookie. */
export const BANK_COOKIE = 'tacit_demo_bank';

/** The demo password (any username). */
const DEMO_PASSWORD = 'demo';

/** Store secret keying the username → subject pseudonym. */
const PSEUDONYM_SECRET = 'pseudonym-key';

/** Security events shown per session, newest first. */
const EVENTS_SHOWN = 20;

/** Largest form body accepted (bytes). */
const MAX_BODY_BYTES = 16 * 1024;

const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** What the bank logs: one event name and a few fields, never what a user typed. */
export interface BankLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

/** What the demo bank needs. */
export interface BankDeps {
  /** The SDK client of the verifier, with the bank's own API key. */
  tacit: TacitClient;
  store: BankStore;
  /** ms since the epoch. */
  now: () => number;
  logger: BankLogger;
  /** Served over HTTPS: mark the login cookie `Secure` and send HSTS. */
  https: boolean;
  /** The bank as a WebAuthn relying party (its configured origin: passkeys.ts). */
  webauthn: WebAuthnRelyingParty;
}

interface BankEnv {
  Variables: { bank: BankLogin };
}

const STATIC_FILES = {
  'bank.js': 'text/javascript; charset=utf-8',
  'bank.css': 'text/css; charset=utf-8',
} as const;

function loadStatic(): Map<string, { body: string; type: string }> {
  const files = new Map<string, { body: string; type: string }>();
  for (const [name, type] of Object.entries(STATIC_FILES)) {
    const body = readFileSync(new URL(`./static/${name}`, import.meta.url), 'utf8');
    files.set(name, { body, type });
  }
  return files;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** Compares two strings in time independent of where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(a).digest(),
    createHash('sha256').update(b).digest(),
  );
}

/** Usernames are case- and width-insensitive; 1-64 visible characters. */
function normalizeUsername(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const name = input.normalize('NFKC').trim().toLowerCase();
  if (name.length < 1 || name.length > 64 || /[\p{Cc}\p{Cf}]/u.test(name)) return undefined;
  return name;
}

const field = (form: Record<string, unknown>, name: string): string =>
  typeof form[name] === 'string' ? form[name] : '';

/** The transfer a form describes, or undefined when it is not a valid one. */
function transferOf(form: Record<string, unknown>): Transfer | undefined {
  const payee = field(form, 'payee').trim();
  const amountText = field(form, 'amount').trim().replace(',', '.');
  const amount = /^\d{1,9}(\.\d{1,2})?$/.test(amountText) ? Number(amountText) : NaN;
  if (payee.length < 1 || payee.length > 64 || !(amount > 0)) return undefined;
  return { payee, amount };
}

/** The verifier's answer when the behavioral session is over (so is the login). */
const SESSION_OVER = new Set([
  'ERR_SESSION_EXPIRED',
  'ERR_SESSION_TERMINATED',
  'ERR_UNKNOWN_SESSION',
]);
/** The verifier's answer while no device (or a revoked one) speaks for the session. */
const NOT_BOUND = new Set(['ERR_SESSION_NOT_BOUND', 'ERR_DEVICE_REVOKED']);

const apiCode = (err: unknown): string | undefined =>
  err instanceof ApiError ? err.serverCode : undefined;

/** The JSON error of the bank's own API. */
const jsonError = (code: string, message: string) => ({ error: { code, message } });

/**
 * Builds the demo bank: its pages under `/bank`, `/` redirecting to the login page, its own
 * error boundary.
 */
export function createBankApp(deps: BankDeps): Hono<BankEnv> {
  const { tacit, store, now, logger } = deps;
  const passkeys = new Passkeys({ store, rp: deps.webauthn, now });
  const files = loadStatic();
  const app = new Hono<BankEnv>();
  const pseudonymKey = Buffer.from(
    store.secret(PSEUDONYM_SECRET, () => randomBytes(32).toString('base64url')),
    'base64url',
  );

  /** subject = base64url(HMAC-SHA256(bank secret, username)), 22 characters. */
  const subjectOf = (username: string): string =>
    createHmac('sha256', pseudonymKey).update(username).digest('base64url').slice(0, 22);

  /** The assurance a bank sees: through a session token and its introspection. */
  const snapshot = async (bank: BankLogin): Promise<AssuranceSnapshot | undefined> => {
    const devices = await tacit.listDevices(bank.subject);
    const deviceEnrolled = devices.some((d) => d.revokedAt === null);
    const none: AssuranceSnapshot = {
      assurance: null,
      level: 'none',
      state: null,
      progress: null,
      attestations: 0,
      deviceEnrolled,
      bound: false,
    };
    try {
      const { token } = await tacit.issueSessionToken(bank.tacitSid);
      const info = await tacit.introspect(token);
      if (!info.active) return none;
      return {
        assurance: info.tacit_assurance,
        level: info.tacit_level,
        state: info.tacit_state,
        progress: info.tacit_progress,
        attestations: info.tacit_attestations,
        deviceEnrolled,
        bound: true,
      };
    } catch (err) {
      const code = apiCode(err);
      if (code !== undefined && NOT_BOUND.has(code)) return none;
      if (code !== undefined && SESSION_OVER.has(code)) return undefined;
      throw err;
    }
  };

  const endLogin = async (c: Context, bank: BankLogin | undefined) => {
    deleteCookie(c, BANK_COOKIE, { path: '/bank' });
    if (!bank) return;
    store.deleteLogin(bank.idHash);
    try {
      await tacit.endSession(bank.tacitSid);
    } catch (err) {
      // Already over at the verifier: nothing left to end.
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 410))) throw err;
    }
  };

  const currentLogin = async (c: Context): Promise<BankLogin | undefined> => {
    const cookie = getCookie(c, BANK_COOKIE);
    if (!cookie || cookie.length > 64) return undefined;
    const bank = store.getLogin(sha256(cookie));
    if (!bank) return undefined;
    if (bank.expiresAt <= now()) {
      await endLogin(c, bank);
      return undefined;
    }
    return bank;
  };

  /** Pages: no login → the login page. */
  const page: MiddlewareHandler<BankEnv> = async (c, next) => {
    const bank = await currentLogin(c);
    if (!bank) return c.redirect('/bank/login', 303);
    c.set('bank', bank);
    return next();
  };

  /** JSON API: no login → 401. */
  const api: MiddlewareHandler<BankEnv> = async (c, next) => {
    const bank = await currentLogin(c);
    if (!bank) return c.json(jsonError('ERR_UNAUTHORIZED', 'log in first'), 401);
    c.set('bank', bank);
    return next();
  };

  /** Renders an authenticated page, or ends the login if the behavioral session is over. */
  const withSession = async (
    c: Context<BankEnv>,
    render: (ctx: SignedInContext) => ReturnType<typeof loginPage>,
    status: 200 | 400 | 401 = 200,
  ) => {
    const bank = c.var.bank;
    const assurance = await snapshot(bank);
    if (!assurance) {
      await endLogin(c, bank);
      return c.redirect('/bank/login', 303);
    }
    const ctx = {
      user: bank.username,
      sessionId: bank.tacitSid,
      challenge: bank.challenge,
      assurance,
    };
    return c.html(render(ctx), status);
  };

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (deps.https) c.header('Strict-Transport-Security', 'max-age=31536000');
    if (!c.req.path.startsWith('/bank/static/')) c.header('Cache-Control', 'no-store');
  });
  app.use('*', bodyLimit({ maxSize: MAX_BODY_BYTES }));
  // Form posts must come from our own pages (Origin / Sec-Fetch-Site), on top of SameSite=Lax.
  app.use('*', csrf());

  // The verifier's Security Event Tokens (receiver.ts): a bearer token, not a cookie.
  app.route('/', receiverRoutes({ tacit, store, now, logger, token: receiverToken(store) }));

  app.get('/', (c) => c.redirect('/bank/login', 302));
  app.get('/bank', (c) => c.redirect('/bank/login', 302));

  app.get('/bank/static/:file', (c) => {
    const file = files.get(c.req.param('file'));
    if (!file) return c.html(messagePage('Not found', 'There is no such page.'), 404);
    c.header('Content-Type', file.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(file.body);
  });

  app.get('/bank/login', (c) => c.html(loginPage()));

  app.post('/bank/login', async (c) => {
    const form = await c.req.parseBody();
    const username = normalizeUsername(form.username);
    const password = field(form, 'password');
    if (!username || !constantTimeEqual(password, DEMO_PASSWORD)) {
      return c.html(loginPage('Unknown username or wrong password.'), 401);
    }
    // A new login never reuses an old cookie (no session fixation).
    await endLogin(c, await currentLogin(c));
    const subject = subjectOf(username);
    const session = await tacit.openSession(subject);
    const cookie = randomBytes(32).toString('base64url');
    const createdAt = now();
    const expiresAt = Date.parse(session.expiresAt);
    store.createLogin({
      idHash: sha256(cookie),
      username,
      subject,
      tacitSid: session.sessionId,
      challenge: session.challenge,
      createdAt,
      expiresAt,
      pendingCode: null,
      pendingCodeIssuedAt: null,
      pendingCodeExpiresAt: null,
    });
    setCookie(c, BANK_COOKIE, cookie, {
      path: '/bank',
      httpOnly: true,
      sameSite: 'Lax',
      secure: deps.https,
      maxAge: Math.max(0, Math.floor((expiresAt - createdAt) / 1000)),
    });
    logger.info('bank_login', {});
    return c.redirect('/bank/accounts', 303);
  });

  const logout = async (c: Context<BankEnv>) => {
    await endLogin(c, await currentLogin(c));
    return c.redirect('/bank/login', 303);
  };
  app.get('/bank/logout', logout);
  app.post('/bank/logout', logout);

  app.get('/bank/accounts', page, async (c) => {
    const bank = c.var.bank;
    let pending: string | undefined;
    if (bank.pendingCode !== null && bank.pendingCodeIssuedAt !== null) {
      const devices = await tacit.listDevices(bank.subject);
      const usedSince = devices.some((d) => Date.parse(d.createdAt) >= bank.pendingCodeIssuedAt!);
      const expired = (bank.pendingCodeExpiresAt ?? 0) <= now();
      if (usedSince || expired) store.setPendingCode(bank.idHash, null);
      else if (c.req.query('enrolled') === 'pending') pending = bank.pendingCode;
    }
    const events = store.eventsOf(bank.tacitSid, EVENTS_SHOWN);
    const hasPasskey = passkeys.has(bank);
    return withSession(c, (ctx) => accountsPage(ctx, pending, events, hasPasskey));
  });

  app.post('/bank/enroll', page, async (c) => {
    const bank = c.var.bank;
    const { code, expiresAt } = await tacit.createEnrollmentCode(bank.subject);
    store.setPendingCode(bank.idHash, {
      code,
      issuedAt: now(),
      expiresAt: Date.parse(expiresAt),
    });
    return c.redirect('/bank/accounts?enrolled=pending', 303);
  });

  /** Ends the login and says why (the verifier terminated or ended the session). */
  const sessionEnded = async (c: Context<BankEnv>) => {
    await endLogin(c, c.var.bank);
    return c.html(
      messagePage(
        'Session ended',
        'For your security this session was ended. Please log in again.',
      ),
      403,
    );
  };

  /** The verifier's decision, or undefined when the session is over there. */
  const decisionFor = async (bank: BankLogin) => {
    try {
      return await tacit.decision(bank.tacitSid);
    } catch (err) {
      const code = apiCode(err);
      if (code !== undefined && SESSION_OVER.has(code)) return undefined;
      throw err;
    }
  };

  /** The transfer goes through: nothing of the form is stored or logged. */
  const transferDone = (c: Context<BankEnv>, transfer: Transfer, via: string) =>
    withSession(c, (ctx) => {
      logger.info('bank_transfer', { level: ctx.assurance.level, via });
      return transferDonePage(ctx, transfer);
    });

  app.get('/bank/transfer', page, (c) =>
    withSession(c, (ctx) => transferPage(ctx, undefined, passkeys.has(c.var.bank))),
  );

  app.post('/bank/transfer', page, async (c) => {
    const bank = c.var.bank;
    const form = await c.req.parseBody();
    const hasPasskey = passkeys.has(bank);
    // Without a passkey the password still confirms every transfer (see the module comment).
    if (!hasPasskey && !constantTimeEqual(field(form, 'confirm-password'), DEMO_PASSWORD)) {
      return withSession(c, (ctx) => transferPage(ctx, 'Wrong password.', false), 401);
    }
    const transfer = transferOf(form);
    if (!transfer) {
      return withSession(
        c,
        (ctx) => transferPage(ctx, 'Enter a payee and an amount.', hasPasskey),
        400,
      );
    }
    const decision = await decisionFor(bank);
    if (!decision || decision.action === 'terminate') return sessionEnded(c);
    if (decision.action === 'step-up' && hasPasskey) {
      const options = await passkeys.assertionOptions(bank, transferPurpose(transfer));
      logger.info('bank_step_up', { reasons: decision.reasons });
      return withSession(c, (ctx) => stepUpPage(ctx, transfer, options));
    }
    return transferDone(c, transfer, hasPasskey ? 'allow' : 'password');
  });

  // The step-up's answer: the same transfer, with the passkey's assertion over its challenge.
  app.post('/bank/transfer/confirm', page, async (c) => {
    const bank = c.var.bank;
    const form = await c.req.parseBody();
    const transfer = transferOf(form);
    let answer: unknown;
    try {
      answer = JSON.parse(field(form, 'webauthn'));
    } catch {
      answer = undefined;
    }
    const confirmed =
      transfer !== undefined &&
      (await passkeys.verifyAssertion(bank, answer, transferPurpose(transfer)));
    if (!transfer || !confirmed) {
      logger.info('bank_step_up_failed', {});
      return withSession(
        c,
        (ctx) => transferPage(ctx, 'Your passkey did not confirm this transfer.', true),
        401,
      );
    }
    try {
      await tacit.confirmSession(bank.tacitSid, { method: 'webauthn', at: now() });
    } catch (err) {
      const code = apiCode(err);
      // Terminated (or ended) meanwhile: a strong factor does not bring a session back.
      if (code !== undefined && SESSION_OVER.has(code)) return sessionEnded(c);
      throw err;
    }
    logger.info('bank_step_up_confirmed', { method: 'webauthn' });
    return transferDone(c, transfer, 'webauthn');
  });

  // Passkey registration (the page's script: bank.js), at enrolment or any later login.
  app.post('/bank/api/passkeys/options', api, async (c) =>
    c.json(await passkeys.registrationOptions(c.var.bank)),
  );
  app.post('/bank/api/passkeys', api, async (c) => {
    let answer: unknown;
    try {
      answer = await c.req.json();
    } catch {
      answer = undefined;
    }
    if (!(await passkeys.register(c.var.bank, answer))) {
      return c.json(jsonError('ERR_PASSKEY', 'the passkey could not be registered'), 400);
    }
    logger.info('bank_passkey_registered', {});
    return c.json({ registered: true }, 201);
  });

  app.get('/bank/api/assurance', api, async (c) => {
    const assurance = await snapshot(c.var.bank);
    if (!assurance) {
      await endLogin(c, c.var.bank);
      return c.json(jsonError('ERR_UNAUTHORIZED', 'behavioral session over'), 401);
    }
    return c.json(assurance);
  });

  app.get('/bank/api/security-events', api, (c) =>
    c.json({
      events: store.eventsOf(c.var.bank.tacitSid, EVENTS_SHOWN).map((e) => ({
        type: e.type,
        summary: e.summary,
        receivedAt: new Date(e.receivedAt).toISOString(),
      })),
    }),
  );

  app.notFound((c) => c.html(messagePage('Not found', 'There is no such page.'), 404));

  // The bank's one error boundary: a refused form (cross-site post, body too large) gets its
  // status; the verifier unreachable is a 503; anything else is logged and a bare 500.
  app.onError((err, c) => {
    const json = c.req.path.startsWith('/bank/api/');
    if (err instanceof HTTPException && err.status < 500) {
      return json
        ? c.json(jsonError('ERR_REQUEST', 'request refused'), err.status)
        : c.html(messagePage('Request refused', 'This request was refused.'), err.status);
    }
    if (err instanceof TacitSdkError && err.code !== 'ERR_API') {
      logger.error('tacit_unavailable', { code: err.code, cause: String(err.cause) });
      return json
        ? c.json(jsonError('ERR_UNAVAILABLE', 'verification server unavailable'), 503)
        : c.html(messagePage('Unavailable', 'Please try again in a moment.'), 503);
    }
    logger.error('unhandled_error', {
      name: err.name,
      ...(err instanceof TacitSdkError ? { code: err.code, cause: String(err.cause) } : {}),
      stack: err.stack,
    });
    return json
      ? c.json(jsonError('ERR_INTERNAL', 'internal error'), 500)
      : c.html(messagePage('Something went wrong', 'Please try again.'), 500);
  });

  return app;
}
