/**
 * The {@link Store} contract, run on the store of this test run (SQLite in project `unit`,
 * Redis in project `redis`: see vitest.config.ts and testing/test-store.ts). SQLite-only
 * properties (file mode, migrations, WAL) are in sqlite.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GENESIS_HASH, auditHash } from '../services/audit';
import { TEST_STORE, openTestStore, type TestStore } from '../testing/test-store';
import type { RedisStore } from './redis/redis';
import { attestationApplies, isLive } from './rules';
import type { AuditEvent, AuditEvents, AuditRecord, SigningKeyRecord, Store } from './store';

const opened: TestStore[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.destroy();
});
/** A fresh, empty store of this run's kind. */
const fresh = async (): Promise<Store> => {
  const t = await openTestStore();
  opened.push(t);
  return t.store;
};
/** A fresh store and a second, independent connection to the same data (another instance). */
const twoInstances = async (): Promise<[Store, Store]> => {
  const t = await openTestStore();
  opened.push(t);
  return [t.store, await t.reopen()];
};

const jwk = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } as const;

/** An unused enrollment code for `subject` at `rp`, valid until 1e6. */
const codeFor = (codeHash: string, rp = 'rp', subject = 'u') => ({
  codeHash,
  rp,
  subject,
  createdAt: 0,
  expiresAt: 1e6,
  usedAt: null,
});
const jtiOf = (jkt: string, jti: string, expiresAt = 1e6) => ({ jkt, jti, expiresAt });

const ev = (type: string, data: AuditEvent['data'] = {}, ts = 7): AuditEvent => ({
  ts,
  type,
  actor: 'system',
  data,
});
const types = async (store: Store) => (await store.listAudit(0, 1000)).map((r) => r.type);

describe(`store contract (${TEST_STORE})`, () => {
  it('ping answers; a closed store fails', async () => {
    const t = await openTestStore();
    opened.push(t);
    await t.store.ping();
    await t.store.close();
    await expect(t.store.ping()).rejects.toThrow();
    await t.store.close(); // idempotent
  });
});

const session = (expiresAt: number) => ({
  sid: 's1',
  rp: 'rp',
  subject: 'u',
  challenge: 'c',
  createdAt: 0,
  expiresAt,
});

const attestation = (hash: string) => ({
  sid: 's1',
  seq: 1,
  jkt: 'k',
  iat: 0,
  receivedAt: 6,
  state: 'scoring' as const,
  conf: 0.5,
  progress: 1,
  mv: 'm',
  keyEvents: 1,
  pointerEvents: 2,
  hash,
});

const update = (hash: string) => ({
  lastSeq: 1,
  lastHash: hash,
  attestations: 1,
  lastAttestationAt: 6,
  lastState: 'scoring' as const,
  ewma: 0.5,
  progress: 1,
});

/** Binds session s1 to key k (jti expiring at 50). */
const bindK = (store: Store) =>
  store.bindSession({ sid: 's1', jkt: 'k', jti: { jkt: 'k', jti: 'j', expiresAt: 50 }, now: 1 });

describe('atomic operations', () => {
  it('getOrCreateSecret: first writer wins', async () => {
    const store = await fresh();
    expect(await store.getOrCreateSecret('k', () => 'one')).toBe('one');
    expect(await store.getOrCreateSecret('k', () => 'two')).toBe('one');
  });

  it('enrollDevice: replay, bad code and success are all-or-nothing', async () => {
    const store = await fresh();
    await store.createEnrollmentCode({
      codeHash: 'h',
      rp: 'rp',
      subject: 's',
      createdAt: 0,
      expiresAt: 1000,
      usedAt: null,
    });
    const input = {
      codeHash: 'h',
      jwk,
      jkt: 'k',
      jti: { jkt: 'k', jti: 'j', expiresAt: 500 },
      now: 10,
      sharedDeviceRps: [],
    };
    const badCode = { ok: false, reason: 'code' };
    expect(await store.enrollDevice({ ...input, codeHash: 'nope' })).toEqual(badCode);
    expect((await store.counts()).jtis).toBe(0);
    expect(await store.enrollDevice({ ...input, now: 1000 })).toEqual(badCode);
    expect(await store.enrollDevice(input)).toMatchObject({
      ok: true,
      created: true,
      device: { jkt: 'k', rp: 'rp', subject: 's' },
    });
    expect(await store.enrollDevice(input)).toEqual({ ok: false, reason: 'replay' });
    expect(await store.counts()).toMatchObject({ devices: 1, jtis: 1, usedEnrollmentCodes: 1 });
  });

  describe('enrollDevice: one key for several subjects of a relying party (sharedDevices)', () => {
    /** Enrolls key k with a new code for `subject` at `rp`; `shared` as the policy says. */
    const enrollK = async (
      store: Store,
      n: string,
      rp: string,
      subject: string,
      shared: { sharedDeviceRps: string[]; exclusiveDeviceRps?: string[] } = {
        sharedDeviceRps: [],
      },
    ) => {
      await store.createEnrollmentCode(codeFor(n, rp, subject));
      const jti = jtiOf('k', n);
      return store.enrollDevice({ codeHash: n, jwk, jkt: 'k', jti, now: 5, ...shared });
    };

    it('refused for another subject of the same rp unless allowed; nothing written', async () => {
      const store = await fresh();
      const first = await enrollK(store, 'c1', 'rp-a', 'alice');
      expect(first).toMatchObject({ ok: true, created: true });
      const before = await store.counts();
      const audited = vi.fn(() => ev('never'));
      await store.createEnrollmentCode(codeFor('c2', 'rp-a', 'bob'));
      const jti = jtiOf('k', 'c2');
      const refused = await store.enrollDevice(
        { codeHash: 'c2', jwk, jkt: 'k', jti, now: 5, sharedDeviceRps: ['rp-b'] },
        audited,
      );
      expect(refused).toEqual({ ok: false, reason: 'shared' });
      expect(audited).not.toHaveBeenCalled();
      // Code not used, jti not remembered, no enrollment, no audit record.
      const codes = before.enrollmentCodes + 1;
      expect(await store.counts()).toEqual({ ...before, enrollmentCodes: codes });
      expect(await store.useJti(jti)).toBe(true);
      expect(await store.listDevicesBySubject('rp-a', 'bob')).toEqual([]);
      expect(await store.listAudit(0, 100)).toEqual([]);
      // Re-enrolling the same subject still succeeds.
      const again = await enrollK(store, 'c3', 'rp-a', 'alice');
      expect(again).toMatchObject({ ok: true, created: false });
      // A '*' default with rp-a excluded refuses too.
      const star = { sharedDeviceRps: ['*'], exclusiveDeviceRps: ['rp-a'] };
      const refusedStar = await enrollK(store, 'c4', 'rp-a', 'bob', star);
      expect(refusedStar).toEqual({ ok: false, reason: 'shared' });
    });

    it('allowed when the rp is listed (or by default); revoked ones do not count', async () => {
      const store = await fresh();
      await enrollK(store, 'c1', 'rp-a', 'alice');
      const listed = { sharedDeviceRps: ['rp-a'] };
      expect(await enrollK(store, 'c2', 'rp-a', 'bob', listed)).toMatchObject({
        ok: true,
        created: true,
        device: { rp: 'rp-a', subject: 'bob' },
      });
      const star = { sharedDeviceRps: ['*'], exclusiveDeviceRps: ['rp-b'] };
      expect(await enrollK(store, 'c3', 'rp-a', 'carol', star)).toMatchObject({ ok: true });
      expect((await store.findDevicesByKey('k')).map((d) => d.subject).sort()).toEqual([
        'alice',
        'bob',
        'carol',
      ]);
      // Once every other enrollment at the rp is revoked, a new subject is fine without sharing.
      const other = await fresh();
      await enrollK(other, 'd1', 'rp-a', 'alice');
      await other.revokeDevice('k', 6, { rp: 'rp-a', subject: 'alice' });
      expect(await enrollK(other, 'd2', 'rp-a', 'bob')).toMatchObject({ ok: true, created: true });
    });

    it('enrollments at other relying parties are not affected', async () => {
      const store = await fresh();
      await enrollK(store, 'c1', 'rp-a', 'alice');
      const created = { ok: true, created: true };
      expect(await enrollK(store, 'c2', 'rp-b', 'bob')).toMatchObject(created);
      expect(await enrollK(store, 'c3', 'rp-c', 'alice')).toMatchObject(created);
      expect(await store.counts()).toMatchObject({ devices: 3, usedEnrollmentCodes: 3 });
    });
  });

  it('bindSession checks jti, expiry and the bound key inside its transaction', async () => {
    const store = await fresh();
    await store.createSession(session(1000));
    const jti = (j: string, jkt = 'k') => ({ jkt, jti: j, expiresAt: 900 });
    const bind = (jkt: string, j: string, now = 5) =>
      store.bindSession({ sid: 's1', jkt, jti: jti(j, jkt), now });
    expect(await bind('k', '1')).toMatchObject({ ok: true, alreadyBound: false });
    expect(await bind('other', '2')).toEqual({ ok: false, reason: 'bound' });
    expect(await bind('k', '1')).toEqual({ ok: false, reason: 'replay' });
    expect(await bind('k', '3', 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(await bind('k', '4')).toMatchObject({ ok: true, alreadyBound: true });
  });

  it('appendAttestation is a compare-and-set on (key, lastSeq, lastHash)', async () => {
    const store = await fresh();
    await store.createSession(session(1000));
    await bindK(store);
    const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 6 };
    const append = (e: typeof expected) =>
      store.appendAttestation(attestation('h1'), update('h1'), e);
    expect(await append({ ...expected, lastSeq: 7 })).toBe(false);
    expect(await append({ ...expected, jkt: 'other' })).toBe(false);
    expect(await append({ ...expected, now: 1000 })).toBe(false); // expired meanwhile
    expect((await store.counts()).attestations).toBe(0);
    expect(await append(expected)).toBe(true);
    expect(await append(expected)).toBe(false); // lost a race: the state moved on
    expect(await store.getSession('s1')).toMatchObject({
      lastSeq: 1,
      lastHash: 'h1',
      ewma: 0.5,
      attestations: 1,
    });
    expect((await store.counts()).attestations).toBe(1);
  });

  it('purgeExpired removes expired rows and a session’s attestations with it', async () => {
    const store = await fresh();
    await store.createSession(session(100));
    await bindK(store);
    const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 2 };
    expect(await store.appendAttestation(attestation('h'), update('h'), expected)).toBe(true);
    const purged = await store.purgeExpired({
      jtisBefore: 51,
      enrollmentCodesBefore: 0,
      sessionsBefore: 101,
    });
    expect(purged).toEqual({ jtis: 1, enrollmentCodes: 0, sessions: 1 });
    expect(await store.counts()).toMatchObject({ sessions: 0, attestations: 0, jtis: 0 });
  });
});

describe('audit and termination', () => {
  it('appendAudit numbers and chains records; listAudit pages by seq', async () => {
    const store = await fresh();
    const appended = await Promise.all(
      [1, 2, 3].map((i) => store.appendAudit({ ts: i, type: 't', actor: 'system', data: { i } })),
    );
    expect(appended.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(appended[0]!.prev).toBe(GENESIS_HASH);
    expect(appended[1]!.prev).toBe(appended[0]!.hash);
    expect(appended[0]).toEqual({
      seq: 1,
      ts: '1970-01-01T00:00:00.001Z',
      type: 't',
      actor: 'system',
      data: { i: 1 },
      prev: GENESIS_HASH,
      hash: auditHash(appended[0]!),
    });
    expect(await store.listAudit(0, 10)).toEqual(appended);
    expect((await store.listAudit(1, 1)).map((r) => r.seq)).toEqual([2]);
  });

  it('purgeAudit removes a prefix, sets the anchor, and appending continues from it', async () => {
    const store = await fresh();
    for (const ts of [10, 20, 30]) {
      await store.appendAudit({ ts, type: 't', actor: 'system', data: {} });
    }
    expect(await store.purgeAudit(5)).toEqual({ records: 0, anchor: null });
    const second = (await store.listAudit(1, 1))[0]!;
    expect(await store.purgeAudit(25)).toEqual({
      records: 2,
      anchor: { seq: 2, hash: second.hash },
    });
    expect(await store.auditAnchor()).toEqual({ seq: 2, hash: second.hash });
    expect(await store.purgeAudit(31)).toMatchObject({ records: 1, anchor: { seq: 3 } });
    const next = await store.appendAudit({ ts: 40, type: 't', actor: 'system', data: {} });
    expect(next.seq).toBe(4);
    expect(next.prev).toBe((await store.auditAnchor())!.hash);
  });

  it('terminateSession ends a live session once; not an ended or expired one', async () => {
    const store = await fresh();
    await store.createSession(session(1000));
    expect(await store.terminateSession('s1', 1000)).toBe(false); // expired at 1000
    expect(await store.terminateSession('s1', 5)).toBe(true);
    expect(await store.getSession('s1')).toMatchObject({ endedAt: 5, terminatedAt: 5 });
    expect(await store.terminateSession('s1', 6)).toBe(false);
    expect(await store.terminateSession('nope', 6)).toBe(false);
  });

  it('confirmSession marks a live session (the latest time wins) with its audit; not an over one', async () => {
    const store = await fresh();
    await store.createSession(session(1000));
    expect((await store.getSession('s1'))?.confirmedAt).toBeNull();
    expect(await store.confirmSession('s1', 1000, () => ev('session.confirmed'))).toBe(false);
    expect(await store.confirmSession('s1', 5, () => ev('session.confirmed', { n: 1 }))).toBe(true);
    expect(await store.confirmSession('s1', 8, () => ev('session.confirmed', { n: 2 }))).toBe(true);
    expect(await store.getSession('s1')).toMatchObject({ confirmedAt: 8, endedAt: null });
    expect(await store.terminateSession('s1', 9)).toBe(true);
    expect(await store.confirmSession('s1', 10, () => ev('session.confirmed', { n: 3 }))).toBe(
      false,
    );
    expect(await store.confirmSession('nope', 6, () => ev('session.confirmed'))).toBe(false);
    expect((await store.listAudit(0, 10)).map((r) => r.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await store.getSession('s1'))?.confirmedAt).toBe(8);
  });
});

describe('keys, devices, bank sessions', () => {
  const key = (kid: string, createdAt: number): SigningKeyRecord => ({
    kid,
    privateJwk: `{"d":"${kid}"}`,
    publicJwk: `{"kid":"${kid}"}`,
    createdAt,
    retiredAt: null,
  });

  it('signing keys: one per kid, listed by creation; rotation is first-writer-wins', async () => {
    const store = await fresh();
    await store.addSigningKey(key('b', 2));
    await store.addSigningKey(key('a', 1));
    await store.addSigningKey({ ...key('a', 1), privateJwk: 'other' });
    expect(await store.listSigningKeys()).toEqual([key('a', 1), key('b', 2)]);
    expect(await store.rotateSigningKey('a', key('c', 3), 10)).toEqual({ ok: false });
    expect(await store.rotateSigningKey('b', key('c', 3), 10)).toEqual({
      ok: true,
      retired: ['a', 'b'],
    });
    expect((await store.listSigningKeys()).map((k) => [k.kid, k.retiredAt])).toEqual([
      ['a', 10],
      ['b', 10],
      ['c', null],
    ]);
    expect((await store.counts()).signingKeys).toBe(3);
  });

  it('devices by key and by subject, oldest first; revocation scoped or everywhere', async () => {
    const store = await fresh();
    const enroll = async (code: string, rp: string, subject: string, jkt: string, now: number) => {
      await store.createEnrollmentCode(codeFor(code, rp, subject));
      const jti = jtiOf(jkt, code);
      const enrolled = await store.enrollDevice({
        codeHash: code,
        jwk,
        jkt,
        jti,
        now,
        sharedDeviceRps: [],
      });
      expect(enrolled).toMatchObject({ ok: true });
    };
    await enroll('c1', 'rp-b', 'u', 'k1', 3);
    await enroll('c2', 'rp-a', 'u', 'k1', 2);
    await enroll('c3', 'rp-a', 'u', 'k0', 2);
    expect((await store.findDevicesByKey('k1')).map((d) => [d.rp, d.createdAt])).toEqual([
      ['rp-a', 2],
      ['rp-b', 3],
    ]);
    const bySubject = await store.listDevicesBySubject('rp-a', 'u');
    expect(bySubject.map((d) => d.jkt)).toEqual(['k0', 'k1']);
    expect(await store.listDevicesBySubject('rp-a', 'nobody')).toEqual([]);
    expect((await store.findDevicesByKey('k1'))[0]).toEqual({
      jkt: 'k1',
      jwk,
      rp: 'rp-a',
      subject: 'u',
      createdAt: 2,
      revokedAt: null,
    });
    expect(await store.revokeDevice('k1', 9, { rp: 'rp-a', subject: 'u' })).toBe(1);
    expect(await store.revokeDevice('k1', 9, { rp: 'rp-a', subject: 'u' })).toBe(0);
    expect(await store.revokeDevice('k1', 10)).toBe(1);
    expect(await store.revokeDevice('nope', 10)).toBe(0);
    expect((await store.findDevicesByKey('k1')).map((d) => d.revokedAt)).toEqual([9, 10]);
    expect(await store.counts()).toMatchObject({
      devices: 3,
      revokedDevices: 2,
      usedEnrollmentCodes: 3,
    });
  });

  it('useJti remembers a jti once per key', async () => {
    const store = await fresh();
    const entry = { jkt: 'k', jti: 'j', expiresAt: 100 };
    expect(await store.useJti(entry)).toBe(true);
    expect(await store.useJti(entry)).toBe(false);
    expect(await store.useJti({ ...entry, jkt: 'other' })).toBe(true);
  });

  it('rotateDevice moves live enrollments and live sessions to the new key', async () => {
    const store = await fresh();
    await store.createEnrollmentCode(codeFor('c'));
    await store.enrollDevice({
      codeHash: 'c',
      jwk,
      jkt: 'old',
      jti: jtiOf('old', 'e'),
      now: 1,
      sharedDeviceRps: [],
    });
    await store.createSession(session(1000));
    await store.bindSession({ sid: 's1', jkt: 'old', jti: jtiOf('old', 'b'), now: 2 });
    const input = { oldJkt: 'old', newJkt: 'new', newJwk: jwk, jti: jtiOf('new', 'r'), now: 5 };
    expect(await store.rotateDevice({ ...input, oldJkt: 'nobody' })).toEqual({
      ok: false,
      reason: 'revoked',
    });
    expect(await store.rotateDevice(input)).toEqual({
      ok: true,
      enrollments: [{ jkt: 'new', jwk, rp: 'rp', subject: 'u', createdAt: 5, revokedAt: null }],
      sessions: ['s1'],
    });
    expect(await store.rotateDevice(input)).toEqual({ ok: false, reason: 'replay' });
    expect((await store.getSession('s1'))?.deviceJkt).toBe('new');
    expect((await store.findDevicesByKey('old'))[0]?.revokedAt).toBe(5);
  });
});

describe('audit records commit with their action', () => {
  const code = { ...codeFor('h', 'rp', 's'), expiresAt: 1000 };
  const enrollInput = {
    codeHash: 'h',
    jwk,
    jkt: 'k',
    jti: jtiOf('k', 'j', 500),
    now: 10,
    sharedDeviceRps: [],
  };
  const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 12 };
  const attest = (store: Store, audit?: () => AuditEvents) =>
    store.appendAttestation(attestation('h1'), update('h1'), expected, audit);

  it('each audited method appends its records in order, after the action succeeded', async () => {
    const store = await fresh();
    await store.createEnrollmentCode(code, () => ev('code'));
    const enrolled = await store.enrollDevice(enrollInput, ({ device, created }) =>
      ev('enrolled', { rp: device.rp, subject: device.subject, created }),
    );
    expect(enrolled).toMatchObject({ ok: true, created: true });
    await store.createSession(session(1000), () => ev('opened'));
    await store.bindSession(
      { sid: 's1', jkt: 'k', jti: { jkt: 'k', jti: 'b', expiresAt: 500 }, now: 11 },
      ({ session: s, alreadyBound }) =>
        ev('bound', { sid: s.sid, device: s.deviceJkt, alreadyBound }),
    );
    // No record for a repeated binding (the builder says so).
    await store.bindSession(
      { sid: 's1', jkt: 'k', jti: { jkt: 'k', jti: 'b2', expiresAt: 500 }, now: 11 },
      ({ alreadyBound }) => (alreadyBound ? undefined : ev('bound again')),
    );
    expect(await attest(store, () => ev('att'))).toBe(true);
    const terminate = () => [ev('decision'), ev('terminated')];
    expect(await store.terminateSession('s1', 13, terminate)).toBe(true);
    expect(await store.endSession('s1', 14, () => ev('ended'))).toBe(true);
    expect(await store.revokeDevice('k', 15, undefined, (n) => ev('revoked', { n }))).toBe(1);

    const records = await store.listAudit(0, 100);
    expect(records.map((r) => r.type)).toEqual([
      'code',
      'enrolled',
      'opened',
      'bound',
      'att',
      'decision',
      'terminated',
      'ended',
      'revoked',
    ]);
    expect(records[1]!.data).toEqual({ rp: 'rp', subject: 's', created: true });
    expect(records[3]!.data).toEqual({ sid: 's1', device: 'k', alreadyBound: false });
    expect(records.at(-1)!.data).toEqual({ n: 1 });
    for (const [i, r] of records.entries()) {
      expect(r.seq).toBe(i + 1);
      expect(r.hash).toBe(auditHash(r));
      expect(r.prev).toBe(i === 0 ? GENESIS_HASH : records[i - 1]!.hash);
    }
  });

  it('a refused action appends nothing', async () => {
    const store = await fresh();
    await store.createEnrollmentCode(code);
    const never = () => ev('never');
    expect(await store.enrollDevice({ ...enrollInput, codeHash: 'nope' }, never)).toEqual({
      ok: false,
      reason: 'code',
    });
    expect(await store.enrollDevice(enrollInput)).toMatchObject({ ok: true });
    expect(await store.enrollDevice(enrollInput, never)).toEqual({ ok: false, reason: 'replay' });
    const bindUnknown = { sid: 'nope', jkt: 'k', jti: jtiOf('k', 'x', 9), now: 1 };
    expect(await store.bindSession(bindUnknown, never)).toEqual({ ok: false, reason: 'unknown' });
    await store.createSession(session(1000));
    expect(await attest(store, never)).toBe(false); // unbound
    expect(await store.terminateSession('s1', 1000, never)).toBe(false); // expired
    expect(await store.endSession('nope', 1, never)).toBe(false);
    expect(await store.listAudit(0, 100)).toEqual([]);
  });

  it('a record that cannot be written leaves the action undone', async () => {
    const store = await fresh();
    const bad = () => ev('bad', { x: Number.NaN }); // not canonical JSON: the append throws
    const throws = () => {
      throw new Error('builder failed');
    };
    await store.createEnrollmentCode(code);
    await expect(store.createEnrollmentCode({ ...code, codeHash: 'h2' }, bad)).rejects.toThrow(
      TypeError,
    );
    await expect(store.enrollDevice(enrollInput, throws)).rejects.toThrow('builder failed');
    await expect(store.createSession(session(1000), bad)).rejects.toThrow(TypeError);
    expect(await store.counts()).toMatchObject({
      enrollmentCodes: 1,
      usedEnrollmentCodes: 0,
      devices: 0,
      jtis: 0,
      sessions: 0,
    });
    await store.createSession(session(1000));
    await bindK(store);
    await expect(attest(store, bad)).rejects.toThrow(TypeError);
    const halfBad = () => [ev('ok'), ev('bad', { x: Infinity })];
    await expect(store.terminateSession('s1', 7, halfBad)).rejects.toThrow(TypeError);
    await expect(store.revokeDevice('k', 8, undefined, throws)).rejects.toThrow();
    expect(await store.getSession('s1')).toMatchObject({
      lastSeq: 0,
      attestations: 0,
      endedAt: null,
      terminatedAt: null,
    });
    expect((await store.counts()).attestations).toBe(0);
    expect(await store.listAudit(0, 100)).toEqual([]);
    // Nothing half-done: the same actions succeed now.
    expect(await attest(store, () => ev('att'))).toBe(true);
    expect(await types(store)).toEqual(['att']);
  });

  it('two instances appending at once keep one gapless chain', async () => {
    const [a, b] = await twoInstances();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).appendAudit(ev(`e${i}`, { i }))),
    );
    const records = await a.listAudit(0, 100);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (const [i, r] of records.entries()) {
      expect(r.hash).toBe(auditHash(r));
      if (i > 0) expect(r.prev).toBe(records[i - 1]!.hash);
    }
    expect(new Set(records.map((r) => r.type)).size).toBe(40);
  });

  it('two instances racing on one attestation: exactly one wins, with one record', async () => {
    const [a, b] = await twoInstances();
    await a.createSession(session(1000));
    await bindK(a);
    const expected = { jkt: 'k', lastSeq: 0, lastHash: '', now: 6 };
    const results = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.appendAttestation(attestation(`h${i}`), update(`h${i}`), expected, () => ev(`att${i}`)),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await b.listAudit(0, 100)).toHaveLength(1);
    expect((await b.counts()).attestations).toBe(1);
  });

  it('two instances racing to enroll with one code: exactly one wins', async () => {
    const [a, b] = await twoInstances();
    await a.createEnrollmentCode(code);
    const results = await Promise.all(
      ['k1', 'k2', 'k3', 'k4'].map((jkt, i) =>
        (i % 2 ? a : b).enrollDevice(
          { ...enrollInput, jkt, jti: { jkt, jti: 'j', expiresAt: 500 } },
          () => ev(`enrolled ${jkt}`),
        ),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(await a.listAudit(0, 100)).toHaveLength(1);
    expect((await a.counts()).devices).toBe(1);
  });
});

describe('concurrent audited writes (group commit)', () => {
  /** Asserts that `records` are the whole chain from genesis: seq 1…n, each on the previous. */
  const expectChain = (records: readonly AuditRecord[]) => {
    for (const [i, r] of records.entries()) {
      expect(r.seq).toBe(i + 1);
      expect(r.prev).toBe(i === 0 ? GENESIS_HASH : records[i - 1]!.hash);
      expect(r.hash).toBe(auditHash(r));
    }
  };
  const sidOf = (i: number) => `s${i}`;
  /** The first attestation of session `sid` (bound to key k), recorded as `att <sid> <tag>`. */
  const attestFirst = (store: Store, sid: string, tag: string, audit?: () => AuditEvents) =>
    store.appendAttestation(
      { ...attestation(`h-${tag}`), sid },
      update(`h-${tag}`),
      { jkt: 'k', lastSeq: 0, lastHash: '', now: 6 },
      audit ?? (() => ev('att', { sid, tag })),
    );

  it('200 calls from two instances at once: one chain, a record per accepted action', async () => {
    const [a, b] = await twoInstances();
    const n = 60;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        a.createSession({ ...session(1000), sid: sidOf(i) }, () => ev('opened', { sid: sidOf(i) })),
      ),
    );
    // Bindings need their outcome to build the record (probed first on Redis), from both.
    const bound = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        (i % 2 ? a : b).bindSession(
          { sid: sidOf(i), jkt: 'k', jti: jtiOf('k', `b${i}`, 500), now: 1 },
          ({ session: s }) => ev('bound', { sid: s.sid }),
        ),
      ),
    );
    expect(bound.every((r) => r.ok)).toBe(true);

    // 200 calls in one go, interleaved between the instances: per session two racing
    // attestations (one wins), plain appends, and attestations that must fail (unknown
    // session, wrong key) sitting between the others.
    const calls: Promise<unknown>[] = [];
    const outcome: { kind: string; sid?: string; tag: string; result?: unknown }[] = [];
    let attested = 0;
    for (let i = 0; i < 200; i++) {
      const store = i % 2 ? a : b;
      const tag = `c${i}`;
      let call: Promise<unknown>;
      let kind: string;
      let sid: string | undefined;
      if (i % 5 === 4) {
        kind = 'audit';
        call = store.appendAudit(ev('plain', { tag }));
      } else if (i % 10 === 3) {
        kind = 'doomed';
        sid = i % 20 === 3 ? 'nope' : sidOf(i % n);
        call =
          sid === 'nope'
            ? attestFirst(store, sid, tag)
            : store.appendAttestation(
                { ...attestation(`h-${tag}`), sid, jkt: 'other' },
                update(`h-${tag}`),
                { jkt: 'other', lastSeq: 0, lastHash: '', now: 6 },
                () => ev('att', { sid: sid!, tag }),
              );
      } else {
        kind = 'att';
        sid = sidOf(attested++ % n);
        call = attestFirst(store, sid, tag);
      }
      const entry = { kind, sid, tag } as (typeof outcome)[number];
      outcome.push(entry);
      calls.push(call.then((r) => (entry.result = r)));
    }
    await Promise.all(calls);

    const records = await b.listAudit(0, 10_000);
    expectChain(records);
    // Nothing lost, nothing twice: the plain appends, each once, as returned.
    const plain = records.filter((r) => r.type === 'plain');
    const audits = outcome.filter((o) => o.kind === 'audit');
    expect(plain.map((r) => r.data.tag).sort()).toEqual(audits.map((o) => o.tag).sort());
    for (const o of audits) {
      const stored = records.find((r) => r.type === 'plain' && r.data.tag === o.tag);
      expect(o.result).toEqual(stored);
    }
    // One record per accepted attestation, none for a refused one; one winner per session.
    const atts = records.filter((r) => r.type === 'att');
    const accepted = outcome.filter((o) => o.result === true);
    expect(outcome.filter((o) => o.kind === 'doomed').every((o) => o.result === false)).toBe(true);
    expect(atts.map((r) => r.data.tag).sort()).toEqual(accepted.map((o) => o.tag).sort());
    const winners = new Set(accepted.map((o) => o.sid));
    expect(winners.size).toBe(accepted.length);
    expect(winners.size).toBe(n); // every session was attested at least once
    expect((await a.counts()).attestations).toBe(n);
    for (const o of accepted) {
      const s = await a.getSession(o.sid!);
      expect(s).toMatchObject({ lastSeq: 1, lastHash: `h-${o.tag}`, attestations: 1 });
    }
    expect(records.filter((r) => r.type === 'opened')).toHaveLength(n);
    expect(records.filter((r) => r.type === 'bound')).toHaveLength(n);
    expect(records).toHaveLength(3 * n + audits.length);
  });

  it('a refused or failing action in the middle of a batch leaves the others intact', async () => {
    const store = await fresh();
    await store.createSession({ ...session(1000), sid: 'good' });
    await store.createSession({ ...session(1000), sid: 'unbound' });
    await store.bindSession({ sid: 'good', jkt: 'k', jti: jtiOf('k', 'j'), now: 1 });
    const throws = () => {
      throw new Error('builder failed');
    };
    // All requested in one event-loop turn: one batch on Redis, one transaction on SQLite.
    const settled = await Promise.allSettled([
      store.appendAudit(ev('a')),
      attestFirst(store, 'unbound', 'refused'), // precondition fails: refused
      store.appendAudit(ev('b')),
      store.endSession('nope', 2, () => ev('never')), // no such session: refused
      attestFirst(store, 'good', 'thrown', throws), // its builder throws: not applied
      store.appendAudit(ev('c', { x: Number.NaN })), // not canonical JSON: not appended
      attestFirst(store, 'good', 'ok'),
      store.terminateSession('good', 3, () => [ev('decision'), ev('terminated')]),
      store.appendAudit(ev('d')),
    ]);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    const value = (i: number) => (settled[i] as PromiseFulfilledResult<unknown>).value;
    expect([value(1), value(3), value(6), value(7)]).toEqual([false, false, true, true]);
    const records = await store.listAudit(0, 100);
    expectChain(records);
    expect(records.map((r) => r.type)).toEqual(['a', 'b', 'att', 'decision', 'terminated', 'd']);
    expect(records[2]!.data).toEqual({ sid: 'good', tag: 'ok' });
    for (const i of [0, 2, 8]) {
      expect(value(i)).toEqual(records.find((r) => r.seq === (value(i) as AuditRecord).seq));
    }
    expect(await store.getSession('good')).toMatchObject({
      lastSeq: 1,
      lastHash: 'h-ok',
      attestations: 1,
      terminatedAt: 3,
    });
    expect(await store.getSession('unbound')).toMatchObject({ lastSeq: 0, attestations: 0 });
  });

  it.runIf(TEST_STORE === 'redis')(
    'Redis: the audited writes of one event-loop turn go to Redis in one script call',
    async () => {
      const store = (await fresh()) as RedisStore;
      const commands = store.redis as unknown as { tacitBatch: () => unknown };
      const calls = vi.spyOn(commands, 'tacitBatch');
      await store.appendAudit(ev('first')); // learns the head (a probe, then the commit)
      calls.mockClear();
      const appended = await Promise.all(
        Array.from({ length: 100 }, (_, i) => store.appendAudit(ev('t', { i }))),
      );
      expect(calls).toHaveBeenCalledTimes(1);
      expect(appended.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2));
      expectChain(await store.listAudit(0, 1000));
    },
  );
});

// The compare-and-sets Redis decides inside its scripts (lua/attest.lua, lua/terminate.lua)
// instead of calling rules.ts: the same cases, decided by rules.ts and by this run's store.
describe('rules decided inside a store agree with rules.ts', () => {
  /** Session `sid`, live until 100, bound to k unless `unbound`, ended at 2 if `ended`. */
  const prepare = async (
    store: Store,
    sid: string,
    state: { unbound?: boolean; ended?: boolean },
  ) => {
    await store.createSession({ ...session(100), sid });
    if (!state.unbound) {
      await store.bindSession({ sid, jkt: 'k', jti: jtiOf('k', `j-${sid}`), now: 1 });
    }
    if (state.ended) await store.endSession(sid, 2);
    return store.getSession(sid);
  };
  const states = [{}, { unbound: true }, { ended: true }];
  const expectations = [
    { jkt: 'k', lastSeq: 0, lastHash: '', now: 6 },
    { jkt: 'other', lastSeq: 0, lastHash: '', now: 6 },
    { jkt: 'k', lastSeq: 1, lastHash: '', now: 6 },
    { jkt: 'k', lastSeq: 0, lastHash: 'h', now: 6 },
    { jkt: 'k', lastSeq: 0, lastHash: '', now: 100 },
  ];

  it('appendAttestation applies exactly when attestationApplies says so', async () => {
    const store = await fresh();
    let n = 0;
    for (const state of states) {
      for (const expected of expectations) {
        const sid = `s${n++}`;
        const before = await prepare(store, sid, state);
        const want = attestationApplies(before, expected);
        const got = await store.appendAttestation(
          { ...attestation('h1'), sid },
          update('h1'),
          expected,
        );
        expect({ sid, state, expected, got }).toEqual({ sid, state, expected, got: want });
      }
    }
    // And an unknown session.
    const expected = expectations[0]!;
    expect(attestationApplies(undefined, expected)).toBe(false);
    expect(
      await store.appendAttestation({ ...attestation('h'), sid: 'none' }, update('h'), expected),
    ).toBe(false);
  });

  it('terminateSession applies exactly when isLive says so', async () => {
    const store = await fresh();
    let n = 0;
    for (const state of states) {
      for (const now of [6, 99, 100]) {
        const sid = `t${n++}`;
        const before = (await prepare(store, sid, state))!;
        expect(await store.terminateSession(sid, now)).toBe(isLive(before, now));
      }
    }
    expect(await store.terminateSession('none', 6)).toBe(false);
  });
});
