/**
 * What the worker keeps on the device, in IndexedDB: enrolment feature windows (never raw
 * events, never keys) and trained per-user models. Numbered migrations in `upgrade`.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export type Modality = 'keystroke' | 'pointer';

export interface StoredWindow {
  modality: Modality;
  featureSchema: number;
  vector: number[];
  /** The window's step sequence (model/features/sequence.ts), for the shared encoder. */
  steps?: number[];
  stepCount?: number;
  /** `SEQUENCE_SCHEMA_VERSION` of `steps`; windows of another version are not used for it. */
  sequenceSchema?: number;
  createdAt: number;
}

/** What a stored enrolment window gives back: its vector and, when present, its steps. */
export interface EnrolWindow {
  vector: number[];
  steps?: { steps: number[]; n: number };
}

interface ModelDb extends DBSchema {
  windows: { key: number; value: StoredWindow; indexes: { modality: Modality } };
  models: {
    key: Modality;
    value: { modality: Modality; json: unknown; embedding?: unknown; savedAt: number };
  };
}

export class ModelStore {
  private constructor(private readonly db: IDBPDatabase<ModelDb>) {}

  static async open(name = 'tacit-model'): Promise<ModelStore> {
    const db = await openDB<ModelDb>(name, 1, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          const windows = database.createObjectStore('windows', { autoIncrement: true });
          windows.createIndex('modality', 'modality');
          database.createObjectStore('models', { keyPath: 'modality' });
        }
      },
    });
    return new ModelStore(db);
  }

  async addWindow(window: StoredWindow): Promise<void> {
    await this.db.add('windows', window);
  }

  async windows(modality: Modality, featureSchema: number, sequenceSchema: number): Promise<EnrolWindow[]> {
    const all = await this.db.getAllFromIndex('windows', 'modality', modality);
    return all
      .filter((w) => w.featureSchema === featureSchema)
      .map((w) =>
        w.steps !== undefined && w.stepCount !== undefined && w.sequenceSchema === sequenceSchema
          ? { vector: w.vector, steps: { steps: w.steps, n: w.stepCount } }
          : { vector: w.vector },
      );
  }

  /** Saves a modality's detector model and (optionally) its embedding model together. */
  async saveModel(modality: Modality, json: unknown, embedding?: unknown): Promise<void> {
    await this.db.put('models', { modality, json, ...(embedding === undefined ? {} : { embedding }), savedAt: Date.now() });
  }

  async loadModel(modality: Modality): Promise<{ json: unknown; embedding?: unknown } | null> {
    const record = await this.db.get('models', modality);
    if (record === undefined) return null;
    return record.embedding === undefined ? { json: record.json } : { json: record.json, embedding: record.embedding };
  }
}
