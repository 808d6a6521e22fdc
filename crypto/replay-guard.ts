/**
 * A bounded set of message ids already opened, to refuse replays (`REPLAY`). The
 * oldest ids fall out first once `capacity` is reached (insertion order, like a ring
 * buffer). An id that has fallen out is still protected by the sender-key ratchet:
 * its one-time message key was used and dropped, so opening it again fails with
 * `TOO_OLD` (see receiver-chain.ts).
 */
import { abytes, aint, toHex } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const DEFAULT_REPLAY_CAPACITY = 65536;

export class ReplayGuard {
  readonly capacity: number;
  private readonly _seen = new Set<string>();

  constructor(capacity = DEFAULT_REPLAY_CAPACITY) {
    aint(capacity, 1, 1 << 24, 'capacity');
    this.capacity = capacity;
  }

  get size(): number {
    return this._seen.size;
  }

  has(id: Uint8Array): boolean {
    abytes(id, undefined, 'id');
    return this._seen.has(toHex(id));
  }

  /** Throws `REPLAY` if `id` was added before (and has not fallen out). */
  check(id: Uint8Array): void {
    if (this.has(id)) throw new CryptoError('REPLAY', `message ${toHex(id)} was already opened`);
  }

  /** Records `id`, dropping the oldest id when full. */
  add(id: Uint8Array): void {
    abytes(id, undefined, 'id');
    const key = toHex(id);
    if (this._seen.has(key)) return;
    if (this._seen.size >= this.capacity) {
      const oldest = this._seen.values().next();
      if (!oldest.done) this._seen.delete(oldest.value);
    }
    this._seen.add(key);
  }
}
