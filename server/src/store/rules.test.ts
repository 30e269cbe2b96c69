/**
 * The store's rules (rules.ts), as pure functions; `store.contract.test.ts` checks that both
 * stores apply them (and that the compare-and-sets decided inside Redis scripts agree).
 */
import { describe, expect, it } from 'vitest';
import {
  allowsSharedDevices,
  attestationApplies,
  decideBinding,
  decideDeviceRotation,
  decideEnrollment,
  isLive,
  newestActiveKid,
  revocationTargets,
  type CodeState,
  type EnrollmentState,
} from './rules';

const code: CodeState = { rp: 'bank', subject: 'alice', expiresAt: 100, usedAt: null };
const enrolled = (rp: string, subject: string, revokedAt: number | null = null, createdAt = 1) =>
  ({ rp, subject, createdAt, revokedAt }) satisfies EnrollmentState;
const policy = { now: 10, sharedDeviceRps: [] as string[] };

describe('isLive', () => {
  it('not ended and not expired (expiry is exclusive)', () => {
    expect(isLive({ endedAt: null, expiresAt: 11 }, 10)).toBe(true);
    expect(isLive({ endedAt: null, expiresAt: 10 }, 10)).toBe(false);
    expect(isLive({ endedAt: 5, expiresAt: 100 }, 10)).toBe(false);
  });
});

describe('decideEnrollment', () => {
  const read = { jtiSeen: false, code, enrollments: [] as EnrollmentState[] };

  it('checks replay, then the code, then revocation, then the shared-device policy', () => {
    const cases: [Partial<typeof read>, string][] = [
      [{ jtiSeen: true, code: undefined }, 'replay'],
      [{ code: undefined }, 'code'],
      [{ code: { ...code, usedAt: 3 } }, 'code'],
      [{ code: { ...code, expiresAt: 10 } }, 'code'],
      [{ enrollments: [enrolled('bank', 'alice', 4)] }, 'revoked'],
      [{ enrollments: [enrolled('bank', 'bob')] }, 'shared'],
    ];
    for (const [changes, reason] of cases) {
      expect(decideEnrollment({ ...read, ...changes }, policy)).toEqual({ ok: false, reason });
    }
  });

  it('creates a new enrollment, or keeps the existing one for the same subject', () => {
    expect(decideEnrollment(read, policy)).toEqual({
      ok: true,
      rp: 'bank',
      subject: 'alice',
      created: true,
      createdAt: 10,
    });
    const again = { ...read, enrollments: [enrolled('bank', 'alice', null, 3)] };
    expect(decideEnrollment(again, policy)).toMatchObject({
      ok: true,
      created: false,
      createdAt: 3,
    });
  });

  it('other relying parties, revoked enrollments and sharedDevices do not count as shared', () => {
    const others = [enrolled('other', 'bob'), enrolled('bank', 'bob', 2)];
    expect(decideEnrollment({ ...read, enrollments: others }, policy)).toMatchObject({ ok: true });
    const bob = { ...read, enrollments: [enrolled('bank', 'bob')] };
    expect(decideEnrollment(bob, { ...policy, sharedDeviceRps: ['bank'] })).toMatchObject({
      ok: true,
    });
    expect(decideEnrollment(bob, { ...policy, sharedDeviceRps: ['*'] })).toMatchObject({
      ok: true,
    });
    expect(
      decideEnrollment(bob, { ...policy, sharedDeviceRps: ['*'], exclusiveDeviceRps: ['bank'] }),
    ).toEqual({ ok: false, reason: 'shared' });
  });

  it('allowsSharedDevices: exclusive wins over *', () => {
    expect(allowsSharedDevices({ sharedDeviceRps: ['*'], exclusiveDeviceRps: ['a'] }, 'a')).toBe(
      false,
    );
    expect(allowsSharedDevices({ sharedDeviceRps: ['*'] }, 'a')).toBe(true);
    expect(allowsSharedDevices({ sharedDeviceRps: ['b'] }, 'a')).toBe(false);
  });
});

describe('decideBinding', () => {
  const live = { endedAt: null, expiresAt: 100, deviceJkt: null };
  it('replay, unknown, expired or ended, bound to another key', () => {
    const cases: [Parameters<typeof decideBinding>[0], string][] = [
      [{ jtiSeen: true, session: live }, 'replay'],
      [{ jtiSeen: false, session: undefined }, 'unknown'],
      [{ jtiSeen: false, session: { ...live, expiresAt: 10 } }, 'expired'],
      [{ jtiSeen: false, session: { ...live, endedAt: 5 } }, 'expired'],
      [{ jtiSeen: false, session: { ...live, deviceJkt: 'other' } }, 'bound'],
    ];
    for (const [read, reason] of cases) {
      expect(decideBinding(read, 'k', 10)).toEqual({ ok: false, reason });
    }
  });
  it('binds an unbound session; the same key again changes nothing', () => {
    expect(decideBinding({ jtiSeen: false, session: live }, 'k', 10)).toEqual({
      ok: true,
      alreadyBound: false,
    });
    const bound = { jtiSeen: false, session: { ...live, deviceJkt: 'k' } };
    expect(decideBinding(bound, 'k', 10)).toEqual({ ok: true, alreadyBound: true });
  });
});

describe('revocationTargets', () => {
  const all = [enrolled('a', 'x'), enrolled('a', 'y', 3), enrolled('b', 'x')];
  it('the unrevoked enrollments, or only the scoped one', () => {
    expect(revocationTargets(all)).toEqual([all[0], all[2]]);
    expect(revocationTargets(all, { rp: 'b', subject: 'x' })).toEqual([all[2]]);
    expect(revocationTargets(all, { rp: 'a', subject: 'y' })).toEqual([]);
  });
});

describe('decideDeviceRotation', () => {
  const read = {
    jtiSeen: false,
    oldEnrollments: [
      enrolled('b', 'x', null, 2),
      enrolled('a', 'z', 1),
      enrolled('a', 'x', null, 2),
    ],
    newKeyEnrolled: false,
    sessions: [
      { sid: 's2', deviceJkt: 'old', endedAt: null, expiresAt: 100 },
      { sid: 's1', deviceJkt: 'old', endedAt: null, expiresAt: 100 },
      { sid: 's3', deviceJkt: 'old', endedAt: 4, expiresAt: 100 },
      { sid: 's4', deviceJkt: 'old', endedAt: null, expiresAt: 10 },
      { sid: 's5', deviceJkt: 'other', endedAt: null, expiresAt: 100 },
    ],
  };
  it('moves the unrevoked enrollments (oldest first) and re-binds the live sessions', () => {
    expect(decideDeviceRotation(read, 'old', 10)).toEqual({
      ok: true,
      moved: [read.oldEnrollments[2], read.oldEnrollments[0]],
      sessions: ['s1', 's2'],
    });
  });
  it('replay, then no unrevoked enrollment, then a new key already used', () => {
    expect(decideDeviceRotation({ ...read, jtiSeen: true }, 'old', 10)).toEqual({
      ok: false,
      reason: 'replay',
    });
    const revoked = { ...read, oldEnrollments: [enrolled('a', 'z', 1)], newKeyEnrolled: true };
    expect(decideDeviceRotation(revoked, 'old', 10)).toEqual({ ok: false, reason: 'revoked' });
    expect(decideDeviceRotation({ ...read, newKeyEnrolled: true }, 'old', 10)).toEqual({
      ok: false,
      reason: 'in-use',
    });
  });
});

describe('attestationApplies', () => {
  const session = { endedAt: null, expiresAt: 100, deviceJkt: 'k', lastSeq: 2, lastHash: 'h' };
  const expected = { jkt: 'k', lastSeq: 2, lastHash: 'h', now: 10 };
  it('bound to the key, at the expected position, live', () => {
    expect(attestationApplies(session, expected)).toBe(true);
    expect(attestationApplies(undefined, expected)).toBe(false);
    for (const changes of [{ jkt: 'j' }, { lastSeq: 1 }, { lastHash: 'g' }, { now: 100 }]) {
      expect(attestationApplies(session, { ...expected, ...changes })).toBe(false);
    }
    expect(attestationApplies({ ...session, endedAt: 5 }, expected)).toBe(false);
    expect(attestationApplies({ ...session, deviceJkt: null }, expected)).toBe(false);
  });
});

describe('newestActiveKid', () => {
  it('newest by createdAt, then kid, among the unretired', () => {
    const keys = [
      { kid: 'a', createdAt: 1, retiredAt: null },
      { kid: 'c', createdAt: 2, retiredAt: null },
      { kid: 'b', createdAt: 2, retiredAt: null },
      { kid: 'z', createdAt: 3, retiredAt: 3 },
    ];
    expect(newestActiveKid(keys)).toBe('c');
    expect(newestActiveKid([keys[3]!])).toBeUndefined();
  });
});
