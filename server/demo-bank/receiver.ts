/**
 * The demo bank's Shared Signals receiver (RFC 8935 push; docs/protocol.md §6): the verifier
 * POSTs each Security Event Token to `POST /bank/ssf/events` with the bearer token the bank
 * gave when it created its stream. Each SET is verified through the SDK (signature by the
 * verifier's JWKS, `typ`, `iss`, `aud`, one event, no `sub`/`exp`), remembered by `jti`
 * (a retried push answers 202 again and stores nothing), and shown on the accounts page.
 * A `session-revoked` ends the logins on that session at once, without waiting for the next
 * page to find the session over.
 *
 * Answers: 202 accepted; 400 with the RFC 8935 §2.3 error JSON (`invalid_request`,
 * `invalid_key`, `invalid_issuer`, `invalid_audience`) for a SET that does not verify;
 * 401 `authentication_failed` without the bearer token; 503 when the JWKS cannot be had (the
 * verifier retries).
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { TacitSdkError, type SecurityEvent, type TacitClient } from '../sdk';
import type { BankStore } from './store';

/** Where the verifier pushes (path on the bank's origin). */
export const RECEIVER_PATH = '/bank/ssf/events';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';
/** The CAEP events the bank subscribes to. */
export const SUBSCRIBED_EVENTS = [
  `${CAEP}risk-level-change`,
  `${CAEP}assurance-level-change`,
  `${CAEP}session-revoked`,
  `${SSF}verification`,
];

/** What the receiver needs. */
export interface ReceiverDeps {
  tacit: TacitClient;
  store: BankStore;
  now: () => number;
  /** The bearer token the verifier must present (the one given at stream creation). */
  token: string;
  logger: { info(event: string, fields?: Record<string, unknown>): void };
}

/** The bearer token the verifier presents to the receiver: the bank's own secret. */
export const receiverToken = (store: BankStore): string =>
  store.secret('ssf-receiver-token', () => randomBytes(32).toString('base64url'));

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Short name of an event type URI (`risk-level-change`). */
export const shortType = (uri: string): string => uri.slice(uri.lastIndexOf('/') + 1);

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** One line describing an event for the page (values from the signed event only). */
export function summarize(e: SecurityEvent): string {
  const v = e.event;
  switch (shortType(e.type)) {
    case 'risk-level-change':
    case 'assurance-level-change': {
      const from = str(v.previous_level);
      const to = str(v.current_level);
      const why = str(v.risk_reason);
      return `${from ? `${from} → ` : ''}${to}${why ? ` (${why})` : ''}`;
    }
    case 'session-revoked': {
      const reason =
        typeof v.reason_admin === 'object' && v.reason_admin !== null ? v.reason_admin : {};
      return str((reason as Record<string, unknown>).en) || 'session revoked';
    }
    case 'verification':
      return `stream verified${str(v.state) ? ` (${str(v.state)})` : ''}`;
    default:
      return '';
  }
}

/** The Tacit session a SET is about, if its subject is one. */
function sessionOf(e: SecurityEvent): string | null {
  const session = e.subId.session;
  if (typeof session !== 'object' || session === null) return null;
  const id = (session as Record<string, unknown>).id;
  return typeof id === 'string' ? id : null;
}

/** RFC 8935 §2.3 error code for an SDK refusal. */
function errCode(err: TacitSdkError): string {
  const cause = String(err.cause ?? '');
  if (err.code === 'ERR_TOKEN_KID' || err.code === 'ERR_TOKEN_SIGNATURE') return 'invalid_key';
  if (err.code === 'ERR_TOKEN_CLAIMS' && / iss$/.test(cause)) return 'invalid_issuer';
  if (err.code === 'ERR_TOKEN_CLAIMS' && / aud$/.test(cause)) return 'invalid_audience';
  return 'invalid_request';
}

/** The receiver route. */
export function receiverRoutes(deps: ReceiverDeps): Hono {
  const expected = digest(`Bearer ${deps.token}`);
  const error = (err: string, description: string) => ({ err, description });
  return new Hono().post(RECEIVER_PATH, async (c) => {
    const auth = c.req.header('authorization') ?? '';
    if (!timingSafeEqual(digest(auth), expected)) {
      return c.json(error('authentication_failed', 'bearer token required'), 401);
    }
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/secevent+jwt') {
      return c.json(error('invalid_request', 'expected application/secevent+jwt'), 400);
    }
    let event: SecurityEvent;
    try {
      event = await deps.tacit.verifySecurityEvent((await c.req.text()).trim());
    } catch (err) {
      if (!(err instanceof TacitSdkError)) throw err;
      if (err.code === 'ERR_SERVER_UNAVAILABLE' || err.code === 'ERR_SERVER_RESPONSE') {
        return c.json(error('temporarily_unavailable', 'keys unavailable'), 503);
      }
      return c.json(error(errCode(err), 'security event token refused'), 400);
    }
    const sid = sessionOf(event);
    const stored = deps.store.addEvent({
      jti: event.jti,
      sid,
      type: shortType(event.type),
      summary: summarize(event),
      receivedAt: deps.now(),
    });
    if (stored) {
      deps.logger.info('ssf_event', { type: shortType(event.type) });
      if (sid !== null && shortType(event.type) === 'session-revoked') {
        deps.store.deleteLoginsOfSession(sid);
      }
    }
    return c.body(null, 202);
  });
}

/**
 * Makes sure the verifier pushes to `endpointUrl`: replaces any stream of this bank already
 * pointing there (a restart), then creates one for {@link SUBSCRIBED_EVENTS}.
 */
export async function ensureStream(
  tacit: TacitClient,
  endpointUrl: string,
  token: string,
): Promise<string> {
  for (const s of await tacit.listStreams()) {
    if (s.delivery.endpoint_url === endpointUrl) await tacit.deleteStream(s.stream_id);
  }
  const stream = await tacit.createStream({
    delivery: {
      method: 'urn:ietf:rfc:8935',
      endpoint_url: endpointUrl,
      authorization_header: `Bearer ${token}`,
    },
    eventsRequested: SUBSCRIBED_EVENTS,
    description: 'demo bank',
  });
  return stream.stream_id;
}
