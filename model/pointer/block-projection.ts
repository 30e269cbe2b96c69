/**
 * The block projection: block features (`block-features.ts`) → a short vector in which blocks of
 * one person lie close together and blocks of different people far apart. Learned once, offline,
 * on training users only (never on the users it is evaluated on), and shipped as JSON:
 *
 * 1. per feature, heavy-tailed ones through `asinh(x / c)` (`c` = training median of |x|), then a
 *    robust standardisation `(y − median) / IQR`, clipped to ±{@link BlockProjectionConfig.clip};
 * 2. linear discriminant analysis with one class per training subject: the generalized
 *    eigenproblem `S_b v = λ S_w v`, the within-class scatter shrunk towards a multiple of the
 *    identity ({@link BlockProjectionConfig.shrinkage}) because ~100 features against a few
 *    thousand correlated blocks make it ill-conditioned. The output has unit within-class
 *    variance along every axis, so Euclidean distances are comparable between axes.
 *
 * It also keeps a *cohort*: projected blocks of the training users, against which a per-user
 * scorer normalises its distances (`block-scorer.ts`).
 */
import { assertInteger, assertKnownKeys, assertNumber } from '../assert';
import { ModelFormatError, ModelVersionError } from '../errors';
import { createRng } from '../random';
import { BLOCK_FEATURES, BLOCK_FEATURE_VERSION } from './block-features';
import { symmetricEigen } from './eigen';

/** Format tag of {@link BlockProjectionJSON}. */
export const BLOCK_PROJECTION_FORMAT = 'tacit-pointer-block-projection' as const;
/** Version of {@link BlockProjectionJSON}; bump on any change of meaning. */
export const BLOCK_PROJECTION_VERSION = 1 as const;

/** Learning parameters of {@link learnBlockProjection}. */
export interface BlockProjectionConfig {
  /**
   * Output dimensions (LDA axes kept). Default 20 (on the SapiMouse dev folds 12 → 20 lowered the
   * 3-block EER by about half a point; more gave nothing); integer in [1, feature count], and < classes. */
  dimensions: number;
  /**
   * Shrinkage of the within-class scatter towards `tr(S_w)/d · I`: 0 = plain LDA, 1 = the
   * between-class principal axes. Default 0.1; in [0, 1].
   */
  shrinkage: number;
  /** Standardised features are clipped to ±clip. Default 6; in (0, 100]. */
  clip: number;
  /** Projected training blocks kept as the cohort. Default 200; integer in [0, 10000]. */
  cohortSize: number;
  /** Seed of the cohort draw. Default 1; integer. */
  seed: number;
}

/** Default {@link BlockProjectionConfig}. */
export const DEFAULT_BLOCK_PROJECTION_CONFIG: Readonly<BlockProjectionConfig> = Object.freeze({
  dimensions: 20,
  shrinkage: 0.1,
  clip: 6,
  cohortSize: 200,
  seed: 1,
});

/** Facts about the training data, recorded in the JSON. */
export interface BlockProjectionMetadata {
  /** Pointer events per block the features were computed on (the windower's window size). */
  eventsPerBlock: number;
  /** Data set name, e.g. `'SapiMouse (users 1–72)'`. */
  dataset?: string;
  /** Licence of the data set, e.g. `'MIT'`. */
  licence?: string;
  /** Training user (class) ids. */
  users?: string[];
  /** Anything else worth keeping next to the weights. */
  notes?: string;
}

/** One training class: the block feature vectors of one subject. */
export interface BlockProjectionClass {
  /** Subject id (folders that may be one person must share it). */
  id: string;
  /** Block feature vectors ({@link BLOCK_FEATURES} order). */
  blocks: readonly ArrayLike<number>[];
}

/** The serialised projection. */
export interface BlockProjectionJSON {
  format: typeof BLOCK_PROJECTION_FORMAT;
  version: typeof BLOCK_PROJECTION_VERSION;
  /** `BLOCK_FEATURE_VERSION` of the features it reads. */
  featureVersion: number;
  /** Number of input features. */
  featureCount: number;
  /** Output dimensions. */
  dimensions: number;
  /** Training subjects (classes). */
  trainingUsers: number;
  /** Training blocks. */
  trainingBlocks: number;
  /** The config it was learned with. */
  config: BlockProjectionConfig;
  metadata: BlockProjectionMetadata;
  /** `c` of `asinh(x / c)` per feature (0 = no transform). */
  logScale: number[];
  /** Median of the transformed feature. */
  center: number[];
  /** IQR (or fallback) of the transformed feature. */
  scale: number[];
  /** Projection matrix, row-major `featureCount × dimensions`. */
  weights: number[];
  /** Offset subtracted after projecting (the projected mean of the training classes). */
  offset: number[];
  /** Generalized eigenvalues (between / within variance) of the kept axes, descending. */
  eigenvalues: number[];
  /** Projected training blocks, `dimensions` values each. */
  cohort: number[][];
}

/** Rounds to 7 significant digits: the JSON stays small and loads back bit-identical. */
function round(x: number): number {
  return x === 0 || !Number.isFinite(x) ? 0 : Number(x.toPrecision(7));
}

/** A learned block projection; see the module comment. */
export class BlockProjection {
  /** Output dimensions. */
  readonly dimensions: number;
  /** Number of input features. */
  readonly featureCount: number;
  /** Projected cohort blocks (training users). */
  readonly cohort: readonly Float64Array[];
  /** Pointer events per block of the training data. */
  readonly eventsPerBlock: number;

  private constructor(private readonly json: BlockProjectionJSON) {
    this.dimensions = json.dimensions;
    this.featureCount = json.featureCount;
    this.eventsPerBlock = json.metadata.eventsPerBlock;
    this.cohort = json.cohort.map((c) => Float64Array.from(c));
  }

  /**
   * The standardised features of one block (transform, median/IQR, clip), the LDA's input.
   * @throws {RangeError} when `features` has the wrong length.
   */
  standardise(features: ArrayLike<number>): Float64Array {
    const j = this.json;
    if (features.length !== j.featureCount) {
      throw new RangeError(`expected ${j.featureCount} block features, got ${features.length}`);
    }
    const out = new Float64Array(j.featureCount);
    for (let f = 0; f < j.featureCount; f++) {
      let x = features[f]!;
      if (!Number.isFinite(x)) x = 0;
      const c = j.logScale[f]!;
      if (c > 0) x = Math.asinh(x / c);
      const z = (x - j.center[f]!) / j.scale[f]!;
      out[f] = z > j.config.clip ? j.config.clip : z < -j.config.clip ? -j.config.clip : z;
    }
    return out;
  }

  /**
   * Projects one block's features ({@link BLOCK_FEATURES} order) to {@link dimensions} values.
   * @throws {RangeError} when `features` has the wrong length.
   */
  project(features: ArrayLike<number>): Float64Array {
    const z = this.standardise(features);
    const { weights, offset } = this.json;
    const d = this.dimensions;
    const out = new Float64Array(d);
    for (let f = 0; f < z.length; f++) {
      const zf = z[f]!;
      if (zf === 0) continue;
      for (let k = 0; k < d; k++) out[k]! += zf * weights[f * d + k]!;
    }
    for (let k = 0; k < d; k++) out[k]! -= offset[k]!;
    return out;
  }

  /** A short fingerprint of the weights, so a user model can check it meets its projection. */
  fingerprint(): string {
    // FNV-1a over the JSON of the parts that define the output.
    const text = JSON.stringify([
      this.json.logScale,
      this.json.center,
      this.json.scale,
      this.json.weights,
      this.json.offset,
    ]);
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16).padStart(8, '0');
  }

  /** The serialisable form (a deep copy). */
  toJSON(): BlockProjectionJSON {
    return deepCopy(this.json);
  }

  /**
   * Loads a projection from {@link toJSON}'s output.
   * @throws {ModelFormatError} (`ERR_MODEL_FORMAT`) when it is not a well-formed projection for
   * this build's block features; {@link ModelVersionError} (`ERR_MODEL_VERSION`) for another
   * format version.
   */
  static fromJSON(value: unknown): BlockProjection {
    if (typeof value !== 'object' || value === null)
      throw new ModelFormatError('not a block projection');
    const j = value as Partial<BlockProjectionJSON>;
    if (j.format !== BLOCK_PROJECTION_FORMAT) throw new ModelFormatError('not a block projection');
    if (j.version !== BLOCK_PROJECTION_VERSION) {
      throw new ModelVersionError('unsupported block projection version');
    }
    if (j.featureVersion !== BLOCK_FEATURE_VERSION || j.featureCount !== BLOCK_FEATURES.length) {
      throw new ModelFormatError('block projection made for other block features');
    }
    const n = j.featureCount;
    const d = j.dimensions;
    const nums = (a: unknown, len: number): boolean =>
      Array.isArray(a) &&
      a.length === len &&
      a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (
      typeof d !== 'number' ||
      !Number.isInteger(d) ||
      d < 1 ||
      typeof j.config !== 'object' ||
      j.config === null ||
      typeof j.config.clip !== 'number' ||
      !(j.config.clip > 0) ||
      typeof j.metadata !== 'object' ||
      j.metadata === null ||
      typeof j.metadata.eventsPerBlock !== 'number' ||
      typeof j.trainingUsers !== 'number' ||
      typeof j.trainingBlocks !== 'number' ||
      !nums(j.logScale, n) ||
      !nums(j.center, n) ||
      !nums(j.scale, n) ||
      !j.scale!.every((s) => s > 0) ||
      !nums(j.weights, n * d) ||
      !nums(j.offset, d) ||
      !nums(j.eigenvalues, d) ||
      !Array.isArray(j.cohort) ||
      !j.cohort.every((c) => nums(c, d))
    ) {
      throw new ModelFormatError('malformed block projection');
    }
    return new BlockProjection(deepCopy(j as BlockProjectionJSON));
  }

  /** @internal Builds a projection from learned parts (used by {@link learnBlockProjection}). */
  static fromParts(json: BlockProjectionJSON): BlockProjection {
    return new BlockProjection(json);
  }
}

/** Validates a partial config and fills in defaults; throws a `RangeError` quoting a bad value. */
export function resolveBlockProjectionConfig(
  config: Partial<BlockProjectionConfig> = {},
): Readonly<BlockProjectionConfig> {
  assertKnownKeys('BlockProjectionConfig', config, Object.keys(DEFAULT_BLOCK_PROJECTION_CONFIG));
  const c = { ...DEFAULT_BLOCK_PROJECTION_CONFIG, ...config };
  assertInteger('dimensions', c.dimensions, 1, BLOCK_FEATURES.length);
  assertNumber('shrinkage', c.shrinkage, 0, 1);
  assertNumber('clip', c.clip, 1e-9, 100);
  assertInteger('cohortSize', c.cohortSize, 0, 10000);
  assertInteger('seed', c.seed, -(2 ** 31), 2 ** 32);
  return Object.freeze(c);
}

function medianOf(values: Float64Array): number {
  return quantileSorted(Float64Array.from(values).sort(), 0.5);
}

function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Learns a projection from the blocks of training subjects (see the module comment). Classes
 * with fewer than 2 blocks are left out.
 * @throws {RangeError} on a bad config, a block of the wrong length, fewer than 2 usable classes
 * or `dimensions` ≥ the number of classes (LDA has at most classes − 1 meaningful axes).
 */
export function learnBlockProjection(
  classes: readonly BlockProjectionClass[],
  metadata: BlockProjectionMetadata,
  config: Partial<BlockProjectionConfig> = {},
): BlockProjection {
  const cfg = resolveBlockProjectionConfig(config);
  assertInteger('eventsPerBlock', metadata.eventsPerBlock, 1, 1_000_000);
  const n = BLOCK_FEATURES.length;
  const used = classes.filter((c) => c.blocks.length >= 2);
  if (used.length < 2)
    throw new RangeError(`need at least 2 classes with 2 blocks, got ${used.length}`);
  if (cfg.dimensions >= used.length) {
    throw new RangeError(
      `dimensions ${cfg.dimensions} must be below the class count ${used.length}`,
    );
  }
  for (const c of used) {
    for (const b of c.blocks) {
      if (b.length !== n) throw new RangeError(`expected ${n} block features, got ${b.length}`);
    }
  }
  const all = used.flatMap((c) => c.blocks);
  const total = all.length;

  // 1. Transforms and robust standardisation.
  const logScale: number[] = [];
  const center: number[] = [];
  const scale: number[] = [];
  const column = new Float64Array(total);
  for (let f = 0; f < n; f++) {
    for (let i = 0; i < total; i++) {
      const x = all[i]![f]!;
      column[i] = Number.isFinite(x) ? x : 0;
    }
    let c = 0;
    if (BLOCK_FEATURES[f]!.transform === 'log') {
      c = round(medianOf(column.map(Math.abs)));
      if (!(c > 0)) c = 1;
      for (let i = 0; i < total; i++) column[i] = Math.asinh(column[i]! / c);
    }
    const sorted = Float64Array.from(column).sort();
    const med = round(quantileSorted(sorted, 0.5));
    let iqr = quantileSorted(sorted, 0.75) - quantileSorted(sorted, 0.25);
    if (!(iqr > 1e-9)) {
      // Mostly-constant features (e.g. rare clicks): fall back to the spread around the median,
      // and to 1 for a constant, so the feature stays finite and near 0.
      let ss = 0;
      for (let i = 0; i < total; i++) ss += (column[i]! - med) ** 2;
      iqr = Math.sqrt(ss / total) * 1.349;
      if (!(iqr > 1e-9)) iqr = 1;
    }
    logScale.push(c);
    center.push(med);
    scale.push(round(iqr));
  }
  const partial: BlockProjectionJSON = {
    format: BLOCK_PROJECTION_FORMAT,
    version: BLOCK_PROJECTION_VERSION,
    featureVersion: BLOCK_FEATURE_VERSION,
    featureCount: n,
    dimensions: cfg.dimensions,
    trainingUsers: used.length,
    trainingBlocks: total,
    config: { ...cfg },
    metadata: { ...metadata },
    logScale,
    center,
    scale,
    weights: new Array<number>(n * cfg.dimensions).fill(0),
    offset: new Array<number>(cfg.dimensions).fill(0),
    eigenvalues: new Array<number>(cfg.dimensions).fill(0),
    cohort: [],
  };
  const standardiser = BlockProjection.fromParts(partial);
  const z = used.map((c) => c.blocks.map((b) => standardiser.standardise(b)));

  // 2. Scatter matrices; every class weighs the same whatever its block count.
  const classMeans = z.map((blocks) => {
    const m = new Float64Array(n);
    for (const b of blocks) for (let f = 0; f < n; f++) m[f]! += b[f]!;
    for (let f = 0; f < n; f++) m[f]! /= blocks.length;
    return m;
  });
  const grand = new Float64Array(n);
  for (const m of classMeans) for (let f = 0; f < n; f++) grand[f]! += m[f]! / classMeans.length;
  const sw = new Float64Array(n * n);
  const sb = new Float64Array(n * n);
  const diff = new Float64Array(n);
  z.forEach((blocks, c) => {
    const m = classMeans[c]!;
    const w = 1 / (blocks.length * z.length);
    for (const b of blocks) {
      for (let f = 0; f < n; f++) diff[f] = b[f]! - m[f]!;
      addOuter(sw, diff, w);
    }
    for (let f = 0; f < n; f++) diff[f] = m[f]! - grand[f]!;
    addOuter(sb, diff, 1 / z.length);
  });
  let trace = 0;
  for (let f = 0; f < n; f++) trace += sw[f * n + f]!;
  const ridge = (cfg.shrinkage * trace) / n;
  for (let i = 0; i < n * n; i++) sw[i]! *= 1 - cfg.shrinkage;
  for (let f = 0; f < n; f++) sw[f * n + f]! += ridge + 1e-9 * (trace / n + 1e-12);

  // 3. Generalized eigenproblem by whitening: W = U Λ^{-1/2} turns S_w into I, then the
  //    eigenvectors Q of Wᵀ S_b W give the axes P = W Q (unit within-class variance each).
  const ew = symmetricEigen(sw, n);
  const white = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      white[i * n + j] = ew.vectors[i * n + j]! / Math.sqrt(Math.max(ew.values[j]!, 1e-12));
    }
  }
  const b = matMul(transpose(white, n), matMul(sb, white, n), n);
  const eb = symmetricEigen(b, n);
  const d = cfg.dimensions;
  const weights = new Array<number>(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += white[i * n + j]! * eb.vectors[j * n + k]!;
      weights[i * d + k] = s;
    }
  }
  // A deterministic sign per axis (largest-magnitude weight positive), so relearning gives the
  // same JSON and not a mirror image.
  for (let k = 0; k < d; k++) {
    let best = 0;
    for (let i = 0; i < n; i++)
      if (Math.abs(weights[i * d + k]!) > Math.abs(weights[best * d + k]!)) best = i;
    if (weights[best * d + k]! < 0)
      for (let i = 0; i < n; i++) weights[i * d + k] = -weights[i * d + k]!;
  }
  const json: BlockProjectionJSON = {
    ...partial,
    weights: weights.map(round),
    eigenvalues: Array.from(eb.values.subarray(0, d), round),
  };
  const offset = new Array<number>(d).fill(0);
  for (let k = 0; k < d; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += grand[i]! * json.weights[i * d + k]!;
    offset[k] = round(s);
  }
  json.offset = offset;

  // 4. The cohort: blocks drawn evenly over the classes (round robin over a seeded order).
  const projector = BlockProjection.fromParts(json);
  const rng = createRng(cfg.seed);
  const queues = used.map((c) => shuffled(c.blocks.length, rng));
  const order = shuffled(used.length, rng);
  const cohort: number[][] = [];
  const want = Math.min(cfg.cohortSize, total);
  for (let round_ = 0; cohort.length < want; round_++) {
    for (const c of order) {
      if (cohort.length >= want) break;
      const q = queues[c]!;
      if (round_ < q.length)
        cohort.push(Array.from(projector.project(used[c]!.blocks[q[round_]!]!), round));
    }
  }
  json.cohort = cohort;
  return BlockProjection.fromParts(json);
}

function shuffled(len: number, rng: () => number): number[] {
  const a = Array.from({ length: len }, (_, i) => i);
  for (let i = len - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function addOuter(m: Float64Array, v: Float64Array, w: number): void {
  const n = v.length;
  for (let i = 0; i < n; i++) {
    const vi = v[i]! * w;
    if (vi === 0) continue;
    for (let j = 0; j < n; j++) m[i * n + j]! += vi * v[j]!;
  }
}

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j]!;
  return t;
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return c;
}

/**
 * A deep copy of plain JSON data (`structuredClone` is not in the model library's ES2022 lib,
 * which has neither DOM nor Node types).
 */
export function deepCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
