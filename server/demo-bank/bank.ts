/**
 * The demo bank: a relying party (`demo-bank`) served by the same process, mounted under
 * `/bank`. It calls the Tacit service layer in-process, through exactly the operations a real
 * bank would call over HTTP (open session, enrollment code, session token + introspection).
 *
 * It stores a login session (cookie value hashed) and nothing a user types: no form contents,
 * no password, no memo.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import type { RelyingParty } from '../src/http/middleware/auth';
import type { Clock } from '../src/clock';
import { DEMO_BANK_ID } from '../src/config';
import {
  constantTimeEqual,
  hmacBase64url,
  randomToken,
  sha256Base64url,
} from '../src/crypto/digest';
import {
  DeviceRevoked,
  SessionExpired,
  SessionNotBound,
  SessionTerminated,
  Unauthorized,
  UnknownSession,
} from '../src/errors';
import type { Logger } from '../src/observability/log';
import type { DeviceService } from '../src/services/devices';
import type { EnrollmentService } from '../src/services/enrollment';
import type { SessionService } from '../src/services/sessions';
import type { TokenService } from '../src/services/tokens';
import type { BankSessionRecord, Store } from '../src/store/store';
import type { AppVariables } from '../src/http/types';
import {
  accountsPage,
  loginPage,
  messagePage,
  transferDonePage,
  transferPage,
  type AssuranceSnapshot,
  type SignedInContext,
} from './pages';

/** The demo bank's identity towards the service. */
export const DEMO_BANK_RP: RelyingParty = Object.freeze({ id: DEMO_BANK_ID, role: 'bank' });

/** Name of the login cookie. */
export const BANK_COOKIE = 'tacit_demo_bank';

/** The demo password (any username). */
const DEMO_PASSWORD = 'demo';

/** Store secret keying the username → subject pseudonym. */
const PSEUDONYM_SECRET = 'demo-bank.pseudonym-key';

const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** What the demo bank needs. */
export interface DemoBankDeps {
  /** The Tacit operations it calls in-process, as a bank would over HTTP. */
  service: Pick<EnrollmentService, 'createEnrollmentCode'> &
    Pick<DeviceService, 'listDevices'> &
    Pick<SessionService, 'openSession' | 'getSession' | 'endSession'> &
    Pick<TokenService, 'issueSessionToken' | 'introspect'>;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Mark the login cookie `Secure` (when served over https). */
  secureCookies: boolean;
}

interface BankEnv {
  Variables: AppVariables & { bank: BankSessionRecord };
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

/** Usernames are case- and width-insensitive; 1-64 visible characters. */
function normalizeUsername(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const name = input.normalize('NFKC').trim().toLowerCase();
  if (name.length < 1 || name.length > 64 || /[\p{Cc}\p{Cf}]/u.test(name)) return undefined;
  return name;
}

const field = (form: Record<string, unknown>, name: string): string =>
  typeof form[name] === 'string' ? form[name] : '';

/** Builds the demo bank's routes (mount under `/bank`). */
export function createDemoBank(deps: DemoBankDeps): Hono<BankEnv> {
  const { service, store, clock, logger } = deps;
  const files = loadStatic();
  const app = new Hono<BankEnv>();

  let pseudonymKey: Promise<Buffer> | undefined;
  /** subject = base64url(HMAC-SHA256(server secret, username)), 22 characters. */
  const subjectOf = async (username: string): Promise<string> => {
    pseudonymKey ??= store
      .getOrCreateSecret(PSEUDONYM_SECRET, () => randomToken(32))
      .then((s) => Buffer.from(s, 'base64url'));
    return hmacBase64url(await pseudonymKey, username).slice(0, 22);
  };

  /** The assurance a bank sees: through a session token and its introspection. */
  const snapshot = async (bank: BankSessionRecord): Promise<AssuranceSnapshot | undefined> => {
    const devices = await service.listDevices(DEMO_BANK_RP, bank.subject);
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
      const { token } = await service.issueSessionToken(DEMO_BANK_RP, bank.tacitSid);
      const info = await service.introspect(DEMO_BANK_RP, token);
      if (!info.active) return none;
      // Enrolment progress, as the device last reported it (only while enrolling).
      const progress =
        info.tacit_state === 'enrolling'
          ? (await service.getSession(DEMO_BANK_RP, bank.tacitSid)).progress
          : null;
      return {
        assurance: info.tacit_assurance,
        level: info.tacit_level,
        state: info.tacit_state,
        progress,
        attestations: info.tacit_attestations,
        deviceEnrolled,
        bound: true,
      };
    } catch (err) {
      if (err instanceof SessionNotBound || err instanceof DeviceRevoked) return none;
      // The behavioral session is over (expired, ended, terminated by policy): so is the login.
      if (
        err instanceof SessionExpired ||
        err instanceof SessionTerminated ||
        err instanceof UnknownSession
      ) {
        return undefined;
      }
      throw err;
    }
  };

  const endLogin = async (c: Context, bank: BankSessionRecord | undefined) => {
    deleteCookie(c, BANK_COOKIE, { path: '/bank' });
    if (!bank) return;
    await store.deleteBankSession(bank.idHash);
    try {
      await service.endSession(DEMO_BANK_RP, bank.tacitSid);
    } catch (err) {
      if (!(err instanceof UnknownSession)) throw err;
    }
  };

  const currentLogin = async (c: Context): Promise<BankSessionRecord | undefined> => {
    const cookie = getCookie(c, BANK_COOKIE);
    if (!cookie || cookie.length > 64) return undefined;
    const bank = await store.getBankSession(sha256Base64url(cookie));
    if (!bank) return undefined;
    if (bank.expiresAt <= clock.now()) {
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
    if (!bank) throw new Unauthorized({ cause: 'no bank login' });
    c.set('bank', bank);
    await next();
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
    const { challenge } = await service.getSession(DEMO_BANK_RP, bank.tacitSid);
    const ctx = { user: bank.username, sessionId: bank.tacitSid, challenge, assurance };
    return c.html(render(ctx), status);
  };

  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Frame-Options', 'DENY');
    if (!c.req.path.startsWith('/bank/static/')) c.header('Cache-Control', 'no-store');
  });
  // Form posts must come from our own pages (Origin / Sec-Fetch-Site), on top of SameSite=Lax.
  app.use('*', csrf());

  app.get('/static/:file', (c) => {
    const file = files.get(c.req.param('file'));
    if (!file) return c.html(messagePage('Not found', 'There is no such page.'), 404);
    c.header('Content-Type', file.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(file.body);
  });

  app.get('/', (c) => c.redirect('/bank/login', 302));
  app.get('/login', (c) => c.html(loginPage()));

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const username = normalizeUsername(form.username);
    const password = field(form, 'password');
    if (!username || !constantTimeEqual(password, DEMO_PASSWORD)) {
      return c.html(loginPage('Unknown username or wrong password.'), 401);
    }
    // A new login never reuses an old cookie (no session fixation).
    await endLogin(c, await currentLogin(c));
    const subject = await subjectOf(username);
    const session = await service.openSession(DEMO_BANK_RP, subject);
    const cookie = randomToken(32);
    const now = clock.now();
    const expiresAt = Date.parse(session.expiresAt);
    await store.createBankSession({
      idHash: sha256Base64url(cookie),
      username,
      subject,
      tacitSid: session.sessionId,
      createdAt: now,
      expiresAt,
      pendingCode: null,
      pendingCodeIssuedAt: null,
      pendingCodeExpiresAt: null,
    });
    setCookie(c, BANK_COOKIE, cookie, {
      path: '/bank',
      httpOnly: true,
      sameSite: 'Lax',
      secure: deps.secureCookies,
      maxAge: Math.max(0, Math.floor((expiresAt - now) / 1000)),
    });
    logger.info('bank_login', {});
    return c.redirect('/bank/accounts', 303);
  });

  const logout = async (c: Context<BankEnv>) => {
    await endLogin(c, await currentLogin(c));
    return c.redirect('/bank/login', 303);
  };
  app.get('/logout', logout);
  app.post('/logout', logout);

  app.get('/accounts', page, async (c) => {
    const bank = c.var.bank;
    let pending: string | undefined;
    if (bank.pendingCode !== null && bank.pendingCodeIssuedAt !== null) {
      const devices = await service.listDevices(DEMO_BANK_RP, bank.subject);
      const usedSince = devices.some((d) => Date.parse(d.createdAt) >= bank.pendingCodeIssuedAt!);
      const expired = (bank.pendingCodeExpiresAt ?? 0) <= clock.now();
      if (usedSince || expired) await store.setBankPendingCode(bank.idHash, null);
      else if (c.req.query('enrolled') === 'pending') pending = bank.pendingCode;
    }
    return withSession(c, (ctx) => accountsPage(ctx, pending));
  });

  app.post('/enroll', page, async (c) => {
    const bank = c.var.bank;
    const { code, expiresAt } = await service.createEnrollmentCode(DEMO_BANK_RP, bank.subject);
    await store.setBankPendingCode(bank.idHash, {
      code,
      issuedAt: clock.now(),
      expiresAt: Date.parse(expiresAt),
    });
    return c.redirect('/bank/accounts?enrolled=pending', 303);
  });

  app.get('/transfer', page, (c) => withSession(c, (ctx) => transferPage(ctx)));

  app.post('/transfer', page, async (c) => {
    const form = await c.req.parseBody();
    if (!constantTimeEqual(field(form, 'confirm-password'), DEMO_PASSWORD)) {
      return withSession(c, (ctx) => transferPage(ctx, 'Wrong password.'), 401);
    }
    const payee = field(form, 'payee').trim();
    const amountText = field(form, 'amount').trim().replace(',', '.');
    const amount = /^\d{1,9}(\.\d{1,2})?$/.test(amountText) ? Number(amountText) : NaN;
    if (payee.length < 1 || payee.length > 64 || !(amount > 0)) {
      return withSession(c, (ctx) => transferPage(ctx, 'Enter a payee and an amount.'), 400);
    }
    // Nothing of the form is stored or logged; the memo is read by no one.
    return withSession(c, (ctx) => {
      logger.info('bank_transfer', { level: ctx.assurance.level });
      return transferDonePage(ctx, { payee, amount });
    });
  });

  app.get('/api/assurance', api, async (c) => {
    const assurance = await snapshot(c.var.bank);
    if (!assurance) {
      await endLogin(c, c.var.bank);
      throw new Unauthorized({ cause: 'behavioral session over' });
    }
    return c.json(assurance);
  });

  // Registered last: only requests no route above answered get here (sub-app notFound
  // handlers are not consulted once mounted).
  app.all('*', (c) => c.html(messagePage('Not found', 'There is no such page.'), 404));

  return app;
}
