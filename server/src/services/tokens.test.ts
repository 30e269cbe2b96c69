import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerKeys } from '../crypto/keys';
import { parsePolicy } from '../domain/decision';
import { POLICY } from '../domain/policy';
import { T0, createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, attested, boundSession, enrolledDevice } from '../testing/services';
import { SESSION_TOKEN_TYP, TokenService, type TokenDeps } from './tokens';

let h: Harness;
let tokens: TokenService;
beforeEach(async () => {
  h = await createHarness();
  tokens = await tokenService();
});
afterEach(async () => {
  await h.close();
});

/** A token service over the harness's store and clock (its own copy of the signing keys). */
async function tokenService(deps: Partial<TokenDeps> = {}): Promise<TokenService> {
  const keys = await loadServerKeys(h.store, h.clock);
  return new TokenService({ store: h.store, keys, clock: h.clock, issuer: h.issuer, ...deps });
}

const S = 1000;

describe('TokenService.issueSessionToken', () => {
  it('signs a session JWT for the relying party that opened the bound session', async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const { token, expiresAt } = await tokens.issueSessionToken(RP_A, s.sid);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: SESSION_TOKEN_TYP });
    const iat = T0 / S;
    expect(decodeJwt(token)).toEqual({
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid: s.sid,
      iat,
      exp: iat + POLICY.sessionTokenTtlS,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      cnf: { jkt: s.device.jkt },
      tacit: { assurance: 0.9, level: 'high', state: 'scoring' },
    });
    expect(expiresAt).toBe(new Date((iat + POLICY.sessionTokenTtlS) * S).toISOString());
  });

  it('expires with the session when that comes first', async () => {
    const s = await boundSession(h);
    h.clock.advance(POLICY.sessionTtlMs - 60 * S);
    const { token, expiresAt } = await tokens.issueSessionToken(RP_A, s.sid);
    expect(decodeJwt(token).exp).toBe((T0 + POLICY.sessionTtlMs) / S);
    expect(expiresAt).toBe(new Date(T0 + POLICY.sessionTtlMs).toISOString());
  });

  it("refuses another's session, an unbound one, a revoked device, a session over", async () => {
    const s = await boundSession(h);
    await expect(tokens.issueSessionToken(RP_B, s.sid)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_SESSION',
    });
    const open = await h.services.sessions.openSession(RP_A, 'alice');
    await expect(tokens.issueSessionToken(RP_A, open.sessionId)).rejects.toMatchObject({
      code: 'ERR_SESSION_NOT_BOUND',
    });
    await h.services.devices.revokeDevice(RP_A, 'alice', s.device.jkt);
    await expect(tokens.issueSessionToken(RP_A, s.sid)).rejects.toMatchObject({
      code: 'ERR_DEVICE_REVOKED',
    });
    await h.services.sessions.endSession(RP_A, s.sid);
    await expect(tokens.issueSessionToken(RP_A, s.sid)).rejects.toMatchObject({
      code: 'ERR_SESSION_EXPIRED',
    });
  });
});

describe('TokenService.introspect', () => {
  it("an active token: its claims and the session's current assurance and action", async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const { token } = await tokens.issueSessionToken(RP_A, s.sid);
    const claims = decodeJwt(token);
    const records = (await h.audit.verify()).records;
    expect(await tokens.introspect(RP_A, token)).toEqual({
      active: true,
      iss: h.issuer,
      aud: 'bank-a',
      sub: 'alice',
      sid: s.sid,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      token_type: 'tacit-session',
      cnf: { jkt: s.device.jkt },
      tacit_assurance: 0.9,
      tacit_level: 'high',
      tacit_state: 'scoring',
      tacit_last_attestation_at: T0 / S,
      tacit_attestations: 1,
      tacit_action: 'allow',
      tacit_progress: null,
      tacit_signals: null,
      tacit_confirmed_at: null,
    });
    // Introspection is not recorded.
    expect((await h.audit.verify()).records).toBe(records);
  });

  it("tacit_action follows the caller's thresholds", async () => {
    const strict = await tokenService({
      policy: parsePolicy({ relyingParties: { 'bank-a': { stepUpBelow: 0.95 } } }),
    });
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    const { token } = await strict.issueSessionToken(RP_A, s.sid);
    expect(await strict.introspect(RP_A, token)).toMatchObject({ tacit_action: 'step-up' });
    expect(await tokens.introspect(RP_A, token)).toMatchObject({ tacit_action: 'allow' });
  });

  it('answers exactly {active: false} for anything short of a valid token', async () => {
    const s = await boundSession(h);
    const { token } = await tokens.issueSessionToken(RP_A, s.sid);
    const inactive = { active: false };
    expect(await tokens.introspect(RP_B, token)).toEqual(inactive);
    for (const junk of ['', 'not-a-jwt', `${token}x`, token.split('.').slice(0, 2).join('.')]) {
      expect(await tokens.introspect(RP_A, junk)).toEqual(inactive);
    }
    const elsewhere = await tokenService({ issuer: 'https://other.example' });
    expect(await elsewhere.introspect(RP_A, token)).toEqual(inactive);

    h.clock.advance(POLICY.sessionTokenTtlS * S);
    expect(await tokens.introspect(RP_A, token)).toEqual(inactive);
  });

  it('a token goes inactive when its device is revoked or its session ends', async () => {
    const s = await boundSession(h);
    const t = await boundSession(h, RP_A, 'bob');
    const revoked = (await tokens.issueSessionToken(RP_A, s.sid)).token;
    const ended = (await tokens.issueSessionToken(RP_A, t.sid)).token;
    expect(await tokens.introspect(RP_A, revoked)).toMatchObject({ active: true });
    await h.services.devices.revokeDevice(RP_A, 'alice', s.device.jkt);
    await h.services.sessions.endSession(RP_A, t.sid);
    expect(await tokens.introspect(RP_A, revoked)).toEqual({ active: false });
    expect(await tokens.introspect(RP_A, ended)).toEqual({ active: false });
    // Re-enrolled elsewhere: still not this session's device.
    await enrolledDevice(h, RP_B, 'alice', s.device);
    expect(await tokens.introspect(RP_A, revoked)).toEqual({ active: false });
  });
});
