/**
 * The aggregator's signing key: one ES256 key pair, created on first start and kept in its own
 * store (the file is owner-only), which signs every published model version
 * (`tacit-model+jwt`). Its public half is served as a JWKS the extension pins. Rotation is not
 * built: a new key means a new pin in the extension (docs/federated.md "Aggregator").
 *
 * @module
 */
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import {
  FEDERATED_ALG,
  MODEL_JWT_TYP,
  type ModelVersionClaims,
} from '../../../model/federated/signed';
import type { AggregatorStore } from '../store/store';

/** The public key as served in the JWKS. */
export interface PublicSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** The loaded key. */
export interface AggregatorKey {
  readonly kid: string;
  readonly jwks: { keys: PublicSigningJwk[] };
  /** Signs a model version's claims. */
  sign(claims: ModelVersionClaims): Promise<string>;
}

const META_KEY = 'signing_key';

/** Loads the key from the store, creating it on first start. */
export async function loadAggregatorKey(store: AggregatorStore): Promise<AggregatorKey> {
  let stored = store.meta(META_KEY);
  if (stored === undefined) {
    const { privateKey } = await generateKeyPair(FEDERATED_ALG, { extractable: true });
    store.setMeta(META_KEY, JSON.stringify(await exportJWK(privateKey)));
    stored = store.meta(META_KEY)!;
  }
  const jwk = JSON.parse(stored) as JWK;
  const privateKey = (await importJWK(jwk, FEDERATED_ALG)) as CryptoKey;
  const { kty, crv, x, y } = jwk as { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  const kid = await calculateJwkThumbprint({ kty, crv, x, y }, 'sha256');
  const publicJwk: PublicSigningJwk = { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    jwks: { keys: [publicJwk] },
    sign: (claims) =>
      new SignJWT({ ...claims })
        .setProtectedHeader({ alg: FEDERATED_ALG, typ: MODEL_JWT_TYP, kid })
        .sign(privateKey),
  };
}
