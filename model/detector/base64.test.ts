import { describe, expect, it } from 'vitest';
import { base64ToFloat32, float32ToBase64 } from './base64';

describe('float32 base64', () => {
  it('encodes little-endian float32 in standard padded base64', () => {
    // 1.0f = 00 00 80 3f (LE) → "AACAPw=="
    expect(float32ToBase64(Float32Array.of(1))).toBe('AACAPw==');
    expect(float32ToBase64(new Float32Array(0))).toBe('');
  });

  it('round-trips any float32 values bit for bit', () => {
    for (const len of [1, 2, 3, 4, 5, 16, 333]) {
      const values = Float32Array.from(
        { length: len },
        (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 13) - 6),
      );
      values[0] = -0;
      const back = base64ToFloat32(float32ToBase64(values))!;
      expect(Array.from(new Uint32Array(back.buffer))).toEqual(
        Array.from(new Uint32Array(values.buffer)),
      );
    }
  });

  it.each(['A', 'AAAA', 'AACAPw=', 'AAC!Pw==', 'AACAPw==AACAPw==', 'AA==AACA', 'é'])(
    'rejects %j',
    (text) => {
      expect(base64ToFloat32(text)).toBeUndefined();
    },
  );
});
