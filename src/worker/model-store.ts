/**
 * What the worker keeps on the device, in IndexedDB: enrolment feature windows (never raw
 * events, never keys), trained per-user models and the federated round's kept target, one set
 * per subject (a `subjectKey` from the service worker: one per verification server and subject).
 * Vectors, steps, models and targets are sealed with the store's non-extractable AES-GCM key
 * (sealed.ts); only the subject key, the modality and times are in the clear. Numbered
 * migrations in `upgrade`.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StoreDescription } from '../shared/protocol';
import { newDataKey, open, seal, type Sealed } from './sealed';

export type Modality = 'keystroke' | 'pointer';

export interface StoredWindow {
  /** The subject whose model this window trains (LearningContext.subjectKey). */
  subject: string;
  modality: Modality;
  featureSchema: number;
  vector: number[];
  /** The window's step sequence (model/features/sequence.ts), for the shared encoder. */
  steps?: number[];
  stepCount?: number;
  /** `SEQUENCE_SCHEMA_VERSION` of `steps`; windows of another version are not used for it. */
  sequenceSchema?: number;
  /** Pointer windows: block features (model/pointer/block-features.ts), for the block scorer. */
  block?: number[];
  /** `BLOCK_FEATURE_VERSION` of `block`; windows of another version are not used for it. */
  blockVersion?: number;
  createdAt: number;
}

/** What a stored enrolment window gives back: its vector and, when present, its steps and block. */
export interface EnrolWindow {
  vector: number[];
  steps?: { steps: number[]; n: number };
  block?: number[];
}

export interface StoredModel {
  subject: string;
  modality: Modality;
  json: unknown;
  embedding?: unknown;
  savedAt: number;
}

/** What is sealed inside a stored window. */
interface WindowBody {
  featureSchema: number;
  vector: number[];
  steps?: number[];
  stepCount?: number;
  sequenceSchema?: number;
  block?: number[];
  blockVersion?: number;
}

/** A window record: who and when in the clear (indexes, retention, counts), the rest sealed. */
interface WindowRecord extends Sealed {
  subject: string;
  modality: Modality;
  createdAt: number;
}

/** A model record: metadata in the clear (export, retention), the models sealed. */
interface ModelRecord extends Sealed {
  subject: string;
  modality: Modality;
  featureSchema: number;
  hasEmbedding: boolean;
  savedAt: number;
  /** Last time the model scored a window, updated at most once a day (retention). */
  usedAt: number;
  /** The model this one replaced (template growth), sealed as it was, for `rollbackModel`. */
  previous?: Sealed & { featureSchema: number; hasEmbedding: boolean; savedAt: number };
}

/**
 * A subject's kept federated target (docs/federated.md "Device state"): made under the first
 * encoder version the device trained for the subject (`roundTarget`), never sent; sealed. The
 * target is derived from the user's embeddings and a secret code word, so it is kept exactly
 * like a per-user model.
 */
interface TargetRecord extends Sealed {
  subject: string;
  modality: Modality;
  createdAt: number;
}

/** What is sealed inside a target record. */
interface TargetBody {
  version: 1;
  target: number[];
  /** `SEQUENCE_SCHEMA_VERSION` of the sequences it was computed from. */
  sequenceSchema: number;
  /** The encoder version it was made under (the first the device trained). */
  encoderId: string;
}

interface ModelDb extends DBSchema {
  windows: {
    key: number;
    value: WindowRecord;
    indexes: { 'subject-modality': [string, Modality]; createdAt: number };
  };
  models: { key: [string, Modality]; value: ModelRecord; indexes: { usedAt: number } };
  keys: { key: string; value: CryptoKey };
  targets: { key: [string, Modality]; value: TargetRecord };
}

/** What the store holds, by subject (for tests, export and the e2e checks). */
export interface StoreCounts {
  windows: Record<string, number>;
  models: Record<string, number>;
}

export const MODEL_DB_NAME = 'tacit-model';
const DATA_KEY_ID = 'data';
const DAY_MS = 86_400_000;

const windowAad = (subject: string, modality: Modality) =>
  `tacit-window\u0000${subject}\u0000${modality}`;
const modelAad = (subject: string, modality: Modality) =>
  `tacit-model\u0000${subject}\u0000${modality}`;
const targetAad = (subject: string, modality: Modality) =>
  `tacit-target\u0000${subject}\u0000${modality}`;

export class ModelStore {
  private constructor(
    private readonly db: IDBPDatabase<ModelDb>,
    private readonly key: CryptoKey,
    readonly name: string,
  ) {}

  static async open(name = MODEL_DB_NAME): Promise<ModelStore> {
    const db = await openDB<ModelDb>(name, 4, {
      upgrade(database, oldVersion) {
        const raw = database as unknown as IDBDatabase;
        if (oldVersion === 1 || oldVersion === 2) {
          // Version 1 kept one model per browser profile, trained by whoever typed first, bank
          // session or not: it cannot be attributed to a subject the bank vouched for. Version 2
          // (development builds only) kept records in the clear. Both are dropped: enrol again.
          // Guarded: an empty version-1 database (opened without a version) has no stores.
          for (const store of ['windows', 'models']) {
            if (raw.objectStoreNames.contains(store)) raw.deleteObjectStore(store);
          }
        }
        if (oldVersion < 3) {
          const windows = database.createObjectStore('windows', { autoIncrement: true });
          windows.createIndex('subject-modality', ['subject', 'modality']);
          windows.createIndex('createdAt', 'createdAt');
          database
            .createObjectStore('models', { keyPath: ['subject', 'modality'] })
            .createIndex('usedAt', 'usedAt');
          database.createObjectStore('keys');
        }
        if (oldVersion < 4) {
          // 4: the federated round's kept target per subject and modality (nothing to migrate:
          // a device that trained before kept none, and makes one in its next round).
          database.createObjectStore('targets', { keyPath: ['subject', 'modality'] });
        }
      },
    });
    let key = await db.get('keys', DATA_KEY_ID);
    if (key === undefined) {
      const fresh = await newDataKey();
      try {
        await db.add('keys', fresh, DATA_KEY_ID);
        key = fresh;
      } catch {
        // Another context made one first: use theirs.
        key = await db.get('keys', DATA_KEY_ID);
        if (key === undefined) throw new Error('model store key could not be stored');
      }
    }
    return new ModelStore(db, key, name);
  }

  async addWindow(window: StoredWindow): Promise<void> {
    const { subject, modality, createdAt, ...body } = window;
    const sealed = await seal(this.key, body satisfies WindowBody, windowAad(subject, modality));
    await this.db.add('windows', { subject, modality, createdAt, ...sealed });
  }

  async windows(
    subject: string,
    modality: Modality,
    featureSchema: number,
    sequenceSchema: number,
    blockVersion = -1,
  ): Promise<EnrolWindow[]> {
    const records = await this.db.getAllFromIndex('windows', 'subject-modality', [
      subject,
      modality,
    ]);
    const out: EnrolWindow[] = [];
    for (const record of records) {
      const w = await this.unseal<WindowBody>(record, windowAad(subject, modality));
      if (w === null || w.featureSchema !== featureSchema) continue;
      const enrol: EnrolWindow = { vector: w.vector };
      if (w.steps !== undefined && w.stepCount !== undefined && w.sequenceSchema === sequenceSchema)
        enrol.steps = { steps: w.steps, n: w.stepCount };
      if (w.block !== undefined && w.blockVersion === blockVersion) enrol.block = w.block;
      out.push(enrol);
    }
    return out;
  }

  /**
   * Deletes the `count` oldest windows of a subject's modality after its first `keep` (the
   * enrolment, never replaced): the drift rule's replacement once the template is full
   * (model/product/drift.ts `windowsToReplace`). Returns how many were deleted.
   */
  async replaceOldest(
    subject: string,
    modality: Modality,
    keep: number,
    count: number,
  ): Promise<number> {
    if (count <= 0) return 0;
    const tx = this.db.transaction('windows', 'readwrite');
    const range = IDBKeyRange.only([subject, modality]);
    let seen = 0;
    let deleted = 0;
    // The index walks a subject's windows in insertion order (ascending primary key).
    for (
      let c = await tx.store.index('subject-modality').openCursor(range);
      c && deleted < count;
      c = await c.continue()
    ) {
      if (seen++ < keep) continue;
      await c.delete();
      deleted++;
    }
    await tx.done;
    return deleted;
  }

  /** Saves a subject's detector model for a modality and (optionally) its embedding model. */
  async saveModel(
    subject: string,
    modality: Modality,
    json: unknown,
    embedding?: unknown,
    meta: { featureSchema: number } = { featureSchema: 0 },
    block?: unknown,
  ): Promise<void> {
    const now = Date.now();
    const sealed = await seal(this.key, { json, embedding, block }, modelAad(subject, modality));
    const tx = this.db.transaction('models', 'readwrite');
    const current = await tx.store.get([subject, modality]);
    // The model this one replaces is kept (sealed as it was) for `rollbackModel`: one level only.
    const previous =
      current === undefined
        ? undefined
        : {
            iv: current.iv,
            data: current.data,
            featureSchema: current.featureSchema,
            hasEmbedding: current.hasEmbedding,
            savedAt: current.savedAt,
          };
    await tx.store.put({
      subject,
      modality,
      featureSchema: meta.featureSchema,
      hasEmbedding: embedding !== undefined,
      savedAt: now,
      usedAt: now,
      ...sealed,
      ...(previous === undefined ? {} : { previous }),
    });
    await tx.done;
  }

  /**
   * Puts back the model the current one replaced (template growth went wrong, drift was
   * refused); returns false when there is none. The rolled-back model keeps no previous.
   */
  async rollbackModel(subject: string, modality: Modality): Promise<boolean> {
    const tx = this.db.transaction('models', 'readwrite');
    const current = await tx.store.get([subject, modality]);
    if (current?.previous === undefined) {
      await tx.done;
      return false;
    }
    const { previous, ...rest } = current;
    await tx.store.put({ ...rest, ...previous });
    await tx.done;
    return true;
  }

  async loadModel(
    subject: string,
    modality: Modality,
  ): Promise<{ json: unknown; embedding?: unknown; block?: unknown } | null> {
    const record = await this.db.get('models', [subject, modality]);
    if (record === undefined) return null;
    const body = await this.unseal<{ json: unknown; embedding?: unknown; block?: unknown }>(
      record,
      modelAad(subject, modality),
    );
    if (body === null) return null;
    return {
      json: body.json,
      ...(body.embedding === undefined ? {} : { embedding: body.embedding }),
      ...(body.block === undefined ? {} : { block: body.block }),
    };
  }

  /** Records that a subject's models scored now; written at most once a day per model. */
  async markUsed(subject: string, now = Date.now()): Promise<void> {
    const tx = this.db.transaction('models', 'readwrite');
    for (const modality of ['keystroke', 'pointer'] as const) {
      const record = await tx.store.get([subject, modality]);
      if (record !== undefined && now - record.usedAt >= DAY_MS)
        await tx.store.put({ ...record, usedAt: now });
    }
    await tx.done;
  }

  /**
   * Deletes windows created, and models last used, before `cutoff` (ms); returns how many. A
   * kept target goes with its subject's model (the next model is a re-enrolment), and with the
   * subject's last window of its modality when no model is left (the subject is gone).
   */
  async deleteOlderThan(cutoff: number): Promise<{ windows: number; models: number }> {
    const tx = this.db.transaction(['windows', 'models', 'targets'], 'readwrite');
    let windows = 0;
    let models = 0;
    const range = IDBKeyRange.upperBound(cutoff, true);
    for (
      let c = await tx.objectStore('windows').index('createdAt').openCursor(range);
      c;
      c = await c.continue()
    ) {
      await c.delete();
      windows++;
    }
    const targets = tx.objectStore('targets');
    for (
      let c = await tx.objectStore('models').index('usedAt').openCursor(range);
      c;
      c = await c.continue()
    ) {
      await targets.delete([c.value.subject, c.value.modality]);
      await c.delete();
      models++;
    }
    for (let c = await targets.openCursor(); c; c = await c.continue()) {
      const key: [string, Modality] = [c.value.subject, c.value.modality];
      const left =
        (await tx.objectStore('models').count(key)) +
        (await tx.objectStore('windows').index('subject-modality').count(key));
      if (left === 0) await c.delete();
    }
    await tx.done;
    return { windows, models };
  }

  /** Keeps a subject's federated target (sealed), replacing any before. */
  async saveTarget(
    subject: string,
    modality: Modality,
    target: Float32Array,
    meta: { sequenceSchema: number; encoderId: string },
  ): Promise<void> {
    const body: TargetBody = { version: 1, target: Array.from(target), ...meta };
    const sealed = await seal(this.key, body, targetAad(subject, modality));
    await this.db.put('targets', { subject, modality, createdAt: Date.now(), ...sealed });
  }

  /**
   * A subject's kept target; undefined when there is none, or when it was made from sequences of
   * another schema (a new one is then made from the current sequences).
   */
  async loadTarget(
    subject: string,
    modality: Modality,
    sequenceSchema: number,
  ): Promise<Float32Array | undefined> {
    const record = await this.db.get('targets', [subject, modality]);
    if (record === undefined) return undefined;
    const body = await this.unseal<TargetBody>(record, targetAad(subject, modality));
    if (body?.version !== 1 || body.sequenceSchema !== sequenceSchema) return undefined;
    return Float32Array.from(body.target);
  }

  /** Drops a subject's kept target (its per-user model starts again: re-enrolment). */
  async deleteTarget(subject: string, modality: Modality): Promise<void> {
    await this.db.delete('targets', [subject, modality]);
  }

  async counts(): Promise<StoreCounts> {
    const description = await this.describe();
    const out: StoreCounts = { windows: {}, models: {} };
    for (const w of description.windows)
      out.windows[w.subject] = (out.windows[w.subject] ?? 0) + w.count;
    for (const m of description.models) out.models[m.subject] = (out.models[m.subject] ?? 0) + 1;
    return out;
  }

  /** Metadata only: read from the records' clear fields, nothing is opened. */
  async describe(): Promise<StoreDescription> {
    const groups = new Map<string, StoreDescription['windows'][number]>();
    const tx = this.db.transaction(['windows', 'models']);
    for (let c = await tx.objectStore('windows').openCursor(); c; c = await c.continue()) {
      const { subject, modality, createdAt } = c.value;
      const id = `${subject}\u0000${modality}`;
      const group = groups.get(id);
      if (group === undefined)
        groups.set(id, { subject, modality, count: 1, oldestAt: createdAt, newestAt: createdAt });
      else {
        group.count++;
        group.oldestAt = Math.min(group.oldestAt, createdAt);
        group.newestAt = Math.max(group.newestAt, createdAt);
      }
    }
    const models = (await tx.objectStore('models').getAll()).map(
      ({ subject, modality, featureSchema, hasEmbedding, savedAt, usedAt }) => ({
        subject,
        modality,
        featureSchema,
        hasEmbedding,
        savedAt,
        usedAt,
      }),
    );
    await tx.done;
    return { windows: [...groups.values()], models };
  }

  private async unseal<T>(record: Sealed, aad: string): Promise<T | null> {
    try {
      return await open<T>(this.key, record, aad);
    } catch {
      // A record this key cannot open (corrupt, or moved from another subject) is not used.
      console.warn('[tacit] stored record could not be opened');
      return null;
    }
  }

  close(): void {
    this.db.close();
  }

  /** Closes and deletes the whole store, its key included ("delete everything"). */
  async destroy(): Promise<void> {
    this.db.close();
    await ModelStore.destroy(this.name);
  }

  /** Deletes the store `name` (every connection must be closed, or this waits for them). */
  static async destroy(name: string = MODEL_DB_NAME): Promise<void> {
    await deleteDB(name, {
      blocked() {
        console.warn('[tacit] model store deletion waits for an open connection');
      },
    });
  }
}
