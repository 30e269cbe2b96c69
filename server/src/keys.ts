/**
 * The server's ES256 signing keys: the only module that reads a server private key.
 *
 * On first start a key pair is generated and persisted in the store; later starts load it.
 * Every stored key is published in the JWKS and the newest active one signs. Keys are
 * identified by their RFC 7638 thumbprint (`kid`). Rotation = add a key and retire the old
 * one; retired keys stay published so tokens they signed still verify until they expire.
 *
 * @module
 */
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Clock } from './clock';
import type { Store } from './store/store';

/** The public half of the server keys and a signer. */
export interface ServerKeys {
  /** `kid` of the key that signs. */
  readonly kid: string;
  /** The published key set (`kid`, `alg: ES256`, `use: sig`; public members only). */
  jwks(): JSONWebKeySet;
  /** Key resolver for `jwtVerify`, over the published set. */
  readonly verificationKeys: JWTVerifyGetKey;
  /**
   * Signs `payload` as a compact JWT with header `{alg: ES256, typ, kid}`. The caller sets
   * every claim (iat, exp, ...): nothing here reads the clock.
   */
  sign(payload: JWTPayload, typ: string): Promise<string>;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y'] as const;

function publicOnly(jwk: JWK): JWK {
  const out: JWK = {};
  for (const m of PUBLIC_MEMBERS) out[m] = jwk[m];
  return out;
}

/** Generates a new ES256 key record (private JWK kept only in the store). */
async function generateKeyRecord(now: number) {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = publicOnly(privateJwk);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    kid,
    privateJwk: JSON.stringify(privateJwk),
    publicJwk: JSON.stringify({ ...publicJwk, kid, alg: 'ES256', use: 'sig' }),
    createdAt: now,
    retiredAt: null,
  };
}

/**
 * Loads the signing keys from the store, generating and persisting one on first start.
 *
 * @throws {TypeError} if a stored key is not a P-256 key pair (a corrupted store: fail fast).
 */
export async function loadServerKeys(store: Store, clock: Clock): Promise<ServerKeys> {
  let records = await store.listSigningKeys();
  if (!records.some((r) => r.retiredAt === null)) {
    await store.addSigningKey(await generateKeyRecord(clock.now()));
    records = await store.listSigningKeys();
  }
  const active = records.filter((r) => r.retiredAt === null).at(-1);
  if (!active) throw new TypeError('no active signing key after generation');

  const privateJwk = JSON.parse(active.privateJwk) as JWK;
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string') {
    throw new TypeError(`stored signing key ${active.kid} is not a P-256 private key`);
  }
  const privateKey = await importJWK(privateJwk, 'ES256');

  const keys = records.map((r) => {
    const jwk = JSON.parse(r.publicJwk) as JWK;
    if ('d' in jwk) throw new TypeError(`stored public key ${r.kid} has private members`);
    return jwk;
  });
  const jwks: JSONWebKeySet = { keys };
  const frozen = JSON.stringify(jwks);

  return {
    kid: active.kid,
    // A copy each time so no caller can mutate the published set.
    jwks: () => JSON.parse(frozen) as JSONWebKeySet,
    verificationKeys: createLocalJWKSet(jwks),
    sign: (payload, typ) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', typ, kid: active.kid })
        .sign(privateKey),
  };
}
