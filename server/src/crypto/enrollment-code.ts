/**
 * Enrollment codes: one-time, human-typable, 10 symbols of Crockford base32 (50 bits) shown as
 * `XXXXX-XXXXX`. Input is normalized the Crockford way (case-insensitive, `I`/`L` read as
 * `1`, `O` as `0`, hyphens and spaces ignored), and only a hash of the normalized code is
 * stored.
 *
 * @module
 */
import { randomInt } from 'node:crypto';
import { sha256Base64url } from './digest';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 10;
const VALID = /^[0-9A-HJKMNP-TV-Z]{10}$/;

/** A fresh code, formatted for display (`XXXXX-XXXXX`). */
export function generateEnrollmentCode(): string {
  let code = '';
  // randomInt is unbiased over the 32-symbol alphabet.
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** The canonical form of a typed code, or undefined if it cannot be one. */
export function normalizeEnrollmentCode(input: string): string | undefined {
  if (input.length > 32) return undefined;
  const canonical = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');
  return VALID.test(canonical) ? canonical : undefined;
}

/** The stored form of a normalized code: a domain-separated SHA-256. */
export function hashEnrollmentCode(normalized: string): string {
  return sha256Base64url(`tacit-enrollment-code:${normalized}`);
}
