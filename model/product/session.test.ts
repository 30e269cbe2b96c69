import { describe, expect, it } from 'vitest';
import { FEATURE_SPECS } from '../features/schema';
import { createRng, gaussian } from '../random';
import { DRIFT, EMPTY_DRIFT_STATE, templateAnchor } from './drift';
import { PRODUCT } from './scorer';
import { ProductSession, judgeGrowthBatch } from './session';

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
