/**
 * The trainable parameters of a shared encoder as one flat vector: what a federated update
 * carries (a delta in this order) and what the aggregator adds to.
 *
 * Parameter order (fixed; part of the update format, `update-format.ts`): for each convolution in
 * order, its weights (`(kernel · inputs) × units`, row-major, the encoder's own layout) then its
 * bias (`units`); then the projection's weights (`inputs × units`, row-major) then its bias
 * (`units`). The optional scoring back-end is not a trainable parameter here: federated rounds
 * change the encoder only, and whoever publishes a new version re-fits or drops the back-end.
 *
 * @module
 */
import type { SharedEncoder } from '../shared/encoder';

/** One tensor of the flat vector: its name (`conv0.weights` … `dense.bias`), offset and size. */
export interface ParameterSlice {
  /** `conv<i>.weights`, `conv<i>.bias`, `dense.weights` or `dense.bias`. */
  readonly name: string;
  /** Index of its first value in the flat vector. */
  readonly offset: number;
  /** Number of values. */
  readonly length: number;
}

/** Where each of the encoder's tensors sits in the flat vector (the documented order). */
export function parameterLayout(encoder: SharedEncoder): ParameterSlice[] {
  const slices: ParameterSlice[] = [];
  let offset = 0;
  const push = (name: string, length: number): void => {
    slices.push({ name, offset, length });
    offset += length;
  };
  encoder.convs.forEach((c, i) => {
    push(`conv${i}.weights`, c.weights.length);
    push(`conv${i}.bias`, c.bias.length);
  });
  push('dense.weights', encoder.dense.weights.length);
  push('dense.bias', encoder.dense.bias.length);
  return slices;
}

/** Number of trainable parameters (26,592 for the shipped keystroke encoder). */
export function parameterCount(encoder: SharedEncoder): number {
  let n = encoder.dense.weights.length + encoder.dense.bias.length;
  for (const c of encoder.convs) n += c.weights.length + c.bias.length;
  return n;
}

/** The encoder's trainable parameters, copied into one vector in the documented order. */
export function flattenParameters(encoder: SharedEncoder): Float32Array {
  const flat = new Float32Array(parameterCount(encoder));
  let o = 0;
  for (const t of tensors(encoder)) {
    flat.set(t, o);
    o += t.length;
  }
  return flat;
}

/**
 * A copy of `encoder` whose trainable parameters are `flat` (documented order); architecture,
 * provenance and back-end are kept. Throws a `RangeError` when the length does not match and a
 * `TypeError` when a value is not finite (a caller's bug: updates are checked when decoded).
 */
export function unflattenParameters(encoder: SharedEncoder, flat: Float32Array): SharedEncoder {
  const n = parameterCount(encoder);
  if (flat.length !== n) throw new RangeError(`expected ${n} parameters, got ${flat.length}`);
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) throw new TypeError(`parameter ${i} is not finite`);
  }
  let o = 0;
  const take = (length: number): Float32Array => {
    const t = flat.slice(o, o + length);
    o += length;
    return t;
  };
  const convs = encoder.convs.map((c) => ({
    ...c,
    weights: take(c.weights.length),
    bias: take(c.bias.length),
  }));
  const dense = {
    ...encoder.dense,
    weights: take(encoder.dense.weights.length),
    bias: take(encoder.dense.bias.length),
  };
  return { ...encoder, convs, dense };
}

/** `encoder` with `scale · delta` added to its parameters (a new encoder; the input is kept). */
export function applyDelta(encoder: SharedEncoder, delta: Float32Array, scale = 1): SharedEncoder {
  const flat = flattenParameters(encoder);
  if (delta.length !== flat.length) {
    throw new RangeError(`expected a delta of ${flat.length} values, got ${delta.length}`);
  }
  for (let i = 0; i < flat.length; i++) flat[i] = flat[i]! + scale * delta[i]!;
  return unflattenParameters(encoder, flat);
}

function tensors(encoder: SharedEncoder): Float32Array[] {
  return [
    ...encoder.convs.flatMap((c) => [c.weights, c.bias]),
    encoder.dense.weights,
    encoder.dense.bias,
  ];
}
