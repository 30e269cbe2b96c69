/**
 * The demo bank's strong factor: passkeys (WebAuthn Level 3, verified with
 * `@simplewebauthn/server`). A user registers one at enrolment (or at any later login while
 * they have none); when the verifier's policy says step-up, a sensitive action asks for an
 * assertion instead of going through, and only a verified assertion lets it proceed — the bank's
 * backend then reports the confirmation to the verifier (`TacitClient.confirmSession`).
 *
 * Policy stated explicitly: the relying party's origin and RP ID come from configuration (never
 * from a request's `Host`, which would let a proxy on another origin relay a ceremony), user
 * verification is required (a passkey proves possession *and* the holder's PIN or biometric:
 * someone at the holder's unlocked keyboard does not pass), attestation `none`. A challenge is
 * random (32 bytes), bound to one login and one purpose (registration, or one transfer's
 * payee and amount), used once and valid for {@link CHALLENGE_TTL_MS}. Counters that go
 * backwards are refused by the library (a cloned authenticator).
 *
 * The WebAuthn user handle is the bank's pseudonymous subject, not the username.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import type { BankLogin, BankStore } from './store';

/** How long a ceremony may take, from its options to the bank receiving its answer (ms). */
export const CHALLENGE_TTL_MS = 2 * 60 * 1000;

/** The bank as a WebAuthn relying party. */
export interface WebAuthnRelyingParty {
  /** The exact origin of the bank's pages, e.g. `https://bank.example`. */
  origin: string;
  /** The RP ID: the origin's host name. */
  rpID: string;
  /** Shown by authenticators. */
  rpName: string;
}

/**
 * The relying party of a bank served at `origin`.
 *
 * @throws {TypeError} when `origin` is not an http(s) origin with a domain name (WebAuthn RP IDs
 *   cannot be IP addresses: serve the demo at `localhost`, not `127.0.0.1`).
 */
export function webauthnRelyingParty(origin: string, rpName = 'Demo Bank'): WebAuthnRelyingParty {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new TypeError('WebAuthn origin must be an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('WebAuthn origin must be http(s)');
  }
  if (url.origin !== origin) throw new TypeError('WebAuthn origin must be an origin (no path)');
  const host = url.hostname;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[')) {
    throw new TypeError('WebAuthn origin must name a domain, not an IP address');
  }
  return { origin, rpID: host, rpName };
}

/** What a purpose string says the assertion confirms: one transfer, by payee and amount. */
export function transferPurpose(transfer: { payee: string; amount: number }): string {
  const digest = createHash('sha256')
    .update(`${transfer.payee}\n${transfer.amount.toFixed(2)}`)
    .digest('base64url');
  return `transfer:${digest}`;
}

const b64u = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/)
  .max(4096);
const base = {
  id: b64u,
  rawId: b64u,
  type: z.literal('public-key'),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()),
};
/** A `PublicKeyCredential.toJSON()` of `navigator.credentials.create()`, as the page posts it. */
const registrationSchema = z.object({
  ...base,
  response: z.object({
    clientDataJSON: b64u,
    attestationObject: b64u,
    authenticatorData: b64u.optional(),
    transports: z.array(z.string().max(32)).max(8).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64u.optional(),
  }),
});
/** A `PublicKeyCredential.toJSON()` of `navigator.credentials.get()`. */
const assertionSchema = z.object({
  ...base,
  response: z.object({
    clientDataJSON: b64u,
    authenticatorData: b64u,
    signature: b64u,
    userHandle: b64u.optional(),
  }),
});

/** What {@link Passkeys} needs. */
export interface PasskeyDeps {
  store: BankStore;
  rp: WebAuthnRelyingParty;
  /** ms since the epoch. */
  now: () => number;
}

/** Registration and assertion of the demo bank's passkeys. See the module comment. */
export class Passkeys {
  readonly #store: BankStore;
  readonly #rp: WebAuthnRelyingParty;
  readonly #now: () => number;

  constructor(deps: PasskeyDeps) {
    this.#store = deps.store;
    this.#rp = deps.rp;
    this.#now = deps.now;
  }

  /** Whether the login's user has a passkey to step up with. */
  has(login: BankLogin): boolean {
    return this.#store.passkeysOf(login.subject).length > 0;
  }

  /** Options for `navigator.credentials.create()`; the login's challenge in flight is replaced. */
  async registrationOptions(login: BankLogin): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: this.#rp.rpName,
      rpID: this.#rp.rpID,
      userName: login.username,
      userID: new TextEncoder().encode(login.subject),
      attestationType: 'none',
      excludeCredentials: this.#store
        .passkeysOf(login.subject)
        .map((p) => ({ id: p.id, transports: p.transports })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      // ES256 and RS256: what platform authenticators and security keys sign with.
      supportedAlgorithmIDs: [-7, -257],
      timeout: CHALLENGE_TTL_MS,
    });
    this.#remember(login, options.challenge, 'register');
    return options;
  }

  /**
   * Verifies a registration answer against the login's challenge (used up either way) and
   * stores the passkey for the login's subject.
   *
   * @returns false when it does not verify (malformed, wrong challenge, origin or RP ID, no user
   *   verification, expired, already registered).
   */
  async register(login: BankLogin, answer: unknown): Promise<boolean> {
    const expected = this.#take(login, 'register');
    const parsed = registrationSchema.safeParse(answer);
    if (!expected || !parsed.success) return false;
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: parsed.data as RegistrationResponseJSON,
        expectedChallenge: expected,
        expectedOrigin: this.#rp.origin,
        expectedRPID: this.#rp.rpID,
        requireUserVerification: true,
        supportedAlgorithmIDs: [-7, -257],
      });
    } catch {
      return false;
    }
    if (!verified.verified) return false;
    const { credential } = verified.registrationInfo;
    return this.#store.addPasskey({
      id: credential.id,
      subject: login.subject,
      publicKey: credential.publicKey,
      counter: credential.counter,
      transports: credential.transports ?? [],
      createdAt: this.#now(),
    });
  }

  /**
   * Options for `navigator.credentials.get()` confirming `purpose` with one of the user's
   * passkeys; the login's challenge in flight is replaced.
   */
  async assertionOptions(
    login: BankLogin,
    purpose: string,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.#rp.rpID,
      allowCredentials: this.#store
        .passkeysOf(login.subject)
        .map((p) => ({ id: p.id, transports: p.transports })),
      userVerification: 'required',
      timeout: CHALLENGE_TTL_MS,
    });
    this.#remember(login, options.challenge, purpose);
    return options;
  }

  /**
   * Verifies an assertion against the login's challenge for `purpose` (used up either way)
   * and one of the user's own passkeys, and records its counter.
   *
   * @returns false when it does not verify.
   */
  async verifyAssertion(login: BankLogin, answer: unknown, purpose: string): Promise<boolean> {
    const expected = this.#take(login, purpose);
    const parsed = assertionSchema.safeParse(answer);
    if (!expected || !parsed.success) return false;
    // Only a passkey of this user: another user's credential never confirms this login.
    const passkey = this.#store.passkeysOf(login.subject).find((p) => p.id === parsed.data.id);
    if (!passkey) return false;
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response: parsed.data as AuthenticationResponseJSON,
        expectedChallenge: expected,
        expectedOrigin: this.#rp.origin,
        expectedRPID: this.#rp.rpID,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: passkey.counter,
          transports: passkey.transports,
        },
        requireUserVerification: true,
      });
    } catch {
      return false;
    }
    if (!verified.verified) return false;
    this.#store.setPasskeyCounter(passkey.id, verified.authenticationInfo.newCounter);
    return true;
  }

  #remember(login: BankLogin, challenge: string, purpose: string): void {
    this.#store.setChallenge(login.idHash, {
      challenge,
      purpose,
      expiresAt: this.#now() + CHALLENGE_TTL_MS,
    });
  }

  /** The login's challenge if it is for `purpose` and unexpired (it is removed regardless). */
  #take(login: BankLogin, purpose: string): string | undefined {
    const pending = this.#store.takeChallenge(login.idHash);
    if (!pending || pending.purpose !== purpose || pending.expiresAt <= this.#now()) {
      return undefined;
    }
    return pending.challenge;
  }
}
