import type { Page } from '@playwright/test';

/** What the extension's IndexedDB databases hold: record counts per store, windows per subject. */
export interface StoreSnapshot {
  databases: string[];
  records: Record<string, number>;
  windowsBySubject: Record<string, number>;
  modelsBySubject: Record<string, number>;
}

/**
 * Reads every IndexedDB database of the extension from an extension page (same origin as the
 * worker). Databases are opened only if they exist: opening a missing one would create it.
 */
export function storeSnapshot(page: Page): Promise<StoreSnapshot> {
  return page.evaluate(async () => {
    const snapshot = {
      databases: [] as string[],
      records: {} as Record<string, number>,
      windowsBySubject: {} as Record<string, number>,
      modelsBySubject: {} as Record<string, number>,
    };
    const all = <T>(request: IDBRequest<T>) =>
      new Promise<T>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    for (const info of await indexedDB.databases()) {
      const name = info.name!;
      snapshot.databases.push(name);
      const db = await all(indexedDB.open(name));
      for (const storeName of Array.from(db.objectStoreNames)) {
        const records = (await all(db.transaction(storeName).objectStore(storeName).getAll())) as {
          subject?: string;
        }[];
        snapshot.records[`${name}/${storeName}`] = records.length;
        if (name === 'tacit-model' && (storeName === 'windows' || storeName === 'models')) {
          const into =
            storeName === 'windows' ? snapshot.windowsBySubject : snapshot.modelsBySubject;
          for (const r of records) into[r.subject!] = (into[r.subject!] ?? 0) + 1;
        }
      }
      db.close();
    }
    return snapshot;
  });
}
