/**
 * A channel's group keys: my sender key, every member's receiving chain by
 * (sender, epoch), and the epoch rule. The message layer (message.ts) seals with
 * `nextSendKey` and opens with `receivingKey`; voice (frame.ts) takes `frameSecret`.
 * Sender keys themselves (ratchet, distribution bytes) live in sender-key.ts.
 *
 * Epoch rule (enforced by `epochAfter` and `removeMembers`):
 * - A channel starts at epoch 0; whoever creates it makes the first key.
 * - Join: same epoch. Every member hands the newcomer its current state
 *   (`addMember` returns the bytes to seal), so the newcomer reads from that point
 *   on and never what came before.
 * - Removal (kick, ban, leave): epoch + 1. Every remaining member creates a fresh
 *   sender key for the new epoch and distributes it only to the remaining members
 *   (`removeMembers` returns it with the recipients). The removed member holds every
 *   old chain but no new one, so reads nothing sent after. A removed member's keys for
 *   the new epoch or later are refused (`KEY_REJECTED`).
 * - Grace: once the ring moves past an epoch, messages at that epoch still open for
 *   `graceMs` (set by the caller: late delivery, messages crossing the rotation);
 *   then its keys are wiped and its messages are `TOO_OLD`.
 * - Another member may rotate before this device hears of the removal: keys for
 *   newer epochs are kept and used, up to `MAX_EPOCHS_AHEAD` ahead.
 * - A second, different key for a (sender, epoch) already held is refused
 *   (`KEY_REJECTED`): a member relaying keys cannot swap someone's chain.
 *
 * Distribution: seal `serializeSenderKey` bytes to each recipient with envelope.ts,
 * context `distributionContext(channelId, epoch)`. A key may be relayed by someone
 * other than its owner (an invite bundle); the owner is inside the bytes, and every
 * message is signed by its author, so a relayed key grants reading, not authorship.
 */
import { abytes, aint, equalBytes, toHex } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from './identity.ts';
import { MAX_SKIP, type PendingMessageKey, ReceiverChain } from './receiver-chain.ts';
import {
  assertChannelId,
  assertSenderKey,
  copySenderKey,
  createSenderKey,
  deserializeSenderKey,
  frameSecretOf,
  MAX_EPOCH,
  nextMessageKey,
  type SenderKey,
  serializeSenderKey,
} from './sender-key.ts';

/** The sender-key API (sender-key.ts), for callers that import only the group layer. */
export {
  createSenderKey,
  deserializeSenderKey,
  nextMessageKey,
  type SenderKey,
  serializeSenderKey,
} from './sender-key.ts';

export const MAX_EPOCHS_AHEAD = 16;

export type MembershipChange = 'join' | 'leave' | 'kick' | 'ban';

/** The epoch after `change`: unchanged for a join, one more for any removal. */
export function epochAfter(epoch: number, change: MembershipChange): number {
  aint(epoch, 0, MAX_EPOCH, 'epoch');
  switch (change) {
    case 'join':
      return epoch;
    case 'leave':
    case 'kick':
    case 'ban':
      if (epoch === MAX_EPOCH) throw new CryptoError('EXPIRED', 'no epoch left: the channel needs new keys');
      return epoch + 1;
    default:
      throw new CryptoError('BAD_INPUT', `change must be join, leave, kick or ban, got ${String(change)}`);
  }
}

/** The envelope context under which a sender key for (channelId, epoch) is sealed. */
export function distributionContext(channelId: string, epoch: number): string {
  assertChannelId(channelId);
  aint(epoch, 0, MAX_EPOCH, 'epoch');
  return `tincan/sender-key/v1 ${channelId} ${epoch}`;
}

export interface GroupKeyRingOptions {
  /** How long messages at a superseded epoch still open, in milliseconds. */
  readonly graceMs: number;
  /** The epoch the ring starts at (a member joining late starts at the channel's current one). */
  readonly epoch?: number;
  /** Clock in milliseconds; `Date.now` unless a test drives it. */
  readonly now?: () => number;
}

export interface Rotation {
  readonly epoch: number;
  /** My fresh sender key for `epoch`: seal `distribution` to each of `recipients`. */
  readonly distribution: Uint8Array;
  readonly recipients: readonly Uint8Array[];
}

export interface SendKey {
  readonly channelId: string;
  readonly epoch: number;
  readonly senderPublicKey: Uint8Array;
  readonly iteration: number;
  readonly key: Uint8Array;
}

interface Entry {
  readonly chain: ReceiverChain;
  /** Present when the key arrived at iteration 0 (see frameSecretOf). */
  readonly frameSecret: Uint8Array | undefined;
}

export class GroupKeyRing {
  readonly channelId: string;
  /** My identity public key. */
  readonly me: Uint8Array;
  readonly graceMs: number;
  private readonly _now: () => number;
  private _epoch: number;
  /** Epochs below the floor are closed: keys wiped, messages `TOO_OLD`. */
  private _floor: number;
  /** Superseded epochs still in their grace window → when it closes. */
  private readonly _closing = new Map<number, number>();
  private _mine: SenderKey | undefined;
  private readonly _entries = new Map<string, Entry>();
  /** Removed member (hex) → the first epoch whose keys from them are refused. */
  private readonly _removedFrom = new Map<string, number>();

  constructor(channelId: string, me: Uint8Array, options: GroupKeyRingOptions) {
    assertChannelId(channelId);
    assertPublicKey(me, 'me');
    if (typeof options !== 'object' || options === null)
      throw new CryptoError('BAD_INPUT', 'options required');
    aint(options.graceMs, 0, 365 * 24 * 3600 * 1000, 'options.graceMs');
    const epoch = options.epoch ?? 0;
    aint(epoch, 0, MAX_EPOCH, 'options.epoch');
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new CryptoError('BAD_INPUT', 'options.now must be a function');
    }
    this.channelId = channelId;
    this.me = me.slice();
    this.graceMs = options.graceMs;
    this._now = options.now ?? Date.now;
    this._epoch = epoch;
    this._floor = epoch;
  }

  /** The current epoch: the one I send at. */
  get epoch(): number {
    return this._epoch;
  }

  /** My sending state at the current epoch, if created. Owned by the ring: do not mutate. */
  get myKey(): SenderKey | undefined {
    return this._mine;
  }

  /**
   * Creates my sender key for the current epoch (a new channel, or a newcomer about
   * to send) and returns its distribution bytes for every other member.
   */
  createMyKey(): Uint8Array {
    if (this._mine !== undefined && this._mine.epoch === this._epoch) {
      throw new CryptoError('BAD_INPUT', `I already have a sender key for epoch ${this._epoch}`);
    }
    this._setMine(createSenderKey(this.channelId, this._epoch, this.me));
    return serializeSenderKey(this._mine!);
  }

  /** A newcomer: no new epoch; returns my current state to seal for them (reads from now on). */
  addMember(publicKey: Uint8Array): Uint8Array {
    assertPublicKey(publicKey);
    this._removedFrom.delete(toHex(publicKey));
    return serializeSenderKey(this.sendingKey());
  }

  /**
   * Members left or were removed: moves to the next epoch, refuses their keys from
   * it on, starts the grace window of the old epoch, and creates my fresh key. Seal
   * the returned distribution to every recipient (the remaining members but me).
   */
  removeMembers(
    removed: readonly Uint8Array[],
    remaining: readonly Uint8Array[],
    change: Exclude<MembershipChange, 'join'> = 'kick',
  ): Rotation {
    if (!Array.isArray(removed) || removed.length === 0) {
      throw new CryptoError('BAD_INPUT', 'removed must be a non-empty array of public keys');
    }
    if (!Array.isArray(remaining))
      throw new CryptoError('BAD_INPUT', 'remaining must be an array of public keys');
    removed.forEach((pub, i) => {
      assertPublicKey(pub, `removed[${i}]`);
    });
    remaining.forEach((pub, i) => {
      assertPublicKey(pub, `remaining[${i}]`);
    });
    const gone = new Set(removed.map(toHex));
    if (gone.has(toHex(this.me)))
      throw new CryptoError('BAD_INPUT', 'removed includes me: wipe the ring instead');
    if (remaining.some((pub) => gone.has(toHex(pub)))) {
      throw new CryptoError('BAD_INPUT', 'a member cannot be both removed and remaining');
    }
    if (change === ('join' as string)) throw new CryptoError('BAD_INPUT', 'a join does not remove anyone');
    const next = epochAfter(this._epoch, change);
    for (const hex of gone) {
      this._removedFrom.set(hex, next);
      for (const [id, entry] of this._entries) {
        if (toHex(entry.chain.senderPublicKey) === hex && entry.chain.epoch >= next) this._drop(id);
      }
    }
    this._closing.set(this._epoch, this._now() + this.graceMs);
    this._epoch = next;
    this._setMine(createSenderKey(this.channelId, next, this.me));
    const seen = new Set<string>([toHex(this.me)]);
    const recipients: Uint8Array[] = [];
    for (const pub of remaining) {
      const hex = toHex(pub);
      if (!seen.has(hex)) {
        seen.add(hex);
        recipients.push(pub.slice());
      }
    }
    this._prune();
    return { epoch: next, distribution: serializeSenderKey(this._mine!), recipients };
  }

  /**
   * Adds a member's sender key (a SenderKey or its distribution bytes). Returns false
   * when the same chain is already held. Throws `MISMATCH` (another channel),
   * `TOO_OLD` (a closed epoch), `KEY_REJECTED` (a removed sender, an epoch too far
   * ahead, or a different chain for a (sender, epoch) already held).
   */
  install(key: SenderKey | Uint8Array): boolean {
    const k = key instanceof Uint8Array ? deserializeSenderKey(key) : key;
    assertSenderKey(k, 'key');
    if (k.channelId !== this.channelId) {
      throw new CryptoError('MISMATCH', `sender key is for channel ${k.channelId}, not ${this.channelId}`);
    }
    this._prune();
    if (k.epoch < this._floor) throw new CryptoError('TOO_OLD', `epoch ${k.epoch} is closed`);
    if (k.epoch > this._epoch + MAX_EPOCHS_AHEAD) {
      throw new CryptoError(
        'KEY_REJECTED',
        `epoch ${k.epoch} is more than ${MAX_EPOCHS_AHEAD} ahead of ${this._epoch}`,
      );
    }
    const removedFrom = this._removedFrom.get(toHex(k.senderPublicKey));
    if (removedFrom !== undefined && k.epoch >= removedFrom) {
      throw new CryptoError('KEY_REJECTED', `sender was removed before epoch ${k.epoch}`);
    }
    const id = entryId(k.senderPublicKey, k.epoch);
    const held = this._entries.get(id);
    if (held !== undefined) {
      if (!sameChain(held.chain, k)) {
        throw new CryptoError(
          'KEY_REJECTED',
          `a different sender key is already held for this sender at epoch ${k.epoch}`,
        );
      }
      return false;
    }
    this._entries.set(id, {
      chain: new ReceiverChain(k),
      frameSecret: k.iteration === 0 ? frameSecretOf(k) : undefined,
    });
    return true;
  }

  /** True when a receiving chain for (sender, epoch) is held and its epoch is open. */
  hasKey(sender: Uint8Array, epoch: number): boolean {
    abytes(sender, PUBLIC_KEY_LENGTH, 'sender');
    aint(epoch, 0, MAX_EPOCH, 'epoch');
    this._prune();
    return this._entries.has(entryId(sender, epoch));
  }

  /** My sending state at the current epoch; `UNKNOWN_KEY` until `createMyKey` or a rotation. */
  sendingKey(): SenderKey {
    const mine = this._mine;
    if (mine === undefined || mine.epoch !== this._epoch) {
      throw new CryptoError(
        'UNKNOWN_KEY',
        `no sender key of mine for epoch ${this._epoch}: call createMyKey`,
      );
    }
    return mine;
  }

  /** The next message key of my chain (advances it). */
  nextSendKey(): SendKey {
    const mine = this.sendingKey();
    const { iteration, key } = nextMessageKey(mine);
    return {
      channelId: mine.channelId,
      epoch: mine.epoch,
      senderPublicKey: mine.senderPublicKey,
      iteration,
      key,
    };
  }

  /**
   * The key of `sender`'s message `iteration` at `epoch`, not yet used up (commit it
   * after the message authenticates). `TOO_OLD` for a closed epoch, `UNKNOWN_KEY`
   * without a chain, plus the chain's own errors (receiver-chain.ts).
   */
  receivingKey(sender: Uint8Array, epoch: number, iteration: number): PendingMessageKey {
    return this._entry(sender, epoch).chain.messageKey(iteration);
  }

  /** `sender`'s voice-frame secret at `epoch` (frame.ts); `UNKNOWN_KEY` unless its key arrived at iteration 0. */
  frameSecret(sender: Uint8Array, epoch: number): Uint8Array {
    const entry = this._entry(sender, epoch);
    if (entry.frameSecret === undefined) {
      throw new CryptoError(
        'UNKNOWN_KEY',
        `sender key at epoch ${epoch} arrived past iteration 0: no frame secret`,
      );
    }
    return entry.frameSecret.slice();
  }

  /** Wipes every key (I left or was removed). The ring opens and seals nothing afterwards. */
  wipe(): void {
    for (const id of [...this._entries.keys()]) this._drop(id);
    if (this._mine !== undefined) this._mine.chainKey.fill(0);
    this._mine = undefined;
    this._floor = MAX_EPOCH;
    this._epoch = MAX_EPOCH;
  }

  private _entry(sender: Uint8Array, epoch: number): Entry {
    // Only the length: every held key was checked to be on the curve when installed,
    // so any other 33 bytes simply find nothing (and skip a point decompression).
    abytes(sender, PUBLIC_KEY_LENGTH, 'sender');
    aint(epoch, 0, MAX_EPOCH, 'epoch');
    this._prune();
    if (epoch < this._floor)
      throw new CryptoError('TOO_OLD', `epoch ${epoch} is closed (current ${this._epoch})`);
    const entry = this._entries.get(entryId(sender, epoch));
    if (entry === undefined)
      throw new CryptoError('UNKNOWN_KEY', `no sender key for this sender at epoch ${epoch}`);
    return entry;
  }

  private _setMine(key: SenderKey): void {
    if (this._mine !== undefined) this._mine.chainKey.fill(0);
    this._mine = key;
    // A receiving copy, so I can open my own messages (echoes, history) like anyone else.
    this._entries.set(entryId(key.senderPublicKey, key.epoch), {
      chain: new ReceiverChain(copySenderKey(key)),
      frameSecret: frameSecretOf(key),
    });
  }

  /** Closes every epoch whose grace window has passed, lowest first. */
  private _prune(): void {
    const now = this._now();
    for (;;) {
      const closesAt = this._closing.get(this._floor);
      if (closesAt === undefined || now < closesAt) return;
      for (const [id, entry] of this._entries) if (entry.chain.epoch === this._floor) this._drop(id);
      this._closing.delete(this._floor);
      this._floor++;
    }
  }

  private _drop(id: string): void {
    const entry = this._entries.get(id);
    if (entry === undefined) return;
    entry.chain.wipe();
    entry.frameSecret?.fill(0);
    this._entries.delete(id);
  }
}

function entryId(sender: Uint8Array, epoch: number): string {
  return `${epoch}/${toHex(sender)}`;
}

/** Whether `key` continues (or precedes) the chain already held, within MAX_SKIP steps. */
function sameChain(held: ReceiverChain, key: SenderKey): boolean {
  const distance = Math.abs(key.iteration - held.iteration);
  if (distance > MAX_SKIP) return false;
  if (key.iteration >= held.iteration) return equalBytes(held.chainKeyAt(key.iteration), key.chainKey);
  return equalBytes(new ReceiverChain(key).chainKeyAt(held.iteration), held.chainKeyAt(held.iteration));
}
