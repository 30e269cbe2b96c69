import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { ModelStore, type StoredWindow } from './model-store';

let n = 0;
const freshName = () => `tacit-model-test-${++n}`;
const window = (
  subject: string,
  modality: StoredWindow['modality'] = 'keystroke',
): StoredWindow => ({
  subject,
  modality,
  featureSchema: 2,
  vector: [1, 2, 3],
  steps: [0.1, 0.2],
  stepCount: 1,
  sequenceSchema: 1,
  createdAt: 1,
});

describe('ModelStore', () => {
  it('keeps the model a refit replaced, for one rollback', async () => {
    const store = await ModelStore.open(freshName());
    expect(await store.rollbackModel('alice', 'keystroke')).toBe(false);
    await store.saveModel('alice', 'keystroke', { v: 1 }, { e: 1 });
    await store.saveModel('alice', 'keystroke', { v: 2 });
    await store.saveModel('alice', 'keystroke', { v: 3 });
    expect(await store.loadModel('alice', 'keystroke')).toEqual({ json: { v: 3 } });
    expect(await store.rollbackModel('alice', 'keystroke')).toBe(true);
    expect(await store.loadModel('alice', 'keystroke')).toEqual({ json: { v: 2 } });
    // One level: the model before that is gone, and a rollback is not repeated.
    expect(await store.rollbackModel('alice', 'keystroke')).toBe(false);
    expect(await store.loadModel('alice', 'keystroke')).toEqual({ json: { v: 2 } });
    expect(await store.counts()).toEqual({ windows: {}, models: { alice: 1 } });
    store.close();
  });

  it('replaces the oldest grown windows of one subject and modality, never the first `keep`', async () => {
    const store = await ModelStore.open(freshName());
    for (let i = 0; i < 6; i++)
      await store.addWindow({ ...window('alice'), vector: [i], createdAt: i });
    await store.addWindow({ ...window('alice', 'pointer'), vector: [99] });
    await store.addWindow({ ...window('bob'), vector: [42] });
    expect(await store.replaceOldest('alice', 'keystroke', 2, 3)).toBe(3);
    const left = await store.windows('alice', 'keystroke', 2, 1);
    expect(left.map((w) => w.vector)).toEqual([[0], [1], [5]]);
    // Never more than exist after `keep`; other modalities and subjects untouched.
    expect(await store.replaceOldest('alice', 'keystroke', 2, 5)).toBe(1);
    expect((await store.windows('alice', 'keystroke', 2, 1)).map((w) => w.vector)).toEqual([
      [0],
      [1],
    ]);
    expect(await store.counts()).toEqual({ windows: { alice: 3, bob: 1 }, models: {} });
    store.close();
  });

  it('keeps pointer block features and the block scorer, sealed, and drops blocks of another version', async () => {
    const store = await ModelStore.open(freshName());
    await store.addWindow({ ...window('alice', 'pointer'), block: [4, 5], blockVersion: 1 });
    await store.addWindow({ ...window('alice', 'pointer'), block: [6, 7], blockVersion: 0 });
    expect(await store.windows('alice', 'pointer', 2, 1, 1)).toEqual([
      { vector: [1, 2, 3], steps: { steps: [0.1, 0.2], n: 1 }, block: [4, 5] },
      { vector: [1, 2, 3], steps: { steps: [0.1, 0.2], n: 1 } },
    ]);
    await store.saveModel('alice', 'pointer', { d: 1 }, { e: 1 }, { featureSchema: 2 }, { b: 1 });
    expect(await store.loadModel('alice', 'pointer')).toEqual({
      json: { d: 1 },
      embedding: { e: 1 },
      block: { b: 1 },
    });
    store.close();
  });

  it("keeps each subject's windows and models apart", async () => {
    const store = await ModelStore.open(freshName());
    await store.addWindow(window('alice'));
    await store.addWindow(window('alice'));
    await store.addWindow(window('bob'));
    await store.addWindow(window('alice', 'pointer'));
    expect(await store.windows('alice', 'keystroke', 2, 1)).toHaveLength(2);
    expect(await store.windows('bob', 'keystroke', 2, 1)).toEqual([
      { vector: [1, 2, 3], steps: { steps: [0.1, 0.2], n: 1 } },
    ]);
    expect(await store.windows('bob', 'pointer', 2, 1)).toEqual([]);
    expect(await store.windows('alice', 'keystroke', 3, 1)).toEqual([]); // another feature schema
    await store.saveModel('alice', 'keystroke', { a: 1 });
    expect(await store.loadModel('alice', 'keystroke')).toEqual({ json: { a: 1 } });
    expect(await store.loadModel('bob', 'keystroke')).toBeNull();
    expect(await store.counts()).toEqual({ windows: { alice: 3, bob: 1 }, models: { alice: 1 } });
    store.close();
  });

  it('seals vectors, steps and models: the raw records hold only subject, modality and times', async () => {
    const name = freshName();
    const store = await ModelStore.open(name);
    await store.addWindow({ ...window('alice'), vector: [123.456, 789.012] });
    await store.saveModel('alice', 'keystroke', { weights: 'secret-weights' }, undefined, {
      featureSchema: 2,
    });
    const raw = await openDB(name);
    const records = [...(await raw.getAll('windows')), ...(await raw.getAll('models'))];
    raw.close();
    for (const record of records) {
      const clear = JSON.stringify({ ...record, data: undefined, iv: undefined });
      expect(clear).not.toMatch(/123\.456|789\.012|secret-weights|vector|steps/);
      expect(record.data).toBeInstanceOf(ArrayBuffer);
    }
    expect(await store.windows('alice', 'keystroke', 2, 1)).toEqual([
      { vector: [123.456, 789.012], steps: { steps: [0.1, 0.2], n: 1 } },
    ]);
    expect(await store.loadModel('alice', 'keystroke')).toEqual({
      json: { weights: 'secret-weights' },
    });
    store.close();
  });

  it('keeps its key across reopening, and a deleted store takes its key with it', async () => {
    const name = freshName();
    const first = await ModelStore.open(name);
    await first.addWindow(window('alice'));
    first.close();
    const again = await ModelStore.open(name);
    expect(await again.windows('alice', 'keystroke', 2, 1)).toHaveLength(1);
    await again.destroy();
    const fresh = await ModelStore.open(name);
    expect(await fresh.counts()).toEqual({ windows: {}, models: {} });
    fresh.close();
  });

  it('retention deletes windows older than the cutoff and models unused since', async () => {
    const store = await ModelStore.open(freshName());
    await store.addWindow({ ...window('alice'), createdAt: 1000 });
    await store.addWindow({ ...window('alice'), createdAt: 5000 });
    await store.addWindow({ ...window('bob'), createdAt: 2000 });
    await store.saveModel('alice', 'keystroke', {}, undefined, { featureSchema: 2 });
    expect(await store.deleteOlderThan(3000)).toEqual({ windows: 2, models: 0 });
    expect(await store.counts()).toEqual({ windows: { alice: 1 }, models: { alice: 1 } });
    expect(await store.deleteOlderThan(Date.now() + 1)).toEqual({ windows: 1, models: 1 });
    store.close();
  });

  it('describes what it holds without opening a record', async () => {
    const store = await ModelStore.open(freshName());
    await store.addWindow({ ...window('alice'), createdAt: 1000 });
    await store.addWindow({ ...window('alice'), createdAt: 3000 });
    await store.addWindow({ ...window('alice', 'pointer'), createdAt: 2000 });
    await store.saveModel('alice', 'keystroke', {}, { e: 1 }, { featureSchema: 2 });
    const description = await store.describe();
    expect(description.windows).toEqual([
      { subject: 'alice', modality: 'keystroke', count: 2, oldestAt: 1000, newestAt: 3000 },
      { subject: 'alice', modality: 'pointer', count: 1, oldestAt: 2000, newestAt: 2000 },
    ]);
    expect(description.models).toEqual([
      expect.objectContaining({
        subject: 'alice',
        modality: 'keystroke',
        featureSchema: 2,
        hasEmbedding: true,
      }),
    ]);
    store.close();
  });

  it("migration 3 drops version 1's windows and models, which no bank vouched for", async () => {
    const name = freshName();
    const v1 = await openDB(name, 1, {
      upgrade(db) {
        db.createObjectStore('windows', { autoIncrement: true }).createIndex(
          'modality',
          'modality',
        );
        db.createObjectStore('models', { keyPath: 'modality' });
      },
    });
    await v1.add('windows', { modality: 'keystroke', featureSchema: 2, vector: [1], createdAt: 1 });
    await v1.put('models', { modality: 'keystroke', json: {}, savedAt: 1 });
    v1.close();
    const store = await ModelStore.open(name);
    expect(await store.counts()).toEqual({ windows: {}, models: {} });
    await store.addWindow(window('alice'));
    expect(await store.counts()).toEqual({ windows: { alice: 1 }, models: {} });
    store.close();
  });

  it('keeps a sealed federated target per subject; retention drops it with the model or the last window', async () => {
    const name = freshName();
    const store = await ModelStore.open(name);
    const target = Float32Array.from({ length: 48 }, (_, i) => Math.cos(i) / 5);
    const meta = { sequenceSchema: 1, encoderId: 'keystroke:v1' };
    expect(await store.loadTarget('alice', 'keystroke', 1)).toBeUndefined();
    await store.saveTarget('alice', 'keystroke', target, meta);
    await store.saveTarget('bob', 'keystroke', target, meta);
    await store.saveTarget('carol', 'keystroke', target, meta);
    expect(await store.loadTarget('alice', 'keystroke', 1)).toEqual(target);
    // Made from sequences of another schema: not used (a new one is made).
    expect(await store.loadTarget('alice', 'keystroke', 2)).toBeUndefined();
    const raw = await openDB(name);
    for (const record of await raw.getAll('targets')) {
      expect(Object.keys(record).sort()).toEqual([
        'createdAt',
        'data',
        'iv',
        'modality',
        'subject',
      ]);
    }
    raw.close();

    // alice: a model used long ago (retention deletes it: re-enrolment); bob: windows only,
    // all old (the subject is gone); carol: a recent window keeps hers.
    await store.saveModel('alice', 'keystroke', {}, undefined, { featureSchema: 2 });
    await store.addWindow({ ...window('alice'), createdAt: Date.now() + 120_000 });
    await store.addWindow({ ...window('bob'), createdAt: 1000 });
    await store.addWindow({ ...window('carol'), createdAt: 1000 });
    await store.addWindow({ ...window('carol'), createdAt: Date.now() + 120_000 });
    expect(await store.deleteOlderThan(Date.now() + 60_000)).toEqual({ windows: 2, models: 1 });
    expect(await store.loadTarget('alice', 'keystroke', 1)).toBeUndefined();
    expect(await store.loadTarget('bob', 'keystroke', 1)).toBeUndefined();
    expect(await store.loadTarget('carol', 'keystroke', 1)).toEqual(target);
    await store.deleteTarget('carol', 'keystroke');
    expect(await store.loadTarget('carol', 'keystroke', 1)).toBeUndefined();
    // Delete everything: the store, its key and every target.
    await store.saveTarget('carol', 'keystroke', target, meta);
    await store.destroy();
    const fresh = await ModelStore.open(name);
    expect(await fresh.loadTarget('carol', 'keystroke', 1)).toBeUndefined();
    fresh.close();
  });

  it('migration 4 adds the targets and keeps the windows and models of version 3', async () => {
    const name = freshName();
    // The database as a version-3 build left it (migration 3's stores and indexes).
    const v3 = await openDB(name, 3, {
      upgrade(db) {
        const windows = db.createObjectStore('windows', { autoIncrement: true });
        windows.createIndex('subject-modality', ['subject', 'modality']);
        windows.createIndex('createdAt', 'createdAt');
        db.createObjectStore('models', { keyPath: ['subject', 'modality'] }).createIndex(
          'usedAt',
          'usedAt',
        );
        db.createObjectStore('keys');
      },
    });
    const sealed = { iv: new Uint8Array(12), data: new ArrayBuffer(16) };
    await v3.add('windows', { subject: 'alice', modality: 'keystroke', createdAt: 1, ...sealed });
    await v3.put('models', {
      subject: 'alice',
      modality: 'keystroke',
      featureSchema: 2,
      hasEmbedding: true,
      savedAt: 1,
      usedAt: 1,
      ...sealed,
    });
    v3.close();
    const store = await ModelStore.open(name);
    expect(await store.counts()).toEqual({ windows: { alice: 1 }, models: { alice: 1 } });
    expect(await store.loadTarget('alice', 'keystroke', 1)).toBeUndefined();
    await store.saveTarget('alice', 'keystroke', new Float32Array(48).fill(0.1), {
      sequenceSchema: 1,
      encoderId: 'e',
    });
    expect(await store.loadTarget('alice', 'keystroke', 1)).toHaveLength(48);
    store.close();
  });
});
