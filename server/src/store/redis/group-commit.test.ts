/**
 * The group-commit engine on a real Redis (project `redis` only): one script call per batch,
 * each action all-or-nothing, retries when another instance moved the audit head, a read that
 * refuses settles without a second call.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, auditHash } from '../../services/audit';
import { testRedisUrl } from '../../testing/test-store';
import type { AuditEvent, AuditRecord } from '../store';
import { decodeAuditRecord, encodeAuditRecord } from './codec';
import { GroupCommit, encodeRead, type Action } from './group-commit';
import { callScript, defineScripts, type Arg } from './scripts';

let redis: Redis;
beforeAll(async () => {
  redis = new Redis(testRedisUrl(), { protocol: 2 });
  defineScripts(redis);
});
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

/** An engine on a fresh prefix, counting its script calls. */
function engine(prefix = `gc-test:${randomBytes(6).toString('hex')}:`) {
  prefixes.push(prefix);
  const calls: (readonly Arg[])[] = [];
  const commit = new GroupCommit(
    (args) => {
      calls.push(args);
      return callScript(redis, prefix, 'tacitBatch', args);
    },
    (r) => encodeAuditRecord(r),
  );
  return { commit, calls, prefix };
}

const ev = (type: string, data: AuditEvent['data'] = {}): AuditEvent => ({
  ts: 7,
  type,
  actor: 'system',
  data,
});

/** `tacitAudit`: appends `events` only. */
const auditOnly = (...events: AuditEvent[]): Action<boolean> => ({
  name: 'tacitAudit',
  args: [],
  audited: true,
  guess: ['ok'],
  decide: (read) =>
    read[0] === 'ok'
      ? { apply: true, result: true, audit: () => events }
      : { apply: false, result: false },
});

/** `tacitUseJti` for `jti`, with a record when it applies. */
const spend = (jti: string, audited = true): Action<boolean> => ({
  name: 'tacitUseJti',
  args: ['k', jti, 1e12, 60_000],
  audited,
  guess: ['ok'],
  decide: (read) =>
    read[0] === 'ok'
      ? { apply: true, result: true, audit: () => ev('jti', { jti }) }
      : { apply: false, result: false },
});

async function chain(prefix: string): Promise<AuditRecord[]> {
  const flat = (await redis.call('ZRANGE', `${prefix}audit`, 0, -1, 'WITHSCORES')) as string[];
  const out: AuditRecord[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(decodeAuditRecord(flat[i]!, flat[i + 1]!));
  return out;
}

/** Gapless from 1 on, each record linked to the previous one, each hash recomputes. */
function expectChain(records: AuditRecord[]): void {
  for (const [i, r] of records.entries()) {
    expect(r.seq).toBe(i + 1);
    expect(r.prev).toBe(i === 0 ? GENESIS_HASH : records[i - 1]!.hash);
    expect(r.hash).toBe(auditHash(r));
  }
}

describe('group commit', () => {
  it('the audited actions of one event-loop turn are one script call, in order', async () => {
    const { commit, calls, prefix } = engine();
    await commit.run(auditOnly(ev('first'))); // learns the head: a probe, then the commit
    calls.length = 0;
    const done = await Promise.all(
      Array.from({ length: 50 }, (_, i) => commit.run(auditOnly(ev('t', { i })))),
    );
    expect(calls).toHaveLength(1);
    expect(done.map((d) => d.records[0]!.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expectChain(await chain(prefix));
  });

  it('a refusal in a batch writes nothing, settles on its read, and the others commit', async () => {
    const { commit, calls, prefix } = engine();
    await commit.run(auditOnly(ev('first')));
    calls.length = 0;
    const [a, replay, b] = await Promise.all([
      commit.run(spend('j1')),
      commit.run(spend('j1')),
      commit.run(spend('j2')),
    ]);
    expect([a.result, replay.result, b.result]).toEqual([true, false, true]);
    expect(replay.records).toEqual([]);
    // The refusal is decided on the batch's read; only the action after it needs a resend (its
    // records assumed the refused one's).
    expect(calls).toHaveLength(2);
    const records = await chain(prefix);
    expect(records.map((r) => r.data)).toEqual([{}, { jti: 'j1' }, { jti: 'j2' }]);
    expectChain(records);
  });

  it('another instance moving the head costs a retry, never a lost or duplicated record', async () => {
    const one = engine();
    const two = engine(one.prefix);
    await one.commit.run(auditOnly(ev('a')));
    await two.commit.run(auditOnly(ev('b'))); // `one` still believes the head is record 1
    one.calls.length = 0;
    const done = await one.commit.run(auditOnly(ev('c')));
    expect(one.calls).toHaveLength(2);
    expect(done.records[0]!.seq).toBe(3);
    const records = await chain(one.prefix);
    expect(records.map((r) => r.type)).toEqual(['a', 'b', 'c']);
    expectChain(records);
  });

  it('a builder that throws rejects its own call only', async () => {
    const { commit, prefix } = engine();
    await commit.run(auditOnly(ev('first')));
    const bad: Action<boolean> = {
      ...auditOnly(),
      decide: () => ({
        apply: true,
        result: true,
        audit: () => {
          throw new Error('builder');
        },
      }),
    };
    const [x, y] = await Promise.allSettled([commit.run(bad), commit.run(auditOnly(ev('ok')))]);
    expect(x).toMatchObject({ status: 'rejected', reason: { message: 'builder' } });
    expect(y).toMatchObject({ status: 'fulfilled' });
    expect((await chain(prefix)).map((r) => r.type)).toEqual(['first', 'ok']);
  });

  it('an unaudited action is sent at once; an unknown read is probed first', async () => {
    const { commit, calls } = engine();
    expect((await commit.run(spend('j', false))).result).toBe(true);
    expect(calls).toHaveLength(1);
    expect((await commit.run(spend('j', false))).result).toBe(false);
    calls.length = 0;
    const probed = await commit.run({ ...spend('k', false), guess: undefined });
    expect(probed.result).toBe(true);
    expect(calls.map((c) => c[2])).toEqual(['probe', 'commit']);
  });

  it('reads are compared byte for byte (lengths in bytes, as Lua counts them)', () => {
    expect(encodeRead(['ok'])).toBe('2:ok');
    expect(encodeRead(['zoë', ''])).toBe('4:zoë0:');
  });
});
