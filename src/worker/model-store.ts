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
  createdAt: number;
}

interface ModelDb extends DBSchema {
  windows: { key: number; value: StoredWindow; indexes: { modality: Modality } };
  models: { key: Modality; value: { modality: Modality; json: unknown; savedAt: number } };
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

  async windows(modality: Modality, featureSchema: number): Promise<number[][]> {
    const all = await this.db.getAllFromIndex('windows', 'modality', modality);
    return all.filter((w) => w.featureSchema === featureSchema).map((w) => w.vector);
  }

  async saveModel(modality: Modality, json: unknown): Promise<void> {
    await this.db.put('models', { modality, json, savedAt: Date.now() });
  }

  async loadModel(modality: Modality): Promise<unknown | null> {
    return (await this.db.get('models', modality))?.json ?? null;
  }
}
