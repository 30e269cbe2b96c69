/**
 * The {@link SsfStore} contract (the Shared Signals outbox), on the store of this test run:
 * SQLite in project `unit`, Redis in project `redis`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../testing/test-store';
import type { OutboxEvent, Store, StreamRecord } from './store';

const opened: TestStore[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.destroy();
});
const fresh = async (): Promise<TestStore> => {
  const t = await openTestStore();
  opened.push(t);
  return t;
};

const stream = (id: string, over: Partial<StreamRecord> = {}): StreamRecord => ({
  id,
  rp: 'rp-a',
  aud: 'rp-a',
  deliveryMethod: 'push',
  endpointUrl: 'https://bank.example/ssf',
  authorizationHeader: 'Bearer receiver-secret',
  eventsRequested: [],
  eventsDelivered: [],
  description: null,
  status: 'enabled',
  reason: null,
  createdAt: 1000,
  updatedAt: 1000,
  ...over,
});
const event = (streamId: string, jti: string, createdAt = 1000): OutboxEvent => ({
  streamId,
  jti,
  set: `set-of-${jti}`,
  createdAt,
});
/** Fans `events` out from wherever the cursor is. */
const fan = async (store: Store, events: OutboxEvent[], toSeq = 1) =>
  store.ssf.fanOut({ fromSeq: await store.ssf.cursor(), toSeq, events, states: [] });

describe('SsfStore', () => {
  it('keeps streams per relying party, replaces them, and deletes them with their events', async () => {
    const { store } = await fresh();
    await store.ssf.putStream(stream('s2', { createdAt: 2000 }));
    await store.ssf.putStream(stream('s1'));
    await store.ssf.putStream(stream('s3', { rp: 'rp-b' }));
    expect((await store.ssf.listStreams('rp-a')).map((s) => s.id)).toEqual(['s1', 's2']);
    expect((await store.ssf.listStreams()).map((s) => s.id)).toEqual(['s1', 's3', 's2']);
    await store.ssf.putStream(stream('s1', { description: 'new' }));
    expect((await store.ssf.getStream('s1'))?.description).toBe('new');
    expect(await fan(store, [event('s1', 'j1')])).toBe(true);
    expect(await store.ssf.deleteStream('s1')).toBe(true);
    expect(await store.ssf.deleteStream('s1')).toBe(false);
    expect(await store.ssf.getStream('s1')).toBeUndefined();
    // Re-created under the same id: nothing of the old one is left.
    await store.ssf.putStream(stream('s1'));
    expect(await store.ssf.claimPush(5000, 'w', 9000, 10)).toEqual([]);
  });

  it('fans out by compare-and-set on the cursor, all or nothing', async () => {
    const { store, reopen } = await fresh();
    const other = await reopen();
    await store.ssf.putStream(stream('s1'));
    expect(await store.ssf.cursor()).toBeNull();
    expect(await store.ssf.fanOut({ fromSeq: null, toSeq: 5, events: [], states: [] })).toBe(true);
    const states = [{ sid: 'sid-1', level: 'high', risk: 'LOW' }];
    // Two instances fan the same range out: one wins, the other writes nothing.
    const [a, b] = await Promise.all([
      store.ssf.fanOut({ fromSeq: 5, toSeq: 7, events: [event('s1', 'a')], states }),
      other.ssf.fanOut({ fromSeq: 5, toSeq: 7, events: [event('s1', 'b')], states }),
    ]);
    expect([a, b].sort()).toEqual([false, true]);
    expect(await store.ssf.cursor()).toBe(7);
    const queued = await store.ssf.claimPush(5000, 'w', 9000, 10);
    expect(queued.map((e) => e.jti)).toEqual([a ? 'a' : 'b']);
    expect(await store.ssf.subjectStates(['sid-1', 'sid-2'])).toEqual(states);
  });

  it('queues nothing for a missing or disabled stream, and disabling drops the queue', async () => {
    const { store } = await fresh();
    await store.ssf.putStream(stream('s1'));
    await store.ssf.putStream(stream('off', { status: 'disabled' }));
    expect(await fan(store, [event('s1', 'a'), event('off', 'b'), event('gone', 'c')])).toBe(true);
    expect(await store.ssf.enqueue(event('off', 'd'))).toBe(false);
    expect(await store.ssf.enqueue(event('gone', 'e'))).toBe(false);
    expect(await store.ssf.enqueue(event('s1', 'f'))).toBe(true);
    expect(await store.ssf.enqueue(event('s1', 'f'))).toBe(false);
    await store.ssf.putStream(stream('s1', { status: 'disabled' }));
    await store.ssf.putStream(stream('s1', { status: 'enabled' }));
    expect(await store.ssf.claimPush(5000, 'w', 9000, 10)).toEqual([]);
  });

  it('leases a due push event to one owner at a time, and settles it only for that owner', async () => {
    const { store, reopen } = await fresh();
    const other = await reopen();
    await store.ssf.putStream(stream('s1'));
    await store.ssf.putStream(stream('paused', { status: 'paused' }));
    await store.ssf.putStream(stream('polled', { deliveryMethod: 'poll', endpointUrl: null }));
    await fan(store, [event('s1', 'a'), event('paused', 'p'), event('polled', 'q')]);
    const [x, y] = await Promise.all([
      store.ssf.claimPush(5000, 'one', 9000, 10),
      other.ssf.claimPush(5000, 'two', 9000, 10),
    ]);
    // Exactly one instance got it; paused and poll streams' events are not pushed.
    expect([...x, ...y].map((e) => e.jti)).toEqual(['a']);
    const claimed = [...x, ...y][0]!;
    expect(claimed).toMatchObject({
      streamId: 's1',
      set: 'set-of-a',
      attempts: 0,
      endpointUrl: 'https://bank.example/ssf',
      authorizationHeader: 'Bearer receiver-secret',
    });
    const owner = x.length === 1 ? 'one' : 'two';
    const thief = owner === 'one' ? 'two' : 'one';
    expect(await store.ssf.claimPush(8999, thief, 20_000, 10)).toEqual([]);
    expect(await store.ssf.settlePush('s1', 'a', thief, { kind: 'delivered' })).toBe(false);
    // Retry: due again at `at`, attempts counted, lease released.
    const retry = { kind: 'retry', at: 12_000, error: 'HTTP 500' } as const;
    expect(await store.ssf.settlePush('s1', 'a', owner, retry)).toBe(true);
    expect(await store.ssf.claimPush(11_999, thief, 20_000, 10)).toEqual([]);
    const again = await store.ssf.claimPush(12_000, thief, 20_000, 10);
    expect(again.map((e) => [e.jti, e.attempts])).toEqual([['a', 1]]);
    // Dead: removed, a dead letter written with the attempts made.
    const dead = { kind: 'dead', at: 13_000, error: 'HTTP 500' } as const;
    expect(await store.ssf.settlePush('s1', 'a', thief, dead)).toBe(true);
    expect(await store.ssf.claimPush(99_000, owner, 100_000, 10)).toEqual([]);
    expect(await store.ssf.deadLetters('s1')).toEqual([
      { streamId: 's1', jti: 'a', attempts: 2, error: 'HTTP 500', failedAt: 13_000 },
    ]);
    // Resumed: the paused stream's held event is delivered.
    await store.ssf.putStream(stream('paused'));
    expect((await store.ssf.claimPush(99_000, owner, 100_000, 10)).map((e) => e.jti)).toEqual([
      'p',
    ]);
  });

  it('polls oldest first, removes what is acknowledged, and answers nothing unless enabled', async () => {
    const { store } = await fresh();
    await store.ssf.putStream(stream('s1', { deliveryMethod: 'poll', endpointUrl: null }));
    await fan(
      store,
      ['a', 'b', 'c'].map((j) => event('s1', j)),
    );
    const first = await store.ssf.poll('s1', [], 2);
    expect(first.events.map((e) => e.jti)).toEqual(['a', 'b']);
    expect(first.more).toBe(true);
    // Unacknowledged events come again; acknowledged ones never.
    const second = await store.ssf.poll('s1', ['a', 'b'], 2);
    expect(second.events.map((e) => [e.jti, e.set])).toEqual([['c', 'set-of-c']]);
    expect(second.more).toBe(false);
    await store.ssf.putStream(stream('s1', { deliveryMethod: 'poll', status: 'paused' }));
    expect(await store.ssf.poll('s1', [], 10)).toEqual({ events: [], more: false });
    await store.ssf.putStream(stream('s1', { deliveryMethod: 'poll', endpointUrl: null }));
    expect((await store.ssf.poll('s1', ['c'], 10)).events).toEqual([]);
    expect(await store.ssf.poll('unknown', ['c'], 10)).toEqual({ events: [], more: false });
  });
});
