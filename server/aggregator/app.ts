/**
 * The aggregator application: its services over its own store, its routes, one error boundary.
 * Runs as its own process (`main.ts`), beside the verifier, which it only asks whether device
 * keys are enrolled (`services/device-directory.ts`); the verifier never hears of it and still
 * only ever receives attestations.
 *
 * @module
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { createApiKeyRegistry } from '../src/http/middleware/auth';
import { errorFields, type Logger } from '../src/observability/log';
import { AggregatorError, errorBody } from './errors';
import { uploadRateLimit } from './http/rate-limit';
import { aggregatorRoutes } from './http/routes';
import { AGGREGATOR_ROUTES } from './http/contract';
import type { DeviceDirectory } from './services/device-directory';
import { RoundService, type RoundSettings } from './services/rounds';
import { loadAggregatorKey, type AggregatorKey } from './services/signing-key';
import { VersionService } from './services/versions';
import type { AggregatorStore } from './store/store';
import type { TrainingUser } from '../../model/shared/train';

/** What the app is built from. */
export interface AggregatorDeps {
  store: AggregatorStore;
  devices: DeviceDirectory;
  settings: RoundSettings;
  /** `iss` of model versions. */
  issuer: string;
  adminKey: string;
  /** Encoder JSON text published as version 1 when the store has none. */
  initialEncoder: string | undefined;
  /** The public users whose centres every version carries (`TACIT_FL_PUBLIC_DATA`). */
  publicUsers: readonly TrainingUser[];
  /** Uploads accepted per client address per minute (0 = no limit). */
  uploadRateLimit: number;
  logger: Logger;
  now?: () => number;
}

/** The built app and its services. */
export interface AggregatorApp {
  app: Hono;
  rounds: RoundService;
  versions: VersionService;
  key: AggregatorKey;
}

/**
 * Builds the app: loads (or creates) the signing key, publishes the initial version if needed,
 * gives stored versions without public centres theirs (re-signed), restores the accountant.
 *
 * @throws {TypeError} on a misconfiguration (no initial encoder, accountant mismatch).
 */
export async function createAggregatorApp(deps: AggregatorDeps): Promise<AggregatorApp> {
  const now = deps.now ?? Date.now;
  const { store, logger, settings } = deps;
  const key = await loadAggregatorKey(store);
  const versions = new VersionService({
    store,
    key,
    issuer: deps.issuer,
    delta: settings.delta,
    publicUsers: deps.publicUsers,
    now,
  });
  await versions.ensureInitial(deps.initialEncoder);
  const filled = await versions.ensureCentres();
  if (filled > 0) logger.info('versions_given_centres', { versions: filled });
  const rounds = new RoundService({ store, versions, devices: deps.devices, settings, now });
  const adminKeys = createApiKeyRegistry([
    { id: 'operator', role: 'admin', secret: deps.adminKey },
  ]);

  const app = new Hono();
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    logger.debug('request', {
      method: c.req.method,
      path: c.req.routePath,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: false,
      crossOriginOpenerPolicy: false,
    }),
  );
  // A base64url update is 4/3 of its bytes; a little more for the JSON around it.
  const maxBody = Math.ceil((settings.maxUpdateBytes * 4) / 3) + 4096;
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: maxBody,
      onError: () => {
        throw new AggregatorError('ERR_PAYLOAD_TOO_LARGE');
      },
    }),
  );
  app.use('/v1/*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });
  app.on(
    AGGREGATOR_ROUTES.upload.method,
    AGGREGATOR_ROUTES.upload.path,
    uploadRateLimit({ perWindow: deps.uploadRateLimit, now }),
  );
  app.route('/', aggregatorRoutes({ rounds, versions, key, adminKeys }));
  app.notFound((c) => c.json(errorBody(new AggregatorError('ERR_NOT_FOUND')), 404));
  // The one error boundary: known refusals become their answer (cause logged, never sent);
  // anything else is logged with its stack and becomes a bare 500.
  app.onError((err, c) => {
    if (err instanceof AggregatorError) {
      const level = err.status >= 500 ? 'error' : 'info';
      logger[level]('refused', { ...errorFields(err), path: c.req.routePath });
      return c.json(errorBody(err), err.status);
    }
    logger.error('unhandled_error', { ...errorFields(err), stack: err.stack });
    return c.json(errorBody(new AggregatorError('ERR_INTERNAL')), 500);
  });
  return { app, rounds, versions, key };
}
