/**
 * Verification policy for DPoP proofs (RFC 9449) on the device endpoints `/v1/device/*`: calls a
 * device makes that are not themselves signed statements (reading its session, listing or
 * revoking its enrollments, rotating its key). The proof is the authentication.
 *
 * A proof is a JWT in the `DPoP` request header with protected header `typ: dpop+jwt`,
 * `alg: ES256` and `jwk` (the device's public key, never private members), and claims `jti`,
 * `htm` (the request method), `htu` (the request URI without query and fragment) and `iat`.
 *
 * Checking order (RFC 9449 §4.3): exactly one compact JWS; `typ`; `alg`; the embedded key
 * (public EC P-256); the signature with that key; the claims; `htm`; `htu`; `iat` within the
 * freshness window. Only then is the key's thumbprint looked up as an enrolled device and the
 * `jti` spent (the caller's job: both need the store). Because the signature is checked with the
 * embedded key first, whether a key is enrolled is only ever told to the key's holder.
 *
 * Everything here is a {@link DpopError} (401 with `WWW-Authenticate: DPoP
 * error="invalid_dpop_proof"`): the client learns that its proof was refused and, from the code,
 * whether to fix its clock (`ERR_DPOP_STALE`) or make a new proof (`ERR_DPOP_REPLAY`).
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
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { z } from 'zod';
import { DpopInvalid, DpopStale } from '../../../errors';
import { POLICY } from '../../../domain/policy';
import type { PublicJwk } from '../../../store/store';

/** `typ` of a DPoP proof (RFC 9449 §4.2). */
export const DPOP_TYP = 'dpop+jwt';

/** The only algorithm accepted in a proof (device keys are P-256). */
export const DPOP_ALG = 'ES256';

/** `WWW-Authenticate` of every refused proof (RFC 9449 §7.1, §12.2). */
export const DPOP_CHALLENGE = `DPoP error="invalid_dpop_proof", algs="${DPOP_ALG}"`;

/** JWK members only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const proofClaims = z.object({
  jti: z.string().min(1).max(128),
  htm: z.string().min(1).max(16),
  htu: z.string().min(1).max(2048),
  iat: z.number().finite(),
});

/** Claims of a verified proof. */
export type DpopClaims = z.infer<typeof proofClaims>;

/** A proof whose signature, claims, method, URI and time checked out. */
export interface VerifiedDpop {
  /** RFC 7638 thumbprint of the proof's key: the device id it claims. */
  jkt: string;
  jwk: PublicJwk;
  claims: DpopClaims;
}

/** What the proof must match: the request as the server received it. */
export interface DpopRequest {
  /** HTTP method, as sent (`GET`, `POST`). */
  method: string;
  /** Accepted `htu` values, already normalized with {@link normalizeHtu}. */
  htus: readonly string[];
}

/**
 * `htu` normalized for comparison (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2–6.2.3 as the WHATWG
 * URL parser applies them): scheme and host lower-cased, default port dropped, dot segments
 * resolved, query and fragment removed. Undefined for anything that is not an absolute
 * http(s) URL, or that holds a control character or a space (found by the forgery suite,
 * docs/proof.md: the parser would strip them, and the compared URI would not be the signed one).
 */
export function normalizeHtu(htu: string): string | undefined {
  // The WHATWG parser silently drops leading and trailing C0 controls and spaces, and tabs and
  // newlines anywhere: a URI it has to repair is not one the request was sent to.
  if (/[\u0000-\u0020\u007f]/.test(htu)) return undefined;
  let url: URL;
  try {
    url = new URL(htu);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return `${url.protocol}//${url.host}${url.pathname}`;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The `htu` values accepted for `path` on a server whose public base URL is `issuer`
 * (`TACIT_ISSUER`, or the listening URL): `issuer + path`. A loopback issuer also accepts the
 * other loopback names with the same scheme and port (the extension's default server URL is
 * `http://localhost:8787` while the default issuer is `http://127.0.0.1:8787`). The request's
 * own `Host` header is never trusted for this.
 */
export function expectedHtus(issuer: string, path: string): string[] {
  const base = new URL(issuer);
  const prefix = base.pathname.replace(/\/+$/, '');
  const hosts = LOOPBACK.has(base.hostname) ? [...LOOPBACK] : [base.hostname];
  const port = base.port === '' ? '' : `:${base.port}`;
  const out = hosts
    .map((host) => normalizeHtu(`${base.protocol}//${host}${port}${prefix}${path}`))
    .filter((u): u is string => u !== undefined);
  return [...new Set(out)];
}

function header(proof: string): ProtectedHeaderParameters {
  // A repeated DPoP header arrives joined with ", ": a compact JWS never contains a comma.
  if (proof.length > POLICY.maxJwsLength || !/^[\w-]+\.[\w-]+\.[\w-]*$/.test(proof)) {
    throw new DpopInvalid({ cause: 'not one compact JWS' });
  }
  try {
    return decodeProtectedHeader(proof);
  } catch (cause) {
    throw new DpopInvalid({ cause });
  }
}

function publicKey(jwk: unknown): PublicJwk {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new DpopInvalid({ cause: 'no jwk header' });
  }
  const members = jwk as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => m in members)) {
    throw new DpopInvalid({ cause: 'private jwk members' });
  }
  const { kty, crv, x, y } = members;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') {
    throw new DpopInvalid({ cause: 'jwk not P-256' });
  }
  return { kty: 'EC', crv: 'P-256', x, y };
}

/**
 * Verifies a DPoP proof against the request it came with, at `now` (ms).
 *
 * @throws {DpopInvalid} for anything wrong with the proof but its time.
 * @throws {DpopStale} when `iat` is more than the freshness window away from `now`.
 */
export async function verifyDpopProof(
  proof: string | undefined,
  request: DpopRequest,
  now: number,
): Promise<VerifiedDpop> {
  if (proof === undefined || proof === '') throw new DpopInvalid({ cause: 'no DPoP header' });
  const protectedHeader = header(proof);
  if (protectedHeader.typ !== DPOP_TYP) throw new DpopInvalid({ cause: 'typ is not dpop+jwt' });
  if (protectedHeader.alg !== DPOP_ALG) throw new DpopInvalid({ cause: 'alg is not ES256' });
  const jwk = publicKey(protectedHeader.jwk);
  try {
    // Attacker-chosen key: an invalid point must be a 401, not a WebCrypto 500.
    await importJWK({ ...jwk }, DPOP_ALG);
  } catch (cause) {
    throw new DpopInvalid({ cause });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [DPOP_ALG],
      typ: DPOP_TYP,
      currentDate: new Date(now),
      // Only applies to exp/nbf should a client send them; iat is checked below.
      clockTolerance: POLICY.freshnessWindowS,
    }));
  } catch (err) {
    if (!(err instanceof errors.JOSEError)) throw err;
    throw new DpopInvalid({ cause: err });
  }
  const parsed = proofClaims.safeParse(payload);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(',');
    throw new DpopInvalid({ cause: `invalid claims: ${paths}` });
  }
  const claims = parsed.data;
  // Methods are case-sensitive (RFC 9110 §9.1).
  if (claims.htm !== request.method) throw new DpopInvalid({ cause: 'htm differs' });
  const htu = normalizeHtu(claims.htu);
  if (htu === undefined || !request.htus.includes(htu)) {
    throw new DpopInvalid({ cause: 'htu differs' });
  }
  if (Math.abs(now / 1000 - claims.iat) > POLICY.freshnessWindowS) {
    throw new DpopStale({ cause: 'iat outside window' });
  }
  return { jkt: await calculateJwkThumbprint(jwk, 'sha256'), jwk, claims };
}
