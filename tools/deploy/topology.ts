/**
 * Starts the deployment of plan.ts on this machine, without a container engine: Redis (AOF,
 * `appendfsync always`), two verification-server instances on it, nginx terminating TLS 1.3 in
 * front of them, and the demo bank whose backend goes through nginx. Used by
 * `npm run deploy:local` (main.ts), the proof suite's `deployment` part and
 * `e2e/deployment.spec.ts`: one implementation of the topology.
 *
 * Every process is our child, on loopback, with its state in one directory; nothing of the
 * system's (nginx's or Redis's configuration, services) is read or changed.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { makeTestCertificate, type TestCertificate } from '../../e2e/support/tls';
import { NGINX, nginxArgs, workerPids, writeNginxConfig } from './nginx';
import {
  DEFAULT_PORTS,
  HEALTH_PATH,
  INSTANCE_NAMES,
  REDIS_PERSISTENCE,
  bankEnv,
  instanceEnv,
  nginxVars,
  publicUrl,
  type DeployPorts,
  type Site,
} from './plan';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
const VERIFIER = resolve(ROOT, 'server/src/main.ts');
const BANK = resolve(ROOT, 'server/demo-bank/main.ts');
/** How long a process may take to start (tsx compiles the server on first start). */
const START_TIMEOUT_MS = 60_000;
/** How long a process may take to stop before it is killed. */
const STOP_GRACE_MS = 10_000;

export interface TopologyOptions {
  /** Directory for Redis's AOF, nginx's prefix and the bank's store (default: a new temp dir). */
  dir?: string;
  /** Fixed ports (default: the plan's), or `'free'` for free loopback ports (tests). */
  ports?: DeployPorts | 'free';
  /** The verifier's public host name, in the certificate (default `localhost`). */
  publicHost?: string;
  /** The demo bank's API key (default: random). */
  bankKey?: string;
  /** The scraper's bearer token (default: random). */
  metricsToken?: string;
  /** Start the demo bank too (default true). */
  bank?: boolean;
  /** Extra environment of both instances (e.g. rate limits off for a load test). */
  instanceEnv?: Record<string, string>;
  /** Each output line of each process (default: kept, shown when a start fails). */
  onLine?: (process: string, line: string) => void;
  /** A process exited without being asked to (not by `kill`, `stop`). */
  onExit?: (process: string, code: number | null, signal: string | null) => void;
}

/** One verification-server instance. */
export interface Instance {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>`: the instance itself, bypassing nginx. */
  url: string;
  pid(): number | undefined;
  running(): boolean;
  /** Sends a signal; resolves with the exit code once the process ended. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** Starts it again (same port and environment) and waits until it is healthy. */
  start(): Promise<void>;
}

export interface Topology {
  dir: string;
  ports: DeployPorts;
  site: Site;
  cert: TestCertificate;
  /** The verifier's public URL (nginx): what the extension is configured with, and `iss`. */
  url: string;
  /** nginx on loopback, for clients that cannot resolve the public name. */
  proxyUrl: string;
  bankUrl: string;
  bankKey: string;
  metricsToken: string;
  instances: [Instance, Instance];
  /** A client of the deployment's Redis (closed by {@link Topology.stop}). */
  redis: Redis;
  nginxPid(): number | undefined;
  /**
   * Takes instance `i` out of nginx's rotation (`down`) or puts it back, by reloading nginx,
   * and waits until the workers of the previous configuration have finished their requests.
   */
  setDown(down: number[]): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process with its output split into lines (the last ones kept for errors). */
class Child {
  process: ChildProcess | undefined;
  readonly #tail: string[] = [];
  #stopping = false;

  constructor(
    readonly name: string,
    readonly command: string,
    readonly args: string[],
    readonly env: NodeJS.ProcessEnv,
    readonly options: Pick<TopologyOptions, 'onLine' | 'onExit'>,
  ) {}

  start(): void {
    this.#stopping = false;
    const child = spawn(this.command, this.args, {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.once('exit', (code, signal) => {
      if (!this.#stopping) this.options.onExit?.(this.name, code, signal);
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.#tail.push(line);
        if (this.#tail.length > 40) this.#tail.shift();
        this.options.onLine?.(this.name, line);
      });
    }
    this.process = child;
  }

  running(): boolean {
    const p = this.process;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  tail(): string {
    return this.#tail.join('\n');
  }

  async kill(signal: NodeJS.Signals, graceMs = STOP_GRACE_MS): Promise<number | null> {
    const p = this.process;
    if (!p || !this.running()) return p?.exitCode ?? null;
    this.#stopping = true;
    const exited = new Promise<number | null>((done) => p.once('exit', (code) => done(code)));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  /** Polls `ready` until it holds, or throws with the output once the process died or time ran out. */
  async waitUntil(ready: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!this.running()) throw new Error(`${this.name} exited:\n${this.tail()}`);
      try {
        if (await ready()) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not start:\n${this.tail()}`);
      await sleep(150);
    }
  }
}

/** GET over TLS to loopback, trusting only the deployment's certificate. */
function tlsGet(cert: TestCertificate, port: number, path: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca: cert.certPem, servername: cert.host, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end();
  });
}

async function ok(url: string): Promise<boolean> {
  return (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
}

/** This machine as a {@link Site}: everything on loopback, state under `dir`. */
export function localSite(
  dir: string,
  cert: Pick<TestCertificate, 'host' | 'certFile' | 'keyFile'>,
  bankKey: string,
  metricsToken: string,
): Site {
  return {
    bind: '127.0.0.1',
    instanceHosts: ['127.0.0.1', '127.0.0.1'],
    redisHost: '127.0.0.1',
    proxyHost: '127.0.0.1',
    proxyAddress: '127.0.0.1',
    publicHost: cert.host,
    certFile: cert.certFile,
    keyFile: cert.keyFile,
    // A file: nginx cannot open /dev/stdout when it is our pipe (a socket).
    accessLog: join(dir, 'nginx', 'access.log'),
    bankDb: join(dir, 'demo-bank.db'),
    bankKey,
    metricsToken,
  };
}

/** Starts the whole topology and waits until every part answers. */
export async function startTopology(options: TopologyOptions = {}): Promise<Topology> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tacit-deploy-'));
  mkdirSync(dir, { recursive: true });
  const nginxDir = join(dir, 'nginx');
  const redisDir = join(dir, 'redis');
  mkdirSync(nginxDir, { recursive: true });
  mkdirSync(redisDir, { recursive: true, mode: 0o700 });
  // nginx's workers drop root to `nobody`: they must reach their temp paths.
  chmodSync(dir, 0o755);
  chmodSync(nginxDir, 0o755);

  const ports: DeployPorts =
    options.ports === 'free'
      ? {
          proxy: await freePort(),
          instances: [await freePort(), await freePort()],
          redis: await freePort(),
          bank: await freePort(),
        }
      : (options.ports ?? DEFAULT_PORTS);
  const publicHost = options.publicHost ?? 'localhost';
  const cert = makeTestCertificate(publicHost);
  const bankKey = options.bankKey ?? randomBytes(32).toString('base64url');
  const metricsToken = options.metricsToken ?? randomBytes(32).toString('base64url');
  const site = localSite(dir, cert, bankKey, metricsToken);
  // Our own variables come from the plan only: an inherited TACIT_* must not change one
  // instance behind the plan's back.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TACIT_') && !k.startsWith('DEMO_')),
  );
  const children: Child[] = [];
  const track = (child: Child) => {
    children.push(child);
    return child;
  };
  let redis: Redis | undefined;
  const stopAll = async () => {
    redis?.disconnect();
    // Front to back: the bank, nginx (no new requests), the instances, Redis last.
    for (const child of [...children].reverse()) await child.kill('SIGTERM');
  };

  try {
    const redisChild = track(
      new Child(
        'redis',
        REDIS_SERVER,
        [
          '--bind',
          '127.0.0.1',
          '--port',
          String(ports.redis),
          '--dir',
          redisDir,
          ...REDIS_PERSISTENCE,
          '--protected-mode',
          'yes',
        ],
        inherited,
        options,
      ),
    );
    redisChild.start();
    redis = new Redis({ host: '127.0.0.1', port: ports.redis, lazyConnect: true });
    redis.on('error', () => {}); // reconnects by itself; a failed command says what went wrong
    await redisChild.waitUntil(async () => (await redis!.ping()) === 'PONG');

    const instances = ([0, 1] as const).map((i): Instance & { child: Child } => {
      const child = new Child(
        INSTANCE_NAMES[i],
        process.execPath,
        ['--import', 'tsx', VERIFIER],
        { ...inherited, ...instanceEnv(site, ports, i), ...options.instanceEnv },
        options,
      );
      const url = `http://127.0.0.1:${ports.instances[i]}`;
      return {
        child,
        name: INSTANCE_NAMES[i],
        port: ports.instances[i],
        url,
        pid: () => child.process?.pid,
        running: () => child.running(),
        kill: (signal) => child.kill(signal),
        async start() {
          child.start();
          await child.waitUntil(() => ok(`${url}${HEALTH_PATH}`));
        },
      };
    });
    for (const instance of instances) track(instance.child);
    // One after the other: the first creates the signing key in Redis, the second loads it
    // (two first starts at once could each create one: keys.ts adds a key when none is active).
    for (const instance of instances) await instance.start();

    const vars = nginxVars(site, ports);
    const nginxConfig = writeNginxConfig(nginxDir, vars);
    const nginx = track(
      new Child('nginx', NGINX, nginxArgs(nginxDir, nginxConfig), inherited, options),
    );
    nginx.start();
    await nginx.waitUntil(async () => (await tlsGet(cert, ports.proxy, HEALTH_PATH)) === 200);

    if (options.bank !== false) {
      const bank = track(
        new Child(
          'bank',
          process.execPath,
          ['--import', 'tsx', BANK],
          { ...inherited, ...bankEnv(site, ports) },
          options,
        ),
      );
      bank.start();
      await bank.waitUntil(() => ok(`http://127.0.0.1:${ports.bank}/bank/login`));
    }

    const [first, second] = instances;
    return {
      dir,
      ports,
      site,
      cert,
      url: publicUrl(site, ports),
      proxyUrl: `https://127.0.0.1:${ports.proxy}`,
      bankUrl: `http://127.0.0.1:${ports.bank}`,
      bankKey,
      metricsToken,
      instances: [first!, second!],
      redis,
      nginxPid: () => nginx.process?.pid,
      async setDown(down) {
        const pid = nginx.process?.pid;
        if (pid === undefined || !nginx.running()) throw new Error('nginx is not running');
        const before = workerPids(pid);
        writeNginxConfig(nginxDir, vars, new Set(down));
        nginx.process!.kill('SIGHUP');
        // New workers take new connections at once; the old ones leave when their requests are
        // done (their idle keep-alive connections to the instances are closed right away).
        const deadline = Date.now() + 30_000;
        for (;;) {
          const now = workerPids(pid);
          if (!before.some((w) => now.includes(w)) && now.length > 0) break;
          if (Date.now() > deadline) throw new Error('nginx: the old workers did not finish');
          await sleep(50);
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
