/**
 * HTML of the demo bank. Every value goes through hono's `html` template, which escapes it;
 * nothing is marked raw. No inline script or style: the CSP is `default-src 'self'`.
 *
 * Element ids are a contract with the browser end-to-end tests (e2e/): keep them.
 *
 * @module
 */
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { html } from 'hono/html';
import type { AssuranceLevel, AttestationState } from '../sdk';
import type { ReceivedEvent } from './store';

type Html = ReturnType<typeof html>;

/** What the assurance panel shows (also the JSON of `GET /bank/api/assurance`). */
export interface AssuranceSnapshot {
  /** Current assurance in [0, 1], or null when there is none to report. */
  assurance: number | null;
  level: AssuranceLevel;
  state: AttestationState | null;
  /** Enrolment progress in [0, 1] the device last reported while enrolling, else null. */
  progress: number | null;
  attestations: number;
  /** The user has at least one unrevoked device enrolled with the bank. */
  deviceEnrolled: boolean;
  /** This login's behavioral session is bound to a device. */
  bound: boolean;
}

interface LayoutOptions {
  title: string;
  /** The signed-in user's display name; omit on public pages. */
  user?: string;
  /** The behavioral session declared to the extension (docs/protocol.md §5, hand-off). */
  tacit?: { sessionId: string; challenge: string };
  /** A pending enrollment code declared to the extension. */
  enrollmentCode?: string;
  body: Html;
}

/** Assurance formatted as the panel shows it: two decimals, or an em dash. */
export function formatAssurance(assurance: number | null): string {
  return assurance === null ? '—' : assurance.toFixed(2);
}

const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });

function sessionMeta(sid: string, chal: string): Html {
  return html`<meta name="tacit-session" content="${sid}" data-challenge="${chal}" />`;
}

function layout(o: LayoutOptions): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${o.title} · Demo Bank</title>
    ${o.tacit ? sessionMeta(o.tacit.sessionId, o.tacit.challenge) : ''}
    ${o.enrollmentCode ? html`<meta name="tacit-enrollment" content="${o.enrollmentCode}" />` : ''}
    <link rel="stylesheet" href="/bank/static/bank.css" />
    <script src="/bank/static/bank.js" defer></script>
  </head>
  <body>
    <header class="topbar">
      <a class="brand" href="/bank/accounts">Demo Bank</a>
      ${
        o.user
          ? html`<nav>
            <span class="user" id="user">${o.user}</span>
            <a href="/bank/accounts">Accounts</a>
            <a href="/bank/transfer">Transfer</a>
            <form method="post" action="/bank/logout" class="inline">
              <button type="submit" id="logout" class="link">Log out</button>
            </form>
          </nav>`
          : ''
      }
    </header>
    <main>${o.body}</main>
    <footer>Demo relying party of Tacit. Behavioral signals never leave your device.</footer>
  </body>
</html>`;
}

function assurancePanel(s: AssuranceSnapshot): Html {
  return html`<section class="panel assurance" id="assurance-panel" data-level="${s.level}">
    <h2>Behavioral assurance</h2>
    <dl>
      <div>
        <dt>Assurance</dt>
        <dd id="assurance">${formatAssurance(s.assurance)}</dd>
      </div>
      <div>
        <dt>Level</dt>
        <dd id="assurance-level">${s.level}</dd>
      </div>
      <div>
        <dt>Attestations</dt>
        <dd id="attestation-count">${s.attestations}</dd>
      </div>
    </dl>
    <div id="enrolment-progress" ${s.progress === null ? 'hidden' : ''}>
      <label for="enrolment-bar">Learning your rhythm: <span id="enrolment-value">${percent(s.progress)}</span></label>
      <progress id="enrolment-bar" max="100" value="${Math.round((s.progress ?? 0) * 100)}"></progress>
    </div>
  </section>`;
}

function percent(progress: number | null): string {
  return progress === null ? '' : `${Math.round(progress * 100)} %`;
}

/** The login form; `error` is shown above it (after a failed attempt). */
export function loginPage(error?: string): Html {
  return layout({
    title: 'Log in',
    body: html`<section class="panel narrow">
      <h1>Log in</h1>
      ${error ? html`<p class="error" id="login-error" role="alert">${error}</p>` : ''}
      <form method="post" action="/bank/login">
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          required
          maxlength="64"
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
        <button id="login" type="submit">Log in</button>
      </form>
      <p class="hint">Demo: any username, password <code>demo</code>.</p>
    </section>`,
  });
}

/** Session-bound page options shared by the authenticated pages. */
export interface SignedInContext {
  user: string;
  sessionId: string;
  challenge: string;
  assurance: AssuranceSnapshot;
}

const ACCOUNTS = [
  { name: 'Everyday checking', iban: 'DE89 3704 0044 0532 0130 00', balance: 2450.17 },
  { name: 'Savings', iban: 'DE12 5001 0517 0648 4898 90', balance: 12800 },
] as const;

/** A transfer as the form describes it (never stored). */
export interface Transfer {
  payee: string;
  amount: number;
}

/**
 * The passkey panel: registered, or a button that registers one (bank.js runs the ceremony:
 * `POST /bank/api/passkeys/options`, `navigator.credentials.create()`, `POST /bank/api/passkeys`).
 */
function passkeyPanel(hasPasskey: boolean): Html {
  return html`<section class="panel" id="passkey-panel">
    <h2>Passkey</h2>
    <p>
      Strong confirmation:
      <strong id="passkey-status">${hasPasskey ? 'registered' : 'none'}</strong>
    </p>
    <p class="hint">
      When Tacit is unsure it is still you, a transfer asks for your passkey (fingerprint, face or
      device PIN) instead of going through.
    </p>
    <button id="register-passkey" type="button" ${hasPasskey ? 'hidden' : ''}>Create a passkey</button>
    <p id="passkey-error" class="error" role="alert" hidden></p>
  </section>`;
}

/**
 * Accounts overview, device status, enroll button and (when pending) the enrollment code, the
 * passkey panel.
 */
export function accountsPage(
  ctx: SignedInContext,
  pendingCode?: string,
  events: readonly ReceivedEvent[] = [],
  hasPasskey = false,
): Html {
  const enrolled = ctx.assurance.deviceEnrolled;
  const deviceStatus = enrolled ? 'enrolled' : 'not enrolled';
  return layout({
    title: 'Accounts',
    user: ctx.user,
    tacit: { sessionId: ctx.sessionId, challenge: ctx.challenge },
    ...(pendingCode ? { enrollmentCode: pendingCode } : {}),
    body: html`<h1>Your accounts</h1>
      <div class="grid">
        <section class="panel">
          <ul class="accounts">
            ${ACCOUNTS.map(
              (a) => html`<li>
                <span class="account-name">${a.name}</span>
                <span class="iban">${a.iban}</span>
                <span class="balance">${money.format(a.balance)}</span>
              </li>`,
            )}
          </ul>
          <a id="to-transfer" class="button" href="/bank/transfer">Make a transfer</a>
        </section>
        ${assurancePanel(ctx.assurance)}
        <section class="panel">
          <h2>Device</h2>
          <p>
            Behavioral authentication:
            <strong id="device-status">${deviceStatus}</strong>
          </p>
          ${
            pendingCode
              ? html`<div id="enrollment-pending"><p class="code-box">
                  Enrollment code: <code id="enrollment-code">${pendingCode}</code>
                </p>
                <p class="hint">
                  The Tacit extension picks this code up from the page. It is valid for 10 minutes
                  and works once.
                </p></div>`
              : ''
          }
          <p id="enrolled-note" class="hint" ${enrolled ? '' : 'hidden'}>
            A device of yours is enrolled. Tacit learns your rhythm while you use online banking.
          </p>
          <form method="post" action="/bank/enroll" id="enroll-form" ${enrolled || pendingCode ? 'hidden' : ''}>
            <button id="enroll" type="submit">Enroll this device</button>
          </form>
        </section>
        ${passkeyPanel(hasPasskey)}
        ${securityEventsPanel(events)}
      </div>`,
  });
}

/** The Shared Signals events the verifier pushed about this session, newest first. */
function securityEventsPanel(events: readonly ReceivedEvent[]): Html {
  return html`<section class="panel" id="security-events-panel">
    <h2>Security events</h2>
    <p class="hint">Pushed by Tacit (OpenID Shared Signals, CAEP) as they happen.</p>
    <ul id="security-events">
      ${events.map(
        (e) => html`<li data-type="${e.type}">
          <strong>${e.type}</strong> <span>${e.summary}</span>
          <time datetime="${new Date(e.receivedAt).toISOString()}"></time>
        </li>`,
      )}
    </ul>
  </section>`;
}

/**
 * The transfer form; `error` is shown above it (after a rejected attempt). With a passkey there
 * is no password field: the verifier's decision says whether the passkey must confirm.
 */
export function transferPage(ctx: SignedInContext, error?: string, hasPasskey = false): Html {
  return layout({
    title: 'Transfer',
    user: ctx.user,
    tacit: { sessionId: ctx.sessionId, challenge: ctx.challenge },
    body: html`<h1>New transfer</h1>
      <div class="grid">
        <section class="panel">
          ${error ? html`<p class="error" id="transfer-error" role="alert">${error}</p>` : ''}
          <form method="post" action="/bank/transfer">
            <label for="payee">Payee</label>
            <input id="payee" name="payee" type="text" autocomplete="off" required maxlength="64" />
            <label for="amount">Amount (EUR)</label>
            <input
              id="amount"
              name="amount"
              type="text"
              inputmode="decimal"
              autocomplete="off"
              required
              maxlength="16"
            />
            <label for="memo">Memo</label>
            <textarea id="memo" name="memo" rows="3" maxlength="280"></textarea>
            ${
              hasPasskey
                ? ''
                : html`<label for="confirm-password">Confirm with your password</label>
                  <input
                    id="confirm-password"
                    name="confirm-password"
                    type="password"
                    autocomplete="current-password"
                    required
                  />`
            }
            <button id="send" type="submit">Send</button>
          </form>
        </section>
        ${assurancePanel(ctx.assurance)}
      </div>`,
  });
}

/**
 * The step-up: the transfer waits for the user's passkey. The assertion options travel in a
 * data attribute (JSON, escaped by the template; the CSP allows no inline script); bank.js runs
 * `navigator.credentials.get()` and posts its answer with the same transfer to
 * `/bank/transfer/confirm`.
 */
export function stepUpPage(
  ctx: SignedInContext,
  transfer: Transfer,
  options: PublicKeyCredentialRequestOptionsJSON,
): Html {
  return layout({
    title: 'Confirm the transfer',
    user: ctx.user,
    tacit: { sessionId: ctx.sessionId, challenge: ctx.challenge },
    body: html`<h1>Confirm with your passkey</h1>
      <div class="grid">
        <section class="panel" id="step-up">
          <p>
            Tacit is not sure it is still you at the keyboard. Confirm
            <strong id="step-up-amount">${money.format(transfer.amount)}</strong> to
            <strong id="step-up-payee">${transfer.payee}</strong> with your passkey.
          </p>
          <form method="post" action="/bank/transfer/confirm" id="step-up-form">
            <input type="hidden" name="payee" value="${transfer.payee}" />
            <input type="hidden" name="amount" value="${transfer.amount.toFixed(2)}" />
            <input type="hidden" name="webauthn" id="webauthn-response" value="" />
            <button id="webauthn-confirm" type="button" data-options="${JSON.stringify(options)}">
              Confirm with passkey
            </button>
          </form>
          <p id="webauthn-error" class="error" role="alert" hidden></p>
          <a href="/bank/accounts">Cancel</a>
        </section>
        ${assurancePanel(ctx.assurance)}
      </div>`,
  });
}

/** Confirmation after a transfer: payee, amount and the assurance at that moment. */
export function transferDonePage(
  ctx: SignedInContext,
  transfer: { payee: string; amount: number },
): Html {
  return layout({
    title: 'Transfer sent',
    user: ctx.user,
    tacit: { sessionId: ctx.sessionId, challenge: ctx.challenge },
    body: html`<h1>Transfer sent</h1>
      <div class="grid">
        <section class="panel" id="transfer-confirmation">
          <p>
            <span id="confirm-amount">${money.format(transfer.amount)}</span> to
            <span id="confirm-payee">${transfer.payee}</span>.
          </p>
          <p>
            Behavioral assurance when you confirmed:
            <strong id="confirm-level">${ctx.assurance.level}</strong>
            (<span id="confirm-assurance">${formatAssurance(ctx.assurance.assurance)}</span>).
          </p>
          <a class="button" href="/bank/accounts">Back to accounts</a>
        </section>
        ${assurancePanel(ctx.assurance)}
      </div>`,
  });
}

/** A plain error page (unknown page, expired form). */
export function messagePage(title: string, message: string): Html {
  return layout({
    title,
    body: html`<section class="panel narrow">
      <h1>${title}</h1>
      <p>${message}</p>
      <a class="button" href="/bank/login">Log in</a>
    </section>`,
  });
}
