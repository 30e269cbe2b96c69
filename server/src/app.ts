/**
 * The Hono application: middleware, routes, the demo bank, and the single error boundary.
 * Built by {@link createApp} from injected dependencies so tests run it in-process with
 * `app.request()`, a temporary store and a frozen clock.
 *
 * @module
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import type { ApiKeyRegistry, RelyingParty } from './auth';
import type { Clock } from './clock';
import { createDemoBank } from './demo-bank/bank';
import {
  BadRequest,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  TacitError,
  Unauthorized,
  errorBody,
} from './errors';
import type { ServerKeys } from './keys';
import { errorFields, type Logger } from './log';
import { POLICY } from './policy';
import { attestationRoutes } from './routes/attestations';
import type { RouteDeps } from './routes/deps';
import { deviceRoutes } from './routes/devices';
import { enrollmentCodeRoutes } from './routes/enrollment-codes';
import { healthRoutes } from './routes/health';
import { introspectRoutes } from './routes/introspect';
import { jwksRoutes } from './routes/jwks';
import { sessionRoutes } from './routes/sessions';
import { TacitService } from './service';
import type { Store } from './store/store';
import type { AppEnv } from './types';

/** Everything the app needs; nothing is read from the environment here. */
export interface AppDeps {
  store: Store;
  keys: ServerKeys;
  clock: Clock;
  logger: Logger;
  /** `iss` of session tokens (the public URL of the server). */
  issuer: string;
  apiKeys: ApiKeyRegistry;
  /** Mount the demo bank under `/bank` (and redirect `/` to it). */
  demo: boolean;
}

/** The app and its service layer (exposed for tests and for periodic maintenance). */
export interface TacitApp {
  app: Hono<AppEnv>;
  service: TacitService;
}

/** Maps an exception some middleware threw (csrf, body limit) to our error type. */
function fromHttpException(err: HTTPException): TacitError | undefined {
  switch (err.status) {
    case 400:
      return new BadRequest('malformed request', { cause: err });
    case 401:
      return new Unauthorized({ cause: err });
    case 403:
      return new Forbidden({ cause: err });
    case 404:
      return new NotFound({ cause: err });
    case 413:
      return new PayloadTooLarge({ cause: err });
    default:
      return undefined;
  }
}

/** Builds the application. */
export function createApp(deps: AppDeps): TacitApp {
  const { logger } = deps;
  const service = new TacitService(deps);
  const routeDeps: RouteDeps = {
    service,
    apiKeys: deps.apiKeys,
    keys: deps.keys,
    store: deps.store,
  };
  const app = new Hono<AppEnv>();

  // Access log: route pattern, not path (paths carry session and device ids); no bodies.
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = matchedRoutes(c)
      .filter((r) => r.method !== 'ALL')
      .at(-1)?.path;
    const rp = c.get('rp') as RelyingParty | undefined;
    logger.info('request', {
      method: c.req.method,
      route: route ?? '(unmatched)',
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      rp: rp?.id,
      ...c.get('error'),
    });
  });

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });

  const limit = bodyLimit({
    maxSize: POLICY.maxBodyBytes,
    onError: () => {
      throw new PayloadTooLarge();
    },
  });
  app.use('/v1/*', limit);
  app.use('/v1/*', async (c, next) => {
    await next();
    // Answers carry tokens and live assurance: never cache them.
    c.header('Cache-Control', 'no-store');
  });

  app.route('/', healthRoutes(routeDeps));
  app.route('/', jwksRoutes(routeDeps));
  app.route('/', enrollmentCodeRoutes(routeDeps));
  app.route('/', deviceRoutes(routeDeps));
  app.route('/', sessionRoutes(routeDeps));
  app.route('/', attestationRoutes(routeDeps));
  app.route('/', introspectRoutes(routeDeps));

  if (deps.demo) {
    app.use('/bank/*', limit);
    app.get('/', (c) => c.redirect('/bank/login', 302));
    app.route(
      '/bank',
      createDemoBank({
        service,
        store: deps.store,
        clock: deps.clock,
        logger,
        secureCookies: deps.issuer.startsWith('https:'),
      }),
    );
  }

  app.notFound((c) => {
    const err = new NotFound();
    c.set('error', { code: err.code });
    return c.json(errorBody(err), err.status);
  });

  // The one error boundary: known errors become their answer; anything else is logged with
  // its stack and becomes a bare 500.
  app.onError((err, c) => {
    const known =
      err instanceof TacitError
        ? err
        : err instanceof HTTPException
          ? fromHttpException(err)
          : undefined;
    if (known && known.status < 500) {
      c.set('error', errorFields(known));
      return c.json(errorBody(known), known.status);
    }
    logger.error('unhandled_error', { ...errorFields(err), stack: err.stack });
    c.set('error', { code: 'ERR_INTERNAL' });
    return c.json({ error: { code: 'ERR_INTERNAL', message: 'internal error' } }, 500);
  });

  return { app, service };
}
