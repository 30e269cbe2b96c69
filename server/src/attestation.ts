/**
 * Verification policy for the statements a device signs (docs/protocol.md §4): enrollment,
 * session binding and attestation. jose does the cryptography and the standard claim checks;
 * this module states the policy and maps every failure to one typed error.
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
import {
  EmbeddedJWK,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
  type CryptoKey,
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
} from './errors';
import { sha256Base64url } from './digest';
import { POLICY } from './policy';
import type { DeviceRecord, PublicJwk } from './store/store';

/** `typ` of each statement kind. One kind is never accepted as another. */
export const STATEMENT_TYP = {
  enroll: 'tacit-enroll+jwt',
  bind: 'tacit-bind+jwt',
  attest: 'tacit-att+jwt',
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
  })
  // `conf` is null exactly while the model is enrolling.
  .refine((c) => (c.state === 'scoring') === (c.conf !== null), { path: ['conf'] });

/** Claims of a verified enrollment statement. */
export type EnrollClaims = z.infer<typeof enrollClaims>;
/** Claims of a verified binding statement. */
export type BindClaims = z.infer<typeof bindClaims>;
/** Claims of a verified attestation. */
export type AttestClaims = z.infer<typeof attestClaims>;

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
 * Verifies an enrollment statement (`tacit-enroll+jwt`) signed by the key in its own `jwk`
 * header, which must be a public EC P-256 key. Checks freshness; the code and `jti` are the
 * caller's to check against the store.
 */
export async function verifyEnrollment(jws: string, now: number): Promise<VerifiedEnrollment> {
  const header = readHeader(jws, STATEMENT_TYP.enroll);
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new JwsInvalid('enrollment must carry its public key', { cause: 'no jwk header' });
  }
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
    throw new JwsInvalid('enrollment key must be a public key', { cause: 'private jwk members' });
  }
  const { kty, crv, x, y } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') {
    throw new JwsInvalid('enrollment key must be an EC P-256 key', { cause: 'jwk not P-256' });
  }
  const publicJwk: PublicJwk = { kty: 'EC', crv: 'P-256', x, y };
  try {
    // The key is attacker-chosen: an invalid point must be a 400, not a WebCrypto 500.
    await importJWK({ ...jwk }, DEVICE_ALG);
  } catch (cause) {
    throw new JwsInvalid('enrollment key must be an EC P-256 key', { cause });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jws, EmbeddedJWK, verifyOptions(STATEMENT_TYP.enroll, now)));
  } catch (err) {
    throw fromJose(err);
  }
  const claims = parseClaims(enrollClaims, payload);
  checkFreshness(claims.iat, now);
  return { jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), jwk: publicJwk, claims };
}

async function verifyDeviceStatement(
  jws: string,
  typ: string,
  now: number,
  lookup: DeviceLookup,
): Promise<{ jkt: string; devices: DeviceRecord[]; payload: JWTPayload }> {
  const header = readHeader(jws, typ);
  const kid = header.kid;
  if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(kid)) {
    // Device ids are SHA-256 thumbprints; anything else cannot name a device.
    if (typeof kid === 'string' && kid.length > 0) throw new UnknownDevice({ cause: 'bad kid' });
    throw new JwsInvalid('statement must name its device key', { cause: 'no kid header' });
  }
  const devices = await lookup(kid);
  if (devices.length === 0) throw new UnknownDevice({ cause: 'kid not enrolled' });
  if (devices.every((d) => d.revokedAt !== null)) throw new DeviceRevoked({ cause: 'all revoked' });
  let key: CryptoKey;
  try {
    key = (await importJWK(devices[0]!.jwk, DEVICE_ALG)) as CryptoKey;
  } catch (cause) {
    // Stored keys were validated at enrollment: failing here is our fault.
    throw new TypeError('stored device key does not import', { cause });
  }
  try {
    const { payload } = await jwtVerify(jws, key, verifyOptions(typ, now));
    return { jkt: kid, devices, payload };
  } catch (err) {
    throw fromJose(err);
  }
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
