/**
 * Quantisation and wire format of a federated update (a privatised delta of an encoder's
 * parameters, `privatise.ts`, in the order of `parameters.ts`).
 *
 * Quantisation: the vector is cut into chunks of `chunkSize` consecutive values; each chunk keeps
 * one float32 scale `s = max|v| / 127` and int8 values `q ∈ [−127, 127]` drawn by stochastic
 * rounding of `v/s` (round up with probability equal to the fractional part), so that
 * `E[q·s] = v`: the aggregator's mean is unbiased, and the rounding error of one value is below
 * `s` (its variance at most `s²/4`). Quantising after noising costs no privacy (post-processing).
 *
 * Bytes (little-endian):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | format id, ASCII `TFLU` |
 * | 4 | 1 | format version (1) |
 * | 5 | 1 | quantisation scheme (1 = int8, stochastic rounding, one float32 scale per chunk) |
 * | 6 | 2 | chunk size, 1–65535 |
 * | 8 | 4 | round id, 0–2³²−1 |
 * | 12 | 4 | parameter count P, 1–{@link MAX_UPDATE_PARAMETERS} |
 * | 16 | 1 | length L of the encoder id, 1–255 |
 * | 17 | L | encoder id, printable ASCII |
 * | 17 + L | 4·⌈P/chunk⌉ | float32 scales, finite, ≥ 0 |
 * | … | P | int8 values, −127…127 |
 *
 * Total `17 + L + 4⌈P/chunk⌉ + P` bytes, nothing after. These bytes are what the device signs.
 *
 * @module
 */
import { assertInteger } from '../assert';
import { FederatedUpdateError } from '../errors';
import type { Rng } from '../random';

/** The first four bytes of every update: ASCII `TFLU`. */
export const UPDATE_MAGIC: readonly number[] = Object.freeze([0x54, 0x46, 0x4c, 0x55]);
/** Current (and only readable) format version. */
export const UPDATE_FORMAT_VERSION = 1 as const;
/** Quantisation scheme 1: int8, stochastic rounding, one float32 scale per chunk. */
export const QUANTISATION_INT8_CHUNKED = 1 as const;
/** Default values per scale: 256 (1.6 % of the bytes go to scales). */
export const DEFAULT_CHUNK_SIZE = 256;
/** Largest parameter count accepted (2²², 16× the 48-unit keystroke encoder's count and more). */
export const MAX_UPDATE_PARAMETERS = 4_194_304;
/** Largest update accepted by default, in bytes (5 MiB, above the largest legal update). */
export const MAX_UPDATE_BYTES = 5 * 1024 * 1024;

const HEADER_BYTES = 17;

/** A quantised update in memory. */
export interface QuantisedUpdate {
  /** Id of the encoder version the delta applies to (e.g. `encoderId()` or a published tag). */
  readonly encoderId: string;
  /** Round the update belongs to. */
  readonly round: number;
  /** Values per scale. */
  readonly chunkSize: number;
  /** One scale per chunk, `⌈values.length / chunkSize⌉`. */
  readonly scales: Float32Array;
  /** Quantised values, −127…127, one per parameter. */
  readonly values: Int8Array;
}

/** What an update must be made for; every field is required (an explicit verification policy). */
export interface UpdatePolicy {
  /** The encoder version of the open round. */
  encoderId: string;
  /** The open round's id. */
  round: number;
  /** That encoder's parameter count (`parameterCount`). */
  parameters: number;
  /** Largest byte length accepted, checked before anything is read. Default {@link MAX_UPDATE_BYTES}. */
  maxBytes?: number;
}

/**
 * Quantises `delta` (see the module's description). `rng` drives the stochastic rounding:
 * cryptographically secure in production (`rngFromRandomValues`), seeded in tests. Throws a
 * `TypeError` on a non-finite value and a `RangeError` on bad arguments.
 */
export function quantise(
  delta: Float32Array,
  meta: { encoderId: string; round: number; chunkSize?: number },
  rng: Rng,
): QuantisedUpdate {
  const chunkSize = meta.chunkSize ?? DEFAULT_CHUNK_SIZE;
  assertInteger('chunkSize', chunkSize, 1, 65535);
  assertInteger('round', meta.round, 0, 2 ** 32 - 1);
  assertInteger('parameter count', delta.length, 1, MAX_UPDATE_PARAMETERS);
  if (!isEncoderId(meta.encoderId)) {
    throw new RangeError('encoderId must be 1–255 printable ASCII characters');
  }
  const chunks = Math.ceil(delta.length / chunkSize);
  const scales = new Float32Array(chunks);
  const values = new Int8Array(delta.length);
  for (let k = 0; k < chunks; k++) {
    const lo = k * chunkSize;
    const hi = Math.min(delta.length, lo + chunkSize);
    let max = 0;
    for (let i = lo; i < hi; i++) {
      const v = delta[i]!;
      if (!Number.isFinite(v)) throw new TypeError(`delta value ${i} is not finite`);
      max = Math.max(max, Math.abs(v));
    }
    // The scale is what gets stored (float32): round with the stored value, so the expectation
    // of q·s is v exactly, up to the clamp (which only a rounding of s by one ulp can reach).
    const s = Math.fround(max / 127);
    scales[k] = s;
    if (s === 0) continue;
    for (let i = lo; i < hi; i++) {
      const x = delta[i]! / s;
      const floor = Math.floor(x);
      const q = floor + (rng() < x - floor ? 1 : 0);
      values[i] = Math.max(-127, Math.min(127, q));
    }
  }
  return { encoderId: meta.encoderId, round: meta.round, chunkSize, scales, values };
}

/** The delta an update stands for: each value times its chunk's scale. */
export function dequantise(update: QuantisedUpdate): Float32Array {
  const { values, scales, chunkSize } = update;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = values[i]! * scales[Math.floor(i / chunkSize)]!;
  }
  return out;
}

/** Byte length of an update of `parameters` values (see the table in the module description). */
export function updateByteLength(
  parameters: number,
  encoderId: string,
  chunkSize = DEFAULT_CHUNK_SIZE,
): number {
  return HEADER_BYTES + encoderId.length + 4 * Math.ceil(parameters / chunkSize) + parameters;
}

/** The bytes of an update (the format in the module description). */
export function serialiseUpdate(update: QuantisedUpdate): Uint8Array {
  const { encoderId, round, chunkSize, scales, values } = update;
  if (!isEncoderId(encoderId))
    throw new RangeError('encoderId must be 1–255 printable ASCII characters');
  assertInteger('round', round, 0, 2 ** 32 - 1);
  assertInteger('chunkSize', chunkSize, 1, 65535);
  assertInteger('parameter count', values.length, 1, MAX_UPDATE_PARAMETERS);
  if (scales.length !== Math.ceil(values.length / chunkSize)) {
    throw new RangeError(
      `expected ${Math.ceil(values.length / chunkSize)} scales, got ${scales.length}`,
    );
  }
  const bytes = new Uint8Array(updateByteLength(values.length, encoderId, chunkSize));
  const view = new DataView(bytes.buffer);
  bytes.set(UPDATE_MAGIC, 0);
  view.setUint8(4, UPDATE_FORMAT_VERSION);
  view.setUint8(5, QUANTISATION_INT8_CHUNKED);
  view.setUint16(6, chunkSize, true);
  view.setUint32(8, round, true);
  view.setUint32(12, values.length, true);
  view.setUint8(16, encoderId.length);
  for (let i = 0; i < encoderId.length; i++) bytes[HEADER_BYTES + i] = encoderId.charCodeAt(i);
  let o = HEADER_BYTES + encoderId.length;
  for (const s of scales) {
    view.setFloat32(o, s, true);
    o += 4;
  }
  bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.length), o);
  return bytes;
}

/** The header fields of update bytes, read without trusting anything after them. */
export interface UpdateHeader {
  readonly formatVersion: number;
  readonly encoderId: string;
  readonly round: number;
  readonly parameters: number;
  readonly chunkSize: number;
}

/**
 * Reads and checks the header of untrusted update bytes, in this order: size against `maxBytes`
 * (`ERR_UPDATE_SIZE`), format id (`ERR_UPDATE_FORMAT`), version and scheme
 * (`ERR_UPDATE_VERSION`), header fields (`ERR_UPDATE_FORMAT`; a parameter count above
 * {@link MAX_UPDATE_PARAMETERS}: `ERR_UPDATE_SIZE`), exact total length (`ERR_UPDATE_SIZE`).
 */
export function readUpdateHeader(bytes: Uint8Array, maxBytes = MAX_UPDATE_BYTES): UpdateHeader {
  if (!(bytes instanceof Uint8Array))
    throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'update is not bytes');
  if (bytes.length > maxBytes)
    throw new FederatedUpdateError('ERR_UPDATE_SIZE', 'update is too large');
  if (bytes.length < HEADER_BYTES || UPDATE_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'not a Tacit federated update');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const formatVersion = view.getUint8(4);
  if (formatVersion !== UPDATE_FORMAT_VERSION || view.getUint8(5) !== QUANTISATION_INT8_CHUNKED) {
    throw new FederatedUpdateError('ERR_UPDATE_VERSION', 'unsupported update format version');
  }
  const chunkSize = view.getUint16(6, true);
  const round = view.getUint32(8, true);
  const parameters = view.getUint32(12, true);
  const idLength = view.getUint8(16);
  if (chunkSize === 0 || parameters === 0 || idLength === 0) {
    throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'malformed update header');
  }
  if (parameters > MAX_UPDATE_PARAMETERS) {
    throw new FederatedUpdateError('ERR_UPDATE_SIZE', 'update has too many parameters');
  }
  if (bytes.length < HEADER_BYTES + idLength) {
    throw new FederatedUpdateError('ERR_UPDATE_SIZE', 'update is truncated');
  }
  let encoderId = '';
  for (let i = 0; i < idLength; i++) encoderId += String.fromCharCode(bytes[HEADER_BYTES + i]!);
  if (!isEncoderId(encoderId))
    throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'malformed update header');
  if (bytes.length !== updateByteLength(parameters, encoderId, chunkSize)) {
    throw new FederatedUpdateError('ERR_UPDATE_SIZE', 'update length does not match its header');
  }
  return { formatVersion, encoderId, round, parameters, chunkSize };
}

/**
 * Parses untrusted update bytes against an explicit policy: the header checks of
 * {@link readUpdateHeader}, then the encoder (`ERR_UPDATE_ENCODER`: other id or parameter
 * count), the round (`ERR_UPDATE_ROUND`), and every scale (finite, ≥ 0) and value (≠ −128)
 * (`ERR_UPDATE_FORMAT`). Returns a copy that shares nothing with `bytes`.
 */
export function parseUpdate(bytes: Uint8Array, policy: UpdatePolicy): QuantisedUpdate {
  const header = readUpdateHeader(bytes, policy.maxBytes ?? MAX_UPDATE_BYTES);
  if (header.encoderId !== policy.encoderId || header.parameters !== policy.parameters) {
    throw new FederatedUpdateError('ERR_UPDATE_ENCODER', 'update was made for another encoder');
  }
  if (header.round !== policy.round) {
    throw new FederatedUpdateError('ERR_UPDATE_ROUND', 'update was made for another round');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const chunks = Math.ceil(header.parameters / header.chunkSize);
  let o = HEADER_BYTES + header.encoderId.length;
  const scales = new Float32Array(chunks);
  for (let k = 0; k < chunks; k++, o += 4) {
    const s = view.getFloat32(o, true);
    if (!(Number.isFinite(s) && s >= 0))
      throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'malformed update scale');
    scales[k] = s;
  }
  const values = new Int8Array(header.parameters);
  values.set(new Int8Array(bytes.buffer, bytes.byteOffset + o, header.parameters));
  if (values.includes(-128))
    throw new FederatedUpdateError('ERR_UPDATE_FORMAT', 'malformed update value');
  return {
    encoderId: header.encoderId,
    round: header.round,
    chunkSize: header.chunkSize,
    scales,
    values,
  };
}

function isEncoderId(id: unknown): id is string {
  return typeof id === 'string' && /^[\x20-\x7e]{1,255}$/.test(id);
}
