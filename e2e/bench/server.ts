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
import { mainThreadProfile, stageTimes, type Stage } from './profile-stages';
import type { FromGenerator, GeneratorStep, ToGenerator } from './server-protocol';

export const STORES = ['sqlite', 'redis'] as const;
export type StoreName = (typeof STORES)[number];

/**
 * The step search (when no `rates` are given): start at {@link START_RATE}, double while steps
 * pass, halve (down to {@link MIN_RATE}) while the first ones fail, then bisect
 * {@link REFINE_STEPS} times between the last passing and the first failing rate. Starting low
 * and refining finds the sustained rate on a slow or busy machine too, never a 0 from a first
 * step set too high.
 */
export const START_RATE = 250;
export const MIN_RATE = 10;
export const MAX_RATE = 64_000;
export const REFINE_STEPS = 3;
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
  /** Arrival rates to step through, ascending, stopping at the first failure. Default: the step search. */
  rates?: number[] | null;
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
  /** Server CPU µs per attestation by stage (see {@link StageCpu}). */
  cpuUsPerAttestationByStage: StageCpu | null;
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

/**
 * Where the server's CPU per attestation goes, µs, from /proc per thread (Linux): `mainThread`
 * is the event loop (HTTP parsing, Hono, routes, services, body and claims validation, the
 * store's client side); `otherThreads` the rest of the server process (signature checks in the
 * libuv pool, the SQLite writer thread, V8's GC and compiler threads); `redisServer` the Redis
 * process running the Redis store's scripts (Redis leg only).
 */
export interface StageCpu {
  mainThread: number;
  otherThreads: number;
  redisServer?: number;
  total: number;
  /**
   * With `--profile` only: the event loop's busy time per attestation, µs, by stage (HTTP,
   * framework, middleware, validation, signature check, services, audit, store, GC), from the
   * server's V8 profile over the step (see profile-stages.ts). Wall time of the busy loop, so a
   * native call that waits (for a lock, a syscall) counts where it waits.
   */
  eventLoop?: Record<Stage, number>;
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
  /** The reference handler's sustained rate in the same run (null if it did not run). */
  referencePerSecond: number | null;
  /** attestationsPerSecond ÷ referencePerSecond. */
  ratioToReference: number | null;
  /** Server CPU per attestation by stage at the best passing step. */
  cpuUsPerAttestationByStage: StageCpu | null;
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
    options: Required<Omit<ServerBenchOptions, 'log' | 'profileDir' | 'rates'>> & {
      rates: number[] | null;
    };
    goal: { p99Ms: number; maxSendSlipP99Ms: number };
    durations: { totalMs: number; rawVerifyMs: number; storesMs: Record<string, number> };
  };
  rawVerifyPerSecond: number;
  rawVerifyRuns: number[];
  /** The reference handler (`server-reference.ts`), run after the SQLite leg on its devices. */
  reference: ReferenceFigures | null;
  stores: (StoreFigures | SkippedStore)[];
}

export interface ReferenceFigures {
  attestationsPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  ratioToRawVerify: number;
  stoppedBy: string;
  steps: ServerBenchStep[];
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

/** A free loopback port (used by the proof suite too). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends one RESP command (inline form) and returns the first reply line. */
export function redisCommand(port: number, command: string): Promise<string> {
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

/** Stops a child: `signal` (SIGTERM), then SIGKILL after `graceMs`. */
async function stopChild(
  child: ChildProcess,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A redis-server started by {@link startRedis}. */
export interface Redis {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts redis-server with its data (AOF, fsync always) in `dir`, on `port` (default a free
 * one): the proof suite restarts one on the same port and data.
 */
export async function startRedis(dir: string, port?: number): Promise<Redis> {
  port ??= await freePort();
  const logFd = openSync(join(dir, 'redis.log'), 'a');
  // AOF with fsync every second: Redis's usual durable setting. No RDB snapshots.
  const child = spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--protected-mode',
      'yes',
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
  return { port, pid: child.pid!, stop: () => stopChild(child) };
}

/** A server process started by {@link startServer}. */
export interface Server {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
  /** SIGKILL (kill -9), then waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `server/src/main.ts` (production mode, rate limits off, its database `dir/tacit.db`
 * unless `env` says otherwise) and resolves once `/healthz` answers.
 */
export async function startServer(
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
  return {
    url,
    pid: child.pid!,
    logFile,
    stop: () => stopChild(child),
    kill: () => stopChild(child, 0, 'SIGKILL'),
  };
}

/** CPU seconds of a process's main thread, from /proc (Linux). */
function mainThreadCpuSeconds(pid: number): number | null {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(path: string): number | null {
  try {
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ = 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
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
export class Generator {
  readonly #child: ChildProcess;
  #waiting:
    | {
        type: FromGenerator['type'];
        resolve: (m: FromGenerator) => void;
        reject: (e: Error) => void;
      }
    | undefined;

  constructor(
    readonly log: (line: string) => void,
    label: string,
    /** Called when a step's attestations are signed and its timed part begins. */
    onPresigned?: () => void,
  ) {
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
        onPresigned?.();
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

/** Why a step does not count as sustained (empty: it passed). */
export function verdict(s: GeneratorStep): string[] {
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

/** The time window (µs, hrtime) and attestations handled of each step, for profiles. */
const profiledWindows = new WeakMap<
  ServerBenchStep,
  { from: number; to: number; handled: number }
>();

/**
 * With `--profile`: the event loop's busy time per attestation by stage, for every step of a
 * server that has exited (its profile is written at exit).
 */
function addEventLoopStages(
  dir: string | undefined,
  pid: number,
  steps: ServerBenchStep[],
  log: (line: string) => void,
  label: string,
): void {
  if (dir === undefined) return;
  const profile = mainThreadProfile(dir, pid);
  if (!profile) return;
  for (const step of steps) {
    const w = profiledWindows.get(step);
    if (!w || !step.cpuUsPerAttestationByStage) continue;
    const times = stageTimes(profile, w.from, w.to);
    step.cpuUsPerAttestationByStage.eventLoop = Object.fromEntries(
      Object.entries(times).map(([k, us]) => [k, Math.round(us / w.handled)]),
    ) as Record<Stage, number>;
    log(
      `[${label}] ${step.rate}/s: event loop µs/att by stage ` +
        JSON.stringify(step.cpuUsPerAttestationByStage.eventLoop),
    );
  }
}

/** Why a store cannot run here, or undefined if it can. */
function unavailable(store: StoreName): string | undefined {
  if (store !== 'redis') return undefined;
  if (!existsSync(REDIS_SERVER)) return `${REDIS_SERVER} not found`;
  return undefined;
}

type Options = Required<Omit<ServerBenchOptions, 'profileDir' | 'rates'>> & {
  rates: number[] | null;
  profileDir?: string;
};

/** The processes whose CPU is the server's: the server itself and, on Redis, redis-server. */
interface Measured {
  pid: number;
  redisPid?: number;
}

/** Runs one step at `rate` against whatever the generator targets and judges it. */
async function runStep(
  generator: Generator,
  rate: number,
  o: Options,
  measured: Measured,
  label: string,
): Promise<ServerBenchStep> {
  const hr0 = Number(process.hrtime.bigint() / 1000n);
  const cpu0 = processCpuSeconds(measured.pid);
  const main0 = mainThreadCpuSeconds(measured.pid);
  const redis0 = measured.redisPid === undefined ? null : processCpuSeconds(measured.redisPid);
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
  const hr1 = Number(process.hrtime.bigint() / 1000n);
  const cpu1 = processCpuSeconds(measured.pid);
  const main1 = mainThreadCpuSeconds(measured.pid);
  const redis1 = measured.redisPid === undefined ? null : processCpuSeconds(measured.redisPid);
  // The server's CPU over the whole exchange includes the idle signing phase: scale by the
  // step's own wall time (the server does nothing else meanwhile).
  const serverCpu =
    cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / (result.wallMs / 1000), 3);
  const failures = verdict(result);
  // Accepted in the measured part plus (about) those of the warm-up.
  const handled = result.accepted + result.warmupSeconds * rate;
  const perAtt = (seconds: number) => Math.round((seconds * 1e6) / handled);
  const serverCpuUsPerAttestation =
    cpu0 === null || cpu1 === null || result.accepted === 0 ? null : perAtt(cpu1 - cpu0);
  let byStage: StageCpu | null = null;
  if (serverCpuUsPerAttestation !== null && main0 !== null && main1 !== null) {
    const mainThread = perAtt(main1 - main0);
    const otherThreads = perAtt(cpu1! - cpu0! - (main1 - main0));
    byStage = { mainThread, otherThreads, total: mainThread + otherThreads };
    if (redis0 !== null && redis1 !== null) {
      byStage.redisServer = perAtt(redis1 - redis0);
      byStage.total += byStage.redisServer;
    }
  }
  const step: ServerBenchStep = {
    ...result,
    serverCpu,
    serverCpuUsPerAttestation,
    cpuUsPerAttestationByStage: byStage,
    pass: failures.length === 0,
    failures,
  };
  if (byStage) profiledWindows.set(step, { from: hr0, to: hr1, handled });
  o.log(
    `[${label}] ${rate}/s: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ` +
      `errors ${result.errors + result.warmupErrors}, send slip p99 ${result.sendSlipMs.p99} ms, ` +
      `cpu server ${serverCpu ?? '?'} (${serverCpuUsPerAttestation ?? '?'} µs/att: ` +
      `${byStage ? JSON.stringify(byStage) : '?'}) client ${result.clientCpu}, ` +
      `${result.liveSessions} sessions → ${step.pass ? 'pass' : `FAIL (${failures.join('; ')})`}`,
  );
  await sleep(500);
  return step;
}

/** A rate rounded to a granularity that keeps step labels readable. */
function niceRate(rate: number): number {
  const grain = rate < 100 ? 5 : rate < 1000 ? 10 : 50;
  return Math.max(MIN_RATE, Math.round(rate / grain) * grain);
}

/**
 * The steps: the given rates (stopping at the first failure), or the step search of
 * {@link START_RATE}. Returns every step and what ended the search.
 */
export async function searchRates(
  rates: number[] | null,
  step: (rate: number) => Promise<ServerBenchStep>,
): Promise<{ steps: ServerBenchStep[]; stoppedBy: string }> {
  const steps: ServerBenchStep[] = [];
  const run = async (rate: number) => {
    const s = await step(rate);
    steps.push(s);
    return s;
  };
  if (rates) {
    for (const rate of rates) {
      const s = await run(rate);
      if (!s.pass) return { steps, stoppedBy: `${rate}/s: ${s.failures.join('; ')}` };
    }
    return { steps, stoppedBy: 'all rates passed' };
  }
  let pass = 0;
  let fail: ServerBenchStep | undefined;
  for (let rate = START_RATE; rate <= MAX_RATE; rate *= 2) {
    const s = await run(rate);
    if (!s.pass) {
      fail = s;
      break;
    }
    pass = rate;
  }
  if (pass === 0) {
    for (let rate = niceRate(START_RATE / 2); ; rate = niceRate(rate / 2)) {
      const s = await run(rate);
      if (s.pass) {
        pass = rate;
        break;
      }
      fail = s;
      if (rate <= MIN_RATE) break;
    }
  }
  for (let i = 0; i < REFINE_STEPS && pass > 0 && fail; i++) {
    const mid = niceRate((pass + fail.rate) / 2);
    if (mid <= pass || mid >= fail.rate) break;
    const s = await run(mid);
    if (s.pass) pass = mid;
    else fail = s;
  }
  if (!fail) return { steps, stoppedBy: `all rates up to ${MAX_RATE}/s passed` };
  return { steps, stoppedBy: `${fail.rate}/s: ${fail.failures.join('; ')}` };
}

/** The best passing step's figures. */
function best(steps: ServerBenchStep[]) {
  const b = steps
    .filter((s) => s.pass)
    .sort((x, y) => x.rate - y.rate)
    .at(-1);
  return {
    attestationsPerSecond: b?.rate ?? 0,
    p50Ms: b?.latencyMs.p50 ?? null,
    p99Ms: b?.latencyMs.p99 ?? null,
    errors: b ? b.errors + b.warmupErrors : 0,
    cpuUsPerAttestationByStage: b?.cpuUsPerAttestationByStage ?? null,
  };
}

/** Starts the reference handler on the SQLite leg's database. */
async function startReference(dir: string): Promise<Server> {
  const port = await freePort();
  const logFile = join(dir, 'reference.log');
  const logFd = openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'server-reference.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        REF_PORT: String(port),
        REF_STATE_DB: join(dir, 'tacit.db'),
        REF_DB: join(dir, 'reference.db'),
      },
      stdio: ['ignore', logFd, logFd],
    },
  );
  closeSync(logFd);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`reference exited early:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`reference did not start (log: ${logFile})`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid!,
    logFile,
    stop: () => stopChild(child),
    kill: () => stopChild(child, 0, 'SIGKILL'),
  };
}

async function runStore(
  store: StoreName,
  o: Options,
  rawVerifyPerSecond: number,
  withReference: boolean,
): Promise<{ figures: StoreFigures | SkippedStore; reference: ReferenceFigures | null }> {
  const why = unavailable(store);
  if (why) {
    o.log(`[${store}] skipped: ${why}`);
    return { figures: { store, skipped: why }, reference: null };
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
        return { figures: { store, skipped }, reference: null };
      }
    }

    const measured: Measured = { pid: server.pid, redisPid: redis?.pid };
    const { steps, stoppedBy } = await searchRates(o.rates, (rate) =>
      runStep(generator, rate, o, measured, store),
    );
    if (!withReference && o.profileDir !== undefined) {
      // The profile is written when the server exits (the SQLite leg stops it for the reference).
      await server.stop();
      addEventLoopStages(o.profileDir, server.pid, steps, o.log, store);
    }
    const b = best(steps);
    const figures: StoreFigures = {
      store,
      sessions: ready.sessions,
      attestationsPerSecond: b.attestationsPerSecond,
      p50Ms: b.p50Ms,
      p99Ms: b.p99Ms,
      errors: b.errors,
      rawVerifyPerSecond,
      ratioToRawVerify: round(b.attestationsPerSecond / rawVerifyPerSecond, 3),
      referencePerSecond: null,
      ratioToReference: null,
      cpuUsPerAttestationByStage: b.cpuUsPerAttestationByStage,
      stoppedBy,
      setupMs: ready.setupMs,
      steps,
    };
    let reference: ReferenceFigures | null = null;
    if (withReference) {
      // Same devices and chains, same generator, the server stopped (its database closed).
      await server.stop();
      addEventLoopStages(o.profileDir, server.pid, steps, o.log, store);
      o.log('[reference] starting the reference handler on the SQLite leg’s database');
      const ref = await startReference(dir);
      cleanups.unshift(ref.stop);
      await generator.ask({ type: 'target', url: ref.url }, 'targeted', 10_000);
      const r = await searchRates(o.rates, (rate) =>
        runStep(generator, rate, o, { pid: ref.pid }, 'reference'),
      );
      const rb = best(r.steps);
      reference = {
        attestationsPerSecond: rb.attestationsPerSecond,
        p50Ms: rb.p50Ms,
        p99Ms: rb.p99Ms,
        ratioToRawVerify: round(rb.attestationsPerSecond / rawVerifyPerSecond, 3),
        stoppedBy: r.stoppedBy,
        steps: r.steps,
      };
    }
    return { figures, reference };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runServerBench(options: ServerBenchOptions = {}): Promise<ServerBenchResult> {
  const started = performance.now();
  const o: Options = {
    sessions: options.sessions ?? 10_000,
    stepSeconds: options.stepSeconds ?? 10,
    warmupSeconds: options.warmupSeconds ?? 2,
    rates: options.rates ?? null,
    stores: options.stores ?? [...STORES],
    connections: options.connections ?? 64,
    setupConcurrency: options.setupConcurrency ?? 32,
    verifySeconds: options.verifySeconds ?? 1,
    log: options.log ?? ((line: string) => console.log(line)),
    profileDir: options.profileDir,
  };
  const loadavgStart = loadavg().map((v) => round(v, 2));
  o.log(
    `server bench: ${o.sessions} sessions, rates ${o.rates ? o.rates.join(', ') + '/s' : `searched from ${START_RATE}/s`}, ` +
      `${o.warmupSeconds} + ${o.stepSeconds} s per step, stores ${o.stores.join(', ')}`,
  );
  const v0 = performance.now();
  const raw = measureRawVerify(o.verifySeconds);
  const rawVerifyMs = Math.round(performance.now() - v0);
  o.log(`raw ES256 verify (node:crypto, one core): ${raw.perSecond}/s (${raw.runs.join(', ')})`);

  const stores: (StoreFigures | SkippedStore)[] = [];
  const storesMs: Record<string, number> = {};
  let reference: ReferenceFigures | null = null;
  for (const store of o.stores) {
    const s0 = performance.now();
    const r = await runStore(store, o, raw.perSecond, store === 'sqlite');
    stores.push(r.figures);
    reference ??= r.reference;
    storesMs[store] = Math.round(performance.now() - s0);
  }
  for (const s of stores) {
    if (isSkipped(s) || !reference) continue;
    s.referencePerSecond = reference.attestationsPerSecond;
    s.ratioToReference =
      reference.attestationsPerSecond > 0
        ? round(s.attestationsPerSecond / reference.attestationsPerSecond, 3)
        : null;
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
    reference,
    stores,
  };
}

export function printServer(r: ServerBenchResult): void {
  printTable(
    `server: highest arrival rate with p99 ≤ ${P99_GOAL_MS} ms and no errors ` +
      `(raw ES256 verify ${r.rawVerifyPerSecond}/s on one core)`,
    [
      ...['store', 'sessions', 'att/s', 'p50 ms', 'p99 ms', 'errors', 'ratio to raw'],
      ...['ratio to ref', 'µs/att main', 'µs/att other', 'µs/att redis', 'stopped by'],
    ],
    [
      ...r.stores.map((s) =>
        isSkipped(s)
          ? [s.store, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', `skipped: ${s.skipped}`]
          : [
              s.store,
              s.sessions,
              s.attestationsPerSecond,
              s.p50Ms ?? '-',
              s.p99Ms ?? '-',
              s.errors,
              s.ratioToRawVerify,
              s.ratioToReference ?? '-',
              s.cpuUsPerAttestationByStage?.mainThread ?? '-',
              s.cpuUsPerAttestationByStage?.otherThreads ?? '-',
              s.cpuUsPerAttestationByStage?.redisServer ?? '-',
              s.stoppedBy,
            ],
      ),
      ...(r.reference
        ? [
            [
              'reference',
              '-',
              r.reference.attestationsPerSecond,
              r.reference.p50Ms ?? '-',
              r.reference.p99Ms ?? '-',
              0,
              r.reference.ratioToRawVerify,
              1,
              '-',
              '-',
              '-',
              r.reference.stoppedBy,
            ],
          ]
        : []),
    ],
  );
  const legs = [
    ...r.stores.filter((s): s is StoreFigures => !isSkipped(s)),
    ...(r.reference ? [{ store: 'reference', steps: r.reference.steps }] : []),
  ];
  for (const s of legs) {
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
