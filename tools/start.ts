/**
 * `npm start` (`tsx tools/start.ts --build`): builds the extension, then runs the verifier and
 * the demo bank side by side, as two processes. The demo bank is a relying party like any
 * bank, so the hand-off is an API key:
 *
 * 1. the demo bank's key is read from `<TACIT_DB's directory>/demo-bank-key` (default
 *    `data/demo-bank-key`), or generated there (0600) on the first run, so the README's curl
 *    walk-through can use it;
 * 2. the verifier (`server/src/main.ts`) starts with `TACIT_API_KEYS` plus
 *    `demo-bank:bank:<key>`, the demo bank (`server/demo-bank/main.ts`) with that key and the
 *    verifier's URL;
 * 3. their output is forwarded line by line, prefixed `[verifier]` and `[bank]`;
 * 4. Ctrl-C / SIGTERM stops both; if one exits on its own the other is stopped and the exit
 *    code is non-zero.
 *
 * Every other variable (`TACIT_*`, `DEMO_BANK_*`) goes through to both. `npm run serve` is the
 * verifier alone. The build runs here rather than as `npm run build && …` in package.json, and
 * the script is `exec tsx …`: npm's shell is replaced by the launcher, so a SIGTERM to
 * `npm start` (which npm passes to its child) reaches it instead of orphaning it.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultWebauthnOrigin } from '../server/demo-bank/config';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VERIFIER = resolve(ROOT, 'server/src/main.ts');
const BANK = resolve(ROOT, 'server/demo-bank/main.ts');
/** The demo bank's id at the verifier (the `aud` of its session tokens). */
const BANK_ID = 'demo-bank';
/** How long a child may take to stop before it is killed (ms). */
const STOP_GRACE_MS = 10_000;
const KEY = /^[\x21-\x7e]{16,256}$/;
const NOT_LISTENING = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']);

const USAGE = `Usage: npm start            (tsx tools/start.ts --build)
       tsx tools/start.ts         (without building)

  --build   run \`npm run build\` first (the extension in dist/chrome, dist/firefox)

Starts the verification server and the demo bank beside it. Configure them with their own
variables (TACIT_* for the verifier, DEMO_BANK_* for the bank; docs/server.md). The bank's API
key is kept in data/demo-bank-key (next to TACIT_DB).`;

/** Thrown for a set-up the launcher refuses to start with. */
export class StartError extends Error {}

/** A host as it appears in a URL: wildcard addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/** The demo bank's key: read from `file`, or generated into it (0600, directory 0700). */
export function demoBankKey(file: string): { key: string; generated: boolean } {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    const key = text.trim();
    if (!KEY.test(key)) {
      throw new StartError(`${shown(file)}: not a key (16-256 printable characters); delete it`);
    }
    chmodSync(file, 0o600);
    return { key, generated: false };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generated: true };
}

/** What each process is started with. */
export interface Plan {
  keyFile: string;
  generated: boolean;
  verifierEnv: NodeJS.ProcessEnv;
  bankEnv: NodeJS.ProcessEnv;
  verifierUrl: string;
  bankUrl: string;
  /** The bank's origin as a browser should open it (its WebAuthn origin). */
  bankPageOrigin: string;
}

/** Works out both environments from ours (no side effect but the key file). */
export function plan(env: NodeJS.ProcessEnv, cwd: string): Plan {
  const port = env.TACIT_PORT || '8787';
  if (port === '0') throw new StartError('TACIT_PORT=0: the demo bank needs a fixed verifier port');
  const bankPort = env.DEMO_BANK_PORT || '8788';
  if (bankPort === '0') throw new StartError('DEMO_BANK_PORT=0: give the demo bank a fixed port');
  const existing = (env.TACIT_API_KEYS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (existing.some((entry) => entry.startsWith(`${BANK_ID}:`))) {
    throw new StartError(
      `TACIT_API_KEYS: the id "${BANK_ID}" is the demo bank's (npm start adds it)`,
    );
  }
  const keyFile = resolve(cwd, dirname(env.TACIT_DB || 'data/tacit.db'), 'demo-bank-key');
  const { key, generated } = demoBankKey(keyFile);
  const verifierScheme = env.TACIT_TLS_CERT ? 'https' : 'http';
  const verifierUrl = `${verifierScheme}://${urlHost(env.TACIT_HOST || '127.0.0.1')}:${port}`;
  const bankScheme = env.DEMO_BANK_TLS_CERT ? 'https' : 'http';
  const bankUrl = `${bankScheme}://${urlHost(env.DEMO_BANK_HOST || '127.0.0.1')}:${bankPort}`;
  return {
    keyFile,
    generated,
    verifierUrl,
    bankUrl,
    bankPageOrigin: env.DEMO_BANK_WEBAUTHN_ORIGIN || defaultWebauthnOrigin(bankUrl),
    verifierEnv: {
      ...env,
      TACIT_API_KEYS: [...existing, `${BANK_ID}:bank:${key}`].join(','),
    },
    bankEnv: {
      ...env,
      DEMO_BANK_API_KEY: key,
      DEMO_BANK_RP_ID: BANK_ID,
      DEMO_BANK_TACIT_URL: env.DEMO_BANK_TACIT_URL || verifierUrl,
      ...(env.TACIT_ISSUER && !env.DEMO_BANK_TACIT_ISSUER
        ? { DEMO_BANK_TACIT_ISSUER: env.TACIT_ISSUER }
        : {}),
    },
  };
}

/** `npm run build`, in the foreground; a failed build stops the start. */
async function build(): Promise<void> {
  const npm = process.env.npm_execpath;
  const [command, args] = npm
    ? [process.execPath, [npm, 'run', 'build']]
    : ['npm', ['run', 'build']];
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (code !== 0) throw new StartError(`the build failed (npm run build: ${code ?? 'killed'})`);
}

/** Forwards a child's output line by line with a prefix. */
function forward(child: ChildProcess, prefix: string): void {
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
      out.write(`${prefix} ${line}\n`),
    );
  }
}

/** Resolves once `url` answers (any status below 500), or rejects after `timeoutMs`. */
async function reachable(url: string, timeoutMs: number, alive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive()) {
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch (err) {
      // Refused or reset: not listening yet. Anything else (a certificate Node does not trust,
      // say) came from a listening server.
      const code = ((err as Error).cause as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string' && !NOT_LISTENING.has(code)) return;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { help: { type: 'boolean', short: 'h' }, build: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const p = plan(process.env, process.cwd());
  if (values.build) await build();
  process.stdout.write(
    `Demo bank API key: ${shown(p.keyFile)}${p.generated ? ' (generated now)' : ''}\n`,
  );

  const children = new Map<string, ChildProcess>();
  const start = (name: string, script: string, env: NodeJS.ProcessEnv) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: process.cwd(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    forward(child, `[${name}]`);
    children.set(name, child);
    return child;
  };
  start('verifier', VERIFIER, p.verifierEnv);
  start('bank', BANK, p.bankEnv);

  let stopping = false;
  let exitCode = 0;
  const running = () =>
    [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  const stopAll = () => {
    for (const child of running()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of running()) child.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
  };
  const exited = [...children].map(
    ([name, child]) =>
      new Promise<void>((done) =>
        child.once('exit', (code, signal) => {
          if (!stopping) {
            // One died on its own: stop the other, and say so in the exit code.
            stopping = true;
            exitCode = code || 1;
            process.stderr.write(
              `[start] the ${name} exited (${signal ?? `code ${code}`}): stopping the other\n`,
            );
            stopAll();
          } else if (code !== 0 && code !== null) {
            exitCode ||= code;
          }
          done();
        }),
      ),
  );
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[start] ${signal}: stopping the verifier and the demo bank\n`);
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const alive = () => !stopping;
  Promise.all([
    reachable(`${p.verifierUrl}/healthz`, 60_000, alive),
    reachable(`${p.bankUrl}/bank/login`, 60_000, alive),
  ]).then(
    () => {
      if (stopping) return;
      process.stdout.write(
        [
          '',
          `Verifier:  ${p.verifierUrl}  (npm run serve starts it alone)`,
          // Where its passkeys work (a WebAuthn RP ID cannot be an IP address: loopback is
          // opened as localhost).
          `Demo bank: ${p.bankPageOrigin}/bank/login  (any username, password demo)`,
          `Extension: load ${resolve(ROOT, 'dist/chrome')} unpacked`,
          'Ctrl-C stops both.',
          '',
        ].join('\n'),
      );
    },
    (err: unknown) => {
      if (stopping) return;
      process.stderr.write(`[start] ${(err as Error).message}: stopping\n`);
      stopping = true;
      exitCode = 1;
      stopAll();
    },
  );

  await Promise.all(exited);
  process.exit(exitCode);
}

// Run when started (tsx tools/start.ts); a test importing plan() starts nothing.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    const message =
      err instanceof StartError || err instanceof TypeError ? err.message : String(err);
    process.stderr.write(`npm start: ${message}\n`);
    process.exit(1);
  });
}
