/**
 * The Node listener: plain HTTP, or HTTPS (TLS 1.2 minimum; Node negotiates 1.3 when the
 * client can) when a certificate and key are configured. Built with @hono/node-server's
 * `createAdaptorServer` so the app receives the connection (remote address) as its env.
 *
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';

/** What answers requests: the app's `fetch`, given the node bindings as env. */
export type FetchHandler = (req: Request, env: unknown) => Response | Promise<Response>;

/** PEM certificate chain and private key. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** The lowest TLS version accepted. */
export const TLS_MIN_VERSION = 'TLSv1.2';

/** A Node server (not yet listening) that hands every request to `fetch`. */
export function createNodeServer(fetch: FetchHandler, tls?: TlsFiles): HttpServer | HttpsServer {
  if (!tls) return createAdaptorServer({ fetch }) as HttpServer;
  return createAdaptorServer({
    fetch,
    createServer: createHttpsServer,
    serverOptions: { cert: tls.cert, key: tls.key, minVersion: TLS_MIN_VERSION },
  }) as HttpsServer;
}

/** Starts listening; resolves with the bound port (useful with port 0). */
export function listen(
  server: HttpServer | HttpsServer,
  port: number,
  host: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
