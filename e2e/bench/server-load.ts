/**
 * The server bench's open-loop load generator, run as its own process (forked by `server.ts`,
 * driven by the messages of `server-protocol.ts`).
 *
 * Setup: enrolls `sessions` devices through the server's real HTTP API, each with its own
 * ES256 key (node:crypto), and opens and binds one session per device.
 *
 * A step: attestations are signed *before* the step (a device signs its own statements; the
 * chain `prev` only depends on the previous JWS, not on the server's answer, so the work can
 * be moved out of the timed part and the generator stays light). Then they are sent on a fixed
 * schedule — the i-th at `t0 + i / rate` — whatever the answers do (open loop). Sessions take
 * turns round-robin, so each one attests every `sessions / rate` seconds. A request's latency is
 * measured from its *scheduled* time, so time spent waiting for a connection or behind a slow
 * answer counts (no coordinated omission). How late each request actually left is reported
 * (`sendSlipMs`) with the generator's event-loop delay and CPU: a step whose schedule slipped
 * measured the generator, not the server.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { calculateJwkThumbprint } from 'jose';
import { KeepAlivePool, jsonPost, type RawAnswer } from './keep-alive-pool';
import type { FromGenerator, GeneratorStep, ToGenerator } from './server-protocol';

interface Device {
  key: KeyObject;
  jkt: string;
  /** base64url of the attestation protected header (the same for every attestation). */
  attHeader: string;
  sid: string;
  seq: number;
  prev: string;
}

interface Answer {
  status: number;
  body: string;
}

const b64u = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** A compact ES256 JWS over the JSON of `payload` (ieee-p1363 signature = JOSE's r‖s). */
function compactJws(key: KeyObject, headerB64: string, payload: unknown): string {
  const input = `${headerB64}.${b64u(JSON.stringify(payload))}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const chainHash = (jws: string) => createHash('sha256').update(jws, 'utf8').digest('base64url');

function send(message: FromGenerator): void {
  process.send!(message);
}

let target: URL;
/** The certificate to trust when the target is `https:`. */
let ca: string | undefined;
let agent: Agent;
let connections = 64;
let apiKey = '';
let devices: Device[] = [];
/** Next device (round-robin) to attest. */
let cursor = 0;

function newAgent(): Agent {
  agent?.destroy();
  const options = { keepAlive: true, maxSockets: connections, scheduling: 'fifo' } as const;
  return target.protocol === 'https:' ? new TlsAgent({ ...options, ca }) : new Agent(options);
}

/** One request over the keep-alive pool (setup only). */
function call(method: string, path: string, json: unknown, bearer?: string): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? tlsRequest : request)(
      {
        agent,
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('setup request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function expectStatus(answer: Promise<Answer>, status: number, what: string) {
  const a = await answer;
  if (a.status !== status) throw new Error(`${what}: ${a.status} ${a.body.slice(0, 200)}`);
  return JSON.parse(a.body) as Record<string, string>;
}

async function setupDevice(i: number, subjectPrefix: string): Promise<Device> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { x, y } = publicKey.export({ format: 'jwk' });
  const jwk = { kty: 'EC', crv: 'P-256', x: x!, y: y! };
  const jkt = await calculateJwkThumbprint(jwk, 'sha256');
  const subject = `${subjectPrefix}${i}`;
  const iat = () => Math.floor(Date.now() / 1000);
  const jti = () => randomBytes(16).toString('base64url');

  const { code } = await expectStatus(
    call('POST', '/v1/enrollment-codes', { subject }, apiKey),
    201,
    'enrollment code',
  );
  const enrollHeader = b64u(JSON.stringify({ alg: 'ES256', typ: 'tacit-enroll+jwt', jwk }));
  await expectStatus(
    call('POST', '/v1/devices', {
      enrollment: compactJws(privateKey, enrollHeader, { code, iat: iat(), jti: jti() }),
    }),
    201,
    'enroll',
  );
  const { sessionId, challenge } = await expectStatus(
    call('POST', '/v1/sessions', { subject }, apiKey),
    201,
    'open session',
  );
  const bindHeader = b64u(JSON.stringify({ alg: 'ES256', typ: 'tacit-bind+jwt', kid: jkt }));
  await expectStatus(
    call('POST', '/v1/sessions/bind', {
      binding: compactJws(privateKey, bindHeader, {
        sid: sessionId,
        chal: challenge,
        iat: iat(),
        jti: jti(),
      }),
    }),
    200,
    'bind',
  );
  return {
    key: privateKey,
    jkt,
    attHeader: b64u(JSON.stringify({ alg: 'ES256', typ: 'tacit-att+jwt', kid: jkt })),
    sid: sessionId!,
    seq: 0,
    prev: '',
  };
}

async function setup(m: Extract<ToGenerator, { type: 'setup' }>): Promise<void> {
  const started = performance.now();
  target = new URL(m.url);
  ca = m.ca;
  apiKey = m.apiKey;
  connections = m.connections;
  agent = newAgent();
  devices = new Array<Device>(m.sessions);
  let next = 0;
  let done = 0;
  let lastReport = started;
  const worker = async () => {
    while (next < m.sessions) {
      const i = next++;
      devices[i] = await setupDevice(i, m.subjectPrefix ?? 'bench-user-');
      done += 1;
      const now = performance.now();
      if (now - lastReport > 2000) {
        lastReport = now;
        send({ type: 'progress', phase: 'setup', done, total: m.sessions });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(m.concurrency, m.sessions) }, worker));
  send({
    type: 'ready',
    setupMs: Math.round(performance.now() - started),
    devices: devices.length,
    sessions: devices.length,
    requests: devices.length * 4,
  });
}

/** Signs the next `count` attestations, round-robin over the sessions, chained per session. */
function presign(
  count: number,
  rate: number,
): { bodies: Buffer[]; owners: Device[]; seqs: Uint32Array } {
  const started = performance.now();
  const baseS = Date.now() / 1000;
  const bodies = new Array<Buffer>(count);
  const owners = new Array<Device>(count);
  const seqs = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const d = devices[cursor++ % devices.length]!;
    owners[i] = d;
    d.seq += 1;
    seqs[i] = d.seq;
    const jws = compactJws(d.key, d.attHeader, {
      sid: d.sid,
      seq: d.seq,
      // The planned send time (signing runs a few seconds ahead: well inside ±60 s).
      iat: Math.floor(baseS + i / rate),
      state: 'scoring',
      conf: 0.9,
      progress: 1,
      mv: 'bench-model-1',
      n: { k: 40, p: 120 },
      prev: d.prev,
    });
    d.prev = chainHash(jws);
    bodies[i] = Buffer.from(`{"attestation":"${jws}"}`);
    if (i % 20_000 === 19_999) send({ type: 'progress', phase: 'sign', done: i + 1, total: count });
  }
  send({ type: 'presigned', attestations: count, ms: Math.round(performance.now() - started) });
  return { bodies, owners, seqs };
}

/** Linear interpolation between order statistics of an ascending array. */
function fromSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

function errorKind(answer: RawAnswer): string {
  try {
    const code = (JSON.parse(answer.body) as { error?: { code?: unknown } }).error?.code;
    if (typeof code === 'string') return code;
  } catch {
    // not our error body
  }
  return `HTTP ${answer.status}`;
}

async function step(m: Extract<ToGenerator, { type: 'step' }>): Promise<GeneratorStep> {
  const warmup = Math.round(m.rate * m.warmupSeconds);
  const measured = Math.round(m.rate * m.seconds);
  const total = warmup + measured;
  const { bodies, owners, seqs } = presign(total, m.rate);
  const host = target.hostname;
  const port = Number(target.port);
  const requests = bodies.map((body) => jsonPost(host, port, '/v1/attestations', body));
  const broken = new Set<Device>();
  const pool = new KeepAlivePool(
    host,
    port,
    connections,
    m.timeoutMs,
    target.protocol === 'https:' ? { ca: ca ?? '' } : undefined,
  );
  const acknowledged: { sid: string; seq: number }[] = [];

  const latency = new Float64Array(measured).fill(NaN);
  const slip = new Float64Array(total);
  const errorsByKind: Record<string, number> = {};
  let warmupErrors = 0;
  let errors = 0;
  let accepted = 0;
  let answered = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let sent = 0;
  let lastAnswerAt = 0;
  let finished = false;
  let allAnswered: () => void = () => {};
  const fail = (i: number, kind: string) => {
    broken.add(owners[i]!);
    if (finished) return;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (i < warmup) warmupErrors += 1;
    else errors += 1;
  };
  const settle = () => {
    inFlight -= 1;
    answered += 1;
    lastAnswerAt = performance.now();
    if (answered === total) allAnswered();
  };

  const answeredAt = new Uint8Array(total);
  const fire = (i: number, scheduled: number) => {
    pool.send(requests[i]!, (err, answer) => {
      if (finished) return;
      const at = performance.now();
      answeredAt[i] = 1;
      if (err)
        fail(
          i,
          err.message === 'timeout'
            ? 'timeout'
            : ((err as NodeJS.ErrnoException).code ?? 'request error'),
        );
      else if (answer!.status === 202) {
        if (m.recordAcks) acknowledged.push({ sid: owners[i]!.sid, seq: seqs[i]! });
        if (i >= warmup) {
          accepted += 1;
          latency[i - warmup] = at - scheduled;
        }
      } else fail(i, errorKind(answer!));
      settle();
    });
    inFlight += 1;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    slip[i] = performance.now() - scheduled;
    sent += 1;
  };

  const loop = monitorEventLoopDelay({ resolution: 1 });
  const cpu0 = process.cpuUsage();
  const answeredAll = new Promise<void>((resolve) => (allAnswered = resolve));
  const intervalMs = 1000 / m.rate;
  const t0 = performance.now() + 20;
  loop.enable();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / intervalMs) + 1);
      while (sent < due) fire(sent, t0 + sent * intervalMs);
      if (sent >= total) return resolve();
      // Wake for the next due send (timers fire ≥ 1 ms late: the slip shows it).
      setTimeout(tick, Math.max(0, t0 + sent * intervalMs - performance.now() - 0.5));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  const sendEnd = performance.now();
  await Promise.race([answeredAll, new Promise((r) => setTimeout(r, m.drainMs))]);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const end = answered === total ? lastAnswerAt : performance.now();
  // Whatever is still open is an error (counted in the measured part: they are the late
  // ones); later answers are ignored.
  const unanswered = total - answered;
  if (unanswered > 0) {
    errorsByKind.unanswered = unanswered;
    errors += unanswered;
  }
  finished = true;
  // Unanswered ones may still commit: their sessions' chains are unknown too.
  for (let i = 0; i < total; i++) if (!answeredAt[i]) broken.add(owners[i]!);
  if (broken.size > 0) {
    devices = devices.filter((d) => !broken.has(d));
    cursor = 0;
  }
  pool.close();

  const ok = latency.filter((v) => !Number.isNaN(v)).sort();
  let p99PerSliceMs: number[] | undefined;
  if (m.sliceSeconds !== undefined) {
    const perSlice = Math.max(1, Math.round(m.rate * m.sliceSeconds));
    p99PerSliceMs = [];
    for (let from = 0; from < measured; from += perSlice) {
      const slice = latency.slice(from, from + perSlice).filter((v) => !Number.isNaN(v));
      p99PerSliceMs.push(r3(fromSorted(slice.sort(), 0.99)));
    }
  }
  const measuredSlip = slip.slice(0, sent).sort();
  const ns = (v: number) => r3(v / 1e6);
  const mean = ok.length === 0 ? NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
  return {
    rate: m.rate,
    warmupSeconds: m.warmupSeconds,
    seconds: m.seconds,
    scheduled: measured,
    sent: Math.max(0, sent - warmup),
    accepted,
    acceptedPerSecond: r3(accepted / m.seconds),
    errors,
    warmupErrors,
    errorsByKind,
    latencyMs: {
      p50: r3(fromSorted(ok, 0.5)),
      p90: r3(fromSorted(ok, 0.9)),
      p99: r3(fromSorted(ok, 0.99)),
      p999: r3(fromSorted(ok, 0.999)),
      max: r3(ok.length ? ok[ok.length - 1]! : NaN),
      mean: r3(mean),
    },
    sendSlipMs: {
      p50: r3(fromSorted(measuredSlip, 0.5)),
      p99: r3(fromSorted(measuredSlip, 0.99)),
      max: r3(measuredSlip.length ? measuredSlip[measuredSlip.length - 1]! : NaN),
    },
    clientLoopDelayMs: {
      p50: ns(loop.percentile(50)),
      p99: ns(loop.percentile(99)),
      max: ns(loop.max),
    },
    clientCpu: r3((cpu.user + cpu.system) / 1000 / (end - t0)),
    maxInFlight,
    wallMs: Math.round(Math.max(end, sendEnd) - t0),
    liveSessions: devices.length,
    resent: pool.resent,
    ...(m.recordAcks ? { acknowledged } : {}),
    ...(p99PerSliceMs && { p99PerSliceMs }),
  };
}

process.on('message', (m: ToGenerator) => {
  const run = async () => {
    switch (m.type) {
      case 'setup':
        return setup(m);
      case 'step':
        return send({ type: 'step', result: await step(m) });
      case 'target':
        target = new URL(m.url);
        ca = m.ca;
        agent = newAgent();
        return send({ type: 'targeted', url: m.url });
      case 'exit':
        agent?.destroy();
        return process.exit(0);
    }
  };
  run().catch((err: unknown) => {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    send({ type: 'error', message });
  });
});
