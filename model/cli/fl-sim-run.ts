/**
 * `npm run fl:sim`'s work (Node): N simulated devices (users of a dataset directory) run the
 * **real client code** (`roundTarget` → `localUpdate` → `privatiseDelta` →
 * `quantise`/`serialiseUpdate` → `signUpdate`, each with its own ES256 device key enrolled at a
 * real verifier process, and its own kept target as the worker keeps one) against
 * the **real aggregator process** over HTTP on loopback. After every round the published
 * version is fetched, its signature verified against the JWKS pinned at the start
 * (`verifyModelVersion`), and the encoder evaluated with the product scorer on held-out users
 * exactly as `npm run eval -- keystroke-aalto` does (`productAalto`). Comparison lines: the
 * shipped encoder and an encoder trained centrally on the same clients with `npm run train`'s
 * code (`loadTrainingData` + `trainEncoder`). With `--attackers`, two more runs with a fraction
 * of poisoning devices: the robust aggregation and the plain mean side by side.
 *
 * Hyper-parameters: `FEDERATED_DEFAULTS` (`model/federated/config.ts`); the command line
 * overrides only what a simulation must (`--min-devices` ≤ clients, `--sample-rate`).
 *
 * The public centres are the product's: the aggregator process computes them for every version
 * over the pohmm users of `--public-data` (its `TACIT_FL_PUBLIC_DATA`) and signs them with it;
 * devices take them from the fetched, verified version (`publicCentresFromJSON`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CompactSign,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
} from 'jose';
import type { DetectorConfig } from '../detector/config';
import { productAalto, loadCalibration, refuseCalibrationUsers } from './product-eval';
import { FEDERATED_DEFAULTS } from '../federated/config';
import { roundTarget } from '../federated/device-target';
import { localUpdate, type LocalUpdateConfig } from '../federated/local-update';
import { clipDelta, l2Norm, privatiseDelta } from '../federated/privatise';
import { publicCentresFromJSON } from '../federated/public-centres';
import { AGGREGATION_METHODS } from '../federated/robust-aggregate';
import { signUpdate, verifyModelVersion, type DeviceSigningKey } from '../federated/signed';
import { DEFAULT_CHUNK_SIZE, quantise, serialiseUpdate } from '../federated/update-format';
import { createRng, type Rng } from '../random';
import { encoderId } from '../shared/embedding-model';
import { type SharedEncoder, embeddingDimension, encoderFromJSON } from '../shared/encoder';
import { type EncoderTrainConfig, type TrainingUser, trainEncoder } from '../shared/train';
import { seriesSvg } from '../eval/series-svg';
import { keySequence } from '../eval/encoder-protocols';
import { loadAalto } from './load-datasets';
import { loadTrainingData } from './train-run';
import { userFingerprint } from './training-identity';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED_KEYSTROKE = fileURLToPath(
  new URL('../shared/default-keystroke.json', import.meta.url),
);

/** Poisoning attacks. */
export const ATTACKS = ['scale', 'sign-flip'] as const;

/** Parsed command line. */
export interface FlSimArgs {
  data: string;
  clients: number;
  rounds: number;
  out: string;
  /** Held-out users' directory (default `data`, users after the clients). */
  evalData?: string;
  /** How many held-out users (default 30). */
  evalUsers: number;
  /** Fraction of poisoning devices, [0, 0.5). 0: no poisoning runs. */
  attackers: number;
  attack: (typeof ATTACKS)[number];
  aggregate: (typeof AGGREGATION_METHODS)[number];
  /** The public users whose centres the local objective uses (pohmm directory). */
  publicData: string;
  /** Poisson sampling rate q of devices per round, (0, 1]. */
  sampleRate: number;
  /** m_min (default min(FEDERATED_DEFAULTS.minDevices, clients)). */
  minDevices?: number;
  /** Central training epochs (default: training's own default). */
  centralEpochs?: number;
  epsilonBudget: number;
  /**
   * σ, the noise multiplier (default `FEDERATED_DEFAULTS.noiseMultiplier`). A smaller σ on few
   * devices reproduces the per-coordinate noise the shipped σ gives on a real population (docs/
   * federated.md "DP-level noise"); the ε reported is then the simulation's, not the deployment's.
   */
  noiseMultiplier: number;
  delta: number;
  seed: number;
  backend: 'wasm' | 'cpu';
}

/** Usage text. */
export const FL_SIM_USAGE = `usage: npm run fl:sim -- --data <dir> --clients N --rounds R --out report.json
        [--eval-data <dir>] [--eval-users 30] [--attackers 0.1 --attack scale|sign-flip]
        [--aggregate ${AGGREGATION_METHODS.join('|')}] [--public-data ../shared/datasets/pohmm]
        [--sample-rate ${FEDERATED_DEFAULTS.sampleRate}] [--min-devices M] [--central-epochs E]
        [--noise-multiplier ${FEDERATED_DEFAULTS.noiseMultiplier}] [--epsilon-budget ${FEDERATED_DEFAULTS.epsilonBudget}] [--delta ${FEDERATED_DEFAULTS.delta}] [--seed 1] [--backend wasm|cpu]`;

/** @throws {TypeError} with a usage hint for anything wrong. */
export function parseFlSimArgs(argv: readonly string[]): FlSimArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        [
          'data',
          'clients',
          'rounds',
          'out',
          'eval-data',
          'eval-users',
          'attackers',
          'attack',
          'aggregate',
          'public-data',
          'sample-rate',
          'min-devices',
          'central-epochs',
          'epsilon-budget',
          'noise-multiplier',
          'delta',
          'seed',
          'backend',
        ].map((n) => [n, { type: 'string' as const }]),
      ),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (err) {
    throw new TypeError((err as Error).message, { cause: err });
  }
  const need = (name: string) => {
    const v = values[name];
    if (v === undefined) throw new TypeError(`--${name} is required`);
    return v;
  };
  const int = (name: string, min: number, fallback?: number) => {
    const v = values[name];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new TypeError(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const num = (name: string, min: number, max: number, fallback: number) => {
    const v = values[name];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!(n >= min && n <= max)) throw new TypeError(`--${name} must be in [${min}, ${max}]`);
    return n;
  };
  const attack = values.attack ?? 'scale';
  if (!(ATTACKS as readonly string[]).includes(attack)) {
    throw new TypeError(`--attack must be ${ATTACKS.join(' or ')}`);
  }
  const aggregate = values.aggregate ?? FEDERATED_DEFAULTS.aggregation.method;
  if (!(AGGREGATION_METHODS as readonly string[]).includes(aggregate)) {
    throw new TypeError(`--aggregate must be one of ${AGGREGATION_METHODS.join(', ')}`);
  }
  const backend = values.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new TypeError('--backend must be wasm or cpu');
  const args: FlSimArgs = {
    data: need('data'),
    clients: int('clients', 2)!,
    rounds: int('rounds', 1, FEDERATED_DEFAULTS.rounds)!,
    out: need('out'),
    evalUsers: int('eval-users', 2, 30)!,
    attackers: num('attackers', 0, 0.49, 0),
    attack: attack as FlSimArgs['attack'],
    aggregate: aggregate as FlSimArgs['aggregate'],
    publicData: values['public-data'] ?? join(dirname(values.data ?? '.'), 'pohmm'),
    sampleRate: num('sample-rate', 1e-6, 1, FEDERATED_DEFAULTS.sampleRate),
    epsilonBudget: num('epsilon-budget', 1e-6, 1000, FEDERATED_DEFAULTS.epsilonBudget),
    noiseMultiplier: num('noise-multiplier', 0, 100, FEDERATED_DEFAULTS.noiseMultiplier),
    delta: num('delta', 1e-12, 0.5, FEDERATED_DEFAULTS.delta),
    seed: int('seed', 0, 1)!,
    backend,
  };
  if (values.clients === undefined) throw new TypeError('--clients is required');
  if (values['eval-data'] !== undefined) args.evalData = values['eval-data'];
  const minDevices = int('min-devices', 1);
  if (minDevices !== undefined) args.minDevices = minDevices;
  const centralEpochs = int('central-epochs', 1);
  if (centralEpochs !== undefined) args.centralEpochs = centralEpochs;
  return args;
}

/** EER figures of one encoder on the held-out users (as `npm run eval` reports them). */
export interface EerFigures {
  /** The product scorer's global EER (`npm run eval`'s headline). */
  eer: number;
  /** Mean per-user EER of the product scorer. */
  perUserEer: number;
  /** Mean per-user EER of the embedding component alone (what the encoder changes). */
  embeddingEer: number;
}

/** One round of a run. */
export interface RoundReport extends EerFigures {
  round: number;
  /** Cumulated ε after the round (δ in `settings`). */
  epsilon: number;
  /** Bytes one device uploads: the JSON body carrying its signed update. */
  bytesPerClient: number;
  /** The `TFLU` bytes alone. */
  updateBytes: number;
  contributors: number;
  version: number;
  /** Wall time of the round, of its local updates (all devices, sequentially) and of its evaluation. */
  seconds: number;
  localSeconds: number;
  evalSeconds: number;
}

/** One federated run. */
export interface RunReport {
  aggregation: string;
  attackers: number;
  rounds: RoundReport[];
  /** Why the run stopped early, if it did (e.g. `ERR_PRIVACY_BUDGET`). */
  stopped?: string;
  /** Public centres served with each version (the public users with sequences). */
  publicCentres?: number;
  /** Devices holding a kept target at the end (`anchorOwnCentre`: each made it in its first round). */
  deviceTargets: number;
}

/** The report. */
export interface FlSimReport {
  data: string;
  evalData: string;
  clients: number;
  evalUsers: number;
  rounds: RoundReport[];
  shipped: EerFigures;
  central: EerFigures;
  final: { eer: number; epsilon: number; embeddingEer: number };
  /** (shipped − final) / (shipped − central), by `eer` and by `embeddingEer`. */
  gapClosed: { eer: number | null; embeddingEer: number | null };
  poisoning?: {
    attack: string;
    fraction: number;
    attackers: number;
    clean: { eer: number; embeddingEer: number };
    robust: { eer: number; embeddingEer: number; aggregation: string };
    mean: { eer: number; embeddingEer: number };
  };
  settings: Record<string, unknown>;
  runs: RunReport[];
  run: { wallSeconds: number; centralSeconds: number; backend: string };
}

/** Options the command line does not expose (tests: tiny settings). */
export interface FlSimOptions {
  log?: (line: string) => void;
  localUpdate?: Partial<LocalUpdateConfig>;
  detector?: Partial<DetectorConfig>;
  central?: Partial<EncoderTrainConfig>;
  backendName?: string;
}

// --- processes ------------------------------------------------------------------------------

interface Proc {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `node --import tsx <script>` with `env` and waits for `<url>/healthz`. */
async function startProcess(
  script: string,
  env: Record<string, string>,
  url: string,
): Promise<Proc> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TACIT_')),
  );
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`${script} exited (${code ?? signal}): ${stderr}\n`);
  });
  let stopping = false;
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: async () => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A JSON answer of our own servers (the schemas are theirs; what is used is checked by use). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type WireJson = any;

async function http(
  method: string,
  url: string,
  o: { key?: string; body?: unknown; expect?: number } = {},
): Promise<{ status: number; json: WireJson; bytes: number }> {
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  const send = () =>
    fetch(url, {
      method,
      headers: {
        ...(o.key ? { authorization: `Bearer ${o.key}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body } : {}),
    });
  let res: Response;
  try {
    res = await send();
  } catch (err) {
    // A kept-alive connection the server closed while idle (its 5 s timeout, during a long
    // evaluation) fails before the request reaches it — as a reset, or as EPIPE when the
    // request was being written into the closed socket: once more on a fresh connection.
    const cause = (err as { cause?: { message?: string; code?: string } }).cause;
    if (!/other side closed|ECONNRESET|EPIPE/.test(`${cause?.message} ${cause?.code}`)) {
      throw new Error(`${method} ${url}: ${(err as Error).message} ${cause?.message ?? ''}`, {
        cause: err,
      });
    }
    res = await send();
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (o.expect !== undefined && res.status !== o.expect) {
    throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 200)}`);
  }
  return { status: res.status, json, bytes: body?.length ?? 0 };
}

/** A simulated device: its own ES256 key (non-extractable), enrolled at the verifier. */
async function enrolDevice(
  verifier: string,
  bankKey: string,
  subject: string,
): Promise<DeviceSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const { kty, crv, x, y } = await exportJWK(publicKey);
  const jwk = { kty: kty!, crv: crv!, x: x!, y: y! };
  const code = (
    await http('POST', `${verifier}/v1/enrollment-codes`, {
      key: bankKey,
      body: { subject },
      expect: 201,
    })
  ).json.code as string;
  const statement = await new CompactSign(
    new TextEncoder().encode(
      JSON.stringify({ code, iat: Math.floor(Date.now() / 1000), jti: crypto.randomUUID() }),
    ),
  )
    .setProtectedHeader({ alg: 'ES256', typ: 'tacit-enroll+jwt', jwk })
    .sign(privateKey);
  await http('POST', `${verifier}/v1/devices`, { body: { enrollment: statement }, expect: 201 });
  return { privateKey, kid: await calculateJwkThumbprint(jwk, 'sha256') };
}

// --- the run --------------------------------------------------------------------------------

interface Client {
  userId: string;
  sequences: TrainingUser['sequences'];
  key: DeviceSigningKey;
}

type Evaluate = (encoder: SharedEncoder) => Promise<EerFigures>;

interface RunInput {
  label: string;
  tmp: string;
  verifier: string;
  aggregatorKey: string;
  clients: readonly Client[];
  attackers: ReadonlySet<number>;
  attack: FlSimArgs['attack'];
  aggregate: string;
  args: FlSimArgs;
  minDevices: number;
  evaluate: Evaluate;
  options: FlSimOptions;
}

/** One federated run against a fresh aggregator process. */
async function federatedRun(input: RunInput): Promise<RunReport> {
  const { args, options } = input;
  const log = options.log ?? (() => undefined);
  const f = FEDERATED_DEFAULTS;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const admin = `sim-operator-${crypto.randomUUID()}`;
  const agg = await startProcess(
    'server/aggregator/main.ts',
    {
      TACIT_FL_HOST: '127.0.0.1',
      TACIT_FL_PORT: String(port),
      TACIT_FL_ISSUER: url,
      TACIT_FL_DB: join(input.tmp, `aggregator-${input.label}.db`),
      TACIT_FL_ADMIN_KEY: admin,
      TACIT_FL_VERIFIER_URL: input.verifier,
      TACIT_FL_VERIFIER_KEY: input.aggregatorKey,
      TACIT_FL_INITIAL_ENCODER: SHIPPED_KEYSTROKE,
      TACIT_FL_PUBLIC_DATA: resolve(args.publicData),
      TACIT_FL_EPSILON_BUDGET: String(args.epsilonBudget),
      TACIT_FL_DELTA: String(args.delta),
      TACIT_FL_SAMPLING_RATE: String(args.sampleRate),
      TACIT_FL_MIN_DEVICES: String(input.minDevices),
      TACIT_FL_CLIP_NORM: String(f.clipNorm),
      TACIT_FL_NOISE_MULTIPLIER: String(args.noiseMultiplier),
      TACIT_FL_SERVER_LEARNING_RATE: String(f.serverOptimizer.learningRate),
      TACIT_FL_AGGREGATION: input.aggregate,
    },
    url,
  );
  const report: RunReport = {
    aggregation: input.aggregate,
    attackers: input.attackers.size,
    rounds: [],
    deviceTargets: 0,
  };
  // Device state (never sent): each device's kept target, made in the first round it trains by
  // the worker's own rule (`roundTarget`) and kept for every later version.
  const targets = new Map<number, Float32Array>();
  try {
    // The extension pins the aggregator's JWKS; the simulation pins it once, at the start.
    const jwks = (await http('GET', `${url}/.well-known/jwks.json`, { expect: 200 }))
      .json as JSONWebKeySet;
    let version = 1;
    const rng = createRng(args.seed * 7919 + input.label.length);
    for (let r = 1; r <= args.rounds; r++) {
      const started = performance.now();
      const opened = await http('POST', `${url}/v1/admin/rounds`, { key: admin });
      if (opened.status !== 201) {
        report.stopped = `round ${r}: ${opened.json?.error?.code ?? opened.status}`;
        log(`  [${input.label}] stopped: ${report.stopped}`);
        break;
      }
      const round = opened.json as {
        round: number;
        encoderId: string;
        normBound: number;
        parameters: number;
      };
      const served = (await http('GET', `${url}/v1/models/current`, { expect: 200 })).json;
      const claims = await verifyModelVersion(served, jwks, { issuer: url, minVersion: version });
      const encoder = encoderFromJSON(served.encoder);
      if (encoderId(encoder) !== claims.enc || claims.enc !== round.encoderId) {
        throw new Error('the served encoder is not the round’s');
      }
      // The version's own public centres, as served and signed (centresDigest, verified above).
      const centres = publicCentresFromJSON(served.centres, {
        encoderId: claims.enc,
        dimension: embeddingDimension(encoder),
      });
      report.publicCentres = centres.centres.length;
      let bytesPerClient = 0;
      let updateBytes = 0;
      let sent = 0;
      let localSeconds = 0;
      for (const [i, client] of input.clients.entries()) {
        // Poisson sampling: each device takes part with probability q (the accountant's model).
        if (args.sampleRate < 1 && rng() >= args.sampleRate) continue;
        const t = performance.now();
        // A seeded generator per device stands for the worker's crypto.getRandomValues.
        const secret = createRng(args.seed * 104_729 + r * 7_907 + i + 1);
        const { target } = roundTarget(targets.get(i), encoder, client.sequences, f, secret);
        if (target !== undefined) targets.set(i, target);
        const local = await localUpdate(
          encoder,
          client.sequences,
          centres,
          { ...f.localUpdate, ...options.localUpdate },
          createRng(args.seed * 1_000_003 + r * 10_007 + i),
          target === undefined ? {} : { ownCentre: target },
        );
        localSeconds += (performance.now() - t) / 1000;
        const deviceRng: Rng = createRng(args.seed * 999_983 + r * 7_919 + i + 1);
        const delta = input.attackers.has(i)
          ? poison(local.delta, input.attack, round.normBound, f.clipNorm)
          : privatiseDelta(
              local.delta,
              {
                clipNorm: f.clipNorm,
                noiseMultiplier: args.noiseMultiplier,
                minDevices: input.minDevices,
              },
              deviceRng,
            );
        const bytes = serialiseUpdate(
          quantise(delta, { round: round.round, encoderId: round.encoderId }, deviceRng),
        );
        const jws = await signUpdate(bytes, client.key);
        const res = await http('POST', `${url}/v1/updates`, { body: { update: jws } });
        if (res.status !== 201) throw new Error(`upload refused: ${JSON.stringify(res.json)}`);
        bytesPerClient = Math.max(bytesPerClient, res.bytes);
        updateBytes = bytes.length;
        sent++;
      }
      const closed = await http('POST', `${url}/v1/admin/rounds/${round.round}/close`, {
        key: admin,
        body: {},
      });
      if (closed.status !== 201) {
        report.stopped = `round ${r} close: ${closed.json?.error?.code ?? closed.status} (${sent} updates)`;
        log(`  [${input.label}] stopped: ${report.stopped}`);
        break;
      }
      const published = (await http('GET', `${url}/v1/models/${closed.json.ver}`, { expect: 200 }))
        .json;
      const verified = await verifyModelVersion(published, jwks, {
        issuer: url,
        minVersion: version + 1,
      });
      version = verified.ver;
      const te = performance.now();
      const figures = await input.evaluate(encoderFromJSON(published.encoder));
      const evalSeconds = (performance.now() - te) / 1000;
      const row: RoundReport = {
        round: r,
        ...figures,
        epsilon: verified.privacy.epsilon,
        bytesPerClient,
        updateBytes,
        contributors: verified.contributors,
        version,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        localSeconds: Math.round(localSeconds * 10) / 10,
        evalSeconds: Math.round(evalSeconds * 10) / 10,
      };
      report.rounds.push(row);
      report.deviceTargets = targets.size;
      log(
        `  [${input.label}] round ${r}: EER ${pct(row.eer)}, embedding per-user EER ${pct(row.embeddingEer)}, ε ${row.epsilon.toFixed(2)}, ${sent} updates of ${bytesPerClient} B, ${row.seconds} s (local ${row.localSeconds} s, eval ${row.evalSeconds} s)`,
      );
    }
  } finally {
    await agg.stop();
  }
  return report;
}

/**
 * A poisoning device's update: its honest delta clipped to C, scaled (or sign-flipped) to just
 * under the round's norm bound, without noise: the largest push the norm bound lets through.
 */
export function poison(
  delta: Float32Array,
  attack: FlSimArgs['attack'],
  normBound: number,
  clipNorm: number,
): Float32Array {
  const clipped = clipDelta(delta, clipNorm);
  const norm = l2Norm(clipped);
  if (norm === 0) return clipped;
  // Quantisation may add up to √chunk/127 of the norm (updateNormBound): stay under it.
  const target = (0.98 * normBound) / (1 + Math.sqrt(DEFAULT_CHUNK_SIZE) / 127);
  const factor = ((attack === 'sign-flip' ? -1 : 1) * target) / norm;
  return clipped.map((v) => v * factor);
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Runs the simulation (module description). Writes nothing: see {@link writeFlSimReport}. */
export async function runFlSim(args: FlSimArgs, options: FlSimOptions = {}): Promise<FlSimReport> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const f = FEDERATED_DEFAULTS;
  const tmp = mkdtempSync(join(tmpdir(), 'tacit-fl-sim-'));
  const bankKey = `sim-bank-${crypto.randomUUID()}`;
  const aggregatorKey = `sim-aggregator-${crypto.randomUUID()}`;
  const verifierPort = await freePort();
  const verifierUrl = `http://127.0.0.1:${verifierPort}`;
  // Started first: its process compiles and starts on the other core meanwhile.
  const verifierStarting = startProcess(
    'server/src/main.ts',
    {
      TACIT_HOST: '127.0.0.1',
      TACIT_PORT: String(verifierPort),
      TACIT_DB: join(tmp, 'verifier.db'),
      TACIT_API_KEYS: `sim-bank:bank:${bankKey},sim-aggregator:aggregator:${aggregatorKey}`,
      TACIT_LOG_LEVEL: 'warn',
      TACIT_RATE_LIMIT_RP: '100000000',
      TACIT_RATE_LIMIT_DEVICE: '100000000',
      TACIT_RATE_LIMIT_ADDRESS: '100000000',
    },
    verifierUrl,
  );
  const runs: RunReport[] = [];
  let verifier: Proc | undefined;
  try {
    // Clients: the first N users of --data. Held-out users: after them (or --eval-data's), never
    // one that trained the shipped calibration, and never a client (checked by their data).
    const clientsRaw = loadAalto(args.data, { limit: args.clients });
    if (clientsRaw.length < args.clients)
      throw new RangeError(`--data holds only ${clientsRaw.length} users`);
    const clientPrints = new Set(clientsRaw.map((u) => userFingerprint(u.sequences[0] ?? [])));
    const calibration = loadCalibration();
    const evalDir = args.evalData ?? args.data;
    const pool = loadAalto(evalDir, {
      offset: evalDir === args.data ? args.clients : 0,
      limit: args.evalUsers * 2 + 20,
    });
    const trainedCalibration = new Set(
      calibration.modalities.keystroke?.trainingFingerprints ?? [],
    );
    const evalUsers = refuseCalibrationUsers(
      pool.filter((u) => !trainedCalibration.has(userFingerprint(u.sequences[0] ?? []))),
      calibration,
      'keystroke',
      (u) => userFingerprint(u.sequences[0] ?? []),
    )
      .filter((u) => u.sequences.length >= 10)
      .slice(0, args.evalUsers);
    if (evalUsers.some((u) => clientPrints.has(userFingerprint(u.sequences[0] ?? [])))) {
      throw new RangeError('an evaluation user is also a client');
    }
    if (evalUsers.length < 2) throw new RangeError('fewer than 2 usable evaluation users');
    log(`${clientsRaw.length} clients, ${evalUsers.length} held-out users (${evalDir})`);

    const evaluate: Evaluate = async (encoder) => {
      const report = await productAalto(
        evalUsers,
        {
          task: 'keystroke-aalto',
          encoder,
          calibration,
          ...(options.detector ? { detector: options.detector } : {}),
        },
        evalUsers.length,
      );
      return {
        eer: report.eer,
        perUserEer: report.perUserEer.mean,
        embeddingEer: report.ablations?.['embedding']?.perUserEer.mean ?? Number.NaN,
      };
    };

    const shippedEncoderValue = encoderFromJSON(readFileSync(SHIPPED_KEYSTROKE, 'utf8'));
    const shipped = await evaluate(shippedEncoderValue);
    log(
      `shipped encoder: EER ${pct(shipped.eer)}, embedding per-user EER ${pct(shipped.embeddingEer)}`,
    );

    const t0 = performance.now();
    const training = loadTrainingData({
      task: 'keystroke-aalto',
      data: args.data,
      users: args.clients,
      offset: 0,
    });
    const { encoder: centralEncoder } = await trainEncoder(
      'keystroke',
      training.users,
      {
        ...training.config,
        ...(args.centralEpochs ? { epochs: args.centralEpochs } : {}),
        seed: args.seed,
        ...options.central,
      },
      {
        dataset: training.dataset,
        licence: training.licence,
        task: 'keystroke-aalto',
        notes: 'fl:sim central line',
      },
    );
    const centralSeconds = (performance.now() - t0) / 1000;
    const central = await evaluate(centralEncoder);
    log(
      `central encoder (${args.clients} users, ${centralSeconds.toFixed(0)} s): EER ${pct(central.eer)}, embedding per-user EER ${pct(central.embeddingEer)}`,
    );

    verifier = await verifierStarting;
    const clients: Client[] = [];
    for (const u of clientsRaw) {
      clients.push({
        userId: u.userId,
        sequences: u.sequences.map(keySequence),
        key: await enrolDevice(verifierUrl, bankKey, `sim-${u.userId}`),
      });
    }
    log(`enrolled ${clients.length} devices at the verifier`);
    const minDevices =
      args.minDevices ??
      Math.min(f.minDevices, Math.max(1, Math.floor(args.clients * args.sampleRate * 0.8)));
    const common = {
      tmp,
      verifier: verifierUrl,
      aggregatorKey,
      clients,
      attack: args.attack,
      args,
      minDevices,
      evaluate,
      options,
    };
    const clean = await federatedRun({
      ...common,
      label: 'clean',
      attackers: new Set(),
      aggregate: args.aggregate,
    });
    runs.push(clean);
    let poisoning: FlSimReport['poisoning'];
    if (args.attackers > 0) {
      const count = Math.max(1, Math.round(args.attackers * args.clients));
      const order = clients.map((_, i) => i);
      const pick = createRng(args.seed + 17);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(pick() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const attackers = new Set(order.slice(0, count));
      const robust = await federatedRun({
        ...common,
        label: `${args.attack}-${args.aggregate}`,
        attackers,
        aggregate: args.aggregate,
      });
      const mean = await federatedRun({
        ...common,
        label: `${args.attack}-mean`,
        attackers,
        aggregate: 'mean',
      });
      runs.push(robust, mean);
      const last = (r: RunReport) =>
        r.rounds.at(-1) ?? { eer: Number.NaN, embeddingEer: Number.NaN };
      poisoning = {
        attack: args.attack,
        fraction: args.attackers,
        attackers: count,
        clean: { eer: last(clean).eer, embeddingEer: last(clean).embeddingEer },
        robust: {
          eer: last(robust).eer,
          embeddingEer: last(robust).embeddingEer,
          aggregation: args.aggregate,
        },
        mean: { eer: last(mean).eer, embeddingEer: last(mean).embeddingEer },
      };
    }
    const final = clean.rounds.at(-1);
    const gap = (key: 'eer' | 'embeddingEer') =>
      final && shipped[key] !== central[key]
        ? (shipped[key] - final[key]) / (shipped[key] - central[key])
        : null;
    return {
      data: args.data,
      evalData: evalDir,
      clients: clients.length,
      evalUsers: evalUsers.length,
      rounds: clean.rounds,
      shipped,
      central,
      final: {
        eer: final?.eer ?? shipped.eer,
        embeddingEer: final?.embeddingEer ?? shipped.embeddingEer,
        epsilon: final?.epsilon ?? 0,
      },
      gapClosed: { eer: gap('eer'), embeddingEer: gap('embeddingEer') },
      ...(poisoning ? { poisoning } : {}),
      settings: {
        ...f,
        localUpdate: { ...f.localUpdate, ...options.localUpdate },
        minDevices,
        aggregation: args.aggregate,
        samplingRate: args.sampleRate,
        epsilonBudget: args.epsilonBudget,
        noiseMultiplier: args.noiseMultiplier,
        delta: args.delta,
        seed: args.seed,
        publicUsers: runs[0]?.publicCentres ?? 0,
      },
      runs,
      run: {
        wallSeconds: Math.round((performance.now() - started) / 100) / 10,
        centralSeconds: Math.round(centralSeconds * 10) / 10,
        backend: options.backendName ?? args.backend,
      },
    };
  } finally {
    await (verifier ?? (await verifierStarting.catch(() => undefined)))?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `x.json` → `x.svg`. */
export const flSimSvgPath = (jsonPath: string) =>
  jsonPath.endsWith('.json') ? `${jsonPath.slice(0, -5)}.svg` : `${jsonPath}.svg`;

/** EER against round, with the shipped and central encoders as reference lines. */
export function flSimSvg(report: FlSimReport): string {
  const last = Math.max(1, report.rounds.length);
  const flat = (label: string, y: number) => ({
    label,
    dashed: true,
    points: [
      { x: 0, y },
      { x: last, y },
    ],
  });
  const series = [
    {
      label: `federated (ε ${report.final.epsilon.toFixed(2)})`,
      points: [
        { x: 0, y: report.shipped.eer },
        ...report.rounds.map((r) => ({ x: r.round, y: r.eer })),
      ],
    },
    flat(`shipped encoder (${pct(report.shipped.eer)})`, report.shipped.eer),
    flat(`central, same clients (${pct(report.central.eer)})`, report.central.eer),
  ];
  for (const run of report.runs.slice(1)) {
    series.push({
      label: `${run.attackers} attackers, ${run.aggregation}`,
      points: [
        { x: 0, y: report.shipped.eer },
        ...run.rounds.map((r) => ({ x: r.round, y: r.eer })),
      ],
    });
  }
  return seriesSvg(series, {
    title: `fl:sim: ${report.clients} devices, ${report.evalUsers} held-out users`,
    xLabel: 'round',
    yLabel: 'EER (product scorer)',
  });
}

/** Writes the JSON report and its SVG beside it. */
export function writeFlSimReport(
  report: FlSimReport,
  jsonPath: string,
): { json: string; svg: string } {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  const svg = flSimSvgPath(jsonPath);
  writeFileSync(svg, flSimSvg(report));
  return { json: jsonPath, svg };
}
