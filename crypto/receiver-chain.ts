/**
 * The receiving side of one sender key (sender-key.ts): derives the message key for
 * any iteration at or after the chain's position, and keeps the keys of messages
 * skipped on the way in a bounded cache, so late and reordered messages still open
 * (Signal's sender-key receiver: MAX_SKIP ahead, a bounded store of skipped keys).
 *
 * - More than `MAX_SKIP` (2000) ahead: `UNKNOWN_KEY` — the chain is too far behind;
 *   ask the sender for its current key (the skipped messages are lost).
 * - Behind the chain and not in the cache (used, or evicted as the oldest of more
 *   than `MAX_SKIPPED_KEYS`): `TOO_OLD`. A message key opens one message, once.
 *
 * `messageKey` only looks; `commit` uses the key up. Call `commit` after the message
 * authenticated, so a forgery can neither advance the chain nor burn cached keys.
 * Chain keys are wiped as soon as the chain steps past them.
 */
import { aint } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertSenderKey, MAX_ITERATION, ratchetStep, type SenderKey } from './sender-key.ts';

export const MAX_SKIP = 2000;
export const MAX_SKIPPED_KEYS = 2000;

export interface PendingMessageKey {
  readonly iteration: number;
  readonly key: Uint8Array;
  /** Uses the key up: advances the chain or drops it from the cache. */
  commit(): void;
}

export class ReceiverChain {
  readonly channelId: string;
  readonly epoch: number;
  readonly senderPublicKey: Uint8Array;
  private _chainKey: Uint8Array;
  private _iteration: number;
  /** iteration → message key, in ascending order of iteration (Map keeps insertion order). */
  private readonly _skipped = new Map<number, Uint8Array>();

  /** Starts from a copy of `key`'s state; `key` itself is left untouched. */
  constructor(key: SenderKey) {
    assertSenderKey(key, 'key');
    this.channelId = key.channelId;
    this.epoch = key.epoch;
    this.senderPublicKey = key.senderPublicKey.slice();
    this._chainKey = key.chainKey.slice();
    this._iteration = key.iteration;
  }

  /** The next iteration the chain would step to. */
  get iteration(): number {
    return this._iteration;
  }

  /** How many skipped message keys are cached. */
  get skippedCount(): number {
    return this._skipped.size;
  }

  /** The chain key at `iteration`, for a consistency check against another copy. */
  chainKeyAt(iteration: number): Uint8Array {
    aint(iteration, this._iteration, this._iteration + MAX_SKIP, 'iteration');
    let chainKey: Uint8Array = this._chainKey.slice();
    for (let i = this._iteration; i < iteration; i++) {
      const next = ratchetStep(chainKey).nextChainKey;
      chainKey.fill(0);
      chainKey = next;
    }
    return chainKey;
  }

  /** The key of message `iteration`, without using it up (see the header for the errors). */
  messageKey(iteration: number): PendingMessageKey {
    aint(iteration, 0, MAX_ITERATION, 'iteration');
    const base = this._iteration;
    if (iteration < base) {
      const key = this._skipped.get(iteration);
      if (key === undefined) {
        throw new CryptoError('TOO_OLD', `message key ${iteration} was already used or dropped`);
      }
      return {
        iteration,
        key: key.slice(),
        commit: () => {
          if (this._skipped.delete(iteration)) key.fill(0);
        },
      };
    }
    if (iteration - base > MAX_SKIP) {
      throw new CryptoError(
        'UNKNOWN_KEY',
        `iteration ${iteration} is more than ${MAX_SKIP} ahead of the chain (at ${base}); ask the sender for its current key`,
      );
    }
    const skipped: Uint8Array[] = [];
    let chainKey = this._chainKey;
    for (let i = base; i < iteration; i++) {
      const step = ratchetStep(chainKey);
      skipped.push(step.messageKey);
      if (chainKey !== this._chainKey) chainKey.fill(0);
      chainKey = step.nextChainKey;
    }
    const { messageKey, nextChainKey } = ratchetStep(chainKey);
    if (chainKey !== this._chainKey) chainKey.fill(0);
    return {
      iteration,
      key: messageKey,
      commit: () => {
        if (this._iteration !== base)
          throw new CryptoError('BAD_INPUT', 'stale message key: the chain moved');
        skipped.forEach((key, i) => {
          this._remember(base + i, key);
        });
        this._chainKey.fill(0);
        this._chainKey = nextChainKey;
        this._iteration = iteration + 1;
      },
    };
  }

  /** Wipes every key this chain holds; it opens nothing afterwards. */
  wipe(): void {
    this._chainKey.fill(0);
    for (const key of this._skipped.values()) key.fill(0);
    this._skipped.clear();
    this._iteration = MAX_ITERATION + 1;
  }

  private _remember(iteration: number, key: Uint8Array): void {
    if (this._skipped.size >= MAX_SKIPPED_KEYS) {
      const oldest = this._skipped.entries().next();
      if (!oldest.done) {
        oldest.value[1].fill(0);
        this._skipped.delete(oldest.value[0]);
      }
    }
    this._skipped.set(iteration, key);
  }
}
