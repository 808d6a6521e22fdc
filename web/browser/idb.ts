/**
 * The few IndexedDB operations the browser stores need, as promises: open with an
 * upgrade callback, and run one transaction whose callback queues requests. A
 * transaction's promise settles when it completes (or aborts), so every write in it
 * is durable, or none is.
 */

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function openDatabase(
  name: string,
  version: number,
  upgrade: (db: IDBDatabase, oldVersion: number) => void,
): Promise<IDBDatabase> {
  const req = indexedDB.open(name, version);
  req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion);
  req.onblocked = () => {
    // Another tab holds an older version open; it closes on `versionchange` (below).
  };
  return request(req).then((db) => {
    db.onversionchange = () => db.close();
    return db;
  });
}

/** Runs `body` in one transaction; resolves with its result once the transaction commits. */
export function transaction<T>(
  db: IDBDatabase,
  stores: string | string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode);
    let result: T;
    tx.oncomplete = () => resolve(result);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
    Promise.resolve(body(tx)).then(
      (value) => {
        result = value;
      },
      (error) => {
        try {
          tx.abort();
        } catch {
          // already finished: the rejection below is what matters
        }
        reject(error);
      },
    );
  });
}

/** Deletes a database (tests, "forget this device"). */
export function deleteDatabase(name: string): Promise<void> {
  return request(indexedDB.deleteDatabase(name)).then(() => undefined);
}
