/**
 * What a forger does to a compact JWS, as plain functions: sign raw header and payload text
 * (so duplicate members, odd escapes and deep nesting survive, which jose's object-taking
 * signers would normalise away), flip bits in a segment, re-encode base64url non-canonically,
 * malleate an ECDSA signature to its high-s twin, and key an HMAC with a public key. Used by
 * the forgery suite (forgery.ts); nothing here talks to a server.
 */
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';

/** A P-256 key pair and its public JWK and thumbprint, as a device (or an attacker) holds it. */
export interface Es256Key {
  privateKey: KeyObject;
  jwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  jkt: string;
}

/** A fresh P-256 key pair (node:crypto; synchronous and fast enough to make many). */
export async function newKey(): Promise<Es256Key> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromKeyObjects(privateKey, publicKey);
}

/** Wraps an existing private key (e.g. a harness device's WebCrypto key, via KeyObject.from). */
export async function fromKeyObjects(privateKey: KeyObject, publicKey?: KeyObject) {
  const pub = publicKey ?? createPublicKey(privateKey);
  const full = pub.export({ format: 'jwk' });
  const jwk = { kty: 'EC', crv: 'P-256', x: full.x!, y: full.y! } as const;
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') } as Es256Key;
}

export const b64u = (data: string | Uint8Array): string =>
  Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');

export const fromB64u = (segment: string): Buffer => Buffer.from(segment, 'base64url');

/** ES256 over `header.payload` (both already base64url), IEEE P1363 r‖s as RFC 7518 §3.4. */
export function es256(signingInput: string, key: KeyObject): string {
  return sign('sha256', Buffer.from(signingInput, 'latin1'), {
    key,
    dsaEncoding: 'ieee-p1363',
  }).toString('base64url');
}

/** A compact JWS over raw header and payload *text*, signed ES256 with `key`. */
export function signText(headerText: string, payloadText: string, key: KeyObject): string {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  return `${input}.${es256(input, key)}`;
}

/** A compact JWS over JSON header and payload, signed ES256 with `key`. */
export function signJson(header: object, payload: object, key: KeyObject): string {
  return signText(JSON.stringify(header), JSON.stringify(payload), key);
}

/** HS256 over `header.payload` with `secret` as the HMAC key (the RS/HS confusion attack). */
export function hs256Text(headerText: string, payloadText: string, secret: Uint8Array): string {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The encodings of a public key an HS256 forger would try as the HMAC secret. */
export function publicKeySecrets(jwk: Es256Key['jwk']): Uint8Array[] {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const pem = key.export({ format: 'pem', type: 'spki' }).toString();
  const der = key.export({ format: 'der', type: 'spki' });
  const raw = Buffer.concat([Buffer.from([4]), fromB64u(jwk.x), fromB64u(jwk.y)]);
  return [
    Buffer.from(JSON.stringify(jwk)),
    Buffer.from(pem),
    Buffer.from(pem.trim()),
    der,
    raw,
    Buffer.from(`${jwk.x}.${jwk.y}`),
  ];
}

/** Splits a compact JWS (exactly three segments assumed). */
export function segments(jws: string): [string, string, string] {
  const [h, p, s] = jws.split('.');
  return [h ?? '', p ?? '', s ?? ''];
}

/** Flips bit `bit` (mod the segment's length in bits) of segment `which`'s decoded bytes. */
export function flipBit(jws: string, which: 0 | 1 | 2, bit: number): string {
  const parts = segments(jws);
  const bytes = fromB64u(parts[which]);
  if (bytes.length === 0) return jws.replace(/\.$/, '.AA');
  const i = bit % (bytes.length * 8);
  bytes[i >> 3]! ^= 1 << (i & 7);
  parts[which] = bytes.toString('base64url');
  return parts.join('.');
}

/** Flips character `pos` of segment `which` to another base64url character. */
export function flipChar(jws: string, which: 0 | 1 | 2, pos: number, to: number): string {
  const parts = segments(jws);
  const seg = parts[which];
  if (seg.length === 0) return jws;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const i = pos % seg.length;
  const replacement = alphabet.replace(seg[i]!, '')[to % 63]!;
  parts[which] = seg.slice(0, i) + replacement + seg.slice(i + 1);
  return parts.join('.');
}

/** The order of P-256's base point: s and n − s both verify (ECDSA malleability). */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The malleated twin of an ES256 JWS: same r, s' = n − s. Verifies under the same key. */
export function highS(jws: string): string {
  const parts = segments(jws);
  const sig = fromB64u(parts[2]);
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const twin = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  parts[2] = Buffer.concat([sig.subarray(0, 32), twin]).toString('base64url');
  return parts.join('.');
}

const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A non-canonical base64url spelling of segment `which` that most decoders read as the same
 * bytes: `pad` appends `=` padding, `std` uses the standard alphabet (`+/`), `bits` sets the
 * unused trailing bits of the last character (RFC 4648 §3.5), `space` inserts whitespace.
 * Returns undefined when the spelling does not apply (e.g. no unused bits, nothing to swap).
 */
export function nonCanonical(
  jws: string,
  which: 0 | 1 | 2,
  how: 'pad' | 'std' | 'bits' | 'space',
  extra = 1,
): string | undefined {
  const parts = segments(jws);
  const seg = parts[which];
  let out: string;
  switch (how) {
    case 'pad': {
      const pad = (4 - (seg.length % 4)) % 4;
      out = seg + '='.repeat(pad === 0 ? 4 : pad);
      break;
    }
    case 'std':
      out = seg.replaceAll('-', '+').replaceAll('_', '/');
      if (out === seg) out = `${seg}+`;
      break;
    case 'bits': {
      const unused = [0, 0, 4, 2][seg.length % 4]!;
      if (unused === 0 || seg.length === 0) return undefined;
      const last = B64U_ALPHABET.indexOf(seg.at(-1)!);
      const mask = (1 << unused) - 1;
      const bits = (extra % mask) + 1;
      out = seg.slice(0, -1) + B64U_ALPHABET[(last & ~mask) | bits]!;
      break;
    }
    case 'space':
      out = `${seg.slice(0, 4)} ${seg.slice(4)}`;
      break;
  }
  parts[which] = out;
  return parts.join('.');
}

/** Look-alike (Cyrillic, Greek) spellings of ASCII letters, for homoglyph member names. */
const HOMOGLYPHS: Record<string, string> = {
  a: '\u0430',
  c: '\u0441',
  e: '\u0435',
  i: '\u0456',
  j: '\u0458',
  k: '\u03ba',
  o: '\u043e',
  p: '\u0440',
  q: '\u051b',
  s: '\u0455',
  t: '\u03c4',
  x: '\u0445',
  y: '\u0443',
};

/** `name` with its first letter that has a look-alike replaced by it (undefined if none). */
export function homoglyph(name: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const alt = HOMOGLYPHS[name[i]!];
    if (alt !== undefined) return name.slice(0, i) + alt + name.slice(i + 1);
  }
  return undefined;
}

/** Strings a unicode-aware forger slips into values: JSON escapes of awkward code points. */
export const UNICODE_ODDITIES = [
  '\\ud800', // lone high surrogate
  '\\udfff', // lone low surrogate
  '\\u0000', // NUL
  '\\u202e', // right-to-left override
  '\\u200b', // zero-width space
  '\\ufeff', // byte-order mark
  '\\u0301', // combining acute accent
  '\\uffff', // non-character
] as const;

/** Inserts `"name":value` (raw JSON) after the opening brace of a JSON object text. */
export function prependMember(objectText: string, name: string, rawValue: string): string {
  return `{${JSON.stringify(name)}:${rawValue},${objectText.slice(1)}`;
}

/** Appends `"name":value` (raw JSON) before the closing brace of a JSON object text. */
export function appendMember(objectText: string, name: string, rawValue: string): string {
  return `${objectText.slice(0, -1)},${JSON.stringify(name)}:${rawValue}}`;
}

/** `depth` nested arrays around `inner`. */
export const nested = (depth: number, inner = '0'): string =>
  `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
