/**
 * Entry point (`npm run serve`): load config, open the store, load keys, listen, print where.
 * Only wiring lives here; everything it wires is tested in-process.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createApp } from './app';
import { actor } from './services/audit';
import { createApiKeyRegistry } from './http/middleware/auth';
import { systemClock } from './clock';
import { ConfigError, loadConfig, type Config } from './config';
import { KEY_CHECK_INTERVAL_MS, loadServerKeys } from './crypto/keys';
import { errorFields, jsonLogger } from './observability/log';
import { createNodeServer, listen, type FetchHandler } from './http/server';
import { openConfiguredStore } from './store/open';
import type { AuditValue } from './store/store';

/** How often expired jtis, codes, sessions and audit records are purged (ms). */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;
/** How long shutdown waits for open requests before dropping connections (ms). */
const SHUTDOWN_GRACE_MS = 5_000;

/** A host as it appears in a URL: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = jsonLogger(undefined, undefined, config.logLevel);
  // SQLite (default) or Redis (TACIT_STORE=redis): an unreachable Redis stops the start here.
  const { store, rateLimiter, description } = await openConfiguredStore(config, logger);
  const keys = await loadServerKeys(store, systemClock, {
    rotationDays: config.signingKeyRotationDays,
  });
  const apiKeys = createApiKeyRegistry(config.apiKeys);

  // The issuer defaults to the URL we actually listen on, known only after listen (port 0):
  // requests arriving before the app exists get a 503.
  let fetchApp: FetchHandler | undefined;
  const server = createNodeServer(
    (req, env) => (fetchApp ? fetchApp(req, env) : new Response(null, { status: 503 })),
    config.tls,
  );
  const port = await listen(server, config.port, config.host);
  const scheme = config.tls ? 'https' : 'http';
  const url = `${scheme}://${urlHost(config.host)}:${port}`;
  const { app, services, audit } = createApp({
    store,
    keys,
    clock: systemClock,
    logger,
    issuer: config.issuer ?? url,
    apiKeys,
    policy: config.policy,
    auditRetentionDays: config.auditRetentionDays,
    metricsToken: config.metricsToken,
    rateLimits: config.rateLimits,
    rateLimiter,
    trustProxy: config.trustProxy,
    hsts: config.tls !== undefined,
    cors: config.cors,
  });
  fetchApp = (req, env) => app.fetch(req, env);

  const extension = fileURLToPath(new URL('../../dist/chrome', import.meta.url));
  const lines = [`Tacit server listening on ${url}`];
  const built = existsSync(extension) ? '' : ' (not built yet: npm run build:chrome)';
  lines.push(`Chrome extension (load unpacked): ${extension}${built}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  logger.info('started', {
    url,
    issuer: config.issuer ?? url,
    ...description,
    tls: config.tls !== undefined,
    policyFile: config.policyFile ?? null,
  });
  await audit.record('server.started', 'system', {
    tls: config.tls !== undefined,
    // The thresholds in force from now on.
    policy: JSON.parse(JSON.stringify(config.policy)) as AuditValue,
    auditRetentionDays: config.auditRetentionDays,
  });

  const purge = async () => {
    try {
      logger.info('purge', { ...(await services.maintenance.purgeExpired()) });
    } catch (err) {
      logger.error('purge_failed', errorFields(err));
    }
  };
  await purge();
  const purgeTimer = setInterval(() => void purge(), PURGE_INTERVAL_MS);
  purgeTimer.unref();

  // Signing-key rotation by age: at start, then every minute (also picks up another
  // instance's rotation). The first instance to rotate wins; the others reload its key.
  const checkKeys = async () => {
    try {
      const rotation = await keys.refresh();
      if (!rotation) return;
      logger.info('signing_key_rotated', { kid: rotation.kid, forced: false });
      await audit.record('signing_key.rotated', actor.system, {
        kid: rotation.kid,
        retired: rotation.retired,
        forced: false,
      });
    } catch (err) {
      logger.error('signing_key_check_failed', errorFields(err));
    }
  };
  await checkKeys();
  const keyTimer = setInterval(() => void checkKeys(), KEY_CHECK_INTERVAL_MS);
  keyTimer.unref();

  // Shared Signals: fan committed changes out to streams and push them (ssf/transmitter.ts).
  services.transmitter.start();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    clearInterval(purgeTimer);
    clearInterval(keyTimer);
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
    force.unref();
    server.close(() => {
      void services.transmitter
        .stop()
        .then(() => store.close())
        .then(() => {
          logger.info('stopped', {});
          process.exit(0);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Tacit server failed to start: ${JSON.stringify(errorFields(err))}\n`);
  process.exit(1);
});
