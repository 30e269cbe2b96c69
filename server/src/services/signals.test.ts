/**
 * The session signals claim (`sig`, docs/protocol.md §4 and "Signals") end to end inside the
 * verifier: accepted and stored with the session (on the store this run uses: SQLite in project
 * `unit`, Redis in project `redis`), shown by introspection, acted on by the decision policy
 * where it says so, and refused whole when a value is wrong.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadServerKeys } from '../crypto/keys';
import { parsePolicy, type DecisionPolicy } from '../domain/decision';
import { createMetrics } from '../observability/metrics';
import { createHarness, type Harness } from '../testing/harness';
import { RP_A, attested, boundSession, recordsOf } from '../testing/services';
import { DecisionService } from './decisions';
import { SessionService } from './sessions';
import { TokenService } from './tokens';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

const SIG = { bot: 0.92, remote: 0, paste: 2, otp: 0.5, syn: 14 };

async function introspected(sid: string, policy?: DecisionPolicy) {
  const keys = await loadServerKeys(h.store, h.clock);
  const tokens = new TokenService({
    store: h.store,
    keys,
    clock: h.clock,
    issuer: h.issuer,
    ...(policy === undefined ? {} : { policy }),
  });
  const { token } = await tokens.issueSessionToken(RP_A, sid);
  return tokens.introspect(RP_A, token);
}

function decisions(policy?: DecisionPolicy): DecisionService {
  const { store, clock, logger, audit } = h;
  const sessions = new SessionService({ store, clock, logger, audit });
  return new DecisionService({
    store,
    clock,
    metrics: createMetrics(),
    audit,
    sessions,
    ...(policy === undefined ? {} : { policy }),
  });
}

describe('session signals', () => {
  it('are stored with the session, introspected, and audited with the attestation', async () => {
    const s = await boundSession(h);
    expect((await h.store.getSession(s.sid))?.signals).toBeNull();
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9 });
    expect(await introspected(s.sid)).toMatchObject({ tacit_signals: null });

    await attested(h, s.device, { sid: s.sid, seq: 2, conf: 0.9, sig: SIG });
    expect((await h.store.getSession(s.sid))?.signals).toEqual(SIG);
    expect(await introspected(s.sid)).toMatchObject({ tacit_signals: SIG });
    const audited = await recordsOf(h, 'attestation.accepted');
    expect(audited.at(-1)?.data.sig).toEqual(SIG);

    // A later statement without the claim (an older client) leaves the latest values in place;
    // one with the claim replaces them.
    await attested(h, s.device, { sid: s.sid, seq: 3, conf: 0.9 });
    expect((await h.store.getSession(s.sid))?.signals).toEqual(SIG);
    const next = { ...SIG, remote: 1, syn: 20 };
    await attested(h, s.device, { sid: s.sid, seq: 4, conf: 0.9, sig: next });
    expect((await h.store.getSession(s.sid))?.signals).toEqual(next);
  });

  it('refuses bad values with ERR_JWS_CLAIMS and stores nothing', async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9, sig: SIG });
    const before = await h.store.getSession(s.sid);
    const bad: unknown[] = [
      { ...SIG, bot: 1.5 },
      { ...SIG, remote: -0.1 },
      { ...SIG, otp: '0.5' },
      { ...SIG, paste: 1.5 },
      { ...SIG, syn: -1 },
      { ...SIG, paste: 2_000_000 },
      { ...SIG, extra: 1 },
      { bot: 0.1, remote: 0, paste: 0, otp: 0 },
      [0.1, 0, 0, 0, 0],
      null,
      'bot',
    ];
    for (const sig of bad) {
      const jws = await s.device.attestation({ sid: s.sid, seq: 2, conf: 0.9, sig });
      await expect(h.services.attestations.acceptAttestation(jws)).rejects.toMatchObject({
        code: 'ERR_JWS_CLAIMS',
      });
    }
    expect(await h.store.getSession(s.sid)).toEqual(before);
    expect((await h.store.counts()).attestations).toBe(1);
  });

  it('show in decisions only where the policy has a rule for them', async () => {
    const s = await boundSession(h);
    await attested(h, s.device, { sid: s.sid, seq: 1, conf: 0.9, sig: SIG });
    // No rule (the default): the signals do not change the decision.
    expect(await decisions().decide(RP_A, s.sid)).toMatchObject({
      action: 'allow',
      reasons: [],
    });
    const policy = parsePolicy({
      default: { signals: { remote: { atLeast: 0.5, action: 'terminate' } } },
      relyingParties: {
        'bank-a': {
          signals: {
            bot: { atLeast: 0.5, action: 'step-up' },
            paste: { atLeast: 3, action: 'step-up' },
            otp: { atLeast: 0.5, action: 'allow' },
          },
        },
      },
    });
    // bot 0.92 ≥ 0.5 steps up; paste 2 < 3 does not apply; otp 0.5 is listed and allowed;
    // remote 0 < 0.5 (the default's rule, kept for bank-a) does not apply.
    expect(await decisions(policy).decide(RP_A, s.sid)).toMatchObject({
      action: 'step-up',
      reasons: ['SIGNAL_BOT', 'SIGNAL_OTP'],
      policy: {
        signals: {
          bot: { atLeast: 0.5, action: 'step-up' },
          remote: { atLeast: 0.5, action: 'terminate' },
          paste: { atLeast: 3, action: 'step-up' },
          otp: { atLeast: 0.5, action: 'allow' },
        },
      },
    });
    expect(await introspected(s.sid, policy)).toMatchObject({ tacit_action: 'step-up' });
  });

  it('a policy file with a bad signal rule is refused at start-up', () => {
    for (const signals of [
      { bot: { atLeast: 0, action: 'step-up' } },
      { remote: { atLeast: 1.5, action: 'step-up' } },
      { paste: { atLeast: 0.5, action: 'step-up' } },
      { otp: { atLeast: 0.5, action: 'block' } },
      { typing: { atLeast: 0.5, action: 'step-up' } },
    ]) {
      expect(() => parsePolicy({ default: { signals } })).toThrow(/signals/);
    }
  });
});
