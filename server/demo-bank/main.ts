/**
 * The demo bank's entry point (`tsx server/demo-bank/main.ts`; `npm start` runs it beside the
 * verifier, see tools/start.ts): config → store → SDK client → listen → print where. Never part
 * of a production verifier.
 *
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createTacitClient } from '../sdk';
import { createBankApp, type BankLogger } from './app';
import { BankConfigError, defaultWebauthnOrigin, loadBankConfig, type BankConfig } from './config';
import { webauthnRelyingParty } from './passkeys';
import { RECEIVER_PATH, ensureStream, receiverToken } from './receiver';
import { openBankStore } from './store';

/** How often expired logins are purged (ms). */
const PURGE_INTERVAL_MS = 10 * 60 * 1000;
/** How long shutdown waits for open requests before dropping connections (ms). */
const SHUTDOWN_GRACE_MS = 5_000;

/** One JSON object per line on stdout. */
const logger: BankLogger & { warn: BankLogger['info'] } = {
  info: (event, fields = {}) => write('info', event, fields),
  warn: (event, fields = {}) => write('warn', event, fields),
  error: (event, fields = {}) => write('error', event, fields),
};

function write(level: string, event: string, fields: Record<string, unknown>): void {
  const line = { level, time: new Date().toISOString(), msg: event, ...fields };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function readConfig(): BankConfig {
  try {
    return loadBankConfig();
  } catch (err) {
    if (err instanceof BankConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** A host as it appears in a URL: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function main(): Promise<void> {
  const config = readConfig();
  const tacit = createTacitClient({
    serverUrl: config.tacitUrl,
    apiKey: config.apiKey,
    audience: config.rpId,
    ...(config.tacitIssuer ? { issuer: config.tacitIssuer } : {}),
  });
  const store = openBankStore(config.dbPath);
  // The app is built once the port is known (port 0 picks one): the default WebAuthn origin
  // names it. No request is served before the listen callback has built it.
  let app: ReturnType<typeof createBankApp> | undefined;
  const fetch = (request: Request, env: unknown) => app!.fetch(request, env);
  const server = (
    config.tls
      ? createAdaptorServer({
          fetch,
          createServer: createHttpsServer,
          serverOptions: { ...config.tls, minVersion: 'TLSv1.2' },
        })
      : createAdaptorServer({ fetch })
  ) as HttpServer | HttpsServer;
  let url = '';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      const { port } = server.address() as AddressInfo;
      url = `${config.tls ? 'https' : 'http'}://${urlHost(config.host)}:${port}`;
      app = createBankApp({
        tacit,
        store,
        now: Date.now,
        logger,
        https: config.tls !== undefined,
        webauthn: webauthnRelyingParty(config.webauthnOrigin ?? defaultWebauthnOrigin(url)),
      });
      resolve();
    });
  });
  process.stdout.write(`Demo bank listening on ${url} (log in at ${url}/bank/login)\n`);
  logger.info('started', { url, tacit: config.tacitUrl, rp: config.rpId });

  // Shared Signals: ask the verifier to push this bank's events to its receiver. Without it
  // the bank still works (it asks for decisions and introspects), so a failure is logged and
  // retried a few times rather than fatal.
  const endpoint = `${config.publicUrl ?? url}${RECEIVER_PATH}`;
  const SSF_SUBSCRIBE_ATTEMPTS = 5;
  const subscribe = async (attempt: number): Promise<void> => {
    try {
      const streamId = await ensureStream(tacit, endpoint, receiverToken(store));
      logger.info('ssf_stream_ready', { stream: streamId });
    } catch (err) {
      // At start the verifier may still be coming up (npm start starts both at once): a
      // warning while retries remain, an error only when the bank gives up.
      const last = attempt >= SSF_SUBSCRIBE_ATTEMPTS;
      logger[last ? 'error' : 'warn']('ssf_stream_failed', { attempt, name: (err as Error).name });
      if (!last) setTimeout(() => void subscribe(attempt + 1), 2000 * attempt).unref();
    }
  };
  void subscribe(1);

  const purge = () => {
    try {
      logger.info('purge', { logins: store.purgeExpired(Date.now()) });
    } catch (err) {
      logger.error('purge_failed', { name: (err as Error).name });
    }
  };
  purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
  purgeTimer.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    clearInterval(purgeTimer);
    setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS).unref();
    server.close(() => {
      store.close();
      logger.info('stopped', {});
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Listen and SQLite errors: they name a port or a file, never the API key.
  const message = err instanceof Error ? err.message : 'unknown error';
  process.stderr.write(`Demo bank failed to start: ${message}\n`);
  process.exit(1);
});
