/**
 * A real server process (`node --import tsx server/src/main.ts`) for tests that need one:
 * several instances on one Redis, or a crash. Its URL is parsed from what it prints. Used by
 * tests only.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A running server process. */
export interface ServerProcess {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts a server with `env` over a clean `TACIT_*` environment (port 0 on 127.0.0.1 unless
 * `env` says otherwise) and resolves once it printed where it listens.
 */
export function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TACIT_')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: ROOT,
    env: { ...clean, TACIT_HOST: '127.0.0.1', TACIT_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waitExit = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Tacit server listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timeout);
        child.stdout!.off('data', onData);
        child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
        resolve({
          url: match[1]!,
          child,
          output: () => output,
          kill: () => waitExit('SIGKILL', 0),
          stop: () => waitExit('SIGTERM', 5000),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timeout);
      reject(new Error(`server exited (${code}) before listening:\n${output}`));
    });
  });
}
