import { describe, expect, it } from 'vitest';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { encoderFromJSON } from '../shared/encoder';
import { aggregateMean, meanDelta } from './mean-aggregate';
import {
  applyDelta,
  flattenParameters,
  parameterCount,
  parameterLayout,
  unflattenParameters,
} from './parameters';

const encoder = encoderFromJSON(keystrokeEncoderFile);

describe('flat parameters', () => {
  it('lays the tensors out in the documented order: conv weights, conv bias, …, dense weights, bias', () => {
    expect(parameterLayout(encoder)).toEqual([
      { name: 'conv0.weights', offset: 0, length: 5 * 14 * 48 },
      { name: 'conv0.bias', offset: 3360, length: 48 },
      { name: 'conv1.weights', offset: 3408, length: 5 * 48 * 48 },
      { name: 'conv1.bias', offset: 14928, length: 48 },
      { name: 'conv2.weights', offset: 14976, length: 3 * 48 * 48 },
      { name: 'conv2.bias', offset: 21888, length: 48 },
      { name: 'dense.weights', offset: 21936, length: 96 * 48 },
      { name: 'dense.bias', offset: 26544, length: 48 },
    ]);
    expect(parameterCount(encoder)).toBe(26592);
    const flat = flattenParameters(encoder);
    expect(flat.subarray(3360, 3408)).toEqual(encoder.convs[0]!.bias);
    expect(flat.subarray(21936, 26544)).toEqual(encoder.dense.weights);
  });

  it('round-trips, copies, and refuses a wrong length or a non-finite value', () => {
    const flat = flattenParameters(encoder);
    const back = unflattenParameters(encoder, flat);
    // (element-wise: toEqual on 26,592 floats takes a second)
    expect(flattenParameters(back).every((v, i) => v === flat[i])).toBe(true);
    expect(back.provenance).toEqual(encoder.provenance);
    flat[0] = 123;
    expect(back.convs[0]!.weights[0]).not.toBe(123);
    expect(() => unflattenParameters(encoder, flat.subarray(1))).toThrow(RangeError);
    flat[5] = NaN;
    expect(() => unflattenParameters(encoder, flat)).toThrow(TypeError);
  });

  it('applies a delta, and the mean aggregation adds the mean of the deltas', () => {
    const n = parameterCount(encoder);
    const a = new Float32Array(n).fill(0.5);
    const b = new Float32Array(n).fill(-0.25);
    expect(meanDelta([a, b])[7]).toBeCloseTo(0.125, 7);
    const next = aggregateMean(encoder, [a, b]);
    expect(next.dense.bias[3]).toBeCloseTo(encoder.dense.bias[3]! + 0.125, 6);
    expect(applyDelta(encoder, a, 2).convs[1]!.weights[9]).toBeCloseTo(
      encoder.convs[1]!.weights[9]! + 1,
      6,
    );
    expect(() => meanDelta([])).toThrow(RangeError);
    expect(() => meanDelta([a, a.subarray(1)])).toThrow(RangeError);
    expect(() => applyDelta(encoder, a.subarray(1))).toThrow(RangeError);
  });
});
