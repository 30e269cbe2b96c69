/**
 * The proof suite's `deployment` part: the topology of `npm run deploy:local`
 * (tools/deploy/topology.ts: nginx with TLS 1.3, two instances, one Redis with AOF fsync
 * always), loaded by the server bench's generator (e2e/bench/server-load.ts, over TLS here).
 *
 * 1. Throughput, one run: the sustained attestations/s (the bench's step search: p99 ≤ 25 ms,
 *    no error) of one instance direct (the baseline), then through nginx with one instance in
 *    rotation, then with two; each as a ratio to the baseline.
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
import { Generator, searchRates, verdict, type ServerBenchStep } from '../bench/server';
import type { ToGenerator } from '../bench/server-protocol';
import { startTopology, type Topology } from '../../tools/deploy/topology';
import type { ProofParams } from './parts';
import type { DeploymentEventReport, DeploymentReport, ProofReport } from './report';

interface Size {
  sessions: number;
  connections: number;
  /** Fixed rates (CI) or the bench's step search (null). */
  rates: number[] | null;
  stepSeconds: number;
  warmupSeconds: number;
  /** Load during the kill and during the drain, s; the event starts `eventAtSeconds` in. */
  killSeconds: number;
  drainSeconds: number;
  eventAtSeconds: number;
  /** Event load when there is no sustained rate to derive it from. */
  minEventRate: number;
}

const SIZES: Record<ProofParams['size'], Size> = {
  ci: {
    sessions: 16,
    connections: 8,
    rates: [20],
    stepSeconds: 1,
    warmupSeconds: 0.25,
    killSeconds: 2,
    drainSeconds: 7,
    eventAtSeconds: 0.5,
    minEventRate: 20,
  },
  full: {
    sessions: 1000,
    connections: 64,
    rates: null,
    stepSeconds: 5,
    warmupSeconds: 1,
    killSeconds: 15,
    drainSeconds: 30,
    eventAtSeconds: 4,
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

    const step = async (rate: number, seconds: number, warmup: number, recordAcks = false) => {
      const message: ToGenerator = {
        type: 'step',
        rate,
        warmupSeconds: warmup,
        seconds,
        drainMs: 5_000,
        timeoutMs: 5_000,
        recordAcks,
      };
      const { result } = await generator.ask(
        message,
        'step',
        rate * (seconds + warmup) * 0.3 + (seconds + warmup) * 1000 + 30_000,
      );
      return result;
    };
    const search = async (label: string) => {
      const { steps } = await searchRates(size.rates, async (rate) => {
        const r = await step(rate, size.stepSeconds, size.warmupSeconds);
        const failures = verdict(r);
        log(
          `[${label}] ${rate}/s: p99 ${r.latencyMs.p99} ms, errors ${r.errors + r.warmupErrors}` +
            ` → ${failures.length === 0 ? 'pass' : `FAIL (${failures.join('; ')})`}`,
        );
        await sleep(300);
        const s: ServerBenchStep = {
          ...r,
          serverCpu: null,
          serverCpuUsPerAttestation: null,
          cpuUsPerAttestationByStage: null,
          pass: failures.length === 0,
          failures,
        };
        return s;
      });
      const passed = steps.filter((s) => s.pass).sort((a, b) => a.rate - b.rate);
      return { rate: passed.at(-1)?.rate ?? 0, steps };
    };
    const target = async (url: string) => {
      await generator.ask(
        { type: 'target', url, ...(url.startsWith('https:') ? { ca } : {}) },
        'targeted',
        10_000,
      );
    };

    // 1. Throughput: baseline, then nginx with one, then two instances.
    await target(first.url);
    const baseline = await search('direct, 1 instance');
    await t.setDown([1]);
    await target(t.proxyUrl);
    const one = await search('nginx, 1 instance');
    await t.setDown([]);
    const two = await search('nginx, 2 instances');
    const row = (topology: string, instances: number, rate: number): DeploymentReport => ({
      topology,
      instances,
      attestationsPerSecond: rate,
      baselinePerSecond: baseline.rate,
      ratioToBaseline: baseline.rate > 0 ? round(rate / baseline.rate, 3) : 0,
      errors: 0,
    });
    report.deployment = [
      row('one instance, direct (baseline)', 1, baseline.rate),
      row('nginx TLS 1.3 + 1 instance', 1, one.rate),
      row('nginx TLS 1.3 + 2 instances', 2, two.rate),
    ];

    // The events' load: what one instance behind nginx sustained, with a margin, so the
    // remaining instance can carry it alone.
    const eventRate = Math.max(size.minEventRate, Math.round(one.rate * 0.6));
    const events: DeploymentEventReport[] = [];
    const event = async (
      name: string,
      seconds: number,
      errorsAllowed: boolean,
      action: () => Promise<string>,
    ): Promise<void> => {
      log(`${name}: ${eventRate}/s for ${seconds} s`);
      let acted: Promise<string> | undefined;
      let loadEnd = 0;
      onPresigned = () => {
        onPresigned = undefined;
        loadEnd = performance.now() + seconds * 1000;
        acted = sleep(size.eventAtSeconds * 1000)
          .then(action)
          .then((d) => (performance.now() > loadEnd ? `${d} (ENDED AFTER THE LOAD)` : d));
      };
      const during = await step(eventRate, seconds, 0, true);
      if (!acted) throw new Error(`${name}: the step never started`);
      const detail = await acted;
      // Every session still in rotation attests once more (through nginx), each at least once.
      const after = await step(eventRate, Math.ceil(during.liveSessions / eventRate) + 1, 0, true);
      const acks = [...(during.acknowledged ?? []), ...(after.acknowledged ?? [])];
      const served = new Set((after.acknowledged ?? []).map((a) => a.sid)).size;
      const e: DeploymentEventReport = {
        name,
        rate: eventRate,
        seconds,
        requests: during.sent,
        errors: during.errors + during.warmupErrors,
        errorsByKind: during.errorsByKind,
        p99Ms: during.latencyMs.p99,
        maxMs: during.latencyMs.max,
        acknowledged: acks.length,
        found: await foundInRedis(t, acks),
        sessionsServed: served,
        liveSessions: during.liveSessions,
        errorsAllowed,
        detail: `${detail}; after: ${after.errors} errors`,
      };
      // An error after the event is a session the deployment no longer serves.
      if (after.errors > 0) e.sessionsServed = Math.min(served, during.liveSessions - after.errors);
      log(`${name}: ${JSON.stringify({ ...e, errorsByKind: during.errorsByKind })}`);
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
