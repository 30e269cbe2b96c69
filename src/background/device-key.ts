/**
 * The device key: the one module that holds it. A non-extractable ECDSA P-256 key made with
 * WebCrypto, stored as a CryptoKey in IndexedDB (structured clone keeps it non-extractable),
 * used to sign every statement the device makes (docs/protocol.md §4).
 */
import { openDB, type DBSchema } from 'idb';
import { CompactSign, SignJWT, calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

interface DeviceKeyRecord {
  version: 1;
  privateKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
  createdAt: number;
}

interface DeviceDb extends DBSchema {
  keys: { key: string; value: DeviceKeyRecord };
}

const DB_NAME = 'tacit-device';
const KEY_ID = 'device';

export type StatementType = 'tacit-enroll+jwt' | 'tacit-bind+jwt' | 'tacit-att+jwt';

/** What a DPoP proof is made with: the private key and the public JWK it publishes. */
export interface ProofKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

function openDeviceDb() {
  return openDB<DeviceDb>(DB_NAME, 1, {
    upgrade(db, oldVersion) {
      // Numbered migrations: add a case per version.
      if (oldVersion < 1) db.createObjectStore('keys');
    },
  });
}

let pending: Promise<DeviceKeyRecord> | undefined;

async function loadOrCreate(): Promise<DeviceKeyRecord> {
  const db = await openDeviceDb();
  try {
    const existing = await db.get('keys', KEY_ID);
    if (existing) return existing;
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const publicJwk = await exportJWK(pair.publicKey);
    const record: DeviceKeyRecord = {
      version: 1,
      privateKey: pair.privateKey,
      publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y },
      jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
      createdAt: Date.now(),
    };
    // `add` fails if another context raced us; then read theirs.
    try {
      await db.add('keys', record, KEY_ID);
      return record;
    } catch {
      const winner = await db.get('keys', KEY_ID);
      if (!winner) throw new Error('device key could not be stored');
      return winner;
    }
  } finally {
    db.close();
  }
}

/** The device key, created on first use. */
export function deviceKey(): Promise<DeviceKeyRecord> {
  pending ??= loadOrCreate().catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

/**
 * The device key as federated updates are signed with it (`signUpdate`, model/federated):
 * the private key and its thumbprint, the `kid` the verifier and the aggregator know it by.
 */
export async function deviceSigningKey(): Promise<{ privateKey: CryptoKey; kid: string }> {
  const key = await deviceKey();
  return { privateKey: key.privateKey, kid: key.jkt };
}

/** Signs a statement of the given kind as a compact JWS (ES256). */
export async function signStatement(
  typ: StatementType,
  payload: Record<string, unknown>,
): Promise<string> {
  const key = await deviceKey();
  const header =
    typ === 'tacit-enroll+jwt'
      ? { alg: 'ES256', typ, jwk: key.publicJwk }
      : { alg: 'ES256', typ, kid: key.jkt };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header)
    .sign(key.privateKey);
}

function randomJti(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A DPoP proof (RFC 9449, docs/protocol.md §4) for one request: header `typ: dpop+jwt`, ES256,
 * the public JWK only; claims `htm`, `htu` (the URL without query and fragment), `iat`, and a
 * fresh random `jti`. Kept apart from the stored key so it can be tested without IndexedDB.
 */
export function createDpopProof(
  key: ProofKey,
  method: string,
  url: string,
  nowMs: number,
): Promise<string> {
  const htu = new URL(url);
  htu.search = '';
  htu.hash = '';
  const { kty, crv, x, y } = key.publicJwk;
  const claims = { htm: method, htu: htu.href, iat: Math.floor(nowMs / 1000), jti: randomJti() };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })
    .sign(key.privateKey);
}

/** A DPoP proof by the device key for `method url` (the key is created on first use). */
export async function dpopProof(method: string, url: string, nowMs = Date.now()): Promise<string> {
  return createDpopProof(await deviceKey(), method, url, nowMs);
}

/**
 * Deletes the device key ("forget this device"). The next statement creates a new key, which
 * must be enrolled again. The key was never extractable: once deleted it is gone.
 */
export async function forgetDeviceKey(): Promise<void> {
  const db = await openDeviceDb();
  try {
    await db.delete('keys', KEY_ID);
  } finally {
    db.close();
    pending = undefined;
  }
}

/** base64url(SHA-256(text)): links an attestation to the previous one. */
export async function hashStatement(jws: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(jws)),
  );
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
