import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEYS, createHarness, type Harness } from '../src/testing/harness';
import {
  bearerToken,
  fromCookie,
  fromHeader,
  meetsAssurance,
  requireAssurance,
  type FastifyReplyLike,
  type Rejection,
  type RequireAssuranceOptions,
  type TacitAuth,
} from './middleware';
import { bankAClient, validToken } from './testing';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

interface FakeRequest {
  headers: Record<string, string | string[] | undefined>;
  tacit?: TacitAuth;
}

/** A `ServerResponse`-shaped fake, as Express's `res` is. */
function fakeResponse() {
  return {
    statusCode: 200,
    headersSent: false,
    headers: {} as Record<string, string>,
    body: undefined as string | undefined,
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
    },
    end(body?: string) {
      this.body = body;
      this.headersSent = true;
    },
  };
}

/** Runs the Express-style middleware, then the protected handler if `next()` was called. */
async function express(
  options: Partial<RequireAssuranceOptions<FakeRequest>>,
  headers: FakeRequest['headers'] = {},
) {
  const rejections: Rejection[] = [];
  const middleware = requireAssurance<FakeRequest>({
    client: bankAClient(h),
    min: 'medium',
    mode: 'offline',
    onReject: (r) => rejections.push(r),
    ...options,
  });
  const req: FakeRequest = { headers };
  const res = fakeResponse();
  let handlerRan = false;
  let nextError: unknown;
  await middleware(req, res, (err?: unknown) => {
    nextError = err;
    if (err === undefined) handlerRan = true;
  });
  const json = res.body === undefined ? undefined : JSON.parse(res.body);
  return { req, res, json, handlerRan, nextError, rejections };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const stepUp = (required: number | string, level: string) => ({
  error: 'ERR_INSUFFICIENT_ASSURANCE',
  required,
  level,
});

describe('requireAssurance (Express / node:http)', () => {
  it('no token: 401, the protected handler does not run', async () => {
    const r = await express({});
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
    expect(r.json).toEqual({ error: 'ERR_UNAUTHORIZED' });
    expect(r.res.headers['www-authenticate']).toBe('Bearer');
    expect(r.res.headers['cache-control']).toBe('no-store');
    expect(r.rejections).toEqual([{ status: 401, code: 'ERR_NO_TOKEN' }]);
  });

  it.each([
    { authorization: 'Basic YWxpY2U6cGFzcw==' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer two tokens' },
    { 'x-tacit-session': 'a.b.c' },
  ])('no bearer token in %o: 401', async (headers) => {
    const r = await express({}, headers);
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
  });

  it('a refused token: a generic 401; the cause only in onReject', async () => {
    const { token } = await validToken(h);
    const [head, payload, sig] = token.split('.') as [string, string, string];
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    const tampered = `${head}.${payload}.${flipped}`;
    const r = await express({}, bearer(tampered));
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
    expect(r.json).toEqual({ error: 'ERR_UNAUTHORIZED' });
    expect(r.rejections).toMatchObject([{ status: 401, code: 'ERR_TOKEN_SIGNATURE' }]);
    expect(JSON.stringify(r.rejections)).not.toContain(sig);
  });

  it('an expired token: 401 ERR_TOKEN_EXPIRED', async () => {
    const { token } = await validToken(h);
    h.clock.advance(10 * 60_000);
    const r = await express({}, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
    expect(r.rejections[0]?.code).toBe('ERR_TOKEN_EXPIRED');
  });

  it('enough assurance: next() with req.tacit, nothing written', async () => {
    const { token, session } = await validToken(h);
    const r = await express({ min: 'high' }, bearer(token));
    expect(r.handlerRan).toBe(true);
    expect(r.nextError).toBeUndefined();
    expect(r.res.body).toBeUndefined();
    expect(r.rejections).toEqual([]);
    expect(r.req.tacit).toMatchObject({
      mode: 'offline',
      sub: 'alice',
      sid: session.sid,
      assurance: 0.9,
      level: 'high',
      claims: { aud: 'bank-a', cnf: { jkt: session.device.jkt } },
    });
  });

  it('insufficient assurance (level): 403 with required and level', async () => {
    const { token } = await validToken(h, { conf: 0.6 });
    const r = await express({ min: 'high' }, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(403);
    expect(r.json).toEqual(stepUp('high', 'medium'));
    expect(r.res.headers['www-authenticate']).toBeUndefined();
    expect(r.rejections).toEqual([{ status: 403, code: 'ERR_INSUFFICIENT_ASSURANCE' }]);
  });

  it('insufficient assurance (number): 403', async () => {
    const { token } = await validToken(h, { conf: 0.6 });
    const r = await express({ min: 0.7 }, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.json).toEqual(stepUp(0.7, 'medium'));
    const ok = await express({ min: 0.6 }, bearer(token));
    expect(ok.handlerRan).toBe(true);
  });

  it('an enrolling device never passes, even min low or 0', async () => {
    const { token } = await validToken(h, { state: 'enrolling', conf: null });
    for (const min of ['low', 0] as const) {
      const r = await express({ min }, bearer(token));
      expect(r.handlerRan).toBe(false);
      expect(r.json).toEqual(stepUp(min, 'enrolling'));
    }
  });

  it('another subject than the logged-in user: 401', async () => {
    const { token } = await validToken(h);
    const r = await express({ subject: () => 'mallory' }, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
    expect(r.rejections[0]?.code).toBe('ERR_SUBJECT_MISMATCH');
    const ok = await express({ subject: async () => 'alice' }, bearer(token));
    expect(ok.handlerRan).toBe(true);
  });

  it("another relying party's token: 401", async () => {
    const { token } = await validToken(h, { key: KEYS.bankB });
    for (const mode of ['offline', 'introspect'] as const) {
      const r = await express({ mode }, bearer(token));
      expect(r.handlerRan).toBe(false);
      expect(r.res.statusCode).toBe(401);
    }
  });

  it('introspect mode: current assurance, where offline still sees the frozen one', async () => {
    const { token } = await validToken(h);
    // 4 minutes without attestations: the token is still valid, the assurance has decayed.
    h.clock.advance(4 * 60_000);
    const offline = await express({ mode: 'offline', min: 'high' }, bearer(token));
    expect(offline.handlerRan).toBe(true);
    const live = await express({ mode: 'introspect', min: 'high' }, bearer(token));
    expect(live.handlerRan).toBe(false);
    expect(live.res.statusCode).toBe(403);
    expect(live.json).toEqual(stepUp('high', 'low'));
    const lenient = await express({ mode: 'introspect', min: 0 }, bearer(token));
    expect(lenient.handlerRan).toBe(true);
    expect(lenient.req.tacit).toMatchObject({ mode: 'introspect', level: 'low' });
    // The action is advice (decayed below terminateBelow): only decision() enforces it.
    expect(lenient.req.tacit?.claims).toMatchObject({ active: true, tacit_action: 'terminate' });
  });

  it('introspect mode, ended session: 401 ERR_INACTIVE', async () => {
    const { token, session } = await validToken(h);
    await bankAClient(h).endSession(session.sid);
    const r = await express({ mode: 'introspect', min: 'low' }, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
    expect(r.rejections).toEqual([{ status: 401, code: 'ERR_INACTIVE' }]);
  });

  it('server unreachable: 503, not 401, and the handler does not run', async () => {
    const { token } = await validToken(h);
    const down = bankAClient(h, { fetch: () => Promise.reject(new TypeError('fetch failed')) });
    for (const mode of ['offline', 'introspect'] as const) {
      const r = await express({ client: down, mode }, bearer(token));
      expect(r.handlerRan).toBe(false);
      expect(r.res.statusCode).toBe(503);
      expect(r.json).toEqual({ error: 'ERR_UNAVAILABLE' });
      expect(r.rejections[0]?.code).toBe('ERR_SERVER_UNAVAILABLE');
    }
  });

  it('a throwing getToken: 500, next() never called, onReject gets the error', async () => {
    const boom = new Error('boom');
    const r = await express({
      getToken: () => {
        throw boom;
      },
    });
    expect(r.handlerRan).toBe(false);
    expect(r.nextError).toBeUndefined();
    expect(r.res.statusCode).toBe(500);
    expect(r.json).toEqual({ error: 'ERR_INTERNAL' });
    expect(r.rejections).toEqual([{ status: 500, code: 'ERR_INTERNAL', error: boom }]);
  });

  it('a throwing onReject does not change the answer', async () => {
    const r = await express({
      onReject: () => {
        throw new Error('logger down');
      },
    });
    expect(r.handlerRan).toBe(false);
    expect(r.res.statusCode).toBe(401);
  });

  it('reads the token from a named cookie or header', async () => {
    const { token } = await validToken(h);
    const cookie = await express(
      { getToken: fromCookie('tacit_session') },
      { cookie: `theme=dark; tacit_session=${token}; other=1` },
    );
    expect(cookie.handlerRan).toBe(true);
    expect(cookie.res.headers['www-authenticate']).toBeUndefined();
    const header = await express(
      { getToken: fromHeader('X-Tacit-Session') },
      { 'x-tacit-session': token },
    );
    expect(header.handlerRan).toBe(true);
    const missing = await express({ getToken: fromCookie('tacit_session') }, { cookie: 'a=b' });
    expect(missing.handlerRan).toBe(false);
    expect(missing.res.statusCode).toBe(401);
    expect(missing.res.headers['www-authenticate']).toBeUndefined();
  });
});

describe('requireAssurance (Fastify preHandler)', () => {
  /** Runs the hook as Fastify does: the route handler runs unless the reply was sent. */
  async function fastify(options: Partial<RequireAssuranceOptions<FakeRequest>>, headers = {}) {
    const hook = requireAssurance<FakeRequest>({
      client: bankAClient(h),
      min: 'medium',
      mode: 'offline',
      ...options,
    }).fastify;
    const sent: { status?: number; headers: Record<string, string>; payload?: unknown } = {
      headers: {},
    };
    let wasSent = false;
    const reply: FastifyReplyLike = {
      code(status) {
        sent.status = status;
        return reply;
      },
      header(name, value) {
        sent.headers[name] = value;
        return reply;
      },
      send(payload) {
        sent.payload = payload;
        wasSent = true;
        return reply;
      },
    };
    const request: FakeRequest = { headers };
    const returned = await hook(request, reply);
    const handlerRan = !wasSent;
    return { request, sent, returned, reply, handlerRan };
  }

  it('accepted: returns undefined and sets request.tacit', async () => {
    const { token } = await validToken(h);
    const r = await fastify({}, bearer(token));
    expect(r.handlerRan).toBe(true);
    expect(r.returned).toBeUndefined();
    expect(r.request.tacit?.level).toBe('high');
  });

  it('no token: sends 401 and returns the reply', async () => {
    const r = await fastify({});
    expect(r.handlerRan).toBe(false);
    expect(r.returned).toBe(r.reply);
    expect(r.sent).toEqual({
      status: 401,
      headers: { 'cache-control': 'no-store', 'www-authenticate': 'Bearer' },
      payload: { error: 'ERR_UNAUTHORIZED' },
    });
  });

  it('insufficient assurance: 403', async () => {
    const { token } = await validToken(h, { conf: 0.3 });
    const r = await fastify({ min: 'medium' }, bearer(token));
    expect(r.handlerRan).toBe(false);
    expect(r.request.tacit).toBeUndefined();
    expect(r.sent.status).toBe(403);
    expect(r.sent.payload).toEqual({
      error: 'ERR_INSUFFICIENT_ASSURANCE',
      required: 'medium',
      level: 'low',
    });
  });
});

describe('options and helpers', () => {
  it.each([
    ['min', { min: 1.5 }],
    ['min', { min: -0.1 }],
    ['min', { min: Number.NaN }],
    ['min', { min: 'enrolling' }],
    ['mode', { mode: 'cached' }],
    ['mode', { mode: undefined }],
    ['getToken', { getToken: 'authorization' }],
    ['client', { client: {} }],
  ])('a bad %s is a TypeError at construction', (name, bad) => {
    const options = { client: bankAClient(h), min: 'low', mode: 'offline', ...bad };
    expect(() => requireAssurance(options as RequireAssuranceOptions)).toThrow(new RegExp(name));
  });

  it('offline mode needs the client audience; introspect mode does not', () => {
    const client = bankAClient(h, { audience: undefined });
    expect(() => requireAssurance({ client, min: 'low', mode: 'offline' })).toThrow(TypeError);
    expect(() => requireAssurance({ client, min: 'low', mode: 'introspect' })).not.toThrow();
  });

  it('meetsAssurance', () => {
    expect(meetsAssurance(0.5, 'medium', 'medium')).toBe(true);
    expect(meetsAssurance(0.5, 'medium', 'high')).toBe(false);
    expect(meetsAssurance(0.1, 'low', 'low')).toBe(true);
    expect(meetsAssurance(null, 'none', 'low')).toBe(false);
    expect(meetsAssurance(null, 'enrolling', 0)).toBe(false);
    expect(meetsAssurance(0.7, 'medium', 0.7)).toBe(true);
    expect(meetsAssurance(0.69, 'medium', 0.7)).toBe(false);
  });

  it('bearerToken', () => {
    expect(bearerToken({ headers: { authorization: 'Bearer a.b.c' } })).toBe('a.b.c');
    expect(bearerToken({ headers: { authorization: 'bearer a.b.c' } })).toBe('a.b.c');
    expect(bearerToken({ headers: { authorization: ['Bearer a.b.c'] } })).toBeUndefined();
    expect(bearerToken({ headers: {} })).toBeUndefined();
  });

  it('fromHeader and fromCookie refuse bad names', () => {
    expect(() => fromHeader('bad header')).toThrow(TypeError);
    expect(() => fromCookie('a;b')).toThrow(TypeError);
  });
});
