import { describe, expect, it } from 'vitest';
import { FEATURE_SPECS } from '../features/schema';
import { createRng, gaussian } from '../random';
import { DRIFT, EMPTY_DRIFT_STATE, templateAnchor } from './drift';
import { PRODUCT } from './scorer';
import { GrowthPool, ProductSession, judgeGrowthBatch } from './session';

const { refitEvery, maxEnrollWindows } = PRODUCT.growth;

describe('ProductSession', () => {
  it('hands over a batch every `refitEvery` windows while the session stays safe', () => {
    const session = new ProductSession<number>();
    expect(session.decision).toBeUndefined();
    const batches = [];
    for (let i = 0; i < 2 * refitEvery + 3; i++) {
      const step = session.score('keystroke', i, 2);
      expect(step.confidence).toBeGreaterThan(0.9);
      if (step.batch !== null) batches.push(step.batch);
    }
    expect(batches).toHaveLength(2);
    expect(batches[1]).toMatchObject({ modality: 'keystroke', confirmed: false });
    expect(batches[1]!.items.map((x) => x.window)).toEqual(
      Array.from({ length: refitEvery }, (_, i) => refitEvery + i),
    );
    expect(session.decision!.windows.keystroke).toBe(2 * refitEvery + 3);
  });

  it('learns nothing more once the session fell below the safe level, until a confirmation', () => {
    const session = new ProductSession<number>();
    for (let i = 0; i < refitEvery - 1; i++) session.score('keystroke', i, 2);
    // Two windows at the clamp fire the decision (docs/model.md §5a).
    session.score('keystroke', -1, -3);
    const fired = session.score('keystroke', -2, -3);
    expect(fired.decision.takeover).toBe(true);
    expect(session.dipped).toBe(true);
    for (let i = 0; i < 3 * refitEvery; i++) {
      const step = session.score('keystroke', i, 3);
      expect(step.batch).toBeNull();
      expect(step.decision.takeover).toBe(true); // sticky until the bank clears it
    }
    // The bank confirms: a new epoch, growth from the next window only, marked confirmed.
    expect(session.confirm()).toBe(true);
    expect(session.confirm()).toBe(false); // nothing scored since
    expect(session.decision).toBeUndefined();
    expect(session.dipped).toBe(false);
    let batch = null;
    for (let i = 100; batch === null; i++) batch = session.score('keystroke', i, 2).batch;
    expect(batch.items.map((x) => x.window)[0]).toBe(100);
    expect(batch).toMatchObject({ confirmed: true });
    expect(batch.minConfidence).toBeGreaterThan(0.9);
  });
});

describe('GrowthPool: batches across sessions', () => {
  it('carries what a safe session left into the next session’s batch', () => {
    const pool = new GrowthPool<number>();
    const first = new ProductSession(pool);
    for (let i = 0; i < refitEvery - 3; i++)
      expect(first.score('keystroke', i, 2).batch).toBeNull();
    expect(pool.size('keystroke')).toBe(refitEvery - 3);
    // The session ends above the safe level; the next one, a little less sure of the user
    // (slightly negative LLRs, still safe), completes the batch.
    const second = new ProductSession(pool);
    const confidences: number[] = [];
    let batch = null;
    for (let i = 100; batch === null; i++) {
      const step = second.score('keystroke', i, -0.5);
      confidences.push(step.confidence);
      batch = step.batch;
    }
    expect(batch.items.map((x) => x.window)).toEqual([
      ...Array.from({ length: refitEvery - 3 }, (_, i) => i),
      100,
      101,
      102,
    ]);
    // The lowest confidence of either session, each up to its own windows.
    expect(Math.min(...confidences)).toBeGreaterThanOrEqual(PRODUCT.growth.safeLevel);
    expect(batch.minConfidence).toBe(Math.min(...confidences));
    expect(batch.confirmed).toBe(false);
    expect(pool.size('keystroke')).toBe(0);
  });

  it('a dip drops only the dipping session’s waiting windows; modalities wait apart', () => {
    const pool = new GrowthPool<string>();
    const safe = new ProductSession(pool);
    for (let i = 0; i < 4; i++) safe.score('keystroke', `safe${i}`, 2);
    safe.score('pointer', 'p0', 2);
    const taken = new ProductSession(pool);
    for (let i = 0; i < 3; i++) taken.score('keystroke', `taken${i}`, 2);
    expect(pool.size('keystroke')).toBe(7);
    taken.score('keystroke', 'x', -3);
    taken.score('keystroke', 'y', -3); // fires: below the safe level
    expect(taken.dipped).toBe(true);
    expect(pool.size('keystroke')).toBe(4);
    expect(pool.size('pointer')).toBe(1);
    // A later session completes the batch with the safe session's windows, never the dipped one's.
    const next = new ProductSession(pool);
    let batch = null;
    for (let i = 0; batch === null; i++) batch = next.score('keystroke', `next${i}`, 2).batch;
    expect(batch.items.map((x) => x.window).filter((w) => w.startsWith('taken'))).toEqual([]);
    expect(batch.items.slice(0, 4).map((x) => x.window)).toEqual([
      'safe0',
      'safe1',
      'safe2',
      'safe3',
    ]);
  });

  it('a batch is confirmed only when every window’s epoch was', () => {
    const pool = new GrowthPool<number>();
    const plain = new ProductSession(pool);
    plain.score('keystroke', 0, 2);
    const stepped = new ProductSession(pool);
    stepped.score('keystroke', -1, -3);
    stepped.score('keystroke', -2, -3);
    expect(stepped.confirm()).toBe(true);
    let mixed = null;
    for (let i = 1; mixed === null; i++) mixed = stepped.score('keystroke', i, 2).batch;
    expect(mixed.items[0]!.window).toBe(0);
    expect(mixed.confirmed).toBe(false);
    let confirmed = null;
    for (let i = 50; confirmed === null; i++) confirmed = stepped.score('keystroke', i, 2).batch;
    expect(confirmed.confirmed).toBe(true);
  });

  it('a confirmation drops what its own epoch left waiting, not other sessions’ windows', () => {
    const pool = new GrowthPool<number>();
    const other = new ProductSession(pool);
    other.score('keystroke', 1, 2);
    const session = new ProductSession(pool);
    session.score('keystroke', 2, 2);
    session.score('keystroke', 3, 2);
    expect(pool.size('keystroke')).toBe(3);
    session.confirm();
    expect(pool.size('keystroke')).toBe(1);
  });
});

describe('judgeGrowthBatch', () => {
  const D = FEATURE_SPECS.keystroke.length;
  const rng = createRng(3);
  const windows = (n: number) =>
    Array.from({ length: n }, () =>
      Float32Array.from({ length: D }, () => 100 + 20 * gaussian(rng)),
    );
  const enrolment = windows(PRODUCT.minEnrollWindows.keystroke);
  const anchor = templateAnchor('keystroke', enrolment);

  it('folds the batch into the drift monitor and replaces old grown windows once full', () => {
    const candidates = windows(refitEvery).map((vector) => ({ vector, llr: 1.5 }));
    const room = judgeGrowthBatch(EMPTY_DRIFT_STATE, anchor, enrolment, enrolment.length, {
      candidates,
      minConfidence: 0.95,
      confirmed: false,
    });
    expect(room).toMatchObject({ admission: { admitted: true }, replace: 0 });
    expect(room.drift).toMatchObject({ batches: 1, reference: 1.5 });
    const full = [...enrolment, ...windows(maxEnrollWindows - enrolment.length)];
    const replacing = judgeGrowthBatch(room.drift, anchor, full, enrolment.length, {
      candidates,
      minConfidence: 0.95,
      confirmed: false,
    });
    expect(replacing).toMatchObject({ admission: { admitted: true }, replace: refitEvery });
    const refused = judgeGrowthBatch(room.drift, anchor, full, enrolment.length, {
      candidates,
      minConfidence: DRIFT.learnConfidence - 0.05,
      confirmed: false,
    });
    expect(refused).toMatchObject({ admission: { reason: 'confidence' }, replace: 0 });
  });
});
