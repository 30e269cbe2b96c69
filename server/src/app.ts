/**
 * The Hono application: middleware, routes and the single error boundary.
 * Built by {@link createApp} from injected dependencies so tests run it in-process with
 * `app.request()`, a temporary store and a frozen clock.
 *
 * @module
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { matchedRoutes } from 'hono/route';
import { AuditTrail } from './services/audit';
import { bodyLimit } from './http/middleware/body-limit';
import type { ApiKeyRegistry, RelyingParty } from './http/middleware/auth';
import type { Clock } from './clock';
import { cors, type CorsConfig } from './http/middleware/cors';
import type { DecisionPolicy } from './domain/decision';
import { DeviceSelfService } from './services/device-self';
import { DPOP_CHALLENGE } from './http/middleware/dpop';
import {
  BadRequest,
  DpopError,
  Forbidden,
  NotFound,
  PayloadTooLarge,
  RateLimited,
  StorageFull,
  StoreUnavailable,
  TacitError,
  Unauthorized,
  errorBody,
} from './errors';
import { storeFailure } from './store/failure';
import { setResponseHeader } from './http/middleware/headers';
import type { ServerKeys } from './crypto/keys';
import { errorFields, type Logger } from './observability/log';
import { createMetrics, methodLabel, type Metrics } from './observability/metrics';
import { ROUTES } from './contract/routes';
import { OPENAPI } from './http/openapi';
import { POLICY } from './domain/policy';
import {
  DEFAULT_RATE_LIMITS,
  MemoryRateLimiter,
  rateLimit,
  type RateLimitConfig,
  type RateLimiter,
  type TrustedProxies,
} from './http/middleware/rate-limit';
import { attestationRoutes } from './http/routes/attestations';
import { auditRoutes } from './http/routes/audit';
import type { RouteDeps } from './http/routes/deps';
import { deviceSelfRoutes } from './http/routes/device-self';
import { deviceRoutes } from './http/routes/devices';
import { enrollmentCodeRoutes } from './http/routes/enrollment-codes';
import { healthRoutes } from './http/routes/health';
import { introspectRoutes } from './http/routes/introspect';
import { jwksRoutes } from './http/routes/jwks';
import { metricsRoutes } from './http/routes/metrics';
import { sessionRoutes } from './http/routes/sessions';
import { signingKeyRoutes } from './http/routes/signing-keys';
import { ssfRoutes } from './http/routes/ssf';
import { StreamService } from './ssf/streams';
import { SsfTransmitter, type DeliveryOptions } from './ssf/transmitter';
import { AttestationService } from './services/attestations';
import { DecisionService } from './services/decisions';
import { DeviceService } from './services/devices';
import { EnrollmentService } from './services/enrollment';
import { MaintenanceService } from './services/maintenance';
import { SessionService } from './services/sessions';
import { TokenService } from './services/tokens';
import type { Services } from './services';
import type { Store } from './store/store';
import type { AppEnv } from './http/types';

/** Everything the app needs; nothing is read from the environment here. */
export interface AppDeps {
  store: Store;
  keys: ServerKeys;
  clock: Clock;
  logger: Logger;
  /** `iss` of session tokens (the public URL of the server). */
  issuer: string;
  apiKeys: ApiKeyRegistry;
  /** Decision thresholds (built-in defaults when omitted). */
  policy?: DecisionPolicy;
  /** Audit retention in days (default 365). */
  auditRetentionDays?: number;
  /** Metrics of this process (a fresh set when omitted). */
  metrics?: Metrics;
  /** Bearer token accepted on `GET /metrics` besides an `admin` API key. */
  metricsToken?: string;
  /** Fixed-window limits of `/v1/*` (defaults when omitted). */
  rateLimits?: RateLimitConfig;
  /** Where the counters live (in memory when omitted). */
  rateLimiter?: RateLimiter;
  /**
   * Client address from the last `X-Forwarded-For` entry, for connections from these proxies
   * only (never when omitted).
   */
  trustProxy?: TrustedProxies | false;
  /** Served over HTTPS: send `Strict-Transport-Security`. */
  hsts?: boolean;
  /** Browser origins that get CORS headers on the endpoints they use (none when omitted). */
  cors?: CorsConfig;
  /** Shared Signals push delivery settings (defaults when omitted). */
  ssfDelivery?: Partial<DeliveryOptions>;
  /** The HTTP client of SSF push (global `fetch` when omitted). */
  ssfFetch?: typeof fetch;
}

/** The service layer (see services/index.ts). */
export type AppServices = Services;

/** The app, its services, audit trail and metrics (for tests and maintenance). */
export interface TacitApp {
  app: Hono<AppEnv>;
  services: AppServices;
  audit: AuditTrail;
  metrics: Metrics;
}

/**
 * CSP of every answer that does not set its own: what the `secureHeaders` options below produce
 * (the header tests check every answer against it).
 */
export const DEFAULT_CSP =
  "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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
  const metrics = deps.metrics ?? createMetrics();
  const { store, clock, policy } = deps;
  const audit = new AuditTrail({ store, clock, logger, metrics });
  const sessions = new SessionService({ store, clock, logger, audit });
  const transmitter = new SsfTransmitter({
    store,
    keys: deps.keys,
    clock,
    logger,
    audit,
    issuer: deps.issuer,
    metrics,
    policy,
    delivery: deps.ssfDelivery,
    fetch: deps.ssfFetch,
  });
  const services: AppServices = {
    enrollment: new EnrollmentService({ store, clock, logger, audit, policy }),
    devices: new DeviceService({ store, clock, logger, audit }),
    sessions,
    attestations: new AttestationService({ store, clock, metrics, audit }),
    tokens: new TokenService({ store, keys: deps.keys, clock, issuer: deps.issuer, policy }),
    decisions: new DecisionService({ store, clock, metrics, audit, sessions, policy }),
    deviceSelf: new DeviceSelfService({ store, clock, issuer: deps.issuer, logger, audit }),
    streams: new StreamService({ store, clock, logger, transmitter, issuer: deps.issuer }),
    transmitter,
    maintenance: new MaintenanceService({
      store,
      clock,
      audit,
      auditRetentionDays: deps.auditRetentionDays,
    }),
  };

  const routeDeps: RouteDeps = {
    ...services,
    apiKeys: deps.apiKeys,
    keys: deps.keys,
    store: deps.store,
    audit,
    metrics,
    logger,
    metricsToken: deps.metricsToken,
  };
  const app = new Hono<AppEnv>();

  // Access log and request metrics: route pattern, not path (paths carry session and device
  // ids); no bodies.
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route =
      matchedRoutes(c)
        .filter((r) => r.method !== 'ALL')
        .at(-1)?.path ?? '(unmatched)';
    const rp = c.get('rp') as RelyingParty | undefined;
    const seconds = (performance.now() - started) / 1000;
    const method = methodLabel(c.req.method);
    metrics.httpRequests.inc({ method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method, route }, seconds);
    logger.debug('request', {
      method: c.req.method,
      route,
      status: c.res.status,
      ms: Math.round(seconds * 10_000) / 10,
      rp: rp?.id,
      ...c.get('error'),
    });
  });

  // Security headers on every answer (hono/secure-headers: it sets them in place on the
  // answer, as our own middleware did, and measured the same per request — 40 µs vs 40 µs of
  // server CPU for a small JSON answer, 2026-12-07). Only the headers Tacit has always sent;
  // `overwrite: false` keeps one a route set itself.
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
      xContentTypeOptions: true,
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      strictTransportSecurity: deps.hsts ? 'max-age=31536000' : false,
      crossOriginResourcePolicy: false,
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      overwrite: false,
    }),
  );
  // Answers carry tokens and live assurance: no cache unless a route says otherwise (the JWKS).
  app.use('*', async (c, next) => {
    await next();
    setResponseHeader(c, 'Cache-Control', 'no-store', { ifAbsent: true });
  });

  // Before the body and rate limits, so their refusals carry CORS headers too.
  app.use('*', cors(deps.cors ?? { extensionOrigins: [], bankOrigins: [] }));

  const limit = bodyLimit(POLICY.maxBodyBytes);
  app.use('/v1/*', limit);
  app.use('/v1/*', async (c, next) => {
    await next();
    // Answers carry tokens and live assurance: never cache them.
    setResponseHeader(c, 'Cache-Control', 'no-store');
  });
  app.use(
    '/v1/*',
    rateLimit({
      limiter: deps.rateLimiter ?? new MemoryRateLimiter(),
      limits: deps.rateLimits ?? DEFAULT_RATE_LIMITS,
      apiKeys: deps.apiKeys,
      clock: deps.clock,
      metrics,
      trustProxy: deps.trustProxy ?? false,
    }),
  );

  app.route('/', healthRoutes(routeDeps));
  app.route('/', metricsRoutes(routeDeps));
  app.get(ROUTES.openapi.path, (c) => c.json(OPENAPI));
  app.route('/', jwksRoutes(routeDeps));
  app.route('/', enrollmentCodeRoutes(routeDeps));
  app.route('/', deviceRoutes(routeDeps));
  app.route('/', sessionRoutes(routeDeps));
  app.route('/', attestationRoutes(routeDeps));
  app.route('/', introspectRoutes(routeDeps));
  app.route('/', auditRoutes(routeDeps));
  app.route('/', deviceSelfRoutes(routeDeps));
  app.route('/', signingKeyRoutes(routeDeps));
  app.route('/', ssfRoutes(routeDeps));

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
      if (known instanceof RateLimited) c.header('Retry-After', String(known.retryAfterS));
      if (known instanceof DpopError) c.header('WWW-Authenticate', DPOP_CHALLENGE);
      return c.json(errorBody(known), known.status);
    }
    // The store down or full: fail closed with a retry-later answer (nothing was decided;
    // replay state could not be checked), logged as a warning with its cause, not a stack.
    const store =
      err instanceof StoreUnavailable || err instanceof StorageFull ? err : storeFailure(err);
    if (store) {
      logger.warn('store_unavailable', errorFields(store));
      c.set('error', errorFields(store));
      c.header('Retry-After', String(store.retryAfterS));
      return c.json(errorBody(store), store.status);
    }
    logger.error('unhandled_error', { ...errorFields(err), stack: err.stack });
    c.set('error', { code: 'ERR_INTERNAL' });
    return c.json({ error: { code: 'ERR_INTERNAL', message: 'internal error' } }, 500);
  });

  return { app, services, audit, metrics };
}
