/**
 * `requireAssurance`: protects a bank route by the behavioral assurance of the caller's Tacit
 * session. One decision function and two thin adapters: Express 4/5 (or plain `node:http`)
 * `(req, res, next)`, and a Fastify `preHandler` hook (`.fastify`). Written against minimal
 * structural types, so neither framework is a dependency.
 *
 * Outcomes (the protected handler runs only on the last one):
 *
 * | case | answer |
 * |---|---|
 * | no token | 401 `{error: "ERR_UNAUTHORIZED"}` |
 * | token refused (`ERR_TOKEN_*`, inactive, another subject) | 401 `{error: "ERR_UNAUTHORIZED"}` |
 * | below `min` (step-up) | 403 `{error: "ERR_INSUFFICIENT_ASSURANCE", required, level}` |
 * | server or JWKS unreachable, API key refused | 503 `{error: "ERR_UNAVAILABLE"}` |
 * | anything unexpected (a throwing `getToken`) | 500 `{error: "ERR_INTERNAL"}` |
 * | accepted | `req.tacit` = {@link TacitAuth}, then `next()` |
 *
 * The cause of a refusal goes to `onReject`, never into the answer.
 *
 * @module
 */
import type { TacitClient } from './client';
import { TOKEN_ERROR_CODES, TacitSdkError } from './errors';
import type {
  ActiveIntrospection,
  AssuranceLevel,
  RequiredLevel,
  SessionTokenClaims,
} from './types';

/** Request headers as Node, Express and Fastify give them (names in lower case). */
export type HeadersLike = Record<string, string | string[] | undefined>;

/** What the middleware reads of a request (Express `req`, Fastify `request`, `IncomingMessage`). */
export interface RequestLike {
  headers: HeadersLike;
}

/** The part of a response the Express/Node adapter writes (Express `res`, `ServerResponse`). */
export interface ResponseLike {
  statusCode: number;
  headersSent?: boolean;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/** The part of a Fastify `reply` the `preHandler` adapter uses. */
export interface FastifyReplyLike {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

/** Reads the session token from a request; `undefined`/`null`/`''` means "none". */
export type TokenSource<Req extends RequestLike = RequestLike> = (
  req: Req,
) => string | undefined | null | Promise<string | undefined | null>;

/** What the protected handler finds in `req.tacit`. */
export type TacitAuth =
  | {
      /** Verified offline: the assurance is the one at token issue (at most 5 min old). */
      mode: 'offline';
      sub: string;
      sid: string;
      assurance: number | null;
      level: AssuranceLevel;
      claims: SessionTokenClaims;
    }
  | {
      /** Introspected: the session's current assurance. */
      mode: 'introspect';
      sub: string;
      sid: string;
      assurance: number | null;
      level: AssuranceLevel;
      claims: ActiveIntrospection;
    };

/** A refusal, reported to {@link RequireAssuranceOptions.onReject} (for the integrator's log). */
export interface Rejection {
  status: 401 | 403 | 500 | 503;
  /**
   * Why: `ERR_NO_TOKEN`, an `ERR_TOKEN_*` code, `ERR_INACTIVE` (introspection),
   * `ERR_SUBJECT_MISMATCH`, `ERR_INSUFFICIENT_ASSURANCE`, `ERR_SERVER_UNAVAILABLE`,
   * `ERR_SERVER_RESPONSE`, `ERR_API`, or `ERR_INTERNAL`.
   */
  code: string;
  /** Fixed text from the SDK error (a jose code, a claim name, an HTTP status). */
  cause?: string;
  /** The unexpected error, for `ERR_INTERNAL` only. */
  error?: unknown;
}

/** Options of {@link requireAssurance}. */
export interface RequireAssuranceOptions<Req extends RequestLike = RequestLike> {
  /** The client (offline mode needs its `audience`). */
  client: TacitClient;
  /**
   * The least acceptable assurance: a number in [0, 1] (compared with the session's
   * assurance; levels `none` and `enrolling`, whose assurance is null, never pass), or a
   * level (`low` < `medium` < `high`; `none` and `enrolling` never pass).
   */
  min: number | RequiredLevel;
  /**
   * `offline`: verify the token's signature against the cached JWKS, no call to the server
   * per request; the assurance is frozen at issue time (≤ 5 min) and an ended or terminated
   * session is not noticed until the token expires. `introspect`: one `POST /v1/introspect`
   * per request; current assurance, ended sessions and revoked devices refused.
   */
  mode: 'offline' | 'introspect';
  /** Where the token is. Default {@link bearerToken} (`Authorization: Bearer …`). */
  getToken?: TokenSource<Req>;
  /**
   * The subject the request's user must have (the bank's logged-in user, as it opened the
   * session). When given, a token for another subject, or no subject, is a 401. Without
   * it, check `req.tacit.sub` yourself: session tokens are bearer tokens.
   */
  subject?: (req: Req) => string | undefined | null | Promise<string | undefined | null>;
  /** Called once per refusal with its cause. Exceptions it throws are ignored. */
  onReject?: (rejection: Rejection, req: Req) => void;
}

/** The Express/Node middleware, with the Fastify hook as `.fastify`. */
export interface AssuranceMiddleware<Req extends RequestLike = RequestLike> {
  /** Express 4/5, `node:http`: answers a refusal itself, or sets `req.tacit` and calls `next()`. */
  (req: Req, res: ResponseLike, next: (err?: unknown) => void): Promise<void>;
  /**
   * Fastify `preHandler` (async): sends the refusal and returns the reply, or sets
   * `request.tacit` and returns undefined. Declare the member once:
   * `fastify.decorateRequest('tacit', null)`.
   */
  fastify(request: Req, reply: FastifyReplyLike): Promise<unknown>;
}

const RANK: Record<AssuranceLevel, number> = { none: 0, enrolling: 0, low: 1, medium: 2, high: 3 };
/** The `error` member of each refusal's answer (403 adds `required` and `level`). */
const ANSWER: Record<Rejection['status'], string> = {
  401: 'ERR_UNAUTHORIZED',
  403: 'ERR_INSUFFICIENT_ASSURANCE',
  500: 'ERR_INTERNAL',
  503: 'ERR_UNAVAILABLE',
};
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** Reads `Authorization: Bearer <token>` (the default {@link TokenSource}). */
export function bearerToken(req: RequestLike): string | undefined {
  const value = req.headers.authorization;
  if (typeof value !== 'string') return undefined;
  return BEARER.exec(value)?.[1];
}

/** A {@link TokenSource} reading the header `name` (one value only; lists are refused). */
export function fromHeader(name: string): TokenSource {
  if (typeof name !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(name)) {
    throw new TypeError('header name must be 1-64 letters, digits or "-"');
  }
  const key = name.toLowerCase();
  return (req) => {
    const value = req.headers[key];
    return typeof value === 'string' ? value.trim() : undefined;
  };
}

/** A {@link TokenSource} reading the cookie `name` from the `Cookie` header. */
export function fromCookie(name: string): TokenSource {
  if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/.test(name)) {
    throw new TypeError('cookie name must be a 1-64 character token');
  }
  return (req) => {
    const header = req.headers.cookie;
    if (typeof header !== 'string') return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
    return undefined;
  };
}

/**
 * Whether a session's assurance meets `min` (see {@link RequireAssuranceOptions.min}).
 * Levels `none` and `enrolling` never do.
 */
export function meetsAssurance(
  assurance: number | null,
  level: AssuranceLevel,
  min: number | RequiredLevel,
): boolean {
  if (typeof min === 'number') return assurance !== null && assurance >= min;
  return RANK[level] > 0 && RANK[level] >= RANK[min];
}

type Outcome =
  | { ok: true; auth: TacitAuth }
  | { ok: false; rejection: Rejection; body: Record<string, unknown>; headers: [string, string][] };

/**
 * Creates the middleware. Validates the options and throws a `TypeError` naming the bad one
 * (offline mode without the client's `audience` included).
 *
 * @example
 * ```ts
 * app.post('/transfer', requireAssurance({ client: tacit, min: 'medium', mode: 'introspect' }),
 *   (req, res) => res.json({ ok: true, level: req.tacit.level }));
 * fastify.post('/transfer', { preHandler: requireAssurance({ client: tacit, min: 0.7,
 *   mode: 'offline' }).fastify }, handler);
 * ```
 */
export function requireAssurance<Req extends RequestLike = RequestLike>(
  options: RequireAssuranceOptions<Req>,
): AssuranceMiddleware<Req> {
  const { client, min, mode, subject, onReject } = options ?? ({} as never);
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.verifySessionToken !== 'function' ||
    typeof client.introspect !== 'function'
  ) {
    throw new TypeError('client must be a TacitClient');
  }
  const minOk =
    typeof min === 'number'
      ? Number.isFinite(min) && min >= 0 && min <= 1
      : min === 'low' || min === 'medium' || min === 'high';
  if (!minOk) throw new TypeError('min must be a number in [0, 1] or low, medium, high');
  if (mode !== 'offline' && mode !== 'introspect') {
    throw new TypeError('mode must be offline or introspect');
  }
  if (mode === 'offline' && client.audience === undefined) {
    throw new TypeError('offline mode needs the client audience option');
  }
  const getToken: TokenSource<Req> = options.getToken ?? bearerToken;
  if (typeof getToken !== 'function') throw new TypeError('getToken must be a function');
  if (subject !== undefined && typeof subject !== 'function') {
    throw new TypeError('subject must be a function');
  }
  if (onReject !== undefined && typeof onReject !== 'function') {
    throw new TypeError('onReject must be a function');
  }
  const challenge: [string, string][] =
    options.getToken === undefined ? [['www-authenticate', 'Bearer']] : [];

  const refuse = (
    status: Rejection['status'],
    code: string,
    extra: Partial<Rejection> = {},
    body: Record<string, unknown> = { error: ANSWER[status] },
  ): Outcome => ({
    ok: false,
    rejection: { status, code, ...extra },
    body,
    headers: status === 401 ? challenge : [],
  });

  async function authorize(req: Req): Promise<Outcome> {
    try {
      const token = await getToken(req);
      if (typeof token !== 'string' || token === '') return refuse(401, 'ERR_NO_TOKEN');
      let auth: TacitAuth;
      if (mode === 'offline') {
        const claims = await client.verifySessionToken(token);
        const { sub, sid, tacit } = claims;
        auth = { mode, sub, sid, assurance: tacit.assurance, level: tacit.level, claims };
      } else {
        const claims = await client.introspect(token);
        if (!claims.active) return refuse(401, 'ERR_INACTIVE');
        const { sub, sid, tacit_assurance: assurance, tacit_level: level } = claims;
        auth = { mode, sub, sid, assurance, level, claims };
      }
      if (subject !== undefined && (await subject(req)) !== auth.sub) {
        return refuse(401, 'ERR_SUBJECT_MISMATCH');
      }
      if (!meetsAssurance(auth.assurance, auth.level, min)) {
        const code = 'ERR_INSUFFICIENT_ASSURANCE';
        return refuse(403, code, {}, { error: code, required: min, level: auth.level });
      }
      return { ok: true, auth };
    } catch (err) {
      if (err instanceof TacitSdkError) {
        const cause = typeof err.cause === 'string' ? err.cause : undefined;
        const status = TOKEN_ERROR_CODES.has(err.code) ? 401 : 503;
        return refuse(status, err.code, cause === undefined ? {} : { cause });
      }
      return refuse(500, 'ERR_INTERNAL', { error: err });
    }
  }

  function report(outcome: Outcome, req: Req): void {
    if (outcome.ok || !onReject) return;
    try {
      onReject(outcome.rejection, req);
    } catch {
      // The integrator's logger must not change the answer.
    }
  }

  const middleware = async (req: Req, res: ResponseLike, next: (err?: unknown) => void) => {
    const outcome = await authorize(req);
    if (outcome.ok) {
      (req as Req & { tacit?: TacitAuth }).tacit = outcome.auth;
      next();
      return;
    }
    report(outcome, req);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.statusCode = outcome.rejection.status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    for (const [name, value] of outcome.headers) res.setHeader(name, value);
    res.end(JSON.stringify(outcome.body));
  };

  const fastify = async (request: Req, reply: FastifyReplyLike): Promise<unknown> => {
    const outcome = await authorize(request);
    if (outcome.ok) {
      (request as Req & { tacit?: TacitAuth }).tacit = outcome.auth;
      return undefined;
    }
    report(outcome, request);
    reply.code(outcome.rejection.status);
    reply.header('cache-control', 'no-store');
    for (const [name, value] of outcome.headers) reply.header(name, value);
    reply.send(outcome.body);
    return reply;
  };

  return Object.assign(middleware, { fastify });
}
