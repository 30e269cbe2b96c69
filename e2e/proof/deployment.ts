/**
 * The proof suite's `deployment` part: the topology of `npm run deploy:local`
 * (tools/deploy/topology.ts: nginx with TLS 1.3, two instances, one Redis with AOF fsync
 * always), loaded by the server bench's generator (e2e/bench/server-load.ts, over TLS here).
 *
 * 1. Throughput, one run: attestations/s at saturation (an open-loop load above what the
 *    deployment can answer, through the generator's fixed pool of keep-alive connections:
 *    accepted ÷ the time until the last answer) of one instance direct (the baseline), then
 *    through nginx with one instance in rotation, then with two; each as a ratio to the
 *    baseline, the best of `rounds` alternating rounds. Saturation rather than the server
 *    bench's latency goal (p99 ≤ 25 ms): on a shared 2-core machine the goal measures the
 *    neighbours; a ratio of saturated rates in one run still says what nginx and a second
 *    instance change.
 * 2. Fail-over: under load, `kill -9` of one instance. Errors and p99 during it, every
 *    attestation answered 202 looked up in Redis afterwards, then every session still in
 *    rotation attests once more through nginx (served by the remaining instance).
 * 3. Drain and restart under load: the other instance is taken out of nginx's rotation (reload
 *    with `down`, old workers finish), stopped with SIGTERM (graceful: it exits 0 once its
 *    requests are done), started again and put back. No error allowed, nothing acknowledged lost.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { round } from '../bench/report';
import { Generator } from '../bench/server';
import type { GeneratorStep, ToGenerator } from '../bench/server-protocol';
import { startTopology, type Topology } from '../../tools/deploy/topology';
import type { ProofParams } from './parts';
import type { DeploymentEventReport, DeploymentReport, ProofReport } from './report';

interface Size {
  sessions: number;
  connections: number;
  /** Offered rate of a saturation round (above capacity), attestations/s, and its length, s. */
  saturationRate: number;
  saturationSeconds: number;
  /** Rounds over the three topologies (the best of each counts). */
  rounds: number;
  /** Least load during the kill and during the drain, s; the event starts `eventAtSeconds` in. */
  killSeconds: number;
  drainSeconds: number;
  eventAtSeconds: number;
  /** Length of each step of an event's load, s. */
  chunkSeconds: number;
  /** Event load: this share of nginx + 1 instance's saturated rate, at least `minEventRate`. */
  eventShare: number;
  minEventRate: number;
}

const SIZES: Record<ProofParams['size'], Size> = {
  ci: {
    sessions: 16,
    connections: 8,
    saturationRate: 60,
    saturationSeconds: 1,
    rounds: 1,
    killSeconds: 2,
    drainSeconds: 2,
    eventAtSeconds: 0.5,
    chunkSeconds: 1,
    eventShare: 0,
    minEventRate: 20,
  },
  full: {
    sessions: 1000,
    connections: 64,
    saturationRate: 1500,
    saturationSeconds: 6,
    rounds: 2,
    killSeconds: 15,
    drainSeconds: 20,
    eventAtSeconds: 4,
    chunkSeconds: 5,
    eventShare: 0.5,
    minEventRate: 50,
  },
};

/** The Redis store's key prefix (the plan leaves the default). */
const PREFIX = 'tacit:';

const log = (line: string) => console.log(`[deployment] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many of the acknowledged attestations Redis holds (the session's record of each seq). */
async function foundInRedis(t: Topology, acks: { sid: string; seq: number }[]): Promise<number> {
  let found = 0;
  for (let i = 0; i < acks.length; i += 1000) {
    const pipeline = t.redis.pipeline();
    for (const a of acks.slice(i, i + 1000))
      pipeline.hexists(`${PREFIX}att:${a.sid}`, String(a.seq));
    for (const [err, exists] of (await pipeline.exec()) ?? []) {
      if (!err && exists === 1) found += 1;
    }
  }
  return found;
}

/** The deployment part (see the module comment). */
export async function deploymentPart(params: ProofParams, report: ProofReport): Promise<void> {
  const size = SIZES[params.size];
  let onPresigned: (() => void) | undefined;
  const generator = new Generator(log, 'deployment', () => onPresigned?.());
  let topology: Topology | undefined;
  try {
    log('starting nginx, two instances, Redis');
    const t = await startTopology({
      ports: 'free',
      bank: false,
      // One client address (the generator's) for every device: the limits would measure
      // themselves, as in the server bench.
      instanceEnv: {
        TACIT_RATE_LIMIT_RP: '0',
        TACIT_RATE_LIMIT_DEVICE: '0',
        TACIT_RATE_LIMIT_ADDRESS: '0',
        NODE_ENV: 'production',
      },
    });
    topology = t;
    const ca = t.cert.certPem;
    const [first, second] = t.instances;
    log(`enrolling ${size.sessions} devices through nginx`);
    await generator.ask(
      {
        type: 'setup',
        url: t.proxyUrl,
        ca,
        apiKey: t.bankKey,
        sessions: size.sessions,
        concurrency: 8,
        connections: size.connections,
      },
      'ready',
      60_000 + size.sessions * 50,
    );

    const step = async (
      rate: number,
      seconds: number,
      recordAcks: boolean,
      limits = { drainMs: 5_000, timeoutMs: 5_000 },
    ) => {
      const message: ToGenerator = {
        type: 'step',
        rate,
        warmupSeconds: 0,
        seconds,
        recordAcks,
        ...limits,
      };
      const { result } = await generator.ask(
        message,
        'step',
        rate * seconds * 0.3 + seconds * 1000 + limits.drainMs + 30_000,
      );
      return result;
    };
    const target = async (url: string) => {
      const tls = url.startsWith('https:') ? { ca } : {};
      await generator.ask({ type: 'target', url, ...tls }, 'targeted', 10_000);
    };
    /** One saturation round against whatever the generator targets. */
    const saturate = async (label: string) => {
      const r = await step(size.saturationRate, size.saturationSeconds, false, {
        drainMs: 120_000,
        timeoutMs: 60_000,
      });
      const perSecond = r.wallMs > 0 ? round(r.accepted / (r.wallMs / 1000), 1) : 0;
      log(
        `[${label}] offered ${r.rate}/s: ${perSecond} accepted/s, p50 ${r.latencyMs.p50} ms, ` +
          `errors ${r.errors} ${JSON.stringify(r.errorsByKind)}, resent ${r.resent ?? 0}`,
      );
      await sleep(300);
      return { perSecond, errors: r.errors };
    };

    // 1. Throughput: baseline, then nginx with one, then two instances, in alternating rounds.
    const best = { direct: 0, one: 0, two: 0 };
    let throughputErrors = 0;
    for (let round = 0; round < size.rounds; round++) {
      await target(first.url);
      const d = await saturate('direct, 1 instance');
      await t.setDown([1]);
      await target(t.proxyUrl);
      const o = await saturate('nginx, 1 instance');
      await t.setDown([]);
      const w = await saturate('nginx, 2 instances');
      best.direct = Math.max(best.direct, d.perSecond);
      best.one = Math.max(best.one, o.perSecond);
      best.two = Math.max(best.two, w.perSecond);
      throughputErrors += d.errors + o.errors + w.errors;
    }
    const row = (topology: string, instances: number, rate: number): DeploymentReport => ({
      topology,
      instances,
      attestationsPerSecond: rate,
      baselinePerSecond: best.direct,
      ratioToBaseline: best.direct > 0 ? round(rate / best.direct, 3) : 0,
      errors: 0,
    });
    report.deployment = [
      row('one instance, direct (baseline)', 1, best.direct),
      row('nginx TLS 1.3 + 1 instance', 1, best.one),
      row('nginx TLS 1.3 + 2 instances', 2, best.two),
    ];
    // Errors at saturation (timeouts, resets) are the deployment's: on the last row.
    report.deployment[2]!.errors = throughputErrors;

    // The events' load: what one instance behind nginx sustained, with a margin, so the
    // remaining instance can carry it alone.
    const eventRate = Math.max(size.minEventRate, Math.round(best.one * size.eventShare));
    const events: DeploymentEventReport[] = [];
    /**
     * Runs `action` under load: consecutive steps of `size.chunkSeconds` (a few ms apart, while
     * the next one is signed) until the action has finished and at least `seconds` passed, so
     * the load covers the action however long a restart takes on a busy machine.
     */
    const event = async (
      name: string,
      seconds: number,
      errorsAllowed: boolean,
      action: () => Promise<string>,
    ): Promise<void> => {
      log(`${name}: ${eventRate}/s for at least ${seconds} s`);
      let acted: Promise<string> | undefined;
      let done = false;
      onPresigned = () => {
        onPresigned = undefined;
        acted = sleep(size.eventAtSeconds * 1000).then(action);
        acted.then(
          () => (done = true),
          () => (done = true),
        );
      };
      const started = performance.now();
      const steps: GeneratorStep[] = [];
      do {
        steps.push(await step(eventRate, size.chunkSeconds, true));
      } while (!done || performance.now() - started < seconds * 1000);
      onPresigned = undefined;
      if (!acted) throw new Error(`${name}: the load never started`);
      const detail = await acted;
      const last = steps.at(-1)!;
      const errorsByKind: Record<string, number> = {};
      for (const s of steps) {
        for (const [k, n] of Object.entries(s.errorsByKind))
          errorsByKind[k] = (errorsByKind[k] ?? 0) + n;
      }
      const sum = (f: (s: GeneratorStep) => number) => steps.reduce((a, s) => a + f(s), 0);
      // Every session still in rotation attests once more (through nginx), each at least once.
      const after = await step(eventRate, Math.ceil(last.liveSessions / eventRate) + 1, true);
      const acks = [...steps.flatMap((s) => s.acknowledged ?? []), ...(after.acknowledged ?? [])];
      const served = new Set((after.acknowledged ?? []).map((a) => a.sid)).size;
      const e: DeploymentEventReport = {
        name,
        rate: eventRate,
        seconds: round((performance.now() - started) / 1000, 1),
        requests: sum((s) => s.sent),
        errors: sum((s) => s.errors + s.warmupErrors),
        errorsByKind,
        // The worst step's: a percentile of the whole event would need every latency.
        p99Ms: Math.max(...steps.map((s) => s.latencyMs.p99)),
        maxMs: Math.max(...steps.map((s) => s.latencyMs.max)),
        acknowledged: acks.length,
        found: await foundInRedis(t, acks),
        sessionsServed: served,
        liveSessions: last.liveSessions,
        errorsAllowed,
        detail: `${detail}; resent ${sum((s) => s.resent ?? 0)}; after: ${after.errors} errors`,
      };
      // An error after the event is a session the deployment no longer serves.
      if (after.errors > 0) e.sessionsServed = Math.min(served, last.liveSessions - after.errors);
      log(`${name}: ${JSON.stringify(e)}`);
      events.push(e);
    };

    // 2. Fail-over: kill -9 of the second instance under load.
    await event(`kill -9 ${second.name} under load`, size.killSeconds, true, async () => {
      const at = performance.now();
      await second.kill('SIGKILL');
      return `killed at ${size.eventAtSeconds} s (${Math.round(performance.now() - at)} ms)`;
    });
    log(`restarting ${second.name}`);
    await second.start();

    // 3. Drain and restart of the first instance under load.
    await event(`drain + restart ${first.name} under load`, size.drainSeconds, false, async () => {
      const t0 = performance.now();
      const ms = () => Math.round(performance.now() - t0);
      await t.setDown([0]);
      const out = ms();
      const code = await first.kill('SIGTERM');
      const stopped = ms();
      if (code !== 0) throw new Error(`${first.name} exited ${code} after SIGTERM`);
      await first.start();
      await t.setDown([]);
      return `out of rotation ${out} ms, exit 0 at ${stopped} ms, back at ${ms()} ms`;
    });
    report.deploymentEvents = events;
  } finally {
    await generator.stop();
    await topology?.stop();
  }
}
