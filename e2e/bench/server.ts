/**
 * `server`: attestation throughput and latency of the real verification server under an
 * open-loop load, per store, against the raw single-core ES256 verify rate of this machine
 * measured in the same run. See docs/benchmarks.md.
 *
 * Processes: this one (orchestration, the raw verify rate, figures), the server
 * (`server/src/main.ts` under tsx, one per store, its log in a temp file), the load generator
 * (`server-load.ts`, forked) and, for the Redis leg, a `redis-server` started here on a free
 * loopback port. Everything is loopback-only and bounded in time.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../support/server';
import { median, printTable, round } from './report';
import type { FromGenerator, GeneratorStep, ToGenerator } from './server-protocol';

export const STORES = ['sqlite', 'redis'] as const;
export type StoreName = (typeof STORES)[number];

/** Default arrival rates, attestations/s (the bench stops after the first failing one). */
export const DEFAULT_RATES = [500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000];
/** A step passes only with p99 at or under this, ms. */
export const P99_GOAL_MS = 25;
/** A step whose send slip p99 is over this (ms) measured the generator, not the server. */
export const MAX_SEND_SLIP_P99_MS = 5;
const REDIS_SERVER = '/usr/bin/redis-server';

export interface ServerBenchOptions {
  /** Enrolled devices, one bound session each. Default 10,000. */
  sessions?: number;
  /** Measured seconds per step. Default 10. */
  stepSeconds?: number;
  /** Warm-up seconds at the step's rate before each measured part. Default 2. */
  warmupSeconds?: number;
  /** Arrival rates to step through, ascending. Default {@link DEFAULT_RATES}. */
  rates?: number[];
  /** Stores to run, in order. Default both. */
  stores?: StoreName[];
  /** Keep-alive connections of the generator. Default 64. */
  connections?: number;
  /** Device set-ups in flight at once. Default 32. */
  setupConcurrency?: number;
  /** Seconds the raw verify rate is measured (median of 3 runs of this). Default 1. */
  verifySeconds?: number;
  /** Write a V8 CPU profile of each server process into this directory (`--cpu-prof`). */
  profileDir?: string;
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** One step as reported: the generator's figures, the server's CPU, and the verdict. */
export interface ServerBenchStep extends GeneratorStep {
  /** Server process CPU time ÷ wall time during the step (all its threads; 1 = one core). */
  serverCpu: number | null;
  /**
   * Server CPU time per accepted attestation, µs (all threads, kernel included). Less
   * sensitive to other load on the machine than the latencies: compare it between versions.
   */
  serverCpuUsPerAttestation: number | null;
  /** p99 ≤ goal, zero errors (warm-up included), everything sent, schedule kept. */
  pass: boolean;
  /** Why it failed (empty when it passed). */
  failures: string[];
}

export interface StoreFigures {
  store: StoreName;
  sessions: number;
  /** Highest arrival rate that passed, attestations/s (0 if none did). */
  attestationsPerSecond: number;
  /** Latency at that rate, ms (null if none passed). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Errors at that rate (0 by definition of a pass; the failing step has its own). */
  errors: number;
  rawVerifyPerSecond: number;
  /** attestationsPerSecond ÷ rawVerifyPerSecond. */
  ratioToRawVerify: number;
  /** What ended the stepping: the first failing step's reasons, or "all rates passed". */
  stoppedBy: string;
  setupMs: number;
  steps: ServerBenchStep[];
}

export interface SkippedStore {
  store: StoreName;
  skipped: string;
}

export interface ServerBenchResult {
  bench: 'server';
  run: {
    date: string;
    node: string;
    cpus: number;
    cpuModel: string;
    loadavgStart: number[];
    loadavgEnd: number[];
    options: Required<Omit<ServerBenchOptions, 'log' | 'profileDir'>>;
    goal: { p99Ms: number; maxSendSlipP99Ms: number };
    durations: { totalMs: number; rawVerifyMs: number; storesMs: Record<string, number> };
  };
  rawVerifyPerSecond: number;
  rawVerifyRuns: number[];
  stores: (StoreFigures | SkippedStore)[];
}

export const isSkipped = (s: StoreFigures | SkippedStore): s is SkippedStore => 'skipped' in s;

/**
 * The ceiling: ES256 verifications per second on one core with node:crypto `verify`, a prepared
 * public `KeyObject` and an attestation-sized signing input (ieee-p1363 signature). Median of
 * three runs of `seconds` each, after a short warm-up.
 */
export function measureRawVerify(seconds = 1): { perSecond: number; runs: number[] } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // Imported from its JWK, as a server holds a device key.
  const key = createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' });
  // About the size of a real attestation's signing input (header.payload).
  const input = Buffer.from(randomBytes(330).toString('base64url'));
  const signature = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const options = { key, dsaEncoding: 'ieee-p1363' as const };
  const runFor = (ms: number) => {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < ms) {
      for (let i = 0; i < 50; i++) {
        if (!verify('sha256', input, options, signature)) throw new Error('verify failed');
      }
      n += 50;
      t = performance.now();
    }
    return (n / (t - t0)) * 1000;
  };
  runFor(200);
  const runs = [0, 1, 2].map(() => Math.round(runFor(seconds * 1000)));
  return { perSecond: Math.round(median(runs)), runs };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one RESP command (inline form) and returns the first reply line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis timeout')));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

interface Redis {
  port: number;
  stop(): Promise<void>;
}

async function startRedis(dir: string): Promise<Redis> {
  const port = await freePort();
  const logFd = openSync(join(dir, 'redis.log'), 'a');
  // AOF with fsync every second: Redis's usual durable setting. No RDB snapshots.
  const child = spawn(
    REDIS_SERVER,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'yes',
      '--appendfsync', 'always',
      '--protected-mode', 'yes',
    ],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${join(dir, 'redis.log')})`);
    try {
      if ((await redisCommand(port, 'PING')) === '+PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await sleep(100);
  }
  return { port, stop: () => stopChild(child) };
}

interface Server {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

async function startServer(
  dir: string,
  env: Record<string, string>,
  profileDir?: string,
): Promise<Server> {
  const port = await freePort();
  const logFile = join(dir, 'server.log');
  const logFd = openSync(logFile, 'a');
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TACIT_')),
  ) as Record<string, string>;
  const args = [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    '--import',
    'tsx',
    'server/src/main.ts',
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...clean,
      NODE_ENV: 'production',
      TACIT_HOST: '127.0.0.1',
      TACIT_PORT: String(port),
      TACIT_DB: join(dir, 'tacit.db'),
      TACIT_DEMO: '0',
      TACIT_RATE_LIMIT_RP: '0',
      TACIT_RATE_LIMIT_DEVICE: '0',
      TACIT_RATE_LIMIT_ADDRESS: '0',
      ...env,
    },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`server exited early:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start (log: ${logFile})`);
    await sleep(200);
  }
  return { url, pid: child.pid!, logFile, stop: () => stopChild(child) };
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux). */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ = 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The forked generator, with a request/answer helper over its IPC channel. */
class Generator {
  readonly #child: ChildProcess;
  #waiting:
    | { type: FromGenerator['type']; resolve: (m: FromGenerator) => void; reject: (e: Error) => void }
    | undefined;

  constructor(readonly log: (line: string) => void, label: string) {
    this.#child = fork(join(import.meta.dirname, 'server-load.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (m: FromGenerator) => {
      if (m.type === 'progress') {
        log(`[${label}] ${m.phase === 'setup' ? 'set up' : 'signed'} ${m.done}/${m.total}`);
      } else if (m.type === 'presigned') {
        // part of the step answer's preamble
      } else if (m.type === 'error') {
        this.#waiting?.reject(new Error(`load generator: ${m.message}`));
        this.#waiting = undefined;
      } else if (this.#waiting?.type === m.type) {
        this.#waiting.resolve(m);
        this.#waiting = undefined;
      }
    });
    this.#child.on('exit', (code) => {
      this.#waiting?.reject(new Error(`load generator exited (${code})`));
      this.#waiting = undefined;
    });
  }

  ask<T extends FromGenerator['type']>(
    message: ToGenerator,
    answer: T,
    timeoutMs: number,
  ): Promise<Extract<FromGenerator, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`load generator: no ${answer} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = {
        type: answer,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromGenerator, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((done) => this.#child.once('exit', done));
    this.#child.send({ type: 'exit' } satisfies ToGenerator);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

function verdict(s: GeneratorStep): string[] {
  const failures: string[] = [];
  if (s.errors + s.warmupErrors > 0) failures.push(`${s.errors + s.warmupErrors} errors`);
  if (!(s.latencyMs.p99 <= P99_GOAL_MS)) {
    failures.push(`p99 ${s.latencyMs.p99} ms > ${P99_GOAL_MS} ms`);
  }
  if (s.sent < s.scheduled) failures.push(`sent ${s.sent} of ${s.scheduled}`);
  if (s.sendSlipMs.p99 > MAX_SEND_SLIP_P99_MS) {
    failures.push(`generator slipped (send p99 ${s.sendSlipMs.p99} ms): client-bound, not valid`);
  }
  return failures;
}

/** Why a store cannot run here, or undefined if it can. */
function unavailable(store: StoreName): string | undefined {
  if (store !== 'redis') return undefined;
  if (!existsSync(join(ROOT, 'server/src/store/redis/redis.ts'))) {
    return 'Redis store not implemented yet (server/src/store/redis/redis.ts missing)';
  }
  if (!readFileSync(join(ROOT, 'server/src/config.ts'), 'utf8').includes('TACIT_STORE')) {
    return 'server config does not read TACIT_STORE yet';
  }
  if (!existsSync(REDIS_SERVER)) return `${REDIS_SERVER} not found`;
  return undefined;
}

async function runStore(
  store: StoreName,
  o: Required<Omit<ServerBenchOptions, 'profileDir'>> & { profileDir?: string },
  rawVerifyPerSecond: number,
): Promise<StoreFigures | SkippedStore> {
  const why = unavailable(store);
  if (why) {
    o.log(`[${store}] skipped: ${why}`);
    return { store, skipped: why };
  }
  const dir = mkdtempSync(join(tmpdir(), `tacit-bench-${store}-`));
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const apiKey = randomBytes(24).toString('base64url');
    const env: Record<string, string> = {
      TACIT_API_KEYS: `bench:bank:${apiKey}`,
      TACIT_STORE: store,
    };
    let redis: Redis | undefined;
    if (store === 'redis') {
      redis = await startRedis(dir);
      cleanups.unshift(redis.stop);
      env.TACIT_REDIS_URL = `redis://127.0.0.1:${redis.port}`;
      env.TACIT_REDIS_PREFIX = 'tacit-bench:';
    }
    o.log(`[${store}] starting the server`);
    const server = await startServer(dir, env, o.profileDir);
    cleanups.unshift(server.stop);
    const generator = new Generator(o.log, store);
    cleanups.unshift(() => generator.stop());

    o.log(`[${store}] enrolling ${o.sessions} devices and binding their sessions`);
    const ready = await generator.ask(
      {
        type: 'setup',
        url: server.url,
        apiKey,
        sessions: o.sessions,
        concurrency: o.setupConcurrency,
        connections: o.connections,
      },
      'ready',
      // Generous: ~4 requests per device; a slow shared machine must not fail the setup.
      60_000 + o.sessions * 30,
    );
    o.log(`[${store}] set up ${ready.sessions} sessions in ${(ready.setupMs / 1000).toFixed(1)} s`);
    if (redis) {
      const keys = Number((await redisCommand(redis.port, 'DBSIZE')).slice(1));
      if (!(keys > 0)) {
        const skipped = 'the server wrote nothing to Redis: TACIT_STORE=redis not in effect';
        return { store, skipped };
      }
    }

    const steps: ServerBenchStep[] = [];
    let stoppedBy = 'all rates passed';
    for (const rate of o.rates) {
      const cpu0 = processCpuSeconds(server.pid);
      const total = rate * (o.warmupSeconds + o.stepSeconds);
      const { result } = await generator.ask(
        {
          type: 'step',
          rate,
          warmupSeconds: o.warmupSeconds,
          seconds: o.stepSeconds,
          drainMs: 5_000,
          timeoutMs: 5_000,
        },
        'step',
        // Signing (~50 µs each) + the step + draining, with a wide margin.
        total * 0.3 + (o.warmupSeconds + o.stepSeconds) * 1000 + 30_000,
      );
      const cpu1 = processCpuSeconds(server.pid);
      // The server's CPU over the whole exchange includes the idle signing phase: scale by the
      // step's own wall time (the server does nothing else meanwhile).
      const serverCpu =
        cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / (result.wallMs / 1000), 3);
      const failures = verdict(result);
      const serverCpuUsPerAttestation =
        cpu0 === null || cpu1 === null || result.accepted === 0
          ? null
          : Math.round(((cpu1 - cpu0) * 1e6) / (result.accepted + result.warmupSeconds * rate));
      const step: ServerBenchStep = {
        ...result,
        serverCpu,
        serverCpuUsPerAttestation,
        pass: failures.length === 0,
        failures,
      };
      steps.push(step);
      o.log(
        `[${store}] ${rate}/s: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
          `errors ${result.errors + result.warmupErrors}, send slip p99 ${result.sendSlipMs.p99} ms, ` +
          `cpu server ${serverCpu ?? '?'} (${serverCpuUsPerAttestation ?? '?'} µs/att) ` +
          `client ${result.clientCpu} → ${step.pass ? 'pass' : `FAIL (${failures.join('; ')})`}`,
      );
      if (!step.pass) {
        stoppedBy = `${rate}/s: ${failures.join('; ')}`;
        break;
      }
      await sleep(500);
    }
    const best = steps.filter((s) => s.pass).at(-1);
    const attestationsPerSecond = best?.rate ?? 0;
    return {
      store,
      sessions: ready.sessions,
      attestationsPerSecond,
      p50Ms: best?.latencyMs.p50 ?? null,
      p99Ms: best?.latencyMs.p99 ?? null,
      errors: best ? best.errors + best.warmupErrors : 0,
      rawVerifyPerSecond,
      ratioToRawVerify: round(attestationsPerSecond / rawVerifyPerSecond, 3),
      stoppedBy,
      setupMs: ready.setupMs,
      steps,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runServerBench(options: ServerBenchOptions = {}): Promise<ServerBenchResult> {
  const started = performance.now();
  const o = {
    sessions: options.sessions ?? 10_000,
    stepSeconds: options.stepSeconds ?? 10,
    warmupSeconds: options.warmupSeconds ?? 2,
    rates: options.rates ?? DEFAULT_RATES,
    stores: options.stores ?? [...STORES],
    connections: options.connections ?? 64,
    setupConcurrency: options.setupConcurrency ?? 32,
    verifySeconds: options.verifySeconds ?? 1,
    log: options.log ?? ((line: string) => console.log(line)),
    profileDir: options.profileDir,
  };
  const loadavgStart = loadavg().map((v) => round(v, 2));
  o.log(
    `server bench: ${o.sessions} sessions, rates ${o.rates.join(', ')}/s, ` +
      `${o.warmupSeconds} + ${o.stepSeconds} s per step, stores ${o.stores.join(', ')}`,
  );
  const v0 = performance.now();
  const raw = measureRawVerify(o.verifySeconds);
  const rawVerifyMs = Math.round(performance.now() - v0);
  o.log(`raw ES256 verify (node:crypto, one core): ${raw.perSecond}/s (${raw.runs.join(', ')})`);

  const stores: (StoreFigures | SkippedStore)[] = [];
  const storesMs: Record<string, number> = {};
  for (const store of o.stores) {
    const s0 = performance.now();
    stores.push(await runStore(store, o, raw.perSecond));
    storesMs[store] = Math.round(performance.now() - s0);
  }
  const { log: _log, profileDir: _profileDir, ...recorded } = o;
  return {
    bench: 'server',
    run: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadavgStart,
      loadavgEnd: loadavg().map((v) => round(v, 2)),
      options: recorded,
      goal: { p99Ms: P99_GOAL_MS, maxSendSlipP99Ms: MAX_SEND_SLIP_P99_MS },
      durations: { totalMs: Math.round(performance.now() - started), rawVerifyMs, storesMs },
    },
    rawVerifyPerSecond: raw.perSecond,
    rawVerifyRuns: raw.runs,
    stores,
  };
}

export function printServer(r: ServerBenchResult): void {
  printTable(
    `server: highest arrival rate with p99 ≤ ${P99_GOAL_MS} ms and no errors ` +
      `(raw ES256 verify ${r.rawVerifyPerSecond}/s on one core)`,
    ['store', 'sessions', 'att/s', 'p50 ms', 'p99 ms', 'errors', 'ratio to raw', 'stopped by'],
    r.stores.map((s) =>
      isSkipped(s)
        ? [s.store, '-', '-', '-', '-', '-', '-', `skipped: ${s.skipped}`]
        : [
            s.store,
            s.sessions,
            s.attestationsPerSecond,
            s.p50Ms ?? '-',
            s.p99Ms ?? '-',
            s.errors,
            s.ratioToRawVerify,
            s.stoppedBy,
          ],
    ),
  );
  for (const s of r.stores) {
    if (isSkipped(s)) continue;
    printTable(
      `${s.store}: every step (latency from the scheduled send time)`,
      [
        ...['rate/s', 'accepted/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'send slip p99 ms'],
        ...['cpu server', 'server µs/att', 'cpu client', 'pass'],
      ],
      s.steps.map((t) => [
        t.rate,
        t.acceptedPerSecond,
        t.latencyMs.p50,
        t.latencyMs.p99,
        t.latencyMs.max,
        t.errors + t.warmupErrors,
        t.sendSlipMs.p99,
        t.serverCpu ?? '-',
        t.serverCpuUsPerAttestation ?? '-',
        t.clientCpu,
        t.pass ? 'yes' : 'no',
      ]),
    );
  }
  const { run } = r;
  console.log(
    `\nrun: ${run.date}, Node ${run.node}, ${run.cpus} × ${run.cpuModel}, load average ` +
      `${run.loadavgStart.join(' ')} → ${run.loadavgEnd.join(' ')}, ` +
      `${(run.durations.totalMs / 1000).toFixed(0)} s`,
  );
}
