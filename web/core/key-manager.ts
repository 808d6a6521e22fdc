/**
 * One server's group keys on this device, for every conversation (channel id or
 * `dm:<a>:<b>`) and epoch.
 *
 * - Receiving: a GroupKeyRing per (conversation, epoch), each pinned to its epoch
 *   (rings never advance here). Messages carry their epoch in the header, so each
 *   opens with its own epoch's ring, and history of earlier epochs stays readable
 *   for as long as this device keeps those rings (`MAX_EPOCHS_KEPT`).
 * - Sending: my SenderKey per conversation at the server's current membership
 *   epoch, sealed with directly (message.ts accepts a bare SenderKey), so its state
 *   can be saved and restored; its iteration-0 copy sits in the ring like anyone's.
 * - The epoch rule of group-keys.ts, applied across rings: when the server's epoch
 *   rises (a kick, ban or leave), my next send starts a fresh key at the new epoch;
 *   keys from a removed member for its removal epoch or later are refused.
 * - Iteration-0 states of every key held, by (conversation, epoch, sender): what an
 *   invite bundle or a newcomer hand-over passes on, so the newcomer reads the
 *   epoch from its start.
 * - Who got my key for (conversation, epoch): the distributor tops it up for newcomers.
 * - History out of order: a ring's chain only looks MAX_SKIP (2000) ahead and keeps
 *   2000 skipped keys, which live traffic needs and history does not fit (the newest
 *   page of a 10,000-message channel first, then older pages). A message the ring
 *   refuses as too far ahead or too old opens from the sender's iteration-0 state
 *   instead, through checkpoints every `CHECKPOINT_EVERY` iterations, so any of them
 *   costs at most that many hash steps after the first; the state of the last one
 *   opened is kept too, so a page read oldest first costs one step a message. The
 *   device holds the iteration-0 state anyway (to hand to newcomers), so this opens
 *   nothing it could not already derive. The signature is checked before any step,
 *   and iterations past `MAX_HISTORY_ITERATION` are not chased, so a member cannot
 *   make readers spin.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { GroupKeyRing } from '../../crypto/group-keys.ts';
import { userIdOf } from '../../crypto/identity.ts';
import {
  type OpenedMessage,
  openMessage,
  type VerifiedMessage,
  verifyMessage,
} from '../../crypto/message.ts';
import type { ReplayGuard } from '../../crypto/replay-guard.ts';
import {
  advanceSenderKey,
  copySenderKey,
  createSenderKey,
  deserializeSenderKey,
  frameSecretOf,
  type SenderKey,
  serializeSenderKey,
} from '../../crypto/sender-key.ts';

/** Spacing of the chain states kept for opening history out of order. */
export const CHECKPOINT_EVERY = 256;
/** Iterations past this are not derived from iteration 0 (at ~2 µs a step, ~2 s of work). */
export const MAX_HISTORY_ITERATION = 1_000_000;

/** Epochs of one conversation kept on this device; older rings are dropped. */
export const MAX_EPOCHS_KEPT = 32;

/** The saved form (JSON): every key as base64url distribution bytes. */
export interface SavedKeys {
  epoch: number;
  removed: [string, number][];
  received: string[];
  mine: string[];
  distributed: [string, number, string[]][];
}

const slot = (conversation: string, epoch: number) => `${epoch} ${conversation}`;

/** One sender's chain rebuilt from iteration 0, for history the ring refuses. */
interface HistoryChain {
  /** States at iterations 0, CHECKPOINT_EVERY, 2·CHECKPOINT_EVERY, … */
  points: SenderKey[];
  /** The state at the iteration of the last message opened through it. */
  last: SenderKey | undefined;
}

export class KeyManager {
  readonly me: Uint8Array;
  readonly meId: string;
  private currentEpoch = 0;
  private readonly rings = new Map<string, Map<number, GroupKeyRing>>();
  /** conversation → epoch → sender id → iteration-0 distribution bytes. */
  private readonly zero = new Map<string, Map<number, Map<string, Uint8Array>>>();
  /** `slot|sender` → that sender's chain rebuilt from iteration 0. */
  private readonly history = new Map<string, HistoryChain>();
  private readonly mine = new Map<string, SenderKey>();
  private readonly removedFrom = new Map<string, number>();
  private readonly given = new Map<string, Set<string>>();
  private readonly changeListeners = new Set<() => void>();

  constructor(me: Uint8Array) {
    this.me = me.slice();
    this.meId = userIdOf(me);
  }

  /** The server's membership epoch, which my sending keys follow. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Raises the epoch (never lowers it). */
  setEpoch(epoch: number): void {
    if (epoch > this.currentEpoch) {
      this.currentEpoch = epoch;
      this.changed();
    }
  }

  /** A member left or was removed when the epoch became `epoch`: its keys from then on are refused. */
  memberRemoved(userId: string, epoch: number): void {
    const held = this.removedFrom.get(userId);
    if (held === undefined || epoch < held) this.removedFrom.set(userId, epoch);
    this.setEpoch(epoch);
  }

  /** A removed member is a member again (a new invite): its keys are accepted again. */
  memberReturned(userId: string): void {
    if (this.removedFrom.delete(userId)) this.changed();
  }

  isRemoved(userId: string): boolean {
    return this.removedFrom.has(userId);
  }

  /** The receiving ring of (conversation, epoch), made on first use. */
  ring(conversation: string, epoch: number): GroupKeyRing {
    let byEpoch = this.rings.get(conversation);
    if (!byEpoch) this.rings.set(conversation, (byEpoch = new Map()));
    let ring = byEpoch.get(epoch);
    if (!ring) {
      ring = new GroupKeyRing(conversation, this.me, { graceMs: 0, epoch });
      byEpoch.set(epoch, ring);
      const floor = Math.max(...byEpoch.keys()) - MAX_EPOCHS_KEPT;
      for (const [e, r] of byEpoch) {
        if (e >= floor) continue;
        r.wipe();
        byEpoch.delete(e);
        this.zero.get(conversation)?.delete(e);
        for (const [k, chain] of this.history) {
          if (!k.startsWith(`${slot(conversation, e)}|`)) continue;
          for (const p of chain.points) p.chainKey.fill(0);
          chain.last?.chainKey.fill(0);
          this.history.delete(k);
        }
      }
    }
    return ring;
  }

  /**
   * My sending key for `conversation` at the current epoch; a fresh one (and its
   * receiving copy in the ring) when there is none yet.
   */
  sendingKey(conversation: string): SenderKey {
    const epoch = this.currentEpoch;
    let key = this.mine.get(slot(conversation, epoch));
    if (!key) {
      key = createSenderKey(conversation, epoch, this.me);
      this.ring(conversation, epoch).install(copySenderKey(key));
      this.remember(key);
      this.mine.set(slot(conversation, epoch), key);
      this.changed();
    }
    return key;
  }

  /** My key's distribution bytes for (conversation, epoch) at iteration 0, if I made one. */
  myDistribution(conversation: string, epoch: number): Uint8Array | undefined {
    return this.zero.get(conversation)?.get(epoch)?.get(this.meId);
  }

  /**
   * Installs someone's sender key. False when already held. Throws `KEY_REJECTED`
   * for a removed sender (at or after its removal epoch) or a conflicting chain.
   */
  install(key: SenderKey): boolean {
    const sender = userIdOf(key.senderPublicKey);
    const removed = this.removedFrom.get(sender);
    if (removed !== undefined && key.epoch >= removed)
      throw new CryptoError('KEY_REJECTED', `sender was removed at epoch ${removed}`);
    const added = this.ring(key.channelId, key.epoch).install(key);
    if (added) {
      if (key.iteration === 0) this.remember(key);
      this.changed();
    }
    return added;
  }

  hasKey(conversation: string, sender: Uint8Array, epoch: number): boolean {
    const ring = this.rings.get(conversation)?.get(epoch);
    return ring?.hasKey(sender, epoch) === true;
  }

  /**
   * Opens a message with the ring of its epoch (see openMessage for the checks). Bytes
   * are verified here with noble; a VerifiedMessage (verifyMessageAsync) is not verified again.
   */
  open(conversation: string, sealed: Uint8Array | VerifiedMessage, guard: ReplayGuard): OpenedMessage {
    // Verified once, up front: the ring and, when it refuses, the history chain open the same token.
    const message = sealed instanceof Uint8Array ? verifyMessage(sealed) : sealed;
    const ring = this.rings.get(conversation)?.get(message.epoch);
    if (!ring) throw new CryptoError('UNKNOWN_KEY', `no keys for epoch ${message.epoch}`);
    try {
      return openMessage(ring, message, guard);
    } catch (error) {
      if (!(error instanceof CryptoError) || (error.code !== 'UNKNOWN_KEY' && error.code !== 'TOO_OLD'))
        throw error;
      const opened = this.openFromStart(conversation, message, guard);
      if (!opened) throw error;
      return opened;
    }
  }

  /**
   * Opens `message` with a chain rebuilt from its sender's iteration-0 state (see the
   * header), or undefined. Only called after the ring refused it for its key; its
   * signature was verified before, so only signed messages reach this work.
   */
  private openFromStart(
    conversation: string,
    message: VerifiedMessage,
    guard: ReplayGuard,
  ): OpenedMessage | undefined {
    const { epoch, iteration, sender } = message;
    const senderId = userIdOf(sender);
    const zero = this.zero.get(conversation)?.get(epoch)?.get(senderId);
    if (!zero || iteration > MAX_HISTORY_ITERATION) return undefined;
    const key = `${slot(conversation, epoch)}|${senderId}`;
    let chain = this.history.get(key);
    if (!chain) this.history.set(key, (chain = { points: [deserializeSenderKey(zero)], last: undefined }));
    const at = stateAt(chain, iteration);
    const temporary = new GroupKeyRing(conversation, this.me, { graceMs: 0, epoch });
    try {
      temporary.install(at); // the ring's chain starts from a copy: `at` stays at `iteration`
      const opened = openMessage(temporary, message, guard);
      chain.last?.chainKey.fill(0);
      chain.last = at;
      return opened;
    } catch (error) {
      at.chainKey.fill(0);
      throw error;
    } finally {
      temporary.wipe();
    }
  }

  /** Iteration-0 distribution bytes of every key held for (conversation, epoch). */
  keysAt(conversation: string, epoch: number): Uint8Array[] {
    return [...(this.zero.get(conversation)?.get(epoch)?.values() ?? [])];
  }

  /**
   * The voice-frame secret (crypto/sender-key.ts `frameSecretOf`) of `senderId`'s key
   * for (conversation, epoch): what seals and opens their frames on the relay path.
   * Undefined until that key is held. My own comes from my sending key, made if needed.
   */
  frameSecret(conversation: string, senderId: string, epoch = this.currentEpoch): Uint8Array | undefined {
    if (senderId === this.meId && epoch === this.currentEpoch) this.sendingKey(conversation);
    const zero = this.zero.get(conversation)?.get(epoch)?.get(senderId);
    return zero && frameSecretOf(deserializeSenderKey(zero));
  }

  /** Conversations with any key held. */
  conversations(): string[] {
    return [...this.zero.keys()];
  }

  /** The members my key for (conversation, epoch) was sealed to. */
  recipients(conversation: string, epoch: number): Set<string> {
    let set = this.given.get(slot(conversation, epoch));
    if (!set) this.given.set(slot(conversation, epoch), (set = new Set()));
    return set;
  }

  /** Called after any change worth saving. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Marks state changed (my key advanced by a send, recipients added). */
  changed(): void {
    for (const l of this.changeListeners) l();
  }

  save(): SavedKeys {
    const received: string[] = [];
    for (const byEpoch of this.zero.values())
      for (const bySender of byEpoch.values())
        for (const bytes of bySender.values()) received.push(toBase64url(bytes));
    return {
      epoch: this.currentEpoch,
      removed: [...this.removedFrom],
      received,
      mine: [...this.mine.values()].map((k) => toBase64url(serializeSenderKey(k))),
      distributed: [...this.given].map(([s, ids]) => {
        const space = s.indexOf(' ');
        return [s.slice(space + 1), Number(s.slice(0, space)), [...ids]];
      }),
    };
  }

  /** Restores saved keys; entries that no longer parse or fit are skipped. */
  restore(saved: SavedKeys): void {
    this.setEpoch(saved.epoch);
    for (const [id, epoch] of saved.removed) this.removedFrom.set(id, epoch);
    for (const text of saved.received) {
      try {
        this.install(deserializeSenderKey(fromBase64url(text)));
      } catch {
        // A key this device can no longer hold (a removed sender, a conflict): dropped.
      }
    }
    for (const text of saved.mine) {
      try {
        const key = deserializeSenderKey(fromBase64url(text));
        this.mine.set(slot(key.channelId, key.epoch), key);
      } catch {
        // Unreadable: the next send starts a fresh key.
      }
    }
    for (const [conversation, epoch, ids] of saved.distributed) {
      const set = this.recipients(conversation, epoch);
      for (const id of ids) set.add(id);
    }
  }

  private remember(key: SenderKey): void {
    let byEpoch = this.zero.get(key.channelId);
    if (!byEpoch) this.zero.set(key.channelId, (byEpoch = new Map()));
    let bySender = byEpoch.get(key.epoch);
    if (!bySender) byEpoch.set(key.epoch, (bySender = new Map()));
    bySender.set(userIdOf(key.senderPublicKey), serializeSenderKey(key));
  }
}

/**
 * A fresh copy of `chain`'s state at `iteration`: from the last state opened when it
 * is on the way, else from the checkpoint below (made as needed, chain keys only).
 */
function stateAt(chain: HistoryChain, iteration: number): SenderKey {
  const { points, last } = chain;
  const want = Math.floor(iteration / CHECKPOINT_EVERY);
  while (points.length <= want) {
    const next = copySenderKey(points.at(-1)!);
    advanceSenderKey(next, next.iteration + CHECKPOINT_EVERY);
    points.push(next);
  }
  const checkpoint = points[want]!;
  const from =
    last && last.iteration <= iteration && last.iteration > checkpoint.iteration ? last : checkpoint;
  const at = copySenderKey(from);
  advanceSenderKey(at, iteration);
  return at;
}
