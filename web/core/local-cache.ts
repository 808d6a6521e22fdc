/**
 * What a device keeps between visits, per server: the sealed log entries it has
 * seen and its paging cursor per conversation, plus small settings (JSON values:
 * key material, known members, pinned names). Entries stay sealed here, exactly as
 * the server stored them. The browser implements it over IndexedDB; Node tests use
 * `MemoryCache`.
 */

/** A log entry as `log.fetch` and the `log` push give it (blob = base64url sealed bytes). */
export interface LogEntry {
  seq: number;
  kind: 'update' | 'key' | 'snapshot';
  id: string | null;
  author: string;
  at: number;
  blob: string;
}

/** How far a conversation's history is loaded: seqs of the oldest and newest entries held. */
export interface Cursor {
  oldest: number;
  newest: number;
  /** False once a scroll-back reached the start of the log. */
  hasOlder: boolean;
}

export interface LocalCache {
  entries(conversation: string): Promise<LogEntry[]>;
  /** Adds entries (by seq; a seq already held is left as it is). */
  putEntries(conversation: string, entries: readonly LogEntry[]): Promise<void>;
  cursor(conversation: string): Promise<Cursor | undefined>;
  setCursor(conversation: string, cursor: Cursor): Promise<void>;
  getSetting(name: string): Promise<unknown>;
  putSetting(name: string, value: unknown): Promise<void>;
}

/** Entries kept per conversation; the oldest fall out first. */
export const MAX_CACHED_ENTRIES = 10_000;

export class MemoryCache implements LocalCache {
  private readonly logs = new Map<string, Map<number, LogEntry>>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly settings = new Map<string, string>();

  async entries(conversation: string): Promise<LogEntry[]> {
    return [...(this.logs.get(conversation)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  async putEntries(conversation: string, entries: readonly LogEntry[]): Promise<void> {
    let log = this.logs.get(conversation);
    if (!log) this.logs.set(conversation, (log = new Map()));
    for (const e of entries) if (!log.has(e.seq)) log.set(e.seq, { ...e });
    if (log.size > MAX_CACHED_ENTRIES) {
      const seqs = [...log.keys()].sort((a, b) => a - b);
      for (const seq of seqs.slice(0, log.size - MAX_CACHED_ENTRIES)) log.delete(seq);
    }
  }

  async cursor(conversation: string): Promise<Cursor | undefined> {
    const c = this.cursors.get(conversation);
    return c && { ...c };
  }

  async setCursor(conversation: string, cursor: Cursor): Promise<void> {
    this.cursors.set(conversation, { ...cursor });
  }

  async getSetting(name: string): Promise<unknown> {
    const text = this.settings.get(name);
    return text === undefined ? undefined : JSON.parse(text);
  }

  async putSetting(name: string, value: unknown): Promise<void> {
    // Stored as JSON text, as IndexedDB would structure-clone it: no shared references.
    this.settings.set(name, JSON.stringify(value));
  }
}
