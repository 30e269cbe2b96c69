/**
 * `npm run fl:experiment`: federated rounds in process (no HTTP), to choose the learning
 * settings of `model/federated/config.ts`. Devices are Aalto users (`--clients-offset`,
 * `--clients`), each running the real client code (`deviceRound`: local update, clipping and
 * noise, quantisation, the update bytes); the publisher parses, averages, steps its server
 * optimiser and recomputes the public centres on pohmm (`publishRound`). After every
 * `--eval-every` rounds the published encoder is scored with the product scorer on other Aalto
 * users (`productAaltoProtocol`, what `npm run eval` reports as the per-user EER), and ε comes
 * from the accountant (`q`, `σ`, δ). Choose settings on validation users; report test users once.
 *
 * ```
 * npm run fl:experiment -- --data ../shared/datasets/aalto-dev --public ../shared/datasets/pohmm \
 *   --clients-offset 500 --clients 829 --eval-offset 200 --eval-users 100 --rounds 20 \
 *   [--q 0.2 --sigma 1 --clip 0.5 --min-devices 100 --steps 10 --lr 0.001 --batch 32 \
 *    --server fedavgm|fedadam|fedyogi --server-lr 1 --momentum 0.9 --beta2 0.99 --tau 1e-3 \
 *    --objective positive-only --[no-]anchor --code-word 3 --random-negatives 64 --scale 16 --margin 0.1 \
 *    --proximal 0 --no-recompute --recalibrate] [--central <model dir>] \
 *   --out report.json
 * ```
 */
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keySequence } from '../eval/encoder-protocols';
import { distribution } from '../eval/metrics';
import { PrivacyAccountant } from '../federated/accountant';
import { FEDERATED_DEFAULTS, type FederatedConfig } from '../federated/config';
import { type FederatedClient, type PublishedVersion, runRound } from '../federated/experiment';
import { type LocalObjective, resolveLocalUpdateConfig } from '../federated/local-update';
import { computePublicCentres } from '../federated/public-centres';
import {
  type ServerOptimizerKind,
  initialServerState,
  resolveServerOptimizerConfig,
} from '../federated/server-optimizer';
import { createRng } from '../random';
import { encoderId } from '../shared/embedding-model';
import { type SharedEncoder, encoderFromJSON } from '../shared/encoder';
import { type CalibrationFile } from '../product/calibration';
import { calibrationSamples, fitModalityCalibration } from '../product/learn-calibration';
import { loadCalibrationUsers } from './calibrate-run';
import { loadAalto } from './load-datasets';
import {
  loadCalibration,
  productAaltoProtocol,
  refuseCalibrationUsers,
  shippedEncoder,
} from './product-eval';
import { loadTrainingData } from './train-run';
import { userFingerprint } from './training-identity';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    public: { type: 'string' },
    'clients-offset': { type: 'string', default: '500' },
    clients: { type: 'string', default: '829' },
    'eval-offset': { type: 'string', default: '200' },
    'eval-users': { type: 'string', default: '100' },
    rounds: { type: 'string' },
    'eval-every': { type: 'string', default: '1' },
    q: { type: 'string' },
    sigma: { type: 'string' },
    clip: { type: 'string' },
    'min-devices': { type: 'string' },
    steps: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    optimizer: { type: 'string' },
    server: { type: 'string' },
    'server-lr': { type: 'string' },
    momentum: { type: 'string' },
    beta2: { type: 'string' },
    tau: { type: 'string' },
    'no-recompute': { type: 'boolean', default: false },
    // `--no-anchor` too (allowNegative): the shipped default is on, so a plain flag could not
    // switch it off for the first session's runs.
    anchor: { type: 'boolean' },
    proximal: { type: 'string' },
    objective: { type: 'string' },
    'code-word': { type: 'string' },
    'random-negatives': { type: 'string' },
    scale: { type: 'string' },
    margin: { type: 'string' },
    recalibrate: { type: 'boolean', default: false },
    central: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
  strict: true,
  allowNegative: true,
});

function num(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new RangeError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  if (a.data === undefined || a.public === undefined || a.out === undefined) {
    throw new RangeError('--data, --public and --out are required');
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
  const d = FEDERATED_DEFAULTS;
  const settings: FederatedConfig = {
    ...d,
    localUpdate: resolveLocalUpdateConfig({
      ...d.localUpdate,
      steps: num('steps', a.steps, d.localUpdate.steps),
      learningRate: num('lr', a.lr, d.localUpdate.learningRate),
      batchSize: num('batch', a.batch, d.localUpdate.batchSize),
      optimizer: (a.optimizer ?? d.localUpdate.optimizer) as 'adam' | 'sgd',
      proximal: num('proximal', a.proximal, d.localUpdate.proximal),
      objective: (a.objective ?? d.localUpdate.objective) as LocalObjective,
      scale: num('scale', a.scale, d.localUpdate.scale),
      margin: num('margin', a.margin, d.localUpdate.margin),
      ...(a['random-negatives'] === undefined
        ? {}
        : { randomNegatives: num('random-negatives', a['random-negatives'], 0) }),
    }),
    clipNorm: num('clip', a.clip, d.clipNorm),
    noiseMultiplier: num('sigma', a.sigma, d.noiseMultiplier),
    minDevices: num('min-devices', a['min-devices'], d.minDevices),
    sampleRate: num('q', a.q, d.sampleRate),
    rounds: num('rounds', a.rounds, d.rounds),
    serverOptimizer: resolveServerOptimizerConfig({
      ...d.serverOptimizer,
      kind: (a.server ?? d.serverOptimizer.kind) as ServerOptimizerKind,
      learningRate: num('server-lr', a['server-lr'], d.serverOptimizer.learningRate),
      momentum: num('momentum', a.momentum, d.serverOptimizer.momentum),
      beta2: num('beta2', a.beta2, d.serverOptimizer.beta2),
      tau: num('tau', a.tau, d.serverOptimizer.tau),
    }),
    recomputeCentres: !a['no-recompute'],
    anchorOwnCentre: a.anchor ?? d.anchorOwnCentre,
    codeWordWeight: num('code-word', a['code-word'], d.codeWordWeight),
  };
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const calibration = loadCalibration();
  const fp = (u: { sequences: readonly (readonly unknown[])[] }) =>
    userFingerprint((u.sequences[0] ?? []) as never);

  const clientsOffset = num('clients-offset', a['clients-offset'], 500);
  const clientCount = num('clients', a.clients, 829);
  const evalOffset = num('eval-offset', a['eval-offset'], 200);
  const evalCount = num('eval-users', a['eval-users'], 100);
  // Clients and evaluation users must be disjoint (by id range, then by data).
  if (evalOffset < clientsOffset + clientCount && clientsOffset < evalOffset + evalCount) {
    throw new RangeError('evaluation users overlap the clients');
  }
  const clientUsers = loadAalto(a.data, { offset: clientsOffset, limit: clientCount });
  const evalUsers = refuseCalibrationUsers(
    loadAalto(a.data, { offset: evalOffset, limit: evalCount }),
    calibration,
    'keystroke',
    fp,
  );
  const clientPrints = new Set(clientUsers.map(fp));
  if (evalUsers.some((u) => clientPrints.has(fp(u))))
    throw new RangeError('an evaluation user is a client');
  const clients: FederatedClient[] = clientUsers.map((u) => ({
    id: `aalto:${u.userId}`,
    sequences: u.sequences.map(keySequence),
  }));
  const publicUsers = loadTrainingData({ task: 'keystroke-pohmm', data: a.public }).users;
  log(
    `clients ${clients.length} (aalto ${clientsOffset + 1}–${clientsOffset + clientCount}), eval ${evalUsers.length}, public ${publicUsers.length}`,
  );

  // Publisher step (--recalibrate): every version's keystroke calibration re-learned on the
  // public pohmm users, exactly as `npm run calibrate -- keystroke` learns the shipped one.
  const calibrationSet = a.recalibrate
    ? loadCalibrationUsers({ task: 'keystroke', data: a.public, out: '' })
    : undefined;
  const calibrationFor = async (encoder: SharedEncoder): Promise<CalibrationFile> => {
    if (calibrationSet === undefined) return calibration;
    const { samples } = await calibrationSamples('keystroke', calibrationSet.users, encoder);
    return {
      ...calibration,
      modalities: {
        ...calibration.modalities,
        keystroke: fitModalityCalibration(samples, 'fl-experiment', calibrationSet.fingerprints),
      },
    };
  };
  const evaluate = async (encoder: SharedEncoder) => {
    const r = await productAaltoProtocol(evalUsers, {
      encoder,
      calibration: await calibrationFor(encoder),
    });
    return distribution(r.product.perUser.map((u) => u.eer)).mean;
  };

  const shipped = shippedEncoder('keystroke');
  const shippedEer = await evaluate(shipped);
  log(`shipped: per-user EER ${(100 * shippedEer).toFixed(2)} %`);
  let centralEer: number | undefined;
  if (a.central !== undefined) {
    const central = encoderFromJSON(readFileSync(join(a.central, 'encoder.json'), 'utf8'));
    centralEer = await evaluate(central);
    log(`central: per-user EER ${(100 * centralEer).toFixed(2)} %`);
  }

  const accountant =
    settings.noiseMultiplier > 0
      ? new PrivacyAccountant({ delta: settings.delta, epsilonBudget: 1000 })
      : undefined;
  const rng = createRng(num('seed', a.seed, 1));
  const id0 = encoderId(shipped);
  let version: PublishedVersion = {
    encoder: shipped,
    encoderId: id0,
    centres: computePublicCentres(shipped, publicUsers, id0),
  };
  let state = initialServerState();
  const rounds: {
    round: number;
    eer?: number;
    epsilon: number | null;
    bytesPerClient: number;
    participants: number;
    meanNorm?: number;
    seconds: number;
  }[] = [];
  const every = num('eval-every', a['eval-every'], 1);
  for (let round = 1; round <= settings.rounds; round++) {
    const t0 = performance.now();
    const r = await runRound(
      version,
      clients,
      round,
      state,
      settings,
      publicUsers,
      `${id0}:fl${round}`,
      rng,
    );
    const epsilon =
      accountant === undefined
        ? null
        : accountant.spend(settings.sampleRate, settings.noiseMultiplier).total.epsilon;
    if (r.released && r.version !== undefined && r.serverState !== undefined) {
      version = r.version;
      state = r.serverState;
    }
    const eer =
      round % every === 0 || round === settings.rounds
        ? await evaluate(version.encoder)
        : undefined;
    const seconds = (performance.now() - t0) / 1000;
    rounds.push({
      round,
      ...(eer === undefined ? {} : { eer }),
      epsilon,
      bytesPerClient: r.bytesPerClient,
      participants: r.participants,
      ...(r.meanNorm === undefined ? {} : { meanNorm: r.meanNorm }),
      seconds,
    });
    log(
      `round ${round}: ${r.participants} devices${r.released ? '' : ' (not released)'}, |mean Δ| ${r.meanNorm?.toFixed(4) ?? '-'}, EER ${eer === undefined ? '-' : (100 * eer).toFixed(2) + ' %'}, ε ${epsilon?.toFixed(2) ?? '∞'}, ${seconds.toFixed(0)} s`,
    );
  }
  const last = rounds.at(-1)!;
  const report = {
    settings,
    clients: clients.length,
    clientsRange: [clientsOffset + 1, clientsOffset + clientCount],
    evalUsers: evalUsers.length,
    evalRange: [evalOffset + 1, evalOffset + evalCount],
    shipped: { eer: shippedEer },
    ...(centralEer === undefined ? {} : { central: { eer: centralEer } }),
    rounds,
    final: { eer: last.eer, epsilon: last.epsilon },
    ...(centralEer === undefined || last.eer === undefined
      ? {}
      : { gapClosed: (shippedEer - last.eer) / (shippedEer - centralEer) }),
  };
  writeFileSync(a.out, `${JSON.stringify(report, null, 1)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
