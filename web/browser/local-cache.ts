/**
 * The core's `LocalCache` over IndexedDB, one database per server: sealed log
 * entries per conversation (keyed by conversation and seq, so a conversation's
 * entries come back in order from one key range), the paging cursor per
 * conversation, and small JSON settings. Entries stay sealed exactly as the server
 * stored them; at most `maxEntries` are kept per conversation, oldest dropped first.
 */
import { type Cursor, type LocalCache, type LogEntry, MAX_CACHED_ENTRIES } from '../core/local-cache.ts';
import { openDatabase, request, transaction } from './idb.ts';

const ENTRIES = 'entries';
const CURSORS = 'cursors';
const SETTINGS = 'settings';

interface StoredEntry extends LogEntry {
  conversation: string;
}

function range(conversation: string, below = Number.POSITIVE_INFINITY): IDBKeyRange {
  return IDBKeyRange.bound([conversation, Number.NEGATIVE_INFINITY], [conversation, below], false, true);
}

function strip({ conversation: _c, ...entry }: StoredEntry): LogEntry {
  return entry;
}

export class IndexedDbCache implements LocalCache {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly maxEntries: number,
  ) {}

  /** Opens (or creates) the cache database `name`, e.g. `tincan-cache-<server id>`. */
  static async open(name: string, options: { maxEntries?: number } = {}): Promise<IndexedDbCache> {
    const db = await openDatabase(name, 1, (db) => {
      db.createObjectStore(ENTRIES, { keyPath: ['conversation', 'seq'] });
      db.createObjectStore(CURSORS);
      db.createObjectStore(SETTINGS);
    });
    return new IndexedDbCache(db, options.maxEntries ?? MAX_CACHED_ENTRIES);
  }

  close(): void {
    this.db.close();
  }

  async entries(conversation: string): Promise<LogEntry[]> {
    const rows = await transaction(this.db, ENTRIES, 'readonly', (tx) =>
      request(tx.objectStore(ENTRIES).getAll(range(conversation)) as IDBRequest<StoredEntry[]>),
    );
    return rows.map(strip);
  }

  /** Up to `limit` entries older than seq `before`, newest first (scroll-back from the cache). */
  async page(conversation: string, before: number, limit: number): Promise<LogEntry[]> {
    return transaction(this.db, ENTRIES, 'readonly', async (tx) => {
      const out: LogEntry[] = [];
      const cursors = tx.objectStore(ENTRIES).openCursor(range(conversation, before), 'prev');
      await new Promise<void>((resolve, reject) => {
        cursors.onerror = () => reject(cursors.error);
        cursors.onsuccess = () => {
          const cursor = cursors.result;
          if (!cursor || out.length >= limit) return resolve();
          out.push(strip(cursor.value as StoredEntry));
          cursor.continue();
        };
      });
      return out;
    });
  }

  async putEntries(conversation: string, entries: readonly LogEntry[]): Promise<void> {
    await transaction(this.db, ENTRIES, 'readwrite', async (tx) => {
      const store = tx.objectStore(ENTRIES);
      for (const e of entries) {
        const req = store.add({ ...e, conversation } satisfies StoredEntry);
        // A seq already held stays as it is: the failed add must not abort the others.
        req.onerror = (event) => {
          if (req.error?.name === 'ConstraintError') {
            event.preventDefault();
            event.stopPropagation();
          }
        };
      }
      const count = await request(store.count(range(conversation)));
      if (count <= this.maxEntries) return;
      let excess = count - this.maxEntries;
      const cursors = store.openCursor(range(conversation));
      await new Promise<void>((resolve, reject) => {
        cursors.onerror = () => reject(cursors.error);
        cursors.onsuccess = () => {
          const cursor = cursors.result;
          if (!cursor || excess-- <= 0) return resolve();
          cursor.delete();
          cursor.continue();
        };
      });
    });
  }

  cursor(conversation: string): Promise<Cursor | undefined> {
    return transaction(this.db, CURSORS, 'readonly', (tx) =>
      request(tx.objectStore(CURSORS).get(conversation)),
    );
  }

  async setCursor(conversation: string, cursor: Cursor): Promise<void> {
    await transaction(
      this.db,
      CURSORS,
      'readwrite',
      (tx) => void tx.objectStore(CURSORS).put({ ...cursor }, conversation),
    );
  }

  getSetting(name: string): Promise<unknown> {
    return transaction(this.db, SETTINGS, 'readonly', (tx) => request(tx.objectStore(SETTINGS).get(name)));
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    // JSON, as MemoryCache keeps it: values must survive a round trip through JSON either way.
    const json = value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as unknown);
    await transaction(this.db, SETTINGS, 'readwrite', (tx) => void tx.objectStore(SETTINGS).put(json, name));
  }
}

/**
 * A LocalCache that opens its database on first use, for callers that need one at
 * once (the core's `cacheFor(slot)` is synchronous). If opening fails, every call
 * rejects with that error.
 */
export function lazyCache(name: string, options: { maxEntries?: number } = {}): LocalCache {
  let opening: Promise<IndexedDbCache> | undefined;
  const cache = () => (opening ??= IndexedDbCache.open(name, options));
  return {
    entries: async (c) => (await cache()).entries(c),
    putEntries: async (c, e) => (await cache()).putEntries(c, e),
    cursor: async (c) => (await cache()).cursor(c),
    setCursor: async (c, k) => (await cache()).setCursor(c, k),
    getSetting: async (n) => (await cache()).getSetting(n),
    putSetting: async (n, v) => (await cache()).putSetting(n, v),
  };
}
