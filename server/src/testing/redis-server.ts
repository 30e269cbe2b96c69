/**
 * A throwaway `redis-server` for tests: no persistence, loopback only, a free port. Used by
 * the vitest global setup of the `redis` project (see vitest.config.ts); never by production
 * code.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

/** Where Debian's package installs it. */
export const REDIS_SERVER_PATH = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** A running test Redis. */
export interface TestRedisServer {
  url: string;
  stop(): Promise<void>;
}

/** A port the kernel reports free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once `PING` on `port` answers `+PONG`, or rejects after `timeoutMs`. */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.write('PING\r\n');
      });
      socket.setTimeout(500, () => socket.destroy());
      socket.on('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.on('error', () => resolve(false));
      socket.on('close', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether a `redis-server` binary is available. */
export function hasRedisServer(): boolean {
  return existsSync(REDIS_SERVER_PATH);
}

/**
 * Starts `redis-server --save '' --appendonly no --port P --bind 127.0.0.1` on a free port.
 *
 * @throws {Error} if the binary is missing or the server does not answer within 10 s.
 */
export async function startRedisServer(): Promise<TestRedisServer> {
  if (!hasRedisServer()) throw new Error(`${REDIS_SERVER_PATH} not found`);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      REDIS_SERVER_PATH,
      ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1'],
      { stdio: 'ignore' },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await Promise.race([
        waitForPong(port, 10_000),
        exited.then(() => {
          throw new Error('redis-server exited at start');
        }),
      ]);
    } catch (err) {
      child.kill('SIGKILL');
      // The port may have been taken between the probe and the start: try another.
      if (attempt < 3) continue;
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      stop: async () => {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    };
  }
}
