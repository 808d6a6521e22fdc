/**
 * Paging through one conversation's log: on open, the local cache first, then the
 * newest page from the server (`log.fetch before`); forward catch-up (`after` the
 * newest seq held) on reconnect and whenever a push skips a seq; `loadOlder` pages
 * back. Seqs are contiguous per log, so a gap means something was missed. Every
 * page is cached sealed and handed to the sink in seq order.
 */
import type { Cursor, LocalCache, LogEntry } from './local-cache.ts';
import { Value } from './observable.ts';

export const DEFAULT_PAGE_SIZE = 100;
const KINDS = new Set(['update', 'key', 'snapshot']);

export interface HistoryContext {
  conversation: string;
  request(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
  cache: LocalCache;
  pageSize: number;
  sink(entries: LogEntry[], live: boolean): Promise<void>;
}

/** Entries of a fetch reply or a push, checked field by field; malformed ones are left out. */
export function parseEntries(value: unknown): LogEntry[] {
  if (!Array.isArray(value)) return [];
  const out: LogEntry[] = [];
  for (const v of value as unknown[]) {
    const e = parseEntry(v);
    if (e) out.push(e);
  }
  return out;
}

export function parseEntry(v: unknown): LogEntry | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (
    !Number.isSafeInteger(e.seq) ||
    typeof e.kind !== 'string' ||
    !KINDS.has(e.kind) ||
    typeof e.author !== 'string' ||
    typeof e.at !== 'number' ||
    typeof e.blob !== 'string' ||
    (e.id !== null && e.id !== undefined && typeof e.id !== 'string')
  )
    return undefined;
  return {
    seq: e.seq as number,
    kind: e.kind as LogEntry['kind'],
    id: typeof e.id === 'string' ? e.id : null,
    author: e.author,
    at: e.at,
    blob: e.blob,
  };
}

export class History {
  readonly hasOlder = new Value(false);
  private cursor: Cursor | undefined;
  private started = false;
  private catchingUp: Promise<void> | undefined;
  private loadingOlder: Promise<void> | undefined;

  constructor(private readonly ctx: HistoryContext) {}

  /** Replays the cache, then loads from the server (newest page, or catch-up from the cache's cursor). */
  async start(online: boolean): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { cache, conversation } = this.ctx;
    this.cursor = await cache.cursor(conversation);
    const cached = await cache.entries(conversation);
    if (cached.length > 0) await this.ctx.sink(cached, false);
    if (this.cursor) this.hasOlder.set(this.cursor.hasOlder);
    if (online) await this.load();
  }

  /** After a reconnect: whatever was missed. */
  async reconnected(): Promise<void> {
    if (this.started) await this.load();
  }

  /** A pushed entry. */
  async live(entry: LogEntry): Promise<void> {
    if (!this.started) {
      await this.ctx.sink([entry], true);
      return;
    }
    const c = this.cursor;
    if (c && entry.seq > c.newest + 1) {
      await this.catchUp();
      // A catch-up already in flight may have been answered before this entry existed
      // (found by the soak: receipts lost after reconnects): fetch again if it is still missing.
      if (entry.seq > (this.cursor?.newest ?? 0)) await this.catchUp();
      return;
    }
    await Promise.all([this.store([entry]), this.ctx.sink([entry], true)]);
  }

  /** One page further back. */
  loadOlder(): Promise<void> {
    if (!this.cursor?.hasOlder) return Promise.resolve();
    const loading = (this.loadingOlder ??= this.page({ before: this.cursor.oldest }, false)
      .then(() => undefined)
      .finally(() => {
        this.loadingOlder = undefined;
      }));
    return loading;
  }

  private load(): Promise<void> {
    return this.cursor
      ? this.catchUp()
      : this.page({ before: Number.MAX_SAFE_INTEGER }, false).then(() => {});
  }

  private catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        while (await this.page({ after: this.cursor?.newest ?? 0 }, true)) {
          // keep going while pages come back full
        }
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  /** Fetches one page; returns true when it was full (more may follow). */
  private async page(range: { after?: number; before?: number }, live: boolean): Promise<boolean> {
    const reply = await this.ctx.request('log.fetch', {
      log: this.ctx.conversation,
      ...range,
      limit: this.ctx.pageSize,
    });
    const entries = parseEntries(reply.entries).sort((a, b) => a.seq - b.seq);
    const full = entries.length === this.ctx.pageSize;
    if (range.before !== undefined) {
      const c = this.cursor ?? { oldest: Number.MAX_SAFE_INTEGER, newest: 0, hasOlder: true };
      c.hasOlder = full && (entries[0]?.seq ?? 1) > 1;
      this.cursor = c;
      this.hasOlder.set(c.hasOlder);
    }
    // Kept and shown at once: the device's cache write is not on the way to the screen.
    await Promise.all([this.store(entries), this.ctx.sink(entries, live)]);
    return full;
  }

  private async store(entries: LogEntry[]): Promise<void> {
    if (entries.length === 0) {
      if (this.cursor) await this.ctx.cache.setCursor(this.ctx.conversation, this.cursor);
      return;
    }
    const c = this.cursor ?? {
      oldest: entries[0]!.seq,
      newest: entries[0]!.seq,
      hasOlder: entries[0]!.seq > 1,
    };
    for (const e of entries) {
      c.oldest = Math.min(c.oldest, e.seq);
      c.newest = Math.max(c.newest, e.seq);
    }
    this.cursor = c;
    await this.ctx.cache.putEntries(this.ctx.conversation, entries);
    await this.ctx.cache.setCursor(this.ctx.conversation, c);
  }
}
