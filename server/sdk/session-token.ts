/**
 * Offline verification policy of session tokens (docs/protocol.md §5), every rule stated:
 *
 * 1. at most 8 KiB, a compact JWS;
 * 2. protected header, before any key is looked up: `alg` exactly `ES256`, `typ` exactly
 *    `tacit-session+jwt`, a string `kid`;
 * 3. the key: the server's JWKS (fetched, cached, refreshed on an unknown `kid` at most once
 *    per cooldown), by `kid`;
 * 4. jose `jwtVerify` with `algorithms: ['ES256']`, `typ`, `issuer`, `audience`,
 *    `requiredClaims`, `maxTokenAge` (the server's 5 min token lifetime), `clockTolerance` and
 *    the injected clock;
 * 5. the claims' types (`sub`, `sid`, `jti`, `cnf.jkt`, `tacit.assurance|level|state`).
 *
 * What a signature cannot tell (the session ended, was terminated by a decision, or the
 * device was revoked after the token was issued) only introspection can.
 *
 * @module
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import {
  ServerResponse,
  ServerUnavailable,
  TacitSdkError,
  TokenAlgorithm,
  TokenClaims,
  TokenExpired,
  TokenKeyUnknown,
  TokenMalformed,
  TokenSignature,
  TokenType,
} from './errors';
import type { AssuranceLevel, SessionTokenClaims, TokenAssessment } from './types';

/** `typ` of the server's session tokens. */
export const SESSION_TOKEN_TYP = 'tacit-session+jwt';

/** The only signature algorithm the server uses. */
export const SESSION_TOKEN_ALG = 'ES256';

/** The server's session token lifetime (s): `iat` older than this (plus tolerance) is refused. */
export const SESSION_TOKEN_MAX_AGE_S = 5 * 60;

/** Longest token accepted (characters), as on the server. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** JWKS cache: the server sends `Cache-Control: max-age=300`. */
export const JWKS_CACHE_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * At most one JWKS refetch per this long, however many unknown `kid`s arrive. Short, because a
 * rotated-in key signs at once (docs/server.md "Signing keys"): a token of the new key is
 * refused for at most this long after the previous fetch. The server reloads its own keys on an
 * unknown `kid` at most every 5 s too.
 */
export const JWKS_COOLDOWN_MS = 5 * 1000;

/** Everything the verifier needs (resolved and validated by the client). */
export interface VerifierConfig {
  /** Absolute URL of `/.well-known/jwks.json`. */
  jwksUrl: URL;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  timeoutMs: number;
  /** Milliseconds since the epoch. */
  now: () => number;
  fetch: typeof fetch;
}

/** Verifies one token; rejects with a {@link TacitSdkError} (a `TypeError` for a non-string). */
export type SessionTokenVerifier = (token: string) => Promise<SessionTokenClaims>;

const LEVELS: ReadonlySet<string> = new Set<AssuranceLevel>([
  'none',
  'enrolling',
  'high',
  'medium',
  'low',
]);

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A fetch for jose that turns every failure into a {@link ServerUnavailable} (jose rethrows
 * what its fetch throws), so a network problem is never mistaken for a bad token.
 */
export function jwksFetch(fetchImpl: typeof fetch): typeof fetch {
  return async (input, init) => {
    let res: Response;
    try {
      res = await fetchImpl(input, init);
    } catch (err) {
      const timeout = err instanceof Error && err.name === 'TimeoutError';
      throw new ServerUnavailable({ cause: timeout ? 'jwks: timeout' : 'jwks: fetch failed' });
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new ServerUnavailable({ cause: `jwks: HTTP ${res.status}` });
    }
    return res;
  };
}

/** Maps what jose throws to an SDK error (fixed text only). */
export function fromJose(err: unknown): TacitSdkError {
  if (err instanceof TacitSdkError) return err;
  if (!(err instanceof joseErrors.JOSEError)) throw err;
  const cause = err.code;
  switch (err.code) {
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return new TokenMalformed({ cause });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new TokenAlgorithm({ cause });
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new TokenKeyUnknown({ cause });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new TokenSignature({ cause });
    case 'ERR_JWT_EXPIRED':
      return new TokenExpired({ cause: `${cause} ${(err as joseErrors.JWTExpired).claim}` });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim } = err as joseErrors.JWTClaimValidationFailed;
      return claim === 'typ'
        ? new TokenType({ cause })
        : new TokenClaims({ cause: `${cause} ${claim}` });
    }
    case 'ERR_JWKS_TIMEOUT':
      return new ServerUnavailable({ cause });
    default:
      // ERR_JWKS_INVALID, ERR_JOSE_GENERIC (JWKS body not JSON): the server's answer.
      return new ServerResponse({ cause });
  }
}

/** The protected header rules, checked before any key is looked up. */
function checkHeader(token: string): void {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) {
    throw new TokenMalformed({ cause: 'not a compact JWS' });
  }
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw new TokenMalformed({ cause: 'protected header' });
  }
  if (header.alg !== SESSION_TOKEN_ALG) throw new TokenAlgorithm({ cause: 'alg' });
  if (header.typ !== SESSION_TOKEN_TYP) throw new TokenType({ cause: 'typ' });
  if (!isString(header.kid)) throw new TokenKeyUnknown({ cause: 'no kid' });
}

function assessment(v: unknown): TokenAssessment | undefined {
  if (!isObject(v)) return undefined;
  const { assurance, level, state } = v;
  const assuranceOk =
    assurance === null ||
    (typeof assurance === 'number' &&
      Number.isFinite(assurance) &&
      assurance >= 0 &&
      assurance <= 1);
  if (!assuranceOk || typeof level !== 'string' || !LEVELS.has(level)) return undefined;
  if (state !== null && state !== 'enrolling' && state !== 'scoring') return undefined;
  return { assurance, level: level as AssuranceLevel, state };
}

/** The claims' types, after jose checked the signature, times, `iss` and `aud`. */
function claimsOf(payload: JWTPayload): SessionTokenClaims {
  const { iss, aud, sub, sid, iat, exp, jti, cnf, tacit } = payload as Record<string, unknown>;
  const tacitClaim = assessment(tacit);
  if (
    !isString(iss) ||
    !isString(aud) ||
    !isString(sub) ||
    !isString(sid) ||
    !isString(jti) ||
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    !isObject(cnf) ||
    !isString(cnf.jkt) ||
    tacitClaim === undefined
  ) {
    throw new TokenClaims({ cause: 'claim types' });
  }
  return { iss, aud, sub, sid, iat, exp, jti, cnf: { jkt: cnf.jkt }, tacit: tacitClaim };
}

/**
 * Builds the verifier: one remote JWKS per client (cached {@link JWKS_CACHE_MAX_AGE_MS},
 * refetched on an unknown `kid` at most once per {@link JWKS_COOLDOWN_MS}).
 */
export function createSessionTokenVerifier(config: VerifierConfig): SessionTokenVerifier {
  const keys: JWTVerifyGetKey = createRemoteJWKSet(config.jwksUrl, {
    cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    cooldownDuration: JWKS_COOLDOWN_MS,
    timeoutDuration: config.timeoutMs,
    [customFetch]: jwksFetch(config.fetch),
  });
  return async (token) => {
    if (typeof token !== 'string') throw new TypeError('token must be a string');
    checkHeader(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [SESSION_TOKEN_ALG],
        typ: SESSION_TOKEN_TYP,
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti', 'cnf', 'tacit'],
        maxTokenAge: SESSION_TOKEN_MAX_AGE_S,
        clockTolerance: config.clockToleranceSeconds,
        currentDate: new Date(config.now()),
      }));
    } catch (err) {
      throw fromJose(err);
    }
    return claimsOf(payload);
  };
}
