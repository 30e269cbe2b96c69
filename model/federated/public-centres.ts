/**
 * Frozen public class centres: the remedy for positive-only federated training that Tacit uses
 * (docs/federated.md "Positive-only remedy").
 *
 * For each published encoder version, the publisher embeds the sequences of public users
 * (permissively licensed data, the same kind that trained the shipped encoder) and ships, beside
 * the encoder, each public user's centre: the normalised mean of that user's embeddings. During
 * a device's local round (`local-update.ts`) these centres are the negative classes of a CosFace
 * objective whose one positive class is the device user's own centre, computed on the device
 * and never sent. The centres are never trained, so an update reveals nothing about where the
 * user's embeddings lie beyond what the delta itself carries.
 *
 * @module
 */
import { ModelFormatError, ModelVersionError } from '../errors';
import { encoderId as idOf } from '../shared/embedding-model';
import { base64ToFloat32, float32ToBase64 } from '../detector/base64';
import { type SharedEncoder, embeddingDimension, encode, normalize } from '../shared/encoder';
import type { StepSequence, TrainingUser } from '../shared/train';

/** Format tag of stored public centres. */
export const PUBLIC_CENTRES_FORMAT = 'tacit-public-centres' as const;
/** Current (and only readable) format version. */
export const PUBLIC_CENTRES_VERSION = 1 as const;
/** Most public centres accepted in one file. */
export const MAX_PUBLIC_CENTRES = 10_000;

/** Unit centres of public users under one encoder version. */
export interface PublicCentres {
  /** Id of the encoder version they were computed with. */
  readonly encoderId: string;
  /** Embedding dimension (the encoder's `dense.units`). */
  readonly dimension: number;
  /** One unit vector per public user. */
  readonly centres: readonly Float32Array[];
}

/** Stored form (JSON): centres concatenated, base64 of little-endian float32. */
export interface PublicCentresJSON {
  format: typeof PUBLIC_CENTRES_FORMAT;
  version: typeof PUBLIC_CENTRES_VERSION;
  encoderId: string;
  dimension: number;
  count: number;
  centres: string;
}

/**
 * A user's centre under `encoder`: the normalised mean of the embeddings ({@link encode}) of
 * their sequences of at least 2 steps, each sequence whole. `undefined` when there is none.
 * The device computes its own with this function (and keeps it); the publisher its public ones.
 */
export function userCentre(
  encoder: SharedEncoder,
  sequences: readonly StepSequence[],
): Float32Array | undefined {
  const mean = new Float32Array(embeddingDimension(encoder));
  let count = 0;
  for (const s of sequences) {
    if (s.n < 2) continue;
    const e = encode(encoder, s.steps, s.n);
    for (let i = 0; i < mean.length; i++) mean[i] = mean[i]! + e[i]!;
    count++;
  }
  return count === 0 ? undefined : normalize(mean);
}

/**
 * The public centres of `users` under `encoder` (publisher side; users without a sequence of
 * at least 2 steps are skipped). `encoderId` names the encoder version they ship with; default
 * `encoderId(encoder)` (`shared/embedding-model.ts`).
 */
export function computePublicCentres(
  encoder: SharedEncoder,
  users: readonly TrainingUser[],
  encoderId: string = idOf(encoder),
): PublicCentres {
  const centres = users
    .map((u) => userCentre(encoder, u.sequences))
    .filter((c): c is Float32Array => c !== undefined);
  if (centres.length < 1) throw new RangeError('need at least 1 public user with sequences');
  return { encoderId, dimension: embeddingDimension(encoder), centres };
}

/** Serialises public centres. */
export function publicCentresToJSON(centres: PublicCentres): PublicCentresJSON {
  const flat = new Float32Array(centres.centres.length * centres.dimension);
  centres.centres.forEach((c, i) => flat.set(c, i * centres.dimension));
  return {
    format: PUBLIC_CENTRES_FORMAT,
    version: PUBLIC_CENTRES_VERSION,
    encoderId: centres.encoderId,
    dimension: centres.dimension,
    count: centres.centres.length,
    centres: float32ToBase64(flat),
  };
}

/**
 * Loads stored public centres and checks them against the encoder version they must ship with:
 * format (`ERR_MODEL_FORMAT`), version (`ERR_MODEL_VERSION`), encoder id and dimension, count,
 * and that every centre is a finite unit vector (`ERR_MODEL_FORMAT`).
 */
export function publicCentresFromJSON(
  input: unknown,
  expected: { encoderId: string; dimension: number },
): PublicCentres {
  const json = (
    typeof input === 'string' ? JSON.parse(input) : input
  ) as Partial<PublicCentresJSON> | null;
  if (json === null || typeof json !== 'object' || json.format !== PUBLIC_CENTRES_FORMAT) {
    throw new ModelFormatError('not Tacit public centres');
  }
  if (json.version !== PUBLIC_CENTRES_VERSION) {
    throw new ModelVersionError('unsupported public centres version');
  }
  if (json.encoderId !== expected.encoderId || json.dimension !== expected.dimension) {
    throw new ModelFormatError('public centres belong to another encoder');
  }
  const count = json.count;
  if (
    typeof count !== 'number' ||
    !Number.isInteger(count) ||
    count < 1 ||
    count > MAX_PUBLIC_CENTRES
  ) {
    throw new ModelFormatError('bad public centre count');
  }
  const flat = typeof json.centres === 'string' ? base64ToFloat32(json.centres) : undefined;
  if (flat === undefined || flat.length !== count * expected.dimension) {
    throw new ModelFormatError('public centres have the wrong length');
  }
  const centres: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const c = flat.slice(i * expected.dimension, (i + 1) * expected.dimension);
    let s = 0;
    for (const v of c) s += v * v;
    if (!(Math.abs(Math.sqrt(s) - 1) < 1e-3))
      throw new ModelFormatError('public centre is not a unit vector');
    centres.push(c);
  }
  return { encoderId: expected.encoderId, dimension: expected.dimension, centres };
}
