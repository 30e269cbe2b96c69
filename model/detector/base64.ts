/**
 * Base64 of little-endian float32 arrays for model weights. Hand-written because model/ may use
 * neither Node's `Buffer` nor the DOM's `btoa`; explicit little-endian keeps stored models
 * portable whatever the platform's byte order.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** Encodes float32 values as base64 (standard alphabet, padded). */
export function float32ToBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i]!;
    const b1 = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const b2 = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    out += ALPHABET[b0 >> 2]! + ALPHABET[((b0 & 3) << 4) | (b1 >> 4)]!;
    out += i + 1 < bytes.length ? ALPHABET[((b1 & 15) << 2) | (b2 >> 6)]! : '=';
    out += i + 2 < bytes.length ? ALPHABET[b2 & 63]! : '=';
  }
  return out;
}

/**
 * Decodes {@link float32ToBase64} output; returns `undefined` for anything that is not valid
 * padded base64 of a whole number of float32 values.
 */
export function base64ToFloat32(text: string): Float32Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const byteLength = (text.length / 4) * 3 - pad;
  if (byteLength % 4 !== 0) return undefined;
  const bytes = new Uint8Array(byteLength);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const q = [0, 1, 2, 3].map((k) => {
      const ch = text.charCodeAt(i + k);
      const isPad = text[i + k] === '=' && i + 4 === text.length && k >= 4 - pad;
      return isPad ? 0 : ch < 128 ? LOOKUP[ch]! : -1;
    });
    if (q.some((v) => v < 0)) return undefined;
    const n = (q[0]! << 18) | (q[1]! << 12) | (q[2]! << 6) | q[3]!;
    if (o < byteLength) bytes[o++] = (n >> 16) & 255;
    if (o < byteLength) bytes[o++] = (n >> 8) & 255;
    if (o < byteLength) bytes[o++] = n & 255;
  }
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
