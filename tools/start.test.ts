/**
 * `npm start`'s launcher (tools/start.ts): the key hand-off between the verifier and the demo
 * bank, and both real processes started, reachable, and stopped together.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StartError, plan } from './start';

const ROOT = join(import.meta.dirname, '..');
const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tacit-start-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('plan', () => {
  it('generates the key once (0600), adds it to the verifier and gives it to the bank', () => {
    const cwd = temp();
    const env = { TACIT_API_KEYS: 'ops:admin:admin-secret-0123456789' };
    const first = plan(env, cwd);
    const keyFile = join(cwd, 'data', 'demo-bank-key');
    expect(first.keyFile).toBe(keyFile);
    expect(first.generated).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8').trim();
    expect(first.verifierEnv.TACIT_API_KEYS).toBe(
      `ops:admin:admin-secret-0123456789,demo-bank:bank:${key}`,
    );
    expect(first.bankEnv).toMatchObject({
      DEMO_BANK_API_KEY: key,
      DEMO_BANK_RP_ID: 'demo-bank',
      DEMO_BANK_TACIT_URL: 'http://127.0.0.1:8787',
    });
    expect(first.bankUrl).toBe('http://127.0.0.1:8788');
    const again = plan({ TACIT_DB: 'data/other.db' }, cwd);
    expect(again).toMatchObject({ generated: false, keyFile });
    expect(again.bankEnv.DEMO_BANK_API_KEY).toBe(key);
  });

  it('follows the verifier: host, port, TLS, issuer, database directory', () => {
    const cwd = temp();
    const p = plan(
      {
        TACIT_HOST: '::',
        TACIT_PORT: '9000',
        TACIT_TLS_CERT: 'c.pem',
        TACIT_ISSUER: 'https://tacit.example',
        TACIT_DB: '/nonexistent-never/../' + join(cwd, 'db', 't.db'),
      },
      cwd,
    );
    expect(p.keyFile).toBe(join(cwd, 'db', 'demo-bank-key'));
    expect(p.bankEnv).toMatchObject({
      DEMO_BANK_TACIT_URL: 'https://[::1]:9000',
      DEMO_BANK_TACIT_ISSUER: 'https://tacit.example',
    });
  });

  it.each([
    [{ TACIT_PORT: '0' }, /TACIT_PORT/],
    [{ DEMO_BANK_PORT: '0' }, /DEMO_BANK_PORT/],
    [{ TACIT_API_KEYS: 'demo-bank:bank:0123456789abcdef0' }, /TACIT_API_KEYS/],
  ])('refuses %j', (env, message) => {
    expect(() => plan(env, temp())).toThrow(StartError);
    expect(() => plan(env, temp())).toThrow(message);
  });

  it('refuses a key file that holds no key', () => {
    const cwd = temp();
    plan({}, cwd);
    writeFileSync(join(cwd, 'data', 'demo-bank-key'), 'short\n');
    expect(() => plan({}, cwd)).toThrow(/not a key/);
  });
});

/** Runs the launcher; resolves its output so far on demand, and its exit. */
function launch(env: Record<string, string>) {
  // Node with tsx's loader, as the launcher starts its own children: the tsx command's signal
  // relay would add a process between the test's SIGTERM and the launcher.
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const waitFor = async (text: string, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!output.includes(text)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no "${text}" in:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exit, waitFor, output: () => output };
}

describe('npm start (the launcher, real processes)', () => {
  it('serves the verifier and the bank; the bank logs in through the verifier; SIGTERM stops both', async () => {
    const dir = temp();
    const [port, bankPort] = [await freePort(), await freePort()];
    const run = launch({
      TACIT_PORT: String(port),
      TACIT_DB: join(dir, 'tacit.db'),
      DEMO_BANK_PORT: String(bankPort),
      DEMO_BANK_DB: join(dir, 'bank.db'),
    });
    try {
      await run.waitFor('Ctrl-C stops both.');
      expect(run.output()).toContain(`Demo bank: http://localhost:${bankPort}/bank/login`);
      expect(run.output()).toMatch(/\[verifier\] Tacit server listening/);
      expect(run.output()).toMatch(/\[bank\] Demo bank listening/);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      // The verifier knows no bank pages; the bank's login opens a session at the verifier.
      expect((await fetch(`http://127.0.0.1:${port}/bank/login`)).status).toBe(404);
      const login = await fetch(`http://127.0.0.1:${bankPort}/bank/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          origin: `http://127.0.0.1:${bankPort}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'username=alice&password=demo',
      });
      expect(login.status).toBe(303);
      const key = readFileSync(join(dir, 'demo-bank-key'), 'utf8').trim();
      expect(run.output()).not.toContain(key);
      const opened = await fetch(`http://127.0.0.1:${port}/v1/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ subject: 'curl-walk-through' }),
      });
      expect(opened.status).toBe(201);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exit, run.output()).toBe(0);
    expect(run.output()).toMatch(/\[verifier\].*"stopped"/);
    expect(run.output()).toMatch(/\[bank\].*"stopped"/);
  }, 90_000);

  it('one dies (the bank cannot listen): the other is stopped, the exit code is non-zero', async () => {
    const dir = temp();
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const bankPort = (taken.address() as { port: number }).port;
    const run = launch({
      TACIT_PORT: String(port),
      TACIT_DB: join(dir, 'tacit.db'),
      DEMO_BANK_PORT: String(bankPort),
      DEMO_BANK_DB: join(dir, 'bank.db'),
    });
    try {
      expect(await run.exit).toBe(1);
    } finally {
      taken.close();
    }
    expect(run.output()).toMatch(/the bank exited \(code 1\): stopping the other/);
    expect(run.output()).toMatch(/EADDRINUSE/);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  }, 90_000);
});
