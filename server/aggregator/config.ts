/**
 * The aggregator's configuration, from the environment (`TACIT_FL_*`), validated once at
 * start-up: a bad value stops it with a message naming the variable, never its value. The
 * training defaults come from `FEDERATED_DEFAULTS` (`model/federated/config.ts`).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { FEDERATED_DEFAULTS } from '../../model/federated/config';
import {
  AGGREGATION_METHODS,
  aggregationByName,
  type RobustAggregation,
} from '../../model/federated/robust-aggregate';
import { MAX_UPDATE_BYTES } from '../../model/federated/update-format';
import type { TrainingUser } from '../../model/shared/train';
import { loadPohmmUsers } from '../../model/cli/public-users';

/** Validated configuration. */
export interface AggregatorConfig {
  /** `TACIT_FL_HOST`, default `127.0.0.1`. */
  host: string;
  /** `TACIT_FL_PORT`, default 8789 (0 picks a free one). */
  port: number;
  /** `TACIT_FL_DB`: the aggregator's own SQLite file, default `data/aggregator.db`, absolute. */
  dbPath: string;
  /** `TACIT_FL_ISSUER`: `iss` of its model versions, default `http://<host>:<port>`. */
  issuer: string | undefined;
  /** `TACIT_FL_ADMIN_KEY` (required, 16–256 printable): bearer key of its admin routes. */
  adminKey: string;
  /** `TACIT_FL_VERIFIER_URL`, default `http://127.0.0.1:8787`: where device keys are checked. */
  verifierUrl: string;
  /** `TACIT_FL_VERIFIER_KEY` (required): an API key of role `aggregator` at the verifier. */
  verifierKey: string;
  /**
   * `TACIT_FL_INITIAL_ENCODER`: encoder JSON file published as version 1 when the store has no
   * version yet (required then; ignored afterwards). Its content, read here.
   */
  initialEncoder: string | undefined;
  /**
   * `TACIT_FL_PUBLIC_DATA` (required): the pohmm dataset directory (`keypad.csv`,
   * `fixed_text.csv`; BSD-3-Clause), whose users' centres every version carries — the public
   * users that trained the shipped keystroke encoder, loaded here once by the training's own
   * loader (`model/cli/public-users.ts`).
   */
  publicUsers: TrainingUser[];
  /** `TACIT_FL_EPSILON_BUDGET`, (0, 1000], default 8. */
  epsilonBudget: number;
  /** `TACIT_FL_DELTA`, (0, 1), default 1e-5: below 1 / number of devices. */
  delta: number;
  /** `TACIT_FL_SAMPLING_RATE` q, (0, 1], default 1 (every device every round). */
  samplingRate: number;
  /** `TACIT_FL_MIN_DEVICES` m_min (default `FEDERATED_DEFAULTS.minDevices`). */
  minDevices: number;
  /** `TACIT_FL_CLIP_NORM` C (default `FEDERATED_DEFAULTS.clipNorm`). */
  clipNorm: number;
  /** `TACIT_FL_NOISE_MULTIPLIER` σ (default `FEDERATED_DEFAULTS.noiseMultiplier`). */
  noiseMultiplier: number;
  /** `TACIT_FL_SERVER_LEARNING_RATE` η (default `FEDERATED_DEFAULTS.serverOptimizer.learningRate`). */
  serverLearningRate: number;
  /** `TACIT_FL_AGGREGATION` (default `FEDERATED_DEFAULTS.aggregation`). */
  aggregation: RobustAggregation;
  /** `TACIT_FL_MAX_UPDATE_BYTES`, default 5 MiB: the largest `TFLU` accepted. */
  maxUpdateBytes: number;
  /**
   * `TACIT_FL_UPLOAD_RATE_LIMIT`, default 600, 0 = off: update uploads accepted per client
   * address per minute (docs/federated.md "Aggregator").
   */
  uploadRateLimit: number;
}

/** A configuration the aggregator refuses to start with. */
export class AggregatorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AggregatorConfigError';
  }
}

/**
 * Uploads per client address per minute. An upload costs a signature check and a call to the
 * verifier before it can be refused, so an address that floods the route is stopped first; a
 * device sends one update per round, so even a bank's whole fleet behind one NAT stays far below.
 */
export const DEFAULT_UPLOAD_RATE_LIMIT = 600;

/** The aggregator's default port (the verifier's is 8787, the demo bank's 8788). */
export const DEFAULT_AGGREGATOR_PORT = 8789;

const num = (min: number, max: number, exclusiveMin: boolean) =>
  z
    .string()
    .regex(/^[0-9.eE+-]+$/, 'must be a number')
    .transform(Number)
    .refine(
      (n) => Number.isFinite(n) && (exclusiveMin ? n > min : n >= min) && n <= max,
      `must be a number in ${exclusiveMin ? '(' : '['}${min}, ${max}]`,
    );
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `must be an integer ${min}-${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be an integer ${min}-${max}`);
const url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .refine((u) => !u.endsWith('/'), 'must not end with "/"');
const secret = (what: string) =>
  z
    .string({ error: `required (${what})` })
    .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16-256 printable characters without spaces');

const envSchema = z.object({
  TACIT_FL_HOST: z.string().min(1).default('127.0.0.1'),
  TACIT_FL_PORT: int(0, 65535).default(DEFAULT_AGGREGATOR_PORT),
  TACIT_FL_DB: z.string().min(1).default('data/aggregator.db'),
  TACIT_FL_ISSUER: url.optional(),
  TACIT_FL_ADMIN_KEY: secret('the operator key of the admin routes'),
  TACIT_FL_VERIFIER_URL: url.default('http://127.0.0.1:8787'),
  TACIT_FL_VERIFIER_KEY: secret('an API key of role aggregator at the verifier'),
  TACIT_FL_INITIAL_ENCODER: z.string().min(1).optional(),
  TACIT_FL_PUBLIC_DATA: z.string({
    error: 'required (the pohmm dataset directory: the public users whose centres versions carry)',
  }),
  TACIT_FL_EPSILON_BUDGET: num(0, 1000, true).default(8),
  TACIT_FL_DELTA: num(0, 0.999999, true).default(1e-5),
  TACIT_FL_SAMPLING_RATE: num(0, 1, true).default(1),
  TACIT_FL_MIN_DEVICES: int(1, 10_000_000).default(FEDERATED_DEFAULTS.minDevices),
  TACIT_FL_CLIP_NORM: num(0, 1e6, true).default(FEDERATED_DEFAULTS.clipNorm),
  TACIT_FL_NOISE_MULTIPLIER: num(0, 100, false).default(FEDERATED_DEFAULTS.noiseMultiplier),
  TACIT_FL_SERVER_LEARNING_RATE: num(0, 100, true).default(
    FEDERATED_DEFAULTS.serverOptimizer.learningRate,
  ),
  TACIT_FL_AGGREGATION: z.enum(AGGREGATION_METHODS).optional(),
  TACIT_FL_MAX_UPDATE_BYTES: int(64, MAX_UPDATE_BYTES).default(MAX_UPDATE_BYTES),
  TACIT_FL_UPLOAD_RATE_LIMIT: int(0, 1_000_000).default(DEFAULT_UPLOAD_RATE_LIMIT),
});

/**
 * Reads and validates the configuration. Empty variables count as unset.
 *
 * @throws {AggregatorConfigError} listing every bad variable by name.
 */
export function loadAggregatorConfig(
  env: Record<string, string | undefined> = process.env,
  cwd = process.cwd(),
): AggregatorConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(
      ([k, v]) => k.startsWith('TACIT_FL_') && v !== undefined && v !== '',
    ),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`);
    throw new AggregatorConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  let initialEncoder: string | undefined;
  if (e.TACIT_FL_INITIAL_ENCODER !== undefined) {
    try {
      initialEncoder = readFileSync(resolve(cwd, e.TACIT_FL_INITIAL_ENCODER), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new AggregatorConfigError(
        `Invalid configuration:\n  TACIT_FL_INITIAL_ENCODER: cannot read the file (${code})`,
      );
    }
  }
  let publicUsers: TrainingUser[];
  try {
    publicUsers = loadPohmmUsers(resolve(cwd, e.TACIT_FL_PUBLIC_DATA)).users;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AggregatorConfigError(
      `Invalid configuration:\n  TACIT_FL_PUBLIC_DATA: cannot read the pohmm dataset (${code})`,
    );
  }
  // computePublicCentres needs a user with a sequence of 2 steps; refuse now, not at publish.
  if (!publicUsers.some((u) => u.sequences.some((q) => q.n >= 2))) {
    throw new AggregatorConfigError(
      'Invalid configuration:\n  TACIT_FL_PUBLIC_DATA: the pohmm dataset has no usable user',
    );
  }
  return {
    host: e.TACIT_FL_HOST,
    port: e.TACIT_FL_PORT,
    dbPath: e.TACIT_FL_DB === ':memory:' ? ':memory:' : resolve(cwd, e.TACIT_FL_DB),
    issuer: e.TACIT_FL_ISSUER,
    adminKey: e.TACIT_FL_ADMIN_KEY,
    verifierUrl: e.TACIT_FL_VERIFIER_URL,
    verifierKey: e.TACIT_FL_VERIFIER_KEY,
    initialEncoder,
    publicUsers,
    epsilonBudget: e.TACIT_FL_EPSILON_BUDGET,
    delta: e.TACIT_FL_DELTA,
    samplingRate: e.TACIT_FL_SAMPLING_RATE,
    minDevices: e.TACIT_FL_MIN_DEVICES,
    clipNorm: e.TACIT_FL_CLIP_NORM,
    noiseMultiplier: e.TACIT_FL_NOISE_MULTIPLIER,
    serverLearningRate: e.TACIT_FL_SERVER_LEARNING_RATE,
    aggregation:
      e.TACIT_FL_AGGREGATION === undefined
        ? FEDERATED_DEFAULTS.aggregation
        : aggregationByName(e.TACIT_FL_AGGREGATION),
    maxUpdateBytes: e.TACIT_FL_MAX_UPDATE_BYTES,
    uploadRateLimit: e.TACIT_FL_UPLOAD_RATE_LIMIT,
  };
}
