/**
 * The soak: many concurrent simulated sessions against one real server process (SQLite,
 * loopback), each attesting at the extension's default cadence (one attestation every 5 s,
 * `attestationIntervalMs` in src/shared/config.ts), for minutes. The load is the server
 * bench's open-loop generator (`../bench/server-load.ts`): every session enrolled with its own
 * device key and bound, attestations chained per session and sent on a fixed schedule whatever
 * the answers do (rate = sessions ÷ 5 s), over a bounded pool of keep-alive connections.
 *
 * Reported: errors (any answer but 202, timeouts, unanswered), the server's resident memory
 * (`VmRSS` of `/proc/<pid>/status`) before the load and after it, sampled each slice, and the
 * p99 latency of each slice (a minute in the full run; 5 s in the CI run, which lasts 15 s).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, startServer } from '../bench/server';
import type { SoakReport } from './report';

/** Seconds between two attestations of one session: the extension's default interval. */
export const CADENCE_S = 5;

export interface SoakOptions {
  sessions: number;
  seconds: number;
  /** Latency slice, s (60 in the full run). */
  sliceSeconds: number;
  log?: (line: string) => void;
}

/** The sizes of the proof's soak: the CI run and the full one (minutes from the CLI). */
export function soakSize(size: 'ci' | 'full', minutes?: number): Omit<SoakOptions, 'log'> {
  return size === 'ci'
    ? { sessions: 100, seconds: minutes === undefined ? 15 : minutes * 60, sliceSeconds: 5 }
    : { sessions: 1000, seconds: (minutes ?? 10) * 60, sliceSeconds: 60 };
}

/** Resident memory of a process, MB (`VmRSS` of /proc/<pid>/status, Linux). */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for pid ${pid}`);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Runs the soak and returns its figures (`p99PerMinuteMs` holds one p99 per slice). */
export async function runSoak(o: SoakOptions): Promise<SoakReport & { rssPerSliceMb: number[] }> {
  const log = o.log ?? console.log;
  const dir = mkdtempSync(join(tmpdir(), 'tacit-proof-soak-'));
  const apiKey = randomBytes(24).toString('base64url');
  const server = await startServer(dir, { TACIT_API_KEYS: `soak:bank:${apiKey}` });
  const generator = new Generator(log, 'soak');
  try {
    log(`[soak] enrolling ${o.sessions} devices and binding their sessions`);
    await generator.ask(
      {
        type: 'setup',
        url: server.url,
        apiKey,
        sessions: o.sessions,
        concurrency: 16,
        connections: 64,
      },
      'ready',
      120_000 + o.sessions * 100,
    );
    const rate = o.sessions / CADENCE_S;
    const rssStartMb = rssMb(server.pid);
    const rssPerSliceMb: number[] = [];
    const sampler = setInterval(() => rssPerSliceMb.push(rssMb(server.pid)), o.sliceSeconds * 1000);
    log(`[soak] ${o.sessions} sessions, ${rate} attestations/s for ${o.seconds} s`);
    let step;
    try {
      ({ result: step } = await generator.ask(
        {
          type: 'step',
          rate,
          warmupSeconds: 0,
          seconds: o.seconds,
          drainMs: 10_000,
          timeoutMs: 10_000,
          sliceSeconds: o.sliceSeconds,
        },
        'step',
        // Signing ahead (~50 µs each) + the run + draining, with a wide margin.
        o.seconds * 1000 + rate * o.seconds * 0.3 + 60_000,
      ));
    } finally {
      clearInterval(sampler);
    }
    const rssEndMb = rssMb(server.pid);
    const report = {
      sessions: o.sessions,
      seconds: o.seconds,
      requests: step.sent,
      errors: step.errors + step.warmupErrors,
      rssStartMb,
      rssEndMb,
      p99PerMinuteMs: step.p99PerSliceMs ?? [],
      sliceSeconds: o.sliceSeconds,
      rssPerSliceMb,
      errorsByKind: step.errorsByKind,
    };
    log(
      `[soak] ${report.requests} requests, ${report.errors} errors ${JSON.stringify(step.errorsByKind)}, ` +
        `RSS ${rssStartMb} → ${rssEndMb} MB, p99 per ${o.sliceSeconds} s: ${report.p99PerMinuteMs.join(', ')} ms`,
    );
    return report;
  } finally {
    await generator.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
