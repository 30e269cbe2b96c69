import { describe, expect, it } from 'vitest';
import { newDataKey, open, seal } from './sealed';

describe('sealed records', () => {
  it('round-trips a value and never holds it in the clear', async () => {
    const key = await newDataKey();
    const value = { vector: [0.125, 42.5], steps: [1, 2, 3] };
    const sealed = await seal(key, value, 'tacit-window\u0000alice\u0000keystroke');
    expect(sealed.iv).toHaveLength(12);
    expect(new TextDecoder().decode(sealed.data)).not.toContain('42.5');
    await expect(open(key, sealed, 'tacit-window\u0000alice\u0000keystroke')).resolves.toEqual(
      value,
    );
  });

  it('fails for another subject, another key or altered data', async () => {
    const key = await newDataKey();
    const sealed = await seal(key, { a: 1 }, 'tacit-window\u0000alice\u0000keystroke');
    await expect(open(key, sealed, 'tacit-window\u0000bob\u0000keystroke')).rejects.toThrow();
    await expect(
      open(await newDataKey(), sealed, 'tacit-window\u0000alice\u0000keystroke'),
    ).rejects.toThrow();
    const altered = new Uint8Array(sealed.data.slice(0));
    altered[0]! ^= 1;
    await expect(
      open(key, { iv: sealed.iv, data: altered.buffer }, 'tacit-window\u0000alice\u0000keystroke'),
    ).rejects.toThrow();
  });

  it('makes a key that cannot be exported', async () => {
    const key = await newDataKey();
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });
});
