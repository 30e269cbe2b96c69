/**
 * The server's ES256 signing keys: the only module that reads a server private key.
 *
 * On first start a key pair is generated and persisted in the store; later starts load it.
 * Keys are identified by their RFC 7638 thumbprint (`kid`). The newest active key signs.
 *
 * Rotation: {@link ServerKeys.refresh} (at start and every {@link KEY_CHECK_INTERVAL_MS}) retires
 * the active key once it is older than the rotation age (`TACIT_SIGNING_KEY_ROTATION_DAYS`,
 * default 30) and adds a new one; {@link ServerKeys.rotate} does it now (the admin endpoint).
 * With several instances on one store the first writer wins ({@link Store.rotateSigningKey}
 * only rotates if the active key is still the one this instance saw); the others pick the
 * winner's key up at their next refresh, or at once when they meet its `kid` in a token.
 *
 * A retired key stays published in the JWKS until every token it can have signed has expired:
 * {@link RETIRED_KEY_GRACE_MS} after its retirement (the longest token lifetime, plus the time
 * another instance may go on signing with it before its next refresh, plus a minute of clock
 * skew). Then it leaves the JWKS and no longer verifies anything; its row stays in the store.
 *
 * @module
 */
import {
  SignJWT,
  calculateJwkThumbprint,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Clock } from '../clock';
import { POLICY } from '../domain/policy';
import type { SigningKeyRecord, Store } from '../store/store';

/** How often {@link ServerKeys.refresh} should run (ms). */
export const KEY_CHECK_INTERVAL_MS = 60 * 1000;

/** How long a retired key stays in the JWKS after its retirement (ms). See the module comment. */
export const RETIRED_KEY_GRACE_MS =
  POLICY.sessionTokenTtlS * 1000 + 2 * KEY_CHECK_INTERVAL_MS + 60 * 1000;

/** Default of `TACIT_SIGNING_KEY_ROTATION_DAYS`. */
export const DEFAULT_ROTATION_DAYS = 30;

const DAY_MS = 24 * 60 * 60 * 1000;
/** A token naming an unknown `kid` reloads the keys from the store at most this often (ms). */
const RELOAD_ON_MISS_MS = 5 * 1000;

/** A rotation this instance performed. */
export interface KeyRotation {
  /** The new signing key. */
  kid: string;
  /** The keys it retired. */
  retired: string[];
}

/** Options of {@link loadServerKeys}. */
export interface ServerKeyOptions {
  /** Retire the signing key once it is this many days old (1–3650, default 30). */
  rotationDays?: number;
}

/** The public half of the server keys and a signer. */
export interface ServerKeys {
  /** `kid` of the key that signs now. */
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
  /**
   * Reloads the keys from the store and rotates if the signing key is older than the rotation
   * age. Returns the rotation if this instance made one.
   */
  refresh(): Promise<KeyRotation | undefined>;
  /**
   * Rotates now. Returns this instance's rotation, or undefined when another instance rotated
   * first (the keys are then reloaded and its key signs).
   */
  rotate(): Promise<KeyRotation | undefined>;
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

interface LoadedKey {
  record: SigningKeyRecord;
  jwk: JWK;
  verify: CryptoKey;
}

/** Checks and imports a stored key's public half. */
async function loadPublic(record: SigningKeyRecord): Promise<LoadedKey> {
  const jwk = JSON.parse(record.publicJwk) as JWK;
  if ('d' in jwk) throw new TypeError(`stored public key ${record.kid} has private members`);
  return { record, jwk, verify: (await importJWK(jwk, 'ES256')) as CryptoKey };
}

/** Imports a stored key's private half. */
async function loadPrivate(record: SigningKeyRecord): Promise<CryptoKey> {
  const privateJwk = JSON.parse(record.privateJwk) as JWK;
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string') {
    throw new TypeError(`stored signing key ${record.kid} is not a P-256 private key`);
  }
  return (await importJWK(privateJwk, 'ES256')) as CryptoKey;
}

/**
 * Loads the signing keys from the store, generating and persisting one on first start. Does not
 * rotate: call {@link ServerKeys.refresh} for that (at start, then periodically).
 *
 * @throws {TypeError} if a stored key is not a P-256 key pair (a corrupted store: fail fast), or
 *   on a rotation age outside 1–3650 days.
 */
export async function loadServerKeys(
  store: Store,
  clock: Clock,
  options: ServerKeyOptions = {},
): Promise<ServerKeys> {
  const rotationDays = options.rotationDays ?? DEFAULT_ROTATION_DAYS;
  if (!Number.isInteger(rotationDays) || rotationDays < 1 || rotationDays > 3650) {
    throw new TypeError(`signing key rotation must be 1-3650 days, got ${rotationDays}`);
  }
  const rotationMs = rotationDays * DAY_MS;

  let keys = new Map<string, LoadedKey>();
  let active: { kid: string; createdAt: number; privateKey: CryptoKey } | undefined;
  let lastReload = -Infinity;

  /** Published: active keys, and retired ones still within their grace. */
  const published = (k: LoadedKey, now: number) =>
    k.record.retiredAt === null || now < k.record.retiredAt + RETIRED_KEY_GRACE_MS;

  const reload = async (): Promise<void> => {
    let records = await store.listSigningKeys();
    if (!records.some((r) => r.retiredAt === null)) {
      await store.addSigningKey(await generateKeyRecord(clock.now()));
      records = await store.listSigningKeys();
    }
    // listSigningKeys is ordered by createdAt, then kid: the newest active key is the last.
    const newest = records.filter((r) => r.retiredAt === null).at(-1);
    if (!newest) throw new TypeError('no active signing key after generation');
    const next = new Map<string, LoadedKey>();
    for (const r of records) {
      const known = keys.get(r.kid);
      next.set(r.kid, known ? { ...known, record: r } : await loadPublic(r));
    }
    if (active?.kid !== newest.kid) {
      const privateKey = await loadPrivate(newest);
      active = { kid: newest.kid, createdAt: newest.createdAt, privateKey };
    }
    keys = next;
    lastReload = clock.now();
  };

  const rotate = async (): Promise<KeyRotation | undefined> => {
    const expected = active!.kid;
    const next = await generateKeyRecord(clock.now());
    const result = await store.rotateSigningKey(expected, next, clock.now());
    await reload();
    return result.ok ? { kid: next.kid, retired: result.retired } : undefined;
  };

  await reload();

  return {
    get kid() {
      return active!.kid;
    },
    jwks: () => {
      const now = clock.now();
      // Copies, so no caller can mutate the published set.
      const list = [...keys.values()].filter((k) => published(k, now));
      return { keys: list.map((k) => ({ ...k.jwk })) };
    },
    verificationKeys: async (header) => {
      const find = () => {
        const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
        return key && published(key, clock.now()) ? key : undefined;
      };
      let key = find();
      // Another instance may have rotated: look in the store, but not for every bogus kid.
      if (!key && clock.now() - lastReload >= RELOAD_ON_MISS_MS) {
        await reload();
        key = find();
      }
      if (!key) throw new joseErrors.JWKSNoMatchingKey();
      return key.verify;
    },
    sign: (payload, typ) => {
      const { kid, privateKey } = active!;
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ, kid }).sign(privateKey);
    },
    refresh: async () => {
      await reload();
      return clock.now() - active!.createdAt >= rotationMs ? rotate() : undefined;
    },
    rotate,
  };
}
