import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DESCRIBED_CODES, describeError } from './error-text';

const serverCodes = [
  ...readFileSync('server/src/errors.ts', 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g),
].map((m) => m[1]!);
const ownCodes = [...readFileSync('src/shared/errors.ts', 'utf8').matchAll(/'(ERR_[A-Z_]+)'/g)].map(
  (m) => m[1]!,
);
// Codes that mean a bug on one side, not something a user can act on: the generic sentence.
const NOT_FOR_USERS = new Set([
  'ERR_BAD_REQUEST',
  'ERR_JWS_ALG',
  'ERR_JWS_CLAIMS',
  'ERR_JWS_INVALID',
  'ERR_JWS_TYP',
  'ERR_DPOP_INVALID',
  'ERR_FORBIDDEN',
  'ERR_UNAUTHORIZED',
  'ERR_NOT_FOUND',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_KEY_IN_USE',
  // Shared Signals stream management: the bank's backend meets these, never the extension.
  'ERR_UNKNOWN_STREAM',
  'ERR_STREAM_LIMIT',
]);

describe('describeError', () => {
  it('has a sentence for every code of the extension and every user-facing server code', () => {
    expect(ownCodes.length).toBeGreaterThan(4);
    for (const code of [...ownCodes, ...serverCodes.filter((c) => !NOT_FOR_USERS.has(c))]) {
      expect(DESCRIBED_CODES, code).toContain(code);
    }
  });

  it("prefers the server's code, falls back to the extension's, then to a generic sentence", () => {
    expect(describeError('ERR_SERVER/ERR_SESSION_EXPIRED')).toMatch(/expired\. Log in/);
    expect(describeError('ERR_SERVER/ERR_SOMETHING_NEW')).toBe(describeError('ERR_SERVER'));
    expect(describeError('ERR_NETWORK')).toMatch(/could not be reached/);
    expect(describeError(null)).toMatch(/Something went wrong/);
    expect(describeError('ERR_NOPE')).toMatch(/Something went wrong/);
  });

  it('every sentence says what to do and never shows a code', () => {
    for (const code of DESCRIBED_CODES) {
      const sentence = describeError(code);
      expect(sentence).toMatch(/\.$/);
      expect(sentence).not.toMatch(/ERR_/);
    }
  });
});
