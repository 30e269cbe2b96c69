import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { httpsJson, type TestCertificate } from './tls';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface RunningServer {
  /** The verifier's URL (what the extension talks to). */
  url: string;
  dbPath: string;
  /** The demo bank's API key at the verifier (relying party `demo-bank`). */
  bankKey: string;
  /** The demo bank's origin (what the extension protects); its pages are under `/bank/`. */
  bankUrl: string;
  /** The demo bank's own store (its logins). */
  bankDbPath: string;
  /** What the verifier and the demo bank wrote to stdout and stderr so far. */
  logs(): { server: string; bank: string };
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
   * host to loopback with `--host-resolver-rules`): the verifier's URL and the demo bank's
   * origin are then real bank-like origins, not localhost. The bank's backend reaches the
   * verifier at `https://127.0.0.1:<port>`, trusting the test certificate.
   */
  tls?: TestCertificate;
  /** Extra environment for the demo bank (`DEMO_BANK_*`). */
  bankEnv?: Record<string, string>;
  /** More verifier API keys (`id:role:secret`) beside the demo bank's, e.g. the aggregator's. */
  apiKeys?: string[];
}

/** One child process of a test run, with its output kept for error messages. */
interface Child {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawnTsx(script: string, env: Record<string, string>): Child {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until `ready()` is true, or throws with the child's output. */
async function waitUntil(name: string, child: Child, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.process.exitCode !== null)
      throw new Error(`${name} exited early:\n${child.output()}`);
    try {
      if (await ready()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts the real verification server (tsx, SQLite in a temp dir) and the demo bank beside it
 * (its own process, port and store; the verifier knows it only by its API key), as `npm start`
 * does, and waits until both listen.
 */
export async function startServer(
  extraEnv: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<RunningServer & { port: number; bankPort: number }> {
  const [port, bankPort] = [await freePort(), await freePort()];
  const tls = options.tls;
  const url = tls ? `https://${tls.host}:${port}` : `http://127.0.0.1:${port}`;
  const bankUrl = tls ? `https://${tls.host}:${bankPort}` : `http://127.0.0.1:${bankPort}`;
  const dir = mkdtempSync(join(tmpdir(), 'tacit-e2e-'));
  const dbPath = join(dir, 'tacit.db');
  const bankDbPath = join(dir, 'demo-bank.db');
  const bankKey = `e2e-demo-bank-key-${Math.random().toString(36).slice(2)}`;
  const verifier = spawnTsx('server/src/main.ts', {
    TACIT_HOST: '127.0.0.1',
    TACIT_PORT: String(port),
    TACIT_DB: dbPath,
    TACIT_API_KEYS: [`demo-bank:bank:${bankKey}`, ...(options.apiKeys ?? [])].join(','),
    ...(tls ? { TACIT_TLS_CERT: tls.certFile, TACIT_TLS_KEY: tls.keyFile, TACIT_ISSUER: url } : {}),
    ...extraEnv,
  });
  const bank = spawnTsx('server/demo-bank/main.ts', {
    DEMO_BANK_HOST: '127.0.0.1',
    DEMO_BANK_PORT: String(bankPort),
    DEMO_BANK_DB: bankDbPath,
    DEMO_BANK_API_KEY: bankKey,
    DEMO_BANK_TACIT_URL: tls ? `https://127.0.0.1:${port}` : url,
    ...(tls
      ? {
          DEMO_BANK_TACIT_ISSUER: url,
          DEMO_BANK_TLS_CERT: tls.certFile,
          DEMO_BANK_TLS_KEY: tls.keyFile,
          NODE_EXTRA_CA_CERTS: tls.certFile,
        }
      : {}),
    ...options.bankEnv,
  });
  const stop = async () => {
    await Promise.all([bank.stop(), verifier.stop()]);
  };
  try {
    await Promise.all([
      waitUntil('server', verifier, async () =>
        tls
          ? (await httpsJson(tls, port, '/healthz')).status === 200
          : (await fetch(`${url}/healthz`)).ok,
      ),
      waitUntil('demo bank', bank, async () =>
        tls
          ? (await httpsJson(tls, bankPort, '/bank/login')).status === 200
          : (await fetch(`${bankUrl}/bank/login`)).ok,
      ),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const logs = () => ({ server: verifier.output(), bank: bank.output() });
  return { url, port, dbPath, bankKey, bankUrl, bankPort, bankDbPath, logs, stop };
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

/** One request through {@link startProxy} and the answer it got. */
export interface ProxiedExchange {
  request: RecordedRequest;
  /** The request body's bytes. */
  body: Buffer;
  status: number;
  /** The answer body's bytes. */
  answer: Buffer;
  /** When the answer came back (ms since the epoch). */
  at: number;
}

/** A loopback proxy. */
export interface LoopbackProxy {
  url: string;
  stop(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of `target` that passes every request through untouched and
 * calls `onRequest` before forwarding it and `onAnswer` once its answer is complete (answers
 * are buffered, then sent on: the tests' exchanges are small).
 */
export async function startProxy(
  target: string,
  hooks: {
    onRequest?: (request: RecordedRequest) => void;
    onAnswer?: (exchange: ProxiedExchange) => void;
  },
): Promise<LoopbackProxy> {
  const targetUrl = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const request = {
        method: req.method ?? '',
        path: req.url ?? '',
        body: body.toString('utf8'),
      };
      hooks.onRequest?.(request);
      const upstream = httpRequest(
        {
          hostname: targetUrl.hostname,
          port: targetUrl.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: targetUrl.host },
        },
        (up) => {
          const answer: Buffer[] = [];
          up.on('data', (c: Buffer) => answer.push(c));
          up.on('end', () => {
            const text = Buffer.concat(answer);
            const status = up.statusCode ?? 502;
            hooks.onAnswer?.({ request, body, status, answer: text, at: Date.now() });
            res.writeHead(status, up.headers);
            res.end(text);
          });
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
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/**
 * A loopback proxy in front of the server that records every request body the extension
 * sends, so tests can prove what leaves the device.
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = [];
  const proxy = await startProxy(target, { onRequest: (r) => requests.push(r) });
  return { url: proxy.url, requests, stop: proxy.stop };
}
