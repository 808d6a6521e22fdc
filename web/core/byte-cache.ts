/**
 * A small in-memory LRU of byte arrays bounded by their total size: decrypted
 * attachments kept so a re-render (the message list drops and re-creates elements
 * as they scroll) does not fetch and decrypt them again. Never persisted.
 */
export class ByteCache {
  private readonly entries = new Map<string, Uint8Array<ArrayBuffer>>();
  private total = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): Uint8Array<ArrayBuffer> | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key); // most recently used last
    this.entries.set(key, value);
    return value;
  }

  /** Keeps `value` unless it alone is over a quarter of the cache; evicts the least recently used. */
  set(key: string, value: Uint8Array<ArrayBuffer>): void {
    this.delete(key);
    if (value.length > this.maxBytes / 4) return;
    this.entries.set(key, value);
    this.total += value.length;
    for (const [k, v] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(k);
      this.total -= v.length;
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.total -= old.length;
  }

  get bytes(): number {
    return this.total;
  }
}
