import { describe, expect, it } from 'vitest';
import keystrokeEncoderFile from '../shared/default-keystroke.json';
import { encoderFromJSON } from '../shared/encoder';
import { encoderId } from '../shared/embedding-model';
import { createRng, gaussian } from '../random';
import { parameterCount } from './parameters';
import {
  MAX_UPDATE_BYTES,
  MAX_UPDATE_PARAMETERS,
  type QuantisedUpdate,
  dequantise,
  parseUpdate,
  quantise,
  readUpdateHeader,
  serialiseUpdate,
  updateByteLength,
} from './update-format';

const vector = (n: number, seed: number, scale = 0.01): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * gaussian(rng));
};

const policy = { encoderId: 'keystroke:test:2026-12-01:6:8', round: 7, parameters: 1000 };
const sample = (): QuantisedUpdate =>
  quantise(vector(1000, 1), { encoderId: policy.encoderId, round: 7, chunkSize: 64 }, createRng(2));

describe('quantise() / dequantise()', () => {
  it('errs by less than one step per value and is unbiased over draws (seeded)', () => {
    const delta = vector(2000, 3);
    delta[5] = 0.2; // one large value in the first chunk coarsens that chunk only
    const q = quantise(delta, { encoderId: 'x', round: 0, chunkSize: 256 }, createRng(4));
    expect(q.scales).toHaveLength(8);
    const back = dequantise(q);
    for (let i = 0; i < delta.length; i++) {
      const step = q.scales[Math.floor(i / 256)]!;
      expect(Math.abs(back[i]! - delta[i]!)).toBeLessThanOrEqual(step * (1 + 1e-6));
    }
    expect(back[5]).toBeCloseTo(0.2, 6); // the chunk's maximum is exact
    // Unbiased: the mean over 400 independent roundings approaches the value (bias ≪ step).
    const draws = 400;
    const mean = new Float64Array(delta.length);
    const rng = createRng(5);
    for (let k = 0; k < draws; k++) {
      const d = dequantise(quantise(delta, { encoderId: 'x', round: 0 }, rng));
      for (let i = 0; i < d.length; i++) mean[i] = mean[i]! + d[i]! / draws;
    }
    let worst = 0;
    let signed = 0;
    for (let i = 256; i < delta.length; i++) {
      const step = q.scales[Math.floor(i / 256)]!;
      worst = Math.max(worst, Math.abs(mean[i]! - delta[i]!) / step);
      signed += (mean[i]! - delta[i]!) / step;
    }
    // Per value: std of the mean ≤ 0.5/√400 = 0.025 steps; 0.15 is 6 of those.
    expect(worst).toBeLessThan(0.15);
    // Over all values together, no systematic drift.
    expect(Math.abs(signed / (delta.length - 256))).toBeLessThan(0.005);
  });

  it('keeps an all-zero chunk at zero and refuses non-finite values', () => {
    const q = quantise(new Float32Array(10), { encoderId: 'x', round: 0 }, createRng(1));
    expect(dequantise(q)).toEqual(new Float32Array(10));
    expect(() =>
      quantise(Float32Array.from([1, NaN]), { encoderId: 'x', round: 0 }, createRng(1)),
    ).toThrow(TypeError);
    expect(() => quantise(new Float32Array(3), { encoderId: '', round: 0 }, createRng(1))).toThrow(
      RangeError,
    );
    expect(() =>
      quantise(new Float32Array(3), { encoderId: 'x', round: -1 }, createRng(1)),
    ).toThrow(RangeError);
  });
});

describe('serialiseUpdate() / parseUpdate()', () => {
  it('round-trips, with the documented byte length', () => {
    const q = sample();
    const bytes = serialiseUpdate(q);
    expect(bytes.length).toBe(17 + policy.encoderId.length + 4 * 16 + 1000);
    expect(bytes.length).toBe(updateByteLength(1000, policy.encoderId, 64));
    expect(readUpdateHeader(bytes)).toEqual({
      formatVersion: 1,
      encoderId: policy.encoderId,
      round: 7,
      parameters: 1000,
      chunkSize: 64,
    });
    const back = parseUpdate(bytes, policy);
    expect(back).toEqual(q);
    expect(dequantise(back)).toEqual(dequantise(q));
    // The parsed update shares no memory with the bytes.
    bytes.fill(0);
    expect(back).toEqual(q);
    // A view into a larger buffer parses the same.
    const framed = new Uint8Array(bytes.length + 10);
    framed.set(serialiseUpdate(q), 5);
    expect(parseUpdate(framed.subarray(5, 5 + bytes.length), policy)).toEqual(q);
  });

  it('costs 27 KB for the shipped keystroke encoder (26,592 parameters)', () => {
    const encoder = encoderFromJSON(keystrokeEncoderFile);
    const P = parameterCount(encoder);
    expect(P).toBe(26592);
    const id = encoderId(encoder);
    const q = quantise(vector(P, 6), { encoderId: id, round: 1 }, createRng(7));
    const bytes = serialiseUpdate(q);
    expect(bytes.length).toBe(17 + id.length + 4 * 104 + 26592);
    expect(bytes.length).toBeLessThan(27_100);
    expect(parseUpdate(bytes, { encoderId: id, round: 1, parameters: P })).toEqual(q);
  });

  it('refuses malformed, oversized, wrong-format, wrong-version, wrong-encoder and wrong-round bytes with their codes', () => {
    const good = serialiseUpdate(sample());
    const mutate = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = good.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    const cases: [string, Uint8Array, Partial<typeof policy> & { maxBytes?: number }, string][] = [
      ['empty', new Uint8Array(0), {}, 'ERR_UPDATE_FORMAT'],
      ['JSON', new TextEncoder().encode('{"format":"TFLU"}'), {}, 'ERR_UPDATE_FORMAT'],
      ['other magic', mutate((b) => (b[0] = 0x55)), {}, 'ERR_UPDATE_FORMAT'],
      ['header only', good.slice(0, 17), {}, 'ERR_UPDATE_SIZE'],
      ['truncated', good.slice(0, good.length - 1), {}, 'ERR_UPDATE_SIZE'],
      ['trailing byte', Uint8Array.from([...good, 0]), {}, 'ERR_UPDATE_SIZE'],
      ['over maxBytes', good, { maxBytes: good.length - 1 }, 'ERR_UPDATE_SIZE'],
      [
        'too many parameters',
        mutate((_, v) => v.setUint32(12, MAX_UPDATE_PARAMETERS + 1, true)),
        {},
        'ERR_UPDATE_SIZE',
      ],
      [
        'length/header mismatch',
        mutate((_, v) => v.setUint32(12, 999, true)),
        {},
        'ERR_UPDATE_SIZE',
      ],
      ['version 2', mutate((b) => (b[4] = 2)), {}, 'ERR_UPDATE_VERSION'],
      ['other scheme', mutate((b) => (b[5] = 2)), {}, 'ERR_UPDATE_VERSION'],
      ['chunk size 0', mutate((_, v) => v.setUint16(6, 0, true)), {}, 'ERR_UPDATE_FORMAT'],
      ['empty encoder id', mutate((b) => (b[16] = 0)), {}, 'ERR_UPDATE_FORMAT'],
      ['control char in id', mutate((b) => (b[17] = 0x0a)), {}, 'ERR_UPDATE_FORMAT'],
      ['other encoder', good, { encoderId: 'keystroke:test:2026-12-02:6:8' }, 'ERR_UPDATE_ENCODER'],
      ['other parameter count', good, { parameters: 1001 }, 'ERR_UPDATE_ENCODER'],
      ['other round', good, { round: 8 }, 'ERR_UPDATE_ROUND'],
      [
        'NaN scale',
        mutate((_, v) => v.setFloat32(17 + policy.encoderId.length, NaN, true)),
        {},
        'ERR_UPDATE_FORMAT',
      ],
      [
        'negative scale',
        mutate((_, v) => v.setFloat32(17 + policy.encoderId.length, -1, true)),
        {},
        'ERR_UPDATE_FORMAT',
      ],
      [
        'infinite scale',
        mutate((_, v) => v.setFloat32(17 + policy.encoderId.length + 4, Infinity, true)),
        {},
        'ERR_UPDATE_FORMAT',
      ],
      ['value -128', mutate((b) => (b[b.length - 1] = 0x80)), {}, 'ERR_UPDATE_FORMAT'],
    ];
    for (const [name, bytes, override, code] of cases) {
      expect(() => parseUpdate(bytes, { ...policy, ...override }), name).toThrow(
        expect.objectContaining({ code, name: 'FederatedUpdateError' }),
      );
    }
    expect(() => parseUpdate(new Uint8Array(MAX_UPDATE_BYTES + 1), policy)).toThrow(
      expect.objectContaining({ code: 'ERR_UPDATE_SIZE' }),
    );
    expect(() => parseUpdate('TFLU' as never, policy)).toThrow(
      expect.objectContaining({ code: 'ERR_UPDATE_FORMAT' }),
    );
    // The good bytes still parse (the cases mutated copies).
    expect(parseUpdate(good, policy).round).toBe(7);
  });
});
