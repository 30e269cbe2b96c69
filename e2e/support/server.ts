import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { httpsJson, type TestCertificate } from './tls';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface RunningServer {
  url: string;
  dbPath: string;
  bankKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface ServerOptions {
  /**
   * Serve HTTPS with this certificate, as `https://<cert.host>:<port>` (the browser maps the
   * host to loopback with `--host-resolver-rules`): the server's own URL and the demo bank's
   * origin are then a real bank-like origin, not localhost.
   */
  tls?: TestCertificate;
}

/** Starts the real verification server (tsx, SQLite in a temp dir) and waits until it listens. */
export async function startServer(
  extraEnv: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<RunningServer & { port: number }> {
  const port = await freePort();
  const tls = options.tls;
  const url = tls ? `https://${tls.host}:${port}` : `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'tacit-e2e-'));
  const dbPath = join(dir, 'tacit.db');
  const bankKey = `e2e-demo-bank-key-${Math.random().toString(36).slice(2)}`;
  const child: ChildProcess = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['server/src/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TACIT_HOST: '127.0.0.1',
      TACIT_PORT: String(port),
      TACIT_DB: dbPath,
      TACIT_DEMO_BANK_KEY: bankKey,
      ...(tls
        ? { TACIT_TLS_CERT: tls.certFile, TACIT_TLS_KEY: tls.keyFile, TACIT_ISSUER: url }
        : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    try {
      const ok = tls
        ? (await httpsJson(tls, port, '/healthz')).status === 200
        : (await fetch(`${url}/healthz`)).ok;
      if (ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    dbPath,
    bankKey,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: string;
}

export interface RecordingProxy {
  url: string;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

/**
 * A loopback proxy in front of the server that records every request body the extension
 * sends, so tests can prove what leaves the device.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const targetUrl = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', path: req.url ?? '', body: body.toString('utf8') });
      const upstream = httpRequest(
        {
          hostname: targetUrl.hostname,
          port: targetUrl.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: targetUrl.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}
