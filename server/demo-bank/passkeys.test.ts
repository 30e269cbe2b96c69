/**
 * The demo bank's passkeys against a real software authenticator (testing.ts): what registers
 * and asserts, and every way a ceremony is refused.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHALLENGE_TTL_MS, Passkeys, transferPurpose, webauthnRelyingParty } from './passkeys';
import { openBankStore, type BankLogin, type BankStore } from './store';
import { ORIGIN, SoftAuthenticator, b64u } from './testing';

let store: BankStore;
let now: number;
let passkeys: Passkeys;
const login = (subject = 'subject-alice', idHash = 'login-1'): BankLogin => {
  const l: BankLogin = {
    idHash,
    username: 'alice',
    subject,
    tacitSid: 'sid',
    challenge: 'chal',
    createdAt: now,
    expiresAt: now + 3_600_000,
    pendingCode: null,
    pendingCodeIssuedAt: null,
    pendingCodeExpiresAt: null,
  };
  store.createLogin(l);
  return l;
};

beforeEach(() => {
  store = openBankStore(':memory:');
  now = 1_750_000_000_000;
  passkeys = new Passkeys({ store, rp: webauthnRelyingParty(ORIGIN), now: () => now });
});
afterEach(() => store.close());

async function registered(l = login()) {
  const authenticator = new SoftAuthenticator();
  const options = await passkeys.registrationOptions(l);
  expect(await passkeys.register(l, authenticator.create(options))).toBe(true);
  return { l, authenticator };
}

const TRANSFER = transferPurpose({ payee: 'Bob', amount: 12.5 });

describe('passkey registration', () => {
  it('registers a verified credential for the login’s subject (user handle: the subject)', async () => {
    const l = login();
    expect(passkeys.has(l)).toBe(false);
    const options = await passkeys.registrationOptions(l);
    expect(options.rp).toEqual({ name: 'Demo Bank', id: 'localhost' });
    expect(options.user.name).toBe('alice');
    expect(Buffer.from(options.user.id, 'base64url').toString()).toBe('subject-alice');
    expect(options.authenticatorSelection?.userVerification).toBe('required');
    const authenticator = new SoftAuthenticator();
    expect(await passkeys.register(l, authenticator.create(options))).toBe(true);
    expect(passkeys.has(l)).toBe(true);
    expect(store.passkeysOf('subject-alice')).toMatchObject([
      { id: b64u(authenticator.credentialId), counter: 0, transports: ['internal'] },
    ]);
    // The next registration excludes it.
    const again = await passkeys.registrationOptions(l);
    expect(again.excludeCredentials?.map((c) => c.id)).toEqual([b64u(authenticator.credentialId)]);
  });

  it('refuses another origin, no user verification, a reused or expired challenge, junk', async () => {
    const l = login();
    const a = new SoftAuthenticator();
    let options = await passkeys.registrationOptions(l);
    expect(await passkeys.register(l, a.create(options, 'https://phish.example'))).toBe(false);
    // The challenge was used up by the refusal.
    expect(await passkeys.register(l, a.create(options))).toBe(false);
    a.userVerified = false;
    options = await passkeys.registrationOptions(l);
    expect(await passkeys.register(l, a.create(options))).toBe(false);
    a.userVerified = true;
    options = await passkeys.registrationOptions(l);
    now += CHALLENGE_TTL_MS;
    expect(await passkeys.register(l, a.create(options))).toBe(false);
    for (const junk of [null, 'x', {}, { id: 'a', response: {} }]) {
      await passkeys.registrationOptions(l);
      expect(await passkeys.register(l, junk)).toBe(false);
    }
    expect(passkeys.has(l)).toBe(false);
  });
});

describe('passkey assertion (step-up)', () => {
  it('verifies an assertion for the purpose it was asked for, and records the counter', async () => {
    const { l, authenticator } = await registered();
    const options = await passkeys.assertionOptions(l, TRANSFER);
    expect(options.rpId).toBe('localhost');
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([b64u(authenticator.credentialId)]);
    expect(await passkeys.verifyAssertion(l, authenticator.get(options), TRANSFER)).toBe(true);
    expect(store.passkeysOf(l.subject)[0]!.counter).toBe(1);
  });

  it('refuses: another transfer, a replay, a counter gone back, no UV, another origin, another user', async () => {
    const { l, authenticator } = await registered();
    // Confirms one transfer, not another one.
    let options = await passkeys.assertionOptions(l, TRANSFER);
    const other = transferPurpose({ payee: 'Mallory', amount: 12.5 });
    expect(await passkeys.verifyAssertion(l, authenticator.get(options), other)).toBe(false);
    // A verified answer cannot be replayed: the challenge is used once.
    options = await passkeys.assertionOptions(l, TRANSFER);
    const answer = authenticator.get(options);
    expect(await passkeys.verifyAssertion(l, answer, TRANSFER)).toBe(true);
    expect(await passkeys.verifyAssertion(l, answer, TRANSFER)).toBe(false);
    // A cloned authenticator (counter not moving forward).
    options = await passkeys.assertionOptions(l, TRANSFER);
    authenticator.counter -= 2;
    expect(await passkeys.verifyAssertion(l, authenticator.get(options), TRANSFER)).toBe(false);
    authenticator.counter += 5;
    // Someone at the unlocked keyboard without the holder's PIN or biometric.
    authenticator.userVerified = false;
    options = await passkeys.assertionOptions(l, TRANSFER);
    expect(await passkeys.verifyAssertion(l, authenticator.get(options), TRANSFER)).toBe(false);
    authenticator.userVerified = true;
    options = await passkeys.assertionOptions(l, TRANSFER);
    const phished = authenticator.get(options, 'https://phish.example');
    expect(await passkeys.verifyAssertion(l, phished, TRANSFER)).toBe(false);
    // Another user's passkey never confirms this login.
    const { authenticator: mallory } = await registered(login('subject-mallory', 'login-2'));
    options = await passkeys.assertionOptions(l, TRANSFER);
    expect(await passkeys.verifyAssertion(l, mallory.get(options), TRANSFER)).toBe(false);
    // Expired.
    options = await passkeys.assertionOptions(l, TRANSFER);
    now += CHALLENGE_TTL_MS;
    expect(await passkeys.verifyAssertion(l, authenticator.get(options), TRANSFER)).toBe(false);
  });
});

describe('webauthnRelyingParty', () => {
  it('takes a domain origin and refuses IP addresses, paths and other schemes', () => {
    expect(webauthnRelyingParty('https://bank.example')).toEqual({
      origin: 'https://bank.example',
      rpID: 'bank.example',
      rpName: 'Demo Bank',
    });
    for (const bad of [
      'http://127.0.0.1:8788',
      'http://[::1]:8788',
      'https://bank.example/bank',
      'ftp://bank.example',
      'bank.example',
    ]) {
      expect(() => webauthnRelyingParty(bad), bad).toThrow(TypeError);
    }
  });
});
