import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server';

export interface RunningAggregator {
  url: string;
  adminKey: string;
  /** An admin call (`Authorization: Bearer`), JSON answer. */
  admin(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/** A free loopback port (the aggregator's issuer must be known before it starts). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * Starts the real aggregator (`server/aggregator/main.ts`, tsx, its own SQLite in a temp dir)
 * on `port`, checking devices at `verifierUrl` with `verifierKey` (role aggregator), version 1
 * the shipped keystroke encoder, each version's public centres over the pohmm users.
 */
export async function startAggregator(opts: {
  port: number;
  issuer: string;
  verifierUrl: string;
  verifierKey: string;
  env?: Record<string, string>;
}): Promise<RunningAggregator> {
  const adminKey = `e2e-fl-admin-${Math.random().toString(36).slice(2)}`;
  const dir = mkdtempSync(join(tmpdir(), 'tacit-fl-e2e-'));
  let output = '';
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['server/aggregator/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TACIT_FL_HOST: '127.0.0.1',
      TACIT_FL_PORT: String(opts.port),
      TACIT_FL_DB: join(dir, 'aggregator.db'),
      TACIT_FL_ISSUER: opts.issuer,
      TACIT_FL_ADMIN_KEY: adminKey,
      TACIT_FL_VERIFIER_URL: opts.verifierUrl,
      TACIT_FL_VERIFIER_KEY: opts.verifierKey,
      TACIT_FL_INITIAL_ENCODER: 'model/shared/default-keystroke.json',
      // The public users whose centres every version carries (the shipped encoder's pohmm users).
      TACIT_FL_PUBLIC_DATA: join(ROOT, '../shared/datasets/pohmm'),
      TACIT_FL_MIN_DEVICES: '1',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`aggregator exited early:\n${output}`);
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`aggregator did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    adminKey,
    async admin(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: await response.json() };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
