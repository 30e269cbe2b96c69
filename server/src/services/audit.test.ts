import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditHash, canonicalJson } from './audit';
import {
  KEYS,
  TestDevice,
  attest,
  auditRecords,
  boundSession,
  createHarness,
  expectError,
  requestToken,
  snapshot,
  type Harness,
} from '../testing/harness';
import type { AuditRecord } from '../store/store';
import { TEST_STORE } from '../testing/test-store';
import { counterValue } from '../observability/metrics';

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});
afterEach(async () => {
  await h.close();
});

/** Edits stored records behind the server's back, as an intruder with store access would. */
const tamper = () => h.tamper;

const verify = async () => {
  const res = await h.call('GET', '/v1/audit/verify', { key: KEYS.auditor });
  expect(res.status).toBe(200);
  return res.json;
};

const DAY = 24 * 60 * 60 * 1000;

describe('canonicalJson and auditHash', () => {
  it('sorts keys recursively, no whitespace, drops undefined, refuses non-JSON values', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 0.5 }], u: undefined })).toBe(
      '{"a":[true,null,{"c":0.5,"d":"x"}],"b":1}',
    );
    expect(canonicalJson({ é: 1, e: 2, Z: 3 })).toBe('{"Z":3,"e":2,"é":1}');
    expect(canonicalJson(-0)).toBe('0');
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(TypeError);
  });

  it('the hash covers every member including prev', () => {
    const r = {
      seq: 1,
      ts: '2025-06-02T09:00:00.000Z',
      type: 't',
      actor: 'system',
      data: {},
      prev: GENESIS_HASH,
    };
    const hash = auditHash(r);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    for (const change of [
      { seq: 2 },
      { ts: 'x' },
      { type: 'u' },
      { actor: 'rp:x' },
      { data: { a: 1 } },
      { prev: 'f'.repeat(64) },
    ]) {
      expect(auditHash({ ...r, ...change })).not.toBe(hash);
    }
  });

  it('is the SHA-256 of the canonical JSON of the record (written in sorted key order)', () => {
    const records: Omit<AuditRecord, 'hash'>[] = [
      {
        seq: 1,
        ts: '2025-06-02T09:00:00.000Z',
        type: 't',
        actor: 'system',
        data: {},
        prev: GENESIS_HASH,
      },
      {
        seq: 9007199254740991,
        ts: 'x',
        type: 'a"b',
        actor: 'device:é\u2028',
        data: { z: [1, { b: null, a: -0.5 }], a: 'q' },
        prev: 'f'.repeat(64),
      },
    ];
    for (const r of records) {
      const reference = createHash('sha256').update(canonicalJson(r), 'utf8').digest('hex');
      expect(auditHash(r)).toBe(reference);
    }
  });
});

describe('what is recorded', () => {
  it('the whole flow, in order, chained, with actors; no tokens, codes, statements or keys', async () => {
    const s = await boundSession(h);
    const jws = await s.device.attestation({ sid: s.sid, seq: 1, conf: 0.8 });
    expect((await h.call('POST', '/v1/attestations', { json: { attestation: jws } })).status).toBe(
      202,
    );
    s.device.commit(s.sid, jws);
    const token = (await requestToken(h, s.sid)).json.token as string;
    await h.call('POST', `/v1/sessions/${s.sid}/decision`, { key: KEYS.bankA });
    await h.call('DELETE', `/v1/sessions/${s.sid}`, { key: KEYS.bankA });
    await h.call('POST', `/v1/devices/${s.device.jkt}/revoke`, {
      key: KEYS.bankA,
      json: { subject: 'alice' },
    });
    await h.call('POST', `/v1/admin/devices/${s.device.jkt}/revoke`, { key: KEYS.admin });

    const records = await auditRecords(h);
    expect(records.map((r) => [r.seq, r.type, r.actor])).toEqual([
      [1, 'enrollment_code.issued', 'rp:bank-a'],
      [2, 'device.enrolled', `device:${s.device.jkt}`],
      [3, 'session.opened', 'rp:bank-a'],
      [4, 'session.bound', `device:${s.device.jkt}`],
      [5, 'attestation.accepted', `device:${s.device.jkt}`],
      [6, 'policy.decision', 'rp:bank-a'],
      [7, 'session.deleted', 'rp:bank-a'],
      [8, 'device.revoked', 'rp:bank-a'],
      [9, 'admin.device_revoked', 'rp:ops'],
    ]);
    expect(records[1]!.data).toEqual({ rp: 'bank-a', subject: 'alice', created: true });
    expect(records[4]!.data).toEqual({
      sid: s.sid,
      seq: 1,
      state: 'scoring',
      conf: 0.8,
      assurance: 0.8,
      level: 'high',
    });
    expect(records[8]!.data).toEqual({ deviceId: s.device.jkt, revoked: 0 });
    expect(records[0]!.prev).toBe(GENESIS_HASH);
    for (const [i, r] of records.entries()) {
      expect(r.ts).toBe(new Date(h.clock.now()).toISOString());
      expect(r.hash).toBe(auditHash(r));
      if (i > 0) expect(r.prev).toBe(records[i - 1]!.hash);
    }
    const all = JSON.stringify(records);
    for (const secret of [token, jws, s.challenge, KEYS.bankA, KEYS.admin, s.device.jwk.x]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(/"code":"[0-9A-Z]{5}-[0-9A-Z]{5}"/);
    expect(await verify()).toEqual({
      ok: true,
      records: 9,
      anchor: null,
      head: { seq: 9, hash: records[8]!.hash },
    });
  });

  it('a rejected attestation stores one audit record and nothing else', async () => {
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1 });
    const before = await snapshot(h, s.sid);
    const count = (await auditRecords(h)).length;

    // Verified signature, then refused: the device is the actor.
    const replay = await attest(h, s.device, { sid: s.sid, seq: 1 });
    expectError(replay, 409, 'ERR_REPLAY');
    // Not verifiable: anonymous, no ids.
    const stranger = await TestDevice.create(h.clock);
    const forged = await stranger.attestation({ sid: s.sid, seq: 2 }, { kid: s.device.jkt });
    expectError(
      await h.call('POST', '/v1/attestations', { json: { attestation: forged } }),
      400,
      'ERR_JWS_INVALID',
    );
    // A malformed body.
    expectError(
      await h.call('POST', '/v1/attestations', { json: { nope: 1 } }),
      400,
      'ERR_BAD_REQUEST',
    );

    expect(await snapshot(h, s.sid)).toEqual(before);
    const added = (await auditRecords(h)).slice(count);
    expect(added.map((r) => [r.type, r.actor, r.data])).toEqual([
      [
        'attestation.rejected',
        `device:${s.device.jkt}`,
        { code: 'ERR_REPLAY', sid: s.sid, seq: 1 },
      ],
      ['attestation.rejected', 'anonymous', { code: 'ERR_JWS_INVALID' }],
      ['attestation.rejected', 'anonymous', { code: 'ERR_BAD_REQUEST' }],
    ]);
    expect(await counterValue(h.metrics.attestationsRejected, { code: 'ERR_REPLAY' })).toBe(1);
    expect(await counterValue(h.metrics.attestationsRejected, { code: 'ERR_JWS_INVALID' })).toBe(1);
    expect(await counterValue(h.metrics.attestationsRejected, { code: 'ERR_BAD_REQUEST' })).toBe(1);
    expect(await counterValue(h.metrics.attestationsAccepted)).toBe(1);
  });

  it('rejected enrollments and bindings are recorded with their code', async () => {
    const device = await TestDevice.create(h.clock);
    const res = await h.call('POST', '/v1/devices', {
      json: { enrollment: await device.enrollment('AAAAA-AAAAA') },
    });
    expectError(res, 400, 'ERR_ENROLLMENT_CODE');
    const s = await boundSession(h, 'bob');
    const bind = await h.call('POST', '/v1/sessions/bind', {
      json: { binding: await s.device.binding(s.sid, 'wrong-challenge') },
    });
    expectError(bind, 400, 'ERR_CHALLENGE_MISMATCH');
    const records = await auditRecords(h);
    expect(records[0]).toMatchObject({
      type: 'device.enrollment_rejected',
      actor: `device:${device.jkt}`,
      data: { code: 'ERR_ENROLLMENT_CODE' },
    });
    expect(records.at(-1)).toMatchObject({
      type: 'session.bind_rejected',
      actor: `device:${s.device.jkt}`,
      data: { code: 'ERR_CHALLENGE_MISMATCH', sid: s.sid },
    });
  });

  it('a failing lone record (a rejection) is logged and counted; the answer is unchanged', async () => {
    const s = await boundSession(h);
    await attest(h, s.device, { sid: s.sid, seq: 1 });
    const original = h.store.appendAudit.bind(h.store);
    h.store.appendAudit = async () => {
      throw new Error('disk full');
    };
    try {
      expectError(await attest(h, s.device, { sid: s.sid, seq: 1 }), 409, 'ERR_REPLAY');
    } finally {
      h.store.appendAudit = original;
    }
    expect(await counterValue(h.metrics.auditWriteFailures)).toBe(1);
    expect(h.logger.records.find((r) => r.event === 'audit_write_failed')).toMatchObject({
      level: 'error',
      type: 'attestation.rejected',
    });
  });

  it('an action commits with its record: when the record cannot be written, nothing is', async () => {
    const s = await boundSession(h);
    const before = await snapshot(h, s.sid);
    const count = (await auditRecords(h)).length;
    const original = h.audit.event.bind(h.audit);
    // A record the store cannot hash (non-finite number): its append fails inside the action.
    h.audit.event = (type, who, data) =>
      type === 'attestation.accepted'
        ? { ...original(type, who, data), data: { conf: Number.NaN } }
        : original(type, who, data);
    try {
      expect((await attest(h, s.device, { sid: s.sid, seq: 1 })).status).toBe(500);
    } finally {
      h.audit.event = original;
    }
    expect(await snapshot(h, s.sid)).toEqual(before);
    expect(await auditRecords(h)).toHaveLength(count);
    // Nothing half-done: the same attestation is accepted now, with its record.
    expect((await attest(h, s.device, { sid: s.sid, seq: 1 })).status).toBe(202);
    expect((await auditRecords(h)).at(-1)).toMatchObject({ type: 'attestation.accepted' });
    expect((await snapshot(h, s.sid)).counts.attestations).toBe(before.counts.attestations + 1);
  });
});

describe('tamper evidence', () => {
  const fill = async () => {
    const s = await boundSession(h);
    for (let seq = 1; seq <= 3; seq++) await attest(h, s.device, { sid: s.sid, seq, conf: 0.9 });
    return s;
  };

  const sqliteOnly = it.skipIf(TEST_STORE !== 'sqlite');
  sqliteOnly('SQLite refuses UPDATE of audit rows (append-only)', async () => {
    await fill();
    const db = new Database(h.dbPath!);
    try {
      expect(() => db.prepare("UPDATE audit SET actor = 'x' WHERE seq = 1").run()).toThrow(
        /append-only/,
      );
    } finally {
      db.close();
    }
  });

  it('an edited data member is found at its seq', async () => {
    await fill();
    expect((await verify()).ok).toBe(true);
    const row = (await auditRecords(h)).find((r) => r.type === 'attestation.accepted')!;
    const forged = JSON.stringify({ ...row.data, conf: 0.99 });
    await tamper().update(row.seq, { data: forged });
    expect(await verify()).toMatchObject({ ok: false, brokenAt: row.seq, records: row.seq - 1 });
  });

  it('an edit with a recomputed hash is found at the next record', async () => {
    await fill();
    const records = await auditRecords(h);
    const victim = records[2]!;
    const edited = { ...victim, actor: 'rp:someone-else' };
    await tamper().update(victim.seq, { actor: edited.actor, hash: auditHash(edited) });
    expect(await verify()).toMatchObject({ ok: false, brokenAt: victim.seq + 1 });
  });

  it('a deleted record breaks the chain where it was', async () => {
    await fill();
    await tamper().delete(4);
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 5, records: 3 });
  });

  it('a row that is no longer JSON is reported, not a crash', async () => {
    await fill();
    await tamper().update(2, { data: '{not json' });
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 2 });
    // The export shows the tampered record as stored: on Redis, where a record is one encoded
    // value, its other fields no longer decode either, so the line is off the contract.
    h.allowOffContract();
    const res = await h.call('GET', '/v1/audit', { key: KEYS.auditor });
    expect(res.status).toBe(200);
  });
});

describe('retention', () => {
  it('purges old records, keeps an anchor and a verifiable chain, records the purge', async () => {
    await boundSession(h); // 4 records at T0
    h.clock.advance(200 * DAY);
    await boundSession(h, 'bob'); // 4 records at T0 + 200 d
    h.clock.advance(200 * DAY); // T0 + 400 d: the first 4 are past 365 days
    const before = await auditRecords(h);
    const purged = await h.services.maintenance.purgeExpired();
    expect(purged.auditRecords).toBe(4);

    const after = await auditRecords(h);
    expect(after.map((r) => r.seq)).toEqual([5, 6, 7, 8, 9]);
    expect(after[0]!.prev).toBe(before[3]!.hash);
    expect(after.at(-1)).toMatchObject({
      type: 'audit.purged',
      actor: 'system',
      data: { records: 4, throughSeq: 4, anchorHash: before[3]!.hash },
    });
    expect(await h.store.auditAnchor()).toEqual({ seq: 4, hash: before[3]!.hash });
    expect(await verify()).toMatchObject({
      ok: true,
      records: 5,
      anchor: { seq: 4, hash: before[3]!.hash },
      head: { seq: 9 },
    });
    // Tampering right after the anchor is still caught.
    await tamper().update(5, { prev: 'f'.repeat(64) });
    expect(await verify()).toMatchObject({ ok: false, brokenAt: 5 });
  });

  it('purges everything when everything is old; new records chain to the anchor', async () => {
    await h.close();
    h = await createHarness({ auditRetentionDays: 1 });
    await boundSession(h);
    h.clock.advance(2 * DAY);
    expect((await h.services.maintenance.purgeExpired()).auditRecords).toBe(4);
    // Only the purge record itself is left, chained to the anchor.
    expect((await auditRecords(h)).map((r) => [r.seq, r.type])).toEqual([[5, 'audit.purged']]);
    await boundSession(h, 'bob');
    expect(await verify()).toMatchObject({ ok: true, records: 5, anchor: { seq: 4 } });
    // Nothing old enough: nothing purged, nothing recorded.
    expect((await h.services.maintenance.purgeExpired()).auditRecords).toBe(0);
    expect((await auditRecords(h)).at(-1)?.type).not.toBe('audit.purged');
  });

  it('stops at the first record that is not old enough (a prefix, even if the clock stepped back)', async () => {
    await boundSession(h); // seq 1-4 at T0
    h.clock.advance(400 * DAY);
    await boundSession(h, 'bob'); // seq 5-8, new
    h.clock.set(h.clock.now() - 399 * DAY);
    await boundSession(h, 'carol'); // seq 9-12, "old" timestamps after new ones
    h.clock.set(h.clock.now() + 399 * DAY);
    expect((await h.services.maintenance.purgeExpired()).auditRecords).toBe(4);
    expect((await auditRecords(h))[0]!.seq).toBe(5);
    expect((await verify()).ok).toBe(true);
  });
});

describe('GET /v1/audit', () => {
  it('JSON lines after a seq, with a limit, for auditor and admin', async () => {
    await boundSession(h);
    await boundSession(h, 'bob'); // 8 records
    const res = await h.call('GET', '/v1/audit?after=2&limit=3', { key: KEYS.auditor });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.text.endsWith('\n')).toBe(true);
    const lines = res.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([3, 4, 5]);
    expect(Object.keys(lines[0])).toEqual(['seq', 'ts', 'type', 'actor', 'data', 'prev', 'hash']);
    // A SIEM can check each line on its own.
    for (const l of lines) expect(auditHash(l)).toBe(l.hash);

    const all = await h.call('GET', '/v1/audit', { key: KEYS.admin });
    expect(all.text.trimEnd().split('\n')).toHaveLength(8);
    const none = await h.call('GET', '/v1/audit?after=8', { key: KEYS.admin });
    expect(none.status).toBe(200);
    expect(none.text).toBe('');
  });

  it('needs role auditor or admin; validates the query', async () => {
    await boundSession(h);
    const count = (await auditRecords(h)).length;
    for (const path of ['/v1/audit', '/v1/audit/verify']) {
      expectError(await h.call('GET', path), 401, 'ERR_UNAUTHORIZED');
      expectError(await h.call('GET', path, { key: KEYS.bankA }), 403, 'ERR_FORBIDDEN');
      expectError(
        await h.call('GET', path, { key: 'not-a-key-0123456789' }),
        401,
        'ERR_UNAUTHORIZED',
      );
    }
    for (const q of ['after=-1', 'after=x', 'limit=0', 'limit=10001', 'limit=1.5', 'since=3']) {
      expectError(
        await h.call('GET', `/v1/audit?${q}`, { key: KEYS.auditor }),
        400,
        'ERR_BAD_REQUEST',
      );
    }
    // Reading is not recorded.
    expect((await auditRecords(h)).length).toBe(count);
  });
});
