/**
 * The proof suite's report: one shape for the JSON and one table for the terminal.
 * Each part (forgery, fuzz, faults, soak, deployment) fills its own field; run.ts composes them.
 */
import { printTable } from '../bench/report';

/** One attack class of the forgery and replay suite. */
export interface ForgeryClass {
  attackClass: string;
  tried: number;
  /** Cases the server accepted (2xx, or any state change). Must be 0. */
  accepted: number;
}

export interface ForgeryReport {
  tried: number;
  accepted: number;
  classes: ForgeryClass[];
}

/** One route (method + path of the OpenAPI description) under fuzzing. */
export interface FuzzRoute {
  route: string;
  requests: number;
  serverErrors: number;
  stored: number;
}

export interface FuzzReport {
  requests: number;
  /** Answers with status ≥ 500, or a dropped connection. Must be 0. */
  serverErrors: number;
  /** Records the store holds after rejected requests that it did not hold before. Must be 0. */
  stored: number;
  routes: FuzzRoute[];
}

export interface FaultReport {
  name: string;
  /** Things the system acknowledged before or during the fault (attestations, enrolments). */
  acknowledged: number;
  /** Of those, found afterwards. The goal: found === acknowledged. */
  found: number;
  /** What else the fault showed (status codes seen, recovery time), one line. */
  detail: string;
}

export interface SoakReport {
  sessions: number;
  seconds: number;
  requests: number;
  errors: number;
  rssStartMb: number;
  rssEndMb: number;
  /** p99 latency of each minute (the last one may be partial), ms. */
  p99PerMinuteMs: number[];
  /** Length of the slices of `p99PerMinuteMs`, s: 60, or 5 in the CI-sized run. */
  sliceSeconds?: number;
  /** Server RSS sampled at the end of each slice, MB. */
  rssPerSliceMb?: number[];
  /** The errors by `ERR_*` code, HTTP status or transport error (`timeout`, `unanswered`). */
  errorsByKind?: Record<string, number>;
}

export interface DeploymentReport {
  topology: string;
  instances: number;
  /** Attestations/s sustained through the topology. */
  attestationsPerSecond: number;
  /** Same load, one instance without the proxy: the baseline of the same run. */
  baselinePerSecond: number;
  ratioToBaseline: number;
  errors: number;
}

/** An event under load on the deployment: an instance killed, or drained and restarted. */
export interface DeploymentEventReport {
  name: string;
  /** Arrival rate of the load during the event, attestations/s; its length, s. */
  rate: number;
  seconds: number;
  /** Attestations sent, and of those not answered 202 (5xx, resets, timeouts). */
  requests: number;
  errors: number;
  errorsByKind: Record<string, number>;
  /** Latency of the accepted ones over the event's load, ms. */
  p99Ms: number;
  maxMs: number;
  /** Answered 202 during the event, and of those found in Redis afterwards. Must be equal. */
  acknowledged: number;
  found: number;
  /** Sessions that attested (202) after the event, of the sessions still in rotation. */
  sessionsServed: number;
  liveSessions: number;
  /** Whether errors are a failure of the event (drain: yes; kill -9: reported, expected). */
  errorsAllowed: boolean;
  detail: string;
}

export interface ProofReport {
  size: 'ci' | 'full';
  startedAt: string;
  forgery?: ForgeryReport;
  fuzz?: FuzzReport;
  faults?: FaultReport[];
  soak?: SoakReport;
  deployment?: DeploymentReport[];
  deploymentEvents?: DeploymentEventReport[];
}

/** Prints the one table (several sections) of a proof run. */
export function printProof(r: ProofReport): void {
  if (r.forgery) {
    printTable(
      `Forgery and replay: ${r.forgery.tried} cases, ${r.forgery.accepted} accepted`,
      ['attack class', 'tried', 'accepted'],
      r.forgery.classes.map((c) => [c.attackClass, c.tried, c.accepted]),
    );
  }
  if (r.fuzz) {
    printTable(
      `Endpoint fuzzing: ${r.fuzz.requests} requests, ${r.fuzz.serverErrors} 5xx, ${r.fuzz.stored} stored`,
      ['route', 'requests', '5xx', 'stored'],
      r.fuzz.routes.map((f) => [f.route, f.requests, f.serverErrors, f.stored]),
    );
  }
  if (r.faults) {
    printTable(
      'Faults',
      ['fault', 'acknowledged before', 'found after', 'detail'],
      r.faults.map((f) => [f.name, f.acknowledged, f.found, f.detail]),
    );
  }
  if (r.soak) {
    const s = r.soak;
    const p99 = s.p99PerMinuteMs;
    printTable(
      `Soak (p99 per ${s.sliceSeconds ?? 60} s slice)`,
      [
        'sessions',
        'seconds',
        'requests',
        'errors',
        'RSS start MB',
        'RSS end MB',
        'p99 first min ms',
        'p99 last min ms',
      ],
      [
        [
          s.sessions,
          s.seconds,
          s.requests,
          s.errors,
          s.rssStartMb,
          s.rssEndMb,
          p99[0] ?? '-',
          p99.at(-1) ?? '-',
        ],
      ],
    );
  }
  if (r.deployment) {
    printTable(
      'Deployment',
      ['topology', 'instances', 'attestations/s', 'baseline/s', 'ratio', 'errors'],
      r.deployment.map((d) => [
        d.topology,
        d.instances,
        d.attestationsPerSecond,
        d.baselinePerSecond,
        d.ratioToBaseline,
        d.errors,
      ]),
    );
  }
  if (r.deploymentEvents) {
    printTable(
      'Deployment under load',
      [
        'event',
        'rate/s',
        'requests',
        'errors',
        'p99 ms',
        'acknowledged',
        'found after',
        'sessions served',
        'detail',
      ],
      r.deploymentEvents.map((e) => [
        e.name,
        e.rate,
        e.requests,
        e.errors,
        e.p99Ms,
        e.acknowledged,
        e.found,
        `${e.sessionsServed}/${e.liveSessions}`,
        e.detail,
      ]),
    );
  }
}

/** What a proof run must never show; run.ts exits 1 when this is not empty. */
export function violations(r: ProofReport): string[] {
  const out: string[] = [];
  if (r.forgery && r.forgery.accepted > 0) out.push(`forgery: ${r.forgery.accepted} accepted`);
  if (r.fuzz && r.fuzz.serverErrors > 0) out.push(`fuzz: ${r.fuzz.serverErrors} server errors`);
  if (r.fuzz && r.fuzz.stored > 0) out.push(`fuzz: ${r.fuzz.stored} records stored`);
  for (const f of r.faults ?? []) {
    if (f.found < f.acknowledged) out.push(`fault ${f.name}: ${f.acknowledged - f.found} lost`);
  }
  if (r.soak && r.soak.errors > 0) out.push(`soak: ${r.soak.errors} errors`);
  for (const d of r.deployment ?? []) {
    if (d.errors > 0) out.push(`deployment ${d.topology}: ${d.errors} errors`);
  }
  for (const e of r.deploymentEvents ?? []) {
    if (e.found < e.acknowledged) out.push(`${e.name}: ${e.acknowledged - e.found} lost`);
    if (!e.errorsAllowed && e.errors > 0) out.push(`${e.name}: ${e.errors} errors`);
    if (e.sessionsServed < e.liveSessions) {
      out.push(`${e.name}: ${e.liveSessions - e.sessionsServed} sessions not served after`);
    }
  }
  return out;
}
