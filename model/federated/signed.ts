/**
 * The two signatures of federated training, device and aggregator side, pure (jose over
 * WebCrypto: the same code runs in the extension's worker and in Node).
 *
 * - An **update** is the `TFLU` bytes (`update-format.ts`) as the payload of a compact JWS
 *   signed by the device key: protected header `{alg: "ES256", typ: "tacit-fl-update+jws", kid:
 *   <RFC 7638 thumbprint of the device key>}` (`kid` as in the device's attestations). Not a JWT:
 *   the payload is binary; the round, encoder id and parameter count it is for are inside the
 *   signed bytes.
 * - A **model version** is a JWT `{typ: "tacit-model+jwt", alg: "ES256", kid}` signed by the
 *   aggregator, whose claims name the SHA-256 digests of the encoder's JSON text and of the
 *   version's public centres (`public-centres.ts`, the negatives of the device's local round);
 *   the device verifies it against the aggregator keys it pins before it uses either.
 *
 * docs/protocol.md "Federated updates" has the wire formats.
 *
 * @module
 */
import {
  CompactSign,
  base64url,
  createLocalJWKSet,
  jwtVerify,
  type CryptoKey,
  type JSONWebKeySet,
} from 'jose';
import { SignedModelError } from '../errors';

/** `typ` of a signed update. */
export const UPDATE_JWS_TYP = 'tacit-fl-update+jws';
/** `typ` of a signed model version. */
export const MODEL_JWT_TYP = 'tacit-model+jwt';
/** The only algorithm of both. */
export const FEDERATED_ALG = 'ES256';

/** A device's signing key: its private key and the `kid` the aggregator knows it by. */
export interface DeviceSigningKey {
  /** Non-extractable ECDSA P-256 private key (WebCrypto). */
  readonly privateKey: CryptoKey;
  /** RFC 7638 SHA-256 thumbprint of the public key (the verifier's device id). */
  readonly kid: string;
}

/** Signs update bytes with the device key: a compact JWS (module description). */
export function signUpdate(bytes: Uint8Array, key: DeviceSigningKey): Promise<string> {
  return new CompactSign(bytes)
    .setProtectedHeader({ alg: FEDERATED_ALG, typ: UPDATE_JWS_TYP, kid: key.kid })
    .sign(key.privateKey);
}

/** Privacy spent, as a model version states it. */
export interface VersionPrivacy {
  /** Cumulated ε of every round released so far for this encoder line. */
  readonly epsilon: number;
  readonly delta: number;
}

/** The claims of a `tacit-model+jwt`. */
export interface ModelVersionClaims {
  /** The aggregator (its base URL). */
  readonly iss: string;
  /** Issued at, seconds. */
  readonly iat: number;
  /** Version number, monotonic from 1 (rollbacks publish a new number). */
  readonly ver: number;
  /** The encoder's id (`encoderId()`): what updates of the next round must name. */
  readonly enc: string;
  /** base64url SHA-256 of the encoder's JSON text, exactly as served. */
  readonly digest: string;
  /** base64url SHA-256 of the version's public centres JSON text, exactly as served. */
  readonly centresDigest: string;
  /** The round whose aggregate this is; null for the initial version and rollbacks. */
  readonly round: number | null;
  /** Distinct devices whose updates were aggregated (0 for the initial version, rollbacks). */
  readonly contributors: number;
  readonly privacy: VersionPrivacy;
  /** Evaluation figures the operator gave at close (e.g. `{eer: 0.08}`), or absent. */
  readonly evaluation?: Readonly<Record<string, number>>;
  /** For a rollback: the version whose encoder this republishes. */
  readonly rollbackOf?: number;
}

/** A model version as served: the signed token, the encoder's and its centres' JSON text. */
export interface SignedModelVersion {
  readonly token: string;
  /** The encoder JSON (`encoderToJSON`) as text; its SHA-256 is the token's `digest`. */
  readonly encoder: string;
  /**
   * The public centres of this encoder (`publicCentresToJSON`) as text; its SHA-256 is the
   * token's `centresDigest`. Parse it with `publicCentresFromJSON` against the encoder's id and
   * dimension before use.
   */
  readonly centres: string;
}

/** What a device checks besides the signature. */
export interface ModelVerifyPolicy {
  /** The aggregator's issuer, when pinned. */
  readonly issuer?: string;
  /** The lowest acceptable `ver` (the device's current one: no downgrade). */
  readonly minVersion?: number;
  /** Verification time (tests); default now. */
  readonly currentDate?: Date;
}

/** The two WebCrypto/Encoding globals used here (model/ compiles without DOM types). */
interface WebHost {
  crypto: { subtle: { digest(alg: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> } };
  TextEncoder: new () => { encode(text: string): Uint8Array };
}

/** base64url SHA-256 of `text` (UTF-8), WebCrypto: the `digest` and `centresDigest` claims. */
export async function encoderDigest(text: string): Promise<string> {
  const host = globalThis as unknown as WebHost;
  const bytes = new host.TextEncoder().encode(text);
  return base64url.encode(new Uint8Array(await host.crypto.subtle.digest('SHA-256', bytes)));
}

const isCount = (v: unknown, min: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isDigest = (v: unknown): v is string =>
  typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v);

function checkClaims(p: Record<string, unknown>): ModelVersionClaims {
  const privacy = p.privacy as Record<string, unknown> | undefined;
  const evaluation = p.evaluation;
  const ok =
    typeof p.iss === 'string' &&
    isCount(p.iat, 0) &&
    isCount(p.ver, 1) &&
    typeof p.enc === 'string' &&
    p.enc.length > 0 &&
    isDigest(p.digest) &&
    isDigest(p.centresDigest) &&
    (p.round === null || isCount(p.round, 0)) &&
    isCount(p.contributors, 0) &&
    typeof privacy === 'object' &&
    privacy !== null &&
    isFiniteNumber(privacy.epsilon) &&
    privacy.epsilon >= 0 &&
    isFiniteNumber(privacy.delta) &&
    (evaluation === undefined ||
      (typeof evaluation === 'object' &&
        evaluation !== null &&
        !Array.isArray(evaluation) &&
        Object.values(evaluation).every(isFiniteNumber))) &&
    (p.rollbackOf === undefined || isCount(p.rollbackOf, 1));
  if (!ok) throw new SignedModelError('ERR_MODEL_CLAIMS', 'model version claims are malformed');
  return p as unknown as ModelVersionClaims;
}

/**
 * Verifies a published model version before the device uses it: an ES256 `tacit-model+jwt`
 * signed by a key of `pinnedJwks` (the aggregator's JWKS the extension ships or pins), claims
 * well formed, `digest` = SHA-256 of `signed.encoder`, `centresDigest` = SHA-256 of
 * `signed.centres`, `ver` ≥ `policy.minVersion`. Returns the claims; the caller then parses
 * `signed.encoder` (`encoderFromJSON`), checks that its `encoderId()` is `enc`, and parses
 * `signed.centres` for that encoder's id and dimension (`publicCentresFromJSON`).
 *
 * @throws {SignedModelError} `ERR_MODEL_SIGNATURE`, `ERR_MODEL_CLAIMS`, `ERR_MODEL_DIGEST`,
 *   `ERR_MODEL_DOWNGRADE` (the cause, for the log only, is jose's error).
 */
export async function verifyModelVersion(
  signed: SignedModelVersion,
  pinnedJwks: JSONWebKeySet,
  policy: ModelVerifyPolicy = {},
): Promise<ModelVersionClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(signed.token, createLocalJWKSet(pinnedJwks), {
      algorithms: [FEDERATED_ALG],
      typ: MODEL_JWT_TYP,
      ...(policy.issuer !== undefined ? { issuer: policy.issuer } : {}),
      ...(policy.currentDate !== undefined ? { currentDate: policy.currentDate } : {}),
    }));
  } catch (cause) {
    const err = new SignedModelError('ERR_MODEL_SIGNATURE', 'model version signature refused');
    (err as { cause?: unknown }).cause = cause;
    throw err;
  }
  const claims = checkClaims(payload);
  if ((await encoderDigest(signed.encoder)) !== claims.digest) {
    throw new SignedModelError('ERR_MODEL_DIGEST', 'encoder does not match the signed digest');
  }
  if (
    typeof signed.centres !== 'string' ||
    (await encoderDigest(signed.centres)) !== claims.centresDigest
  ) {
    throw new SignedModelError('ERR_MODEL_DIGEST', 'centres do not match the signed digest');
  }
  if (policy.minVersion !== undefined && claims.ver < policy.minVersion) {
    throw new SignedModelError('ERR_MODEL_DOWNGRADE', 'model version older than the current one');
  }
  return claims;
}
