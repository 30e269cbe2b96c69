/**
 * Hashing and randomness helpers over node:crypto. Nothing here is a cryptographic
 * construction of our own: SHA-256, HMAC-SHA256 and CSPRNG bytes, base64url-encoded.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** base64url(SHA-256(utf8(input))). */
export function sha256Base64url(input: string): string {
  return createHash('sha256').update(input, 'utf8').digest('base64url');
}

/** base64url(HMAC-SHA256(key, utf8(input))). */
export function hmacBase64url(key: Uint8Array, input: string): string {
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url');
}

/** `bytes` random bytes from the CSPRNG, base64url-encoded (32 bytes → 43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Compares two strings without leaking where they differ: both are hashed first so the
 * comparison has a fixed length whatever the inputs.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
