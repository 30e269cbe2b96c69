/**
 * Verification policy for the statements a device signs (docs/protocol.md §4): enrollment,
 * session binding and attestation. jose does the cryptography and the standard claim checks of
 * self-signed statements (enrollment, rotation); for the statements of enrolled devices (binding,
 * attestation: the hot path) jose parses the header and payload and node:crypto checks the ES256
 * signature with the device's cached key (see {@link verifyEs256}). This module states the
 * policy and maps every failure to one typed error.
 *
 * Checking order, for every kind: the compact shape and protected header first (`alg` must be
 * `ES256`, `typ` must be this kind's), then the key (embedded public JWK for enrollment; `kid`
 * naming an enrolled, unrevoked device otherwise), then the signature, then the claims and
 * freshness. No key is looked up for a statement whose header is already wrong, and no claim
 * is trusted before the signature verifies. Session-level checks (binding, `seq`, chain) and
 * `jti` replay are the caller's: they need the store.
 *
 * @module
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  EmbeddedJWK,
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import { z } from 'zod';
import {
  DeviceRevoked,
  JwsAlg,
  JwsClaims,
  JwsInvalid,
  JwsTyp,
  Stale,
  UnknownDevice,
  type TacitError,
} from '../errors';
import { sessionSignalsSchema } from '../contract/schemas';
import { sha256Base64url } from './digest';
import { POLICY } from '../domain/policy';
import type { DeviceRecord, PublicJwk } from '../store/store';

/** `typ` of each statement kind. One kind is never accepted as another. */
export const STATEMENT_TYP = {
  enroll: 'tacit-enroll+jwt',
  bind: 'tacit-bind+jwt',
  attest: 'tacit-att+jwt',
  rotate: 'tacit-rotate+jwt',
} as const;

/** The only JWS algorithm accepted from devices. */
export const DEVICE_ALG = 'ES256';

/** JWK members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const jti = z.string().min(1).max(128);
const iat = z.number().finite();
const b64u = z.string().regex(/^[A-Za-z0-9_-]*$/);

const enrollClaims = z.object({
  code: z.string().min(1).max(32),
  iat,
  jti,
});

const bindClaims = z.object({
  sid: b64u.min(1).max(128),
  chal: b64u.min(1).max(128),
  iat,
  jti,
});

const attestClaims = z
  .object({
    sid: b64u.min(1).max(128),
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    iat,
    state: z.enum(['enrolling', 'scoring']),
    conf: z.number().min(0).max(1).nullable(),
    progress: z.number().min(0).max(1),
    mv: z.string().min(1).max(64),
    n: z.object({
      k: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      p: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    }),
    // "" for the first attestation, else base64url(SHA-256(...)): 43 characters.
    prev: z.union([z.literal(''), b64u.length(43)]),
    // The device's session decision and the windows per modality it rests on (docs/protocol.md
    // §5): absent from older clients and while enrolling.
    dec: z
      .object({
        takeover: z.boolean(),
        w: z.object({
          k: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
          p: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        }),
      })
      .optional(),
    // The device's session signals (docs/protocol.md §4 and "Signals"): absent from older
    // clients. Values only; a member too many or out of range refuses the whole statement.
    sig: sessionSignalsSchema.optional(),
  })
  // `conf` is null exactly while the model is enrolling.
  .refine((c) => (c.state === 'scoring') === (c.conf !== null), { path: ['conf'] });

const rotateClaims = z.object({
  // The thumbprint of the key being replaced.
  old: b64u.length(43),
  iat,
  jti,
});

/** Claims of a verified enrollment statement. */
export type EnrollClaims = z.infer<typeof enrollClaims>;
/** Claims of a verified binding statement. */
export type BindClaims = z.infer<typeof bindClaims>;
/** Claims of a verified attestation. */
export type AttestClaims = z.infer<typeof attestClaims>;

/** Claims of a verified rotation statement. */
export type RotateClaims = z.infer<typeof rotateClaims>;

/** A verified enrollment statement. */
export interface VerifiedEnrollment {
  /** Thumbprint of the embedded key: the new device id. */
  jkt: string;
  /** The embedded key, reduced to its public members. */
  jwk: PublicJwk;
  claims: EnrollClaims;
}

/** A verified statement of an enrolled device. */
export interface VerifiedDeviceStatement<C> {
  jkt: string;
  /** Every enrollment of the device key (at least one is unrevoked). */
  devices: DeviceRecord[];
  claims: C;
}

/** Finds the enrollments of a device key (the store's `findDevicesByKey`). */
export type DeviceLookup = (jkt: string) => Promise<DeviceRecord[]>;

/** base64url(SHA-256(compact JWS)): what the next attestation's `prev` must be. */
export function chainHash(compactJws: string): string {
  return sha256Base64url(compactJws);
}

/** Throws {@link Stale} unless `iat` (s) is within the freshness window around `now` (ms). */
export function checkFreshness(iatSeconds: number, now: number): void {
  if (Math.abs(now / 1000 - iatSeconds) > POLICY.freshnessWindowS) {
    throw new Stale({ cause: 'iat outside window' });
  }
}

/** Reads the protected header and enforces `alg` and `typ`; nothing is verified yet. */
function readHeader(jws: string, typ: string): ProtectedHeaderParameters {
  if (jws.length > POLICY.maxJwsLength || jws.split('.').length !== 3) {
    throw new JwsInvalid('invalid signed statement', { cause: 'not a compact JWS' });
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch (cause) {
    throw new JwsInvalid('invalid signed statement', { cause });
  }
  if (header.alg !== DEVICE_ALG) throw new JwsAlg({ cause: 'alg is not ES256' });
  if (header.typ !== typ) throw new JwsTyp({ cause: `typ is not ${typ}` });
  return header;
}

/** Maps a jose failure to our error; anything that is not jose's is rethrown untouched. */
function fromJose(err: unknown): TacitError {
  if (!(err instanceof errors.JOSEError)) throw err;
  if (err instanceof errors.JOSEAlgNotAllowed) return new JwsAlg({ cause: err });
  if (err instanceof errors.JWTExpired) return new Stale({ cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'typ') return new JwsTyp({ cause: err });
    // A time claim of the wrong type is a claims error; one out of range is staleness.
    const timeCheck = (err.claim === 'iat' || err.claim === 'nbf') && err.reason === 'check_failed';
    if (timeCheck) return new Stale({ cause: err });
    return new JwsClaims({ cause: err });
  }
  return new JwsInvalid('invalid signed statement', { cause: err });
}

function verifyOptions(typ: string, now: number): JWTVerifyOptions {
  return {
    algorithms: [DEVICE_ALG],
    typ,
    currentDate: new Date(now),
    // Only applies to exp/nbf if a device ever sends them; iat is checked by checkFreshness.
    clockTolerance: POLICY.freshnessWindowS,
  };
}

function parseClaims<S extends z.ZodType>(schema: S, payload: JWTPayload): z.infer<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    // Paths only: values are the device's and may be behavioral.
    const paths = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(',');
    throw new JwsClaims({ cause: `invalid claims: ${paths}` });
  }
  return parsed.data;
}

/**
 * Verifies a statement signed by the public EC P-256 key in its own `jwk` header (enrollment,
 * rotation): header, key, signature. Claims are the caller's.
 */
async function verifySelfSigned(
  jws: string,
  typ: string,
  now: number,
): Promise<{ jkt: string; jwk: PublicJwk; payload: JWTPayload }> {
  const header = readHeader(jws, typ);
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new JwsInvalid('statement must carry its public key', { cause: 'no jwk header' });
  }
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
    throw new JwsInvalid('statement key must be a public key', { cause: 'private jwk members' });
  }
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') {
    throw new JwsInvalid('statement key must be an EC P-256 key', { cause: 'jwk not P-256' });
  }
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x, y };
  try {
    // The key is attacker-chosen: an invalid point must be a 400, not a WebCrypto 500.
    await importJWK({ ...jwk }, DEVICE_ALG);
  } catch (cause) {
    throw new JwsInvalid('statement key must be an EC P-256 key', { cause });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jws, EmbeddedJWK, verifyOptions(typ, now)));
  } catch (err) {
    throw fromJose(err);
  }
  return { jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), jwk: publicJwk, payload };
}

/**
 * Verifies an enrollment statement (`tacit-enroll+jwt`) signed by the key in its own `jwk`
 * header, which must be a public EC P-256 key. Checks freshness; the code and `jti` are the
 * caller's to check against the store.
 */
export async function verifyEnrollment(jws: string, now: number): Promise<VerifiedEnrollment> {
  const { jkt, jwk, payload } = await verifySelfSigned(jws, STATEMENT_TYP.enroll, now);
  const claims = parseClaims(enrollClaims, payload);
  checkFreshness(claims.iat, now);
  return { jkt, jwk, claims };
}

/**
 * Verifies a rotation statement (`tacit-rotate+jwt`): signed by the **new** device key, carried
 * in its own `jwk` header, naming the old key's thumbprint in `old`. Checks freshness; that
 * `old` is the key of the request's DPoP proof, and the `jti`, are the caller's.
 */
export async function verifyRotation(
  jws: string,
  now: number,
): Promise<{ jkt: string; jwk: PublicJwk; claims: RotateClaims }> {
  const { jkt, jwk, payload } = await verifySelfSigned(jws, STATEMENT_TYP.rotate, now);
  const claims = parseClaims(rotateClaims, payload);
  checkFreshness(claims.iat, now);
  return { jkt, jwk, claims };
}

/** Most device keys kept imported (a few hundred bytes each). */
const KEY_CACHE_SIZE = 100_000;
const keyCache = new Map<string, KeyObject>();

/**
 * The stored public key of a device as a `KeyObject`, imported once: importing costs about as
 * much as verifying, and every statement of a device is checked against the same key. Entries
 * are keyed by the stored key material itself (not the `kid`), so an entry can never stand for
 * another key; revocation is unaffected, as it is checked in the store before the key is used.
 * Least recently used entries go first past {@link KEY_CACHE_SIZE}.
 */
function deviceKey(jwk: PublicJwk): KeyObject {
  const id = `${jwk.crv}.${jwk.x}.${jwk.y}`;
  let key = keyCache.get(id);
  if (key) {
    keyCache.delete(id);
  } else {
    const { kty, crv, x, y } = jwk;
    key = createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new TypeError('not a P-256 key');
    }
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value!);
  }
  keyCache.set(id, key);
  return key;
}

/** An ES256 signature: base64url of the 64 bytes r‖s, no padding. */
const ES256_SIGNATURE = /^[A-Za-z0-9_-]{86}$/;
const B64U_SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Checks the ES256 signature of a compact JWS whose protected header {@link readHeader} has
 * already accepted: node:crypto `verify` (SHA-256, IEEE P1363 r‖s, as RFC 7518 §3.4 encodes
 * it) over the JWS signing input, on libuv's thread pool so the event loop keeps serving. This
 * is jose's check without the WebCrypto layer, whose per-call overhead on the event loop is
 * larger than the verification itself.
 */
async function verifyEs256(jws: string, key: KeyObject): Promise<void> {
  const dot = jws.lastIndexOf('.');
  const [header, payload] = jws.slice(0, dot).split('.');
  const signature = jws.slice(dot + 1);
  if (!B64U_SEGMENT.test(header!) || !B64U_SEGMENT.test(payload!)) {
    throw new JwsInvalid('invalid signed statement', { cause: 'segment not base64url' });
  }
  if (!ES256_SIGNATURE.test(signature)) {
    throw new JwsInvalid('invalid signed statement', { cause: 'not an ES256 signature' });
  }
  const valid = await new Promise<boolean>((resolve, reject) =>
    verify(
      'sha256',
      Buffer.from(jws.slice(0, dot), 'latin1'),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
      (err, ok) => (err ? reject(err) : resolve(ok)),
    ),
  );
  if (!valid) throw new JwsInvalid('invalid signed statement', { cause: 'signature' });
}

/**
 * The payload of a signature-checked statement as a JSON object, with the time claims jose's
 * `jwtVerify` would check under {@link verifyOptions}: `exp` and `nbf`, when present, must be
 * numbers and within the tolerance (`iat` is checked by {@link checkFreshness}).
 */
function readPayload(jws: string, now: number): JWTPayload {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(jws);
  } catch (cause) {
    throw new JwsInvalid('invalid signed statement', { cause });
  }
  const nowS = Math.floor(now / 1000);
  const tolerance = POLICY.freshnessWindowS;
  for (const claim of ['exp', 'nbf'] as const) {
    const value = payload[claim];
    if (value !== undefined && typeof value !== 'number') {
      throw new JwsClaims({ cause: `invalid claims: ${claim}` });
    }
  }
  if (payload.nbf !== undefined && payload.nbf > nowS + tolerance) {
    throw new Stale({ cause: 'nbf in the future' });
  }
  if (payload.exp !== undefined && payload.exp <= nowS - tolerance) {
    throw new Stale({ cause: 'exp passed' });
  }
  return payload;
}

async function verifyDeviceStatement(
  jws: string,
  typ: string,
  now: number,
  lookup: DeviceLookup,
): Promise<{ jkt: string; devices: DeviceRecord[]; payload: JWTPayload }> {
  const header = readHeader(jws, typ);
  // No extension is understood, so none may be critical (RFC 7515 §4.1.11).
  if (header.crit !== undefined) {
    throw new JwsInvalid('invalid signed statement', { cause: 'crit header' });
  }
  const kid = header.kid;
  if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(kid)) {
    // Device ids are SHA-256 thumbprints; anything else cannot name a device.
    if (typeof kid === 'string' && kid.length > 0) throw new UnknownDevice({ cause: 'bad kid' });
    throw new JwsInvalid('statement must name its device key', { cause: 'no kid header' });
  }
  const devices = await lookup(kid);
  if (devices.length === 0) throw new UnknownDevice({ cause: 'kid not enrolled' });
  if (devices.every((d) => d.revokedAt !== null)) throw new DeviceRevoked({ cause: 'all revoked' });
  let key: KeyObject;
  try {
    key = deviceKey(devices[0]!.jwk);
  } catch (cause) {
    // Stored keys were validated at enrollment: failing here is our fault.
    throw new TypeError('stored device key does not import', { cause });
  }
  await verifyEs256(jws, key);
  return { jkt: kid, devices, payload: readPayload(jws, now) };
}

/**
 * Verifies a binding statement (`tacit-bind+jwt`) of an enrolled device and its freshness.
 * The session, challenge and `jti` are the caller's to check.
 */
export async function verifyBinding(
  jws: string,
  now: number,
  lookup: DeviceLookup,
): Promise<VerifiedDeviceStatement<BindClaims>> {
  const { jkt, devices, payload } = await verifyDeviceStatement(
    jws,
    STATEMENT_TYP.bind,
    now,
    lookup,
  );
  const claims = parseClaims(bindClaims, payload);
  checkFreshness(claims.iat, now);
  return { jkt, devices, claims };
}

/**
 * Verifies an attestation (`tacit-att+jwt`) of an enrolled device: header, key, signature and
 * claims. Freshness is **not** checked here: §4 orders it after the session and `seq` checks.
 */
export async function verifyAttestation(
  jws: string,
  now: number,
  lookup: DeviceLookup,
): Promise<VerifiedDeviceStatement<AttestClaims>> {
  const { jkt, devices, payload } = await verifyDeviceStatement(
    jws,
    STATEMENT_TYP.attest,
    now,
    lookup,
  );
  return { jkt, devices, claims: parseClaims(attestClaims, payload) };
}
