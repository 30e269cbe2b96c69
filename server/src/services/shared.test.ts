import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadRequest } from '../errors';
import { POLICY } from '../domain/policy';
import type { SessionRecord } from '../store/store';
import { T0, createHarness, type Harness } from '../testing/harness';
import { RP_A, RP_B, boundSession, recordsOf } from '../testing/services';
import { deviceActive, isLive, jtiExpiry, over, ownSession, recordRejection } from './shared';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

describe('ownSession', () => {
  it("answers the caller's session; another's and a missing one are unknown alike", async () => {
    const s = await boundSession(h);
    expect((await ownSession(h.store, RP_A, s.sid)).sid).toBe(s.sid);
    for (const [rp, sid] of [
      [RP_B, s.sid],
      [RP_A, 'no-such-session'],
    ] as const) {
      await expect(ownSession(h.store, rp, sid)).rejects.toMatchObject({
        code: 'ERR_UNKNOWN_SESSION',
      });
    }
  });
});

describe('isLive and over', () => {
  const session = (changes: Partial<SessionRecord>) =>
    ({ expiresAt: T0 + 1000, endedAt: null, terminatedAt: null, ...changes }) as SessionRecord;

  it('live until it expires or ends; over says why', () => {
    expect(isLive(session({}), T0)).toBe(true);
    expect(isLive(session({}), T0 + 1000)).toBe(false);
    expect(isLive(session({ endedAt: T0 }), T0)).toBe(false);
    expect(over(session({ endedAt: T0 }), 'x').code).toBe('ERR_SESSION_EXPIRED');
    expect(over(session({ endedAt: T0, terminatedAt: T0 }), 'x').code).toBe(
      'ERR_SESSION_TERMINATED',
    );
  });
});

describe('deviceActive', () => {
  it("the bound device's enrollment for the session must be unrevoked", async () => {
    const s = await boundSession(h);
    expect(await deviceActive(h.store, (await h.store.getSession(s.sid))!)).toBe(true);
    await h.services.devices.revokeDevice(RP_A, 'alice', s.device.jkt);
    expect(await deviceActive(h.store, (await h.store.getSession(s.sid))!)).toBe(false);
    const { sessionId } = await h.services.sessions.openSession(RP_A, 'alice');
    expect(await deviceActive(h.store, (await h.store.getSession(sessionId))!)).toBe(false);
  });
});

describe('jtiExpiry', () => {
  it('outlasts the freshness window of the statement', () => {
    expect(jtiExpiry(T0 / 1000)).toBe(T0 + POLICY.freshnessWindowS * 1000 + 1000);
  });
});

describe('recordRejection', () => {
  it('records Tacit errors with what was proven, and nothing for our own faults', async () => {
    await recordRejection(h.audit, 'attestation.rejected', new BadRequest('malformed'), {});
    await recordRejection(h.audit, 'attestation.rejected', new BadRequest('malformed'), {
      jkt: 'k',
      sid: 's',
      seq: 3,
    });
    await recordRejection(h.audit, 'attestation.rejected', new TypeError('bug'), { jkt: 'k' });
    expect((await recordsOf(h, 'attestation.rejected')).map((r) => [r.actor, r.data])).toEqual([
      ['anonymous', { code: 'ERR_BAD_REQUEST' }],
      ['device:k', { code: 'ERR_BAD_REQUEST', sid: 's', seq: 3 }],
    ]);
  });
});
