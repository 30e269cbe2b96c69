/**
 * The proof suite's faults, on real processes: a server (`server/src/main.ts`) under the server
 * bench's open-loop load (its generator, `../bench/server-load.ts`, recording which
 * attestations were answered 202), and one fault injected while attestations flow:
 *
 * - **Redis killed** (`kill -9`, restarted on the same port and AOF after a while) and, in the
 *   full run, **Redis paused** (`SIGSTOP` past the store's 5 s command timeout, then `SIGCONT`):
 *   the server must refuse (503 `ERR_STORE_UNAVAILABLE`, fail closed: no attestation accepted
 *   and no token granted without the replay state) and recover by itself;
 * - **kill -9 of the server on SQLite**: restarted on the same file;
 * - **disk full**: SQLite on a small tmpfs filled up during the load (503 `ERR_STORAGE_FULL`),
 *   then freed.
 *
 * Each row: attestations acknowledged (202) before and during the fault, and how many of them
 * the store holds afterwards (an `attestation.accepted` audit record with their session and
 * `seq`, and the session's `lastSeq` at or past it); the audit chain is verified through
 * `GET /v1/audit/verify`; recovery is shown by fresh devices enrolling, binding and attesting
 * on the same server process after the fault. The extension's fault (service worker and
 * offscreen document stopped during enrolment) is `e2e/faults.spec.ts`, run by
 * {@link runExtensionFault}.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRedisStore } from '../../server/src/store/redis/redis';
import { openSqliteStore } from '../../server/src/store/sqlite/sqlite';
import type { Store } from '../../server/src/store/store';
import {
  Generator,
  sleep,
  startRedis,
  startServer,
  type Redis,
  type Server,
} from '../bench/server';
import type { GeneratorStep } from '../bench/server-protocol';
import { ROOT } from '../support/server';
import type { FaultReport } from './report';

/** Sizes of one fault run. */
export interface FaultSize {
  /** Sessions under load (one enrolled device each). */
  sessions: number;
  /** Attestations/s (open loop, round-robin over the sessions). */
  rate: number;
  /** Load before the fault, s. */
  beforeS: number;
  /** How long the fault lasts, s. */
  faultS: number;
  /** Load after the fault ends, s. */
  afterS: number;
  /** Also pause Redis past the command timeout (takes > 5 s). */
  pauseRedis: boolean;
}

export const FAULT_SIZES: Record<'ci' | 'full', FaultSize> = {
  ci: { sessions: 8, rate: 24, beforeS: 1, faultS: 1, afterS: 0.5, pauseRedis: false },
  full: { sessions: 200, rate: 200, beforeS: 5, faultS: 7, afterS: 5, pauseRedis: true },
};

const REDIS_PREFIX = 'tacit-proof:';

type Log = (line: string) => void;

/** A fault's row with what the CI test checks besides the counts (also in the JSON). */
export interface FaultRow extends FaultReport {
  /** Non-202 answers under load by `ERR_*` code, status or transport error. */
  answers?: Record<string, number>;
  /** What a request during the fault was answered (`503 ERR_…`). */
  duringFault?: string;
  /** Fresh devices enrolled, bound and attested on the same server after the fault, no error. */
  recovered?: boolean;
  /** `GET /v1/audit/verify` after the fault. */
  auditOk?: boolean;
  /** The server process outlived the fault (not for kill -9, which is the fault). */
  serverStayedUp?: boolean;
}

/** One server-side fault's context: its directory, API keys, processes to clean up. */
class Rig {
  readonly dir = mkdtempSync(join(tmpdir(), 'tacit-proof-faults-'));
  readonly bankKey = randomBytes(24).toString('base64url');
  readonly auditorKey = randomBytes(24).toString('base64url');
  readonly #cleanups: (() => Promise<void> | void)[] = [];
  #prefix = 0;

  constructor(
    readonly log: Log,
    readonly shared: Generator,
  ) {}

  env(extra: Record<string, string>): Record<string, string> {
    return {
      TACIT_API_KEYS: `proof:bank:${this.bankKey},siem:auditor:${this.auditorKey}`,
      ...extra,
    };
  }

  cleanup(fn: () => Promise<void> | void): void {
    this.#cleanups.unshift(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.#cleanups) await Promise.resolve(fn()).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  async server(env: Record<string, string>): Promise<Server> {
    const server = await startServer(this.dir, this.env(env));
    this.cleanup(() => server.stop());
    return server;
  }

  /** The load generator (one process for all the faults of a run). */
  generator(): Generator {
    return this.shared;
  }

  /** Enrolls `sessions` new devices (new subjects each time) and binds one session each. */
  async setup(g: Generator, server: Server, sessions: number): Promise<void> {
    await g.ask(
      {
        type: 'setup',
        url: server.url,
        apiKey: this.bankKey,
        sessions,
        concurrency: 8,
        connections: 16,
        subjectPrefix: `proof-${this.#prefix++}-`,
      },
      'ready',
      60_000 + sessions * 100,
    );
  }

  /** Runs a recorded step of `seconds` at `rate`; `during` runs meanwhile (the fault). */
  async load(
    g: Generator,
    rate: number,
    seconds: number,
    during: () => Promise<void> = async () => {},
  ): Promise<GeneratorStep> {
    const step = g.ask(
      {
        type: 'step',
        rate,
        warmupSeconds: 0,
        seconds,
        drainMs: 15_000,
        timeoutMs: 12_000,
        recordAcks: true,
      },
      'step',
      seconds * 1000 + 120_000,
    );
    const [answer] = await Promise.all([step, during()]);
    return answer.result;
  }

  /** `GET /v1/audit/verify` as the auditor. */
  async verifyAudit(server: Server): Promise<{ ok: boolean; records: number }> {
    const res = await fetch(`${server.url}/v1/audit/verify`, {
      headers: { authorization: `Bearer ${this.auditorKey}` },
    });
    if (!res.ok) throw new Error(`audit verify: HTTP ${res.status}`);
    return (await res.json()) as { ok: boolean; records: number };
  }

  /** Polls `/readyz` until it answers 200; the milliseconds it took. */
  async untilReady(server: Server, timeoutMs = 30_000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const ok = await fetch(`${server.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return Date.now() - t0;
      if (Date.now() - t0 > timeoutMs) throw new Error('server not ready again');
      await sleep(50);
    }
  }

  /** Fresh devices on the same server process: enrolment, binding and a short load, all OK. */
  async recovery(
    g: Generator,
    server: Server,
    size: FaultSize,
  ): Promise<{ text: string; recovered: boolean }> {
    const sessions = Math.max(4, Math.round(size.sessions / 4));
    await this.setup(g, server, sessions);
    const after = await this.load(g, size.rate / 2, Math.max(1, size.afterS));
    const errors = after.errors + after.warmupErrors;
    return {
      recovered: errors === 0 && after.accepted === after.scheduled && after.accepted > 0,
      text:
        `fresh sessions after: ${after.accepted}/${after.scheduled} accepted` +
        (errors ? `, ${errors} errors ${JSON.stringify(after.errorsByKind)}` : ''),
    };
  }
}

/**
 * How many of `acked` the store holds: an `attestation.accepted` audit record with that session
 * and `seq`, and the session's `lastSeq` at or past it.
 */
export async function countFound(
  store: Store,
  acked: readonly { sid: string; seq: number }[],
): Promise<number> {
  const audited = new Set<string>();
  for (let after = 0; ;) {
    const page = await store.listAudit(after, 1000);
    if (page.length === 0) break;
    for (const r of page) {
      if (r.type === 'attestation.accepted')
        audited.add(`${String(r.data.sid)}:${String(r.data.seq)}`);
    }
    after = page.at(-1)!.seq;
  }
  const lastSeq = new Map<string, number>();
  let found = 0;
  for (const { sid, seq } of acked) {
    if (!lastSeq.has(sid)) lastSeq.set(sid, (await store.getSession(sid))?.lastSeq ?? 0);
    if (audited.has(`${sid}:${seq}`) && lastSeq.get(sid)! >= seq) found += 1;
  }
  return found;
}

/** {@link countFound} in a store opened for the count alone, closed whatever happens. */
async function countFoundIn(
  open: () => Store | Promise<Store>,
  acked: readonly { sid: string; seq: number }[],
): Promise<number> {
  const store = await open();
  try {
    return await countFound(store, acked);
  } finally {
    await store.close();
  }
}

/** `{"ERR_X": n, …}` of a step, warm-up included, as `ERR_X ×n`. */
function kinds(step: GeneratorStep): string {
  const entries = Object.entries(step.errorsByKind);
  return entries.length === 0 ? 'no errors' : entries.map(([k, n]) => `${k} ×${n}`).join(', ');
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Redis stopped (killed, or paused) under load; the server on it answers 503 and recovers. */
async function redisFault(rig: Rig, size: FaultSize, how: 'killed' | 'paused'): Promise<FaultRow> {
  const name = how === 'killed' ? 'Redis kill -9 under load' : 'Redis paused (SIGSTOP) under load';
  const redisDir = join(rig.dir, `redis-${how}`);
  mkdirSync(redisDir);
  let redis: Redis = await startRedis(redisDir);
  rig.cleanup(() => redis.stop());
  const url = `redis://127.0.0.1:${redis.port}`;
  const server = await rig.server({
    TACIT_STORE: 'redis',
    TACIT_REDIS_URL: url,
    TACIT_REDIS_PREFIX: REDIS_PREFIX,
  });
  const g = rig.generator();
  await rig.setup(g, server, size.sessions);
  let outageStatuses = '';
  let readyMs = 0;
  const step = await rig.load(g, size.rate, size.beforeS + size.faultS + size.afterS, async () => {
    await sleep(size.beforeS * 1000);
    rig.log(`[faults] Redis ${how}`);
    if (how === 'killed') {
      process.kill(redis.pid, 'SIGKILL');
      await sleep(size.faultS * 1000);
      outageStatuses = await probeToken(rig, server);
      redis = await startRedis(redisDir, redis.port);
    } else {
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(size.faultS * 1000);
      outageStatuses = await probeToken(rig, server);
      process.kill(redis.pid, 'SIGCONT');
    }
    rig.log(`[faults] Redis back`);
    readyMs = await rig.untilReady(server);
  });
  const acked = step.acknowledged ?? [];
  const audit = await rig.verifyAudit(server);
  const recovery = await rig.recovery(g, server, size);
  const found = await countFoundIn(() => openRedisStore({ url, prefix: REDIS_PREFIX }), acked);
  return {
    name,
    acknowledged: acked.length,
    found,
    detail:
      `${how === 'killed' ? 'killed' : 'paused'} ${size.faultS} s; answers: ${kinds(step)}; ` +
      `token during outage: ${outageStatuses}; ready ${readyMs} ms after Redis returned ` +
      `(same process, ${alive(server.pid) ? 'never restarted' : 'EXITED'}); ${recovery.text}; ` +
      `audit chain ${audit.ok ? 'verifies' : 'BROKEN'} (${audit.records} records)`,
    answers: step.errorsByKind,
    duringFault: outageStatuses,
    recovered: recovery.recovered,
    auditOk: audit.ok,
    serverStayedUp: alive(server.pid),
  };
}

/**
 * What the server answers a bank asking for a session token while the store is down (the
 * assurance a bank would act on): expected 503 ERR_STORE_UNAVAILABLE. A random session id: the
 * lookup itself needs the store.
 */
async function probeToken(rig: Rig, server: Server): Promise<string> {
  const sid = randomBytes(32).toString('base64url');
  const res = await fetch(`${server.url}/v1/sessions/${sid}/token`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rig.bankKey}` },
    signal: AbortSignal.timeout(15_000),
  }).catch((err: Error) => err);
  if (res instanceof Error) return res.name;
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return `${res.status} ${body.error?.code ?? ''}`.trim();
}

/** kill -9 of a server on SQLite under load; restarted on the same file. */
async function sqliteKill(rig: Rig, size: FaultSize): Promise<FaultRow> {
  const dbPath = join(rig.dir, 'kill', 'tacit.db');
  const server = await rig.server({ TACIT_DB: dbPath });
  const g = rig.generator();
  await rig.setup(g, server, size.sessions);
  const step = await rig.load(g, size.rate, size.beforeS + size.faultS, async () => {
    await sleep(size.beforeS * 1000);
    rig.log('[faults] kill -9 of the server');
    await server.kill();
  });
  const acked = step.acknowledged ?? [];
  const restarted = await rig.server({ TACIT_DB: dbPath });
  await g.ask({ type: 'target', url: restarted.url }, 'targeted', 10_000);
  const audit = await rig.verifyAudit(restarted);
  const recovery = await rig.recovery(g, restarted, size);
  await restarted.stop();
  const found = await countFoundIn(() => openSqliteStore(dbPath), acked);
  return {
    name: 'server kill -9 under load (SQLite)',
    acknowledged: acked.length,
    found,
    detail:
      `killed after ${size.beforeS} s; answers: ${kinds(step)}; restarted on the same file; ` +
      `${recovery.text}; audit chain ${audit.ok ? 'verifies' : 'BROKEN'} (${audit.records} records)`,
    answers: step.errorsByKind,
    recovered: recovery.recovered,
    auditOk: audit.ok,
  };
}

/** Mounts a tmpfs of `sizeMb` at `dir`; the reason when it cannot (not root, no mount). */
async function mountTmpfs(dir: string, sizeMb: number): Promise<string | undefined> {
  mkdirSync(dir, { recursive: true });
  const rc = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ code: -1, err: e.message }));
    child.on('exit', (code) => resolve({ code, err }));
  });
  return rc.code === 0 ? undefined : `cannot mount a tmpfs (${rc.err.trim() || `exit ${rc.code}`})`;
}

function umount(dir: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('umount', [dir], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('exit', () => resolve());
  });
}

/** Writes zeros into `file` until the file system is full; the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        written += writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // The last partial block: fill it byte-wise so not one is left.
        try {
          for (;;) written += writeSync(fd, chunk, 0, 512);
        } catch {
          // full
        }
        return written;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** SQLite on a small tmpfs filled up under load, then freed. */
async function diskFull(rig: Rig, size: FaultSize): Promise<FaultRow> {
  const name = 'disk full under load (SQLite on tmpfs)';
  const disk = join(rig.dir, 'disk');
  const why = await mountTmpfs(disk, 64);
  if (why) return { name, acknowledged: 0, found: 0, detail: `skipped: ${why}` };
  rig.cleanup(() => umount(disk));
  const dbPath = join(disk, 'tacit.db');
  const filler = join(disk, 'filler');
  const server = await rig.server({ TACIT_DB: dbPath });
  const g = rig.generator();
  await rig.setup(g, server, size.sessions);
  let filled = 0;
  let statuses = '';
  const step = await rig.load(g, size.rate, size.beforeS + size.faultS + size.afterS, async () => {
    await sleep(size.beforeS * 1000);
    rig.log('[faults] filling the disk');
    filled = fill(filler);
    await sleep(size.faultS * 1000);
    statuses = await probeEnroll(rig, server);
    unlinkSync(filler);
    rig.log('[faults] disk freed');
  });
  const acked = step.acknowledged ?? [];
  const stillUp = alive(server.pid);
  const audit = await rig.verifyAudit(server);
  const recovery = await rig.recovery(g, server, size);
  await server.stop();
  const found = await countFoundIn(() => openSqliteStore(dbPath), acked);
  return {
    name,
    acknowledged: acked.length,
    found,
    detail:
      `64 MB tmpfs, ${(filled / 2 ** 20).toFixed(1)} MB filler for ${size.faultS} s; answers: ` +
      `${kinds(step)}; enrolment code while full: ${statuses}; server ${stillUp ? 'stayed up' : 'EXITED'}; ` +
      `${recovery.text}; audit chain ${audit.ok ? 'verifies' : 'BROKEN'} (${audit.records} records)`,
    answers: step.errorsByKind,
    duringFault: statuses,
    recovered: recovery.recovered,
    auditOk: audit.ok,
    serverStayedUp: stillUp,
  };
}

/** A write that needs new pages while the disk is full: an enrolment code. */
async function probeEnroll(rig: Rig, server: Server): Promise<string> {
  const res = await fetch(`${server.url}/v1/enrollment-codes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rig.bankKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: `probe-${randomBytes(4).toString('hex')}` }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return `${res.status} ${body.error?.code ?? ''}`.trim();
}

/** The server-side faults (Redis, kill -9, disk full), each on its own processes. */
export async function runServerFaults(
  sizeName: 'ci' | 'full',
  log: Log = console.log,
): Promise<FaultRow[]> {
  const size = FAULT_SIZES[sizeName];
  const rows: FaultRow[] = [];
  const faults: ((rig: Rig) => Promise<FaultRow>)[] = [
    (rig) => redisFault(rig, size, 'killed'),
    ...(size.pauseRedis ? [(rig: Rig) => redisFault(rig, size, 'paused')] : []),
    (rig) => sqliteKill(rig, size),
    (rig) => diskFull(rig, size),
  ];
  const generator = new Generator(log, 'faults');
  try {
    for (const fault of faults) {
      const rig = new Rig(log, generator);
      try {
        const row = await fault(rig);
        log(`[faults] ${row.name}: ${row.acknowledged} acknowledged, ${row.found} found`);
        rows.push(row);
      } finally {
        await rig.close();
      }
    }
  } finally {
    await generator.stop();
  }
  return rows;
}

/**
 * The extension's fault: `e2e/faults.spec.ts` (real Chromium, the built extension), run with
 * Playwright's CLI; the spec writes its row to the file named by `TACIT_PROOF_ROW`.
 */
export async function runExtensionFault(log: Log = console.log): Promise<FaultRow> {
  const name = 'extension service worker + offscreen stopped during enrolment';
  if (!existsSync(join(ROOT, 'dist', 'chrome', 'manifest.json'))) {
    return { name, acknowledged: 0, found: 0, detail: 'skipped: run `npm run build:chrome` first' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tacit-proof-ext-'));
  const rowFile = join(dir, 'row.json');
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'node_modules', '@playwright', 'test', 'cli.js'),
          'test',
          '-c',
          'e2e/playwright.config.ts',
          'e2e/faults.spec.ts',
          '--reporter=line',
        ],
        { cwd: ROOT, env: { ...process.env, TACIT_PROOF_ROW: rowFile }, stdio: 'inherit' },
      );
      child.on('exit', resolve);
    });
    log(`[faults] e2e/faults.spec.ts exited ${code}`);
    if (!existsSync(rowFile)) {
      return { name, acknowledged: 0, found: 0, detail: `the spec wrote no row (exit ${code})` };
    }
    const row = JSON.parse(readFileSync(rowFile, 'utf8')) as FaultReport;
    if (code !== 0) row.detail += `; spec FAILED (exit ${code})`;
    return row;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
