/**
 * Verification of the verifier's Security Event Tokens (RFC 8417), as a receiver of its
 * Shared Signals stream must do before acting on one (docs/protocol.md §6):
 *
 * 1. at most 8 KiB, a compact JWS;
 * 2. protected header, before any key is looked up: `alg` exactly `ES256`, `typ` exactly
 *    `secevent+jwt`, a string `kid`;
 * 3. the key from the verifier's JWKS by `kid` (the same cache rules as session tokens);
 * 4. jose `jwtVerify` with `algorithms`, `typ`, `issuer`, `audience` (the relying party's id)
 *    and `iat`, `jti`, `events` required; no maximum age (a paused stream or a retried push
 *    delivers late: order by `iat`, deduplicate by `jti`);
 * 5. no `sub` and no `exp` (SSF 1.0 carries the subject in `sub_id`; a SET does not expire),
 *    exactly one event whose value is an object, `sub_id` an object with a `format`.
 *
 * Replay: the receiver keeps the `jti`s it accepted (a retried push may bring one again).
 *
 * @module
 */
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { TokenAlgorithm, TokenClaims, TokenKeyUnknown, TokenMalformed, TokenType } from './errors';
import {
  JWKS_CACHE_MAX_AGE_MS,
  JWKS_COOLDOWN_MS,
  MAX_TOKEN_LENGTH,
  fromJose,
  jwksFetch,
  type VerifierConfig,
} from './session-token';
import type { SecurityEvent } from './types';

/** `typ` of Security Event Tokens (RFC 8417 §2.3). */
export const SECURITY_EVENT_TYP = 'secevent+jwt';

/** Verifies one SET; rejects with a `TacitSdkError` (`ERR_TOKEN_*`, `ERR_SERVER_*`). */
export type SecurityEventVerifier = (set: string) => Promise<SecurityEvent>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkHeader(set: string): void {
  if (set.length === 0 || set.length > MAX_TOKEN_LENGTH || set.split('.').length !== 3) {
    throw new TokenMalformed({ cause: 'not a compact JWS' });
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(set) as Record<string, unknown>;
  } catch {
    throw new TokenMalformed({ cause: 'protected header' });
  }
  if (header.alg !== 'ES256') throw new TokenAlgorithm({ cause: 'alg' });
  if (header.typ !== SECURITY_EVENT_TYP) throw new TokenType({ cause: 'typ' });
  if (typeof header.kid !== 'string' || header.kid === '') {
    throw new TokenKeyUnknown({ cause: 'no kid' });
  }
}

function eventOf(payload: JWTPayload): SecurityEvent {
  const p = payload as Record<string, unknown>;
  if ('sub' in p || 'exp' in p) throw new TokenClaims({ cause: 'sub or exp in a SET' });
  const events = p.events;
  if (!isObject(events)) throw new TokenClaims({ cause: 'events' });
  const entries = Object.entries(events);
  if (entries.length !== 1 || !isObject(entries[0]![1])) {
    throw new TokenClaims({ cause: 'events: exactly one object' });
  }
  const [type, event] = entries[0]! as [string, Record<string, unknown>];
  if (!isObject(p.sub_id) || typeof p.sub_id.format !== 'string') {
    throw new TokenClaims({ cause: 'sub_id' });
  }
  if (typeof p.jti !== 'string' || typeof p.iat !== 'number' || typeof p.iss !== 'string') {
    throw new TokenClaims({ cause: 'claim types' });
  }
  return {
    jti: p.jti,
    iat: p.iat,
    iss: p.iss,
    aud: p.aud as string,
    ...(typeof p.txn === 'string' ? { txn: p.txn } : {}),
    subId: p.sub_id,
    type,
    event,
  };
}

/** Builds a verifier with its own JWKS cache. */
export function createSecurityEventVerifier(config: VerifierConfig): SecurityEventVerifier {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(config.jwksUrl, {
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    timeoutDuration: config.timeoutMs,
    [customFetch]: jwksFetch(config.fetch),
  });
  return async (set) => {
    if (typeof set !== 'string') throw new TypeError('set must be a string');
    checkHeader(set);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(set, keys, {
        algorithms: ['ES256'],
        typ: SECURITY_EVENT_TYP,
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events'],
        clockTolerance: config.clockToleranceSeconds,
        currentDate: new Date(config.now()),
      }));
    } catch (err) {
      throw fromJose(err);
    }
    return eventOf(payload);
  };
}
