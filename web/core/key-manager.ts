/**
 * One server's group keys on this device, for every conversation (channel id or
 * `dm:<a>:<b>`) and epoch.
 *
 * - Receiving: every sender key held, by (conversation, epoch, sender), each in a
 *   GroupKeyRing pinned to its epoch (rings never advance here). Messages carry their
 *   epoch in the header, so each opens with its own epoch's keys, and history of
 *   earlier epochs stays readable for as long as this device keeps them
 *   (`MAX_EPOCHS_KEPT`).
 * - Sending: this device's own chain per conversation at the server's current
 *   membership epoch, sealed with directly (message.ts accepts a bare SenderKey), so
 *   its state can be saved and restored; its first state sits among the received keys
 *   like anyone's, so my own messages open too.
 * - The epoch rule of group-keys.ts, applied across epochs: when the server's epoch
 *   rises (a kick, ban or leave), my next send starts a fresh chain at the new epoch;
 *   keys from a removed member for its removal epoch or later are refused.
 * - One identity on several devices (a browser restored from a backup, a bot restarted
 *   without its state file, two tabs): each device sends on a chain of its own, so one
 *   sender may have several chains at one (conversation, epoch), at most
 *   `MAX_CHAINS_PER_SENDER`. The channel log seals every chain to every member, its
 *   sender included, so a fresh device is handed its identity's earlier chains; it
 *   installs them (reads what they sealed) and starts its own.
 *   Why not adopt the chain found in the log and go on with it: two live devices on
 *   one chain take the same iteration, so the same message key for two messages, and
 *   neither can know how far the other went (offline writes, messages in flight). A
 *   chain per device makes every (chain, iteration) key distinct whatever happens.
 *   What chains of one identity still share is the numbering: a message names only
 *   (sender, epoch, iteration), no device, and doc-ids.ts derives the Yjs client and
 *   post id from that, so they keep to disjoint iteration ranges:
 *   - a chain starts at a random iteration below 2^31 (its first chain key is random,
 *     nothing before it exists, so it may start anywhere), at least `START_GAP` away
 *     from every chain of my identity this device knows of (its start and what was
 *     seen of it);
 *   - before each send the distributor calls `claimSendingKey`: a chain whose next
 *     iteration reaches another known chain of my identity (its start, or iterations
 *     seen used) is retired and a fresh chain started, then handed out ahead of the
 *     message like any new key.
 *   Two devices that have not yet seen each other's key clash only if their random
 *   starts fall within the messages they send meanwhile (about 2n / 2^31 for n such
 *   messages); even then no message key repeats, only ids. A device id in the message
 *   header would close that too, but is a format change (message.ts, doc-ids.ts).
 *   A message opens with its sender's chain that starts nearest below its iteration;
 *   the others that start below it are tried after, ring only (a clash). A key is a
 *   new chain unless it lies on one already held, and a second chain neither replaces
 *   nor blocks the first (each chain grants reading only: every message is signed by
 *   its author).
 * - First states of every chain held, by (conversation, epoch, sender): what an
 *   invite bundle or a newcomer hand-over passes on, so the newcomer reads the epoch
 *   from its start; a chain's voice-frame secret derives from it too.
 * - Who got each of my chains for (conversation, epoch): the distributor tops it up
 *   for newcomers.
 * - History out of order: a ring's chain only looks MAX_SKIP (2000) ahead and keeps
 *   2000 skipped keys, which live traffic needs and history does not fit (the newest
 *   page of a 10,000-message channel first, then older pages). A message the ring
 *   refuses as too far ahead or too old opens from its chain's first state instead,
 *   through checkpoints every `CHECKPOINT_EVERY` iterations, so any of them costs at
 *   most that many hash steps after the first; the state of the last one opened is
 *   kept too, so a page read oldest first costs one step a message. The device holds
 *   the first state anyway (to hand to newcomers), so this opens nothing it could not
 *   already derive. The signature is checked before any step, and iterations more
 *   than `MAX_HISTORY_ITERATION` past a chain's start are not chased, so a member
 *   cannot make readers spin.
 */
import { equalBytes, fromBase64url, randomBytes, readU32, toBase64url } from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { GroupKeyRing } from '../../crypto/group-keys.ts';
import { userIdOf } from '../../crypto/identity.ts';
import {
  type OpenedMessage,
  openMessage,
  type VerifiedMessage,
  verifyMessage,
} from '../../crypto/message.ts';
import { MAX_SKIP } from '../../crypto/receiver-chain.ts';
import type { ReplayGuard } from '../../crypto/replay-guard.ts';
import {
  advanceSenderKey,
  assertSenderKey,
  copySenderKey,
  createSenderKey,
  deserializeSenderKey,
  frameSecretOf,
  MAX_ITERATION,
  type SenderKey,
  serializeSenderKey,
} from '../../crypto/sender-key.ts';

/** Spacing of the chain states kept for opening history out of order. */
export const CHECKPOINT_EVERY = 256;
/** Iterations further than this past a chain's start are not derived (at ~2 µs a step, ~2 s of work). */
export const MAX_HISTORY_ITERATION = 1_000_000;

/** Epochs of one conversation kept on this device; older ones are dropped. */
export const MAX_EPOCHS_KEPT = 32;

/** Chains of one sender kept for one (conversation, epoch): one per device it sent from, and rotations. */
export const MAX_CHAINS_PER_SENDER = 256;
/** New chains start below this iteration (the rest of the 2^32 − 1 is room to send). */
export const START_SPAN = 2 ** 31;
/** A new chain of mine starts at least this far from any chain of my identity known here. */
export const START_GAP = 1 << 16;

/** The saved form (JSON): every key as base64url distribution bytes. */
export interface SavedKeys {
  epoch: number;
  removed: [string, number][];
  received: string[];
  mine: string[];
  /** (conversation, epoch, who got it, the chain's start iteration: absent in older saves). */
  distributed: [string, number, string[], number?][];
}

/** One of my chains as handed out: where it starts and its first state's distribution bytes. */
export interface ChainStart {
  from: number;
  distribution: Uint8Array;
}

const slot = (conversation: string, epoch: number) => `${epoch} ${conversation}`;
const RETRY = new Set(['UNKNOWN_KEY', 'TOO_OLD', 'DECRYPT_FAILED']);

/** One chain of one sender at (conversation, epoch). */
interface Chain {
  /** The ring holding it (a ring holds one chain per sender): its index in the slot's rings. */
  readonly lane: number;
  /** Iteration of its first state held. */
  readonly from: number;
  /** That first state's distribution bytes. */
  readonly start: Uint8Array;
  /** The highest iteration opened or sent on it (from − 1 before any). */
  seen: number;
}

/** This device's chain for one (conversation, epoch): its sending state and its entry among the chains. */
interface Own {
  readonly key: SenderKey;
  readonly chain: Chain;
}

/** One chain rebuilt from its first state, for history the ring refuses. */
interface HistoryChain {
  /** States at iterations from, from + CHECKPOINT_EVERY, from + 2·CHECKPOINT_EVERY, … */
  points: SenderKey[];
  /** The state at the iteration of the last message opened through it. */
  last: SenderKey | undefined;
}

interface Given {
  readonly conversation: string;
  readonly epoch: number;
  readonly from: number;
  readonly ids: Set<string>;
}

export class KeyManager {
  readonly me: Uint8Array;
  readonly meId: string;
  private currentEpoch = 0;
  /** conversation → epoch → rings; a sender's k-th chain at that epoch sits in ring k. */
  private readonly rings = new Map<string, Map<number, GroupKeyRing[]>>();
  /** slot → sender id → chains, in the order installed. */
  private readonly chains = new Map<string, Map<string, Chain[]>>();
  /** `slot|sender|from` → that chain rebuilt from its first state. */
  private readonly history = new Map<string, HistoryChain>();
  private readonly mine = new Map<string, Own>();
  private readonly removedFrom = new Map<string, number>();
  /** `slot|from` → who got that chain of mine. */
  private readonly given = new Map<string, Given>();
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

  /**
   * My sending key for `conversation` at the current epoch: this device's chain, or
   * a fresh one when there is none yet (see the header for where it starts).
   */
  sendingKey(conversation: string): SenderKey {
    const epoch = this.currentEpoch;
    return (this.mine.get(slot(conversation, epoch)) ?? this.startChain(conversation, epoch)).key;
  }

  /**
   * Makes sure the iteration my next message in `conversation` takes is mine to use:
   * when another chain of my identity (another device's) starts at or before it, or
   * was seen using it, my chain is retired and a fresh one started. Returns this
   * device's chain to hand out. The distributor calls it ahead of every send.
   */
  claimSendingKey(conversation: string): ChainStart {
    const s = slot(conversation, this.currentEpoch);
    const own = this.mine.get(s);
    if (own && !this.free(s, own)) {
      own.chain.seen = Math.max(own.chain.seen, own.key.iteration - 1);
      own.key.chainKey.fill(0);
      this.mine.delete(s);
      this.changed();
    }
    this.sendingKey(conversation);
    const { chain } = this.mine.get(s)!;
    return { from: chain.from, distribution: chain.start };
  }

  /** This device's chain's first-state distribution bytes for (conversation, epoch), if it made one. */
  myDistribution(conversation: string, epoch: number): Uint8Array | undefined {
    return this.mine.get(slot(conversation, epoch))?.chain.start;
  }

  /** Every chain of my identity held for (conversation, epoch): this device's and other devices'. */
  myChains(conversation: string, epoch: number): ChainStart[] {
    const held = this.chains.get(slot(conversation, epoch))?.get(this.meId) ?? [];
    return held.map((c) => ({ from: c.from, distribution: c.start }));
  }

  /**
   * Installs someone's sender key (mine from another device included). False when it
   * lies on a chain already held. Throws `KEY_REJECTED` for a removed sender (at or
   * after its removal epoch) or a sender past `MAX_CHAINS_PER_SENDER`, `TOO_OLD` for
   * an epoch this device no longer keeps.
   */
  install(key: SenderKey): boolean {
    assertSenderKey(key, 'key');
    const sender = userIdOf(key.senderPublicKey);
    const removed = this.removedFrom.get(sender);
    if (removed !== undefined && key.epoch >= removed)
      throw new CryptoError('KEY_REJECTED', `sender was removed at epoch ${removed}`);
    const held = this.chains.get(slot(key.channelId, key.epoch))?.get(sender) ?? [];
    if (held.some((c) => onChain(c, key))) return false;
    if (held.length >= MAX_CHAINS_PER_SENDER)
      throw new CryptoError('KEY_REJECTED', `sender has ${held.length} keys at epoch ${key.epoch} already`);
    this.addChain(key);
    this.changed();
    return true;
  }

  hasKey(conversation: string, sender: Uint8Array, epoch: number): boolean {
    return (this.chains.get(slot(conversation, epoch))?.get(userIdOf(sender))?.length ?? 0) > 0;
  }

  /**
   * Opens a message with its sender's chain for its epoch (see the header for which,
   * and openMessage for the checks). Bytes are verified here with noble; a
   * VerifiedMessage (verifyMessageAsync) is not verified again.
   */
  open(conversation: string, sealed: Uint8Array | VerifiedMessage, guard: ReplayGuard): OpenedMessage {
    // Verified once, up front: every chain tried and the history chain open the same token.
    const message = sealed instanceof Uint8Array ? verifyMessage(sealed) : sealed;
    const rings = this.rings.get(conversation)?.get(message.epoch);
    const held = this.chains.get(slot(conversation, message.epoch))?.get(userIdOf(message.sender));
    if (!rings || !held)
      throw new CryptoError('UNKNOWN_KEY', `no key of its sender for epoch ${message.epoch}`);
    const candidates = held.filter((c) => c.from <= message.iteration).sort((a, b) => b.from - a.from);
    let refusal: CryptoError | undefined;
    for (const [i, chain] of candidates.entries()) {
      try {
        return this.opened(chain, openMessage(rings[chain.lane]!, message, guard));
      } catch (error) {
        if (!(error instanceof CryptoError) || !RETRY.has(error.code)) throw error;
        refusal ??= error;
        if (i > 0 || error.code === 'DECRYPT_FAILED') continue;
      }
      try {
        const opened = this.openFromStart(conversation, chain, message, guard);
        if (opened) return this.opened(chain, opened);
      } catch (error) {
        if (!(error instanceof CryptoError) || !RETRY.has(error.code)) throw error;
      }
    }
    throw refusal ?? new CryptoError('UNKNOWN_KEY', 'message is older than every key held for its sender');
  }

  /** First-state distribution bytes of every chain held for (conversation, epoch). */
  keysAt(conversation: string, epoch: number): Uint8Array[] {
    const bySender = this.chains.get(slot(conversation, epoch));
    return [...(bySender?.values() ?? [])].flatMap((held) => held.map((c) => c.start));
  }

  /**
   * The voice-frame secret of `senderId`'s key for (conversation, epoch): what seals
   * and opens their frames on the relay path, frameSecretOf (crypto/sender-key.ts) of
   * the chain's first state. Undefined until that key is held. My own comes from this
   * device's sending key, made if needed; another sender's from its newest chain (a
   * restarted device's).
   */
  frameSecret(conversation: string, senderId: string, epoch = this.currentEpoch): Uint8Array | undefined {
    if (senderId === this.meId && epoch === this.currentEpoch) {
      this.sendingKey(conversation);
      return frameSecretOfStart(this.mine.get(slot(conversation, epoch))!.chain.start);
    }
    const newest = this.chains.get(slot(conversation, epoch))?.get(senderId)?.at(-1);
    return newest && frameSecretOfStart(newest.start);
  }

  /** Conversations with any key held. */
  conversations(): string[] {
    return [...this.rings.keys()];
  }

  /** The members my chain for (conversation, epoch) starting at `from` (default: this device's) was sealed to. */
  recipients(conversation: string, epoch: number, from?: number): Set<string> {
    const start = from ?? this.mine.get(slot(conversation, epoch))?.chain.from ?? -1;
    const k = `${slot(conversation, epoch)}|${start}`;
    let entry = this.given.get(k);
    if (!entry) this.given.set(k, (entry = { conversation, epoch, from: start, ids: new Set() }));
    return entry.ids;
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
    for (const bySender of this.chains.values())
      for (const held of bySender.values()) for (const c of held) received.push(toBase64url(c.start));
    return {
      epoch: this.currentEpoch,
      removed: [...this.removedFrom],
      received,
      mine: [...this.mine.values()].map((o) => toBase64url(serializeSenderKey(o.key))),
      distributed: [...this.given.values()].map((g) => [g.conversation, g.epoch, [...g.ids], g.from]),
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
        // A key this device can no longer hold (a removed sender, an epoch dropped): dropped.
      }
    }
    for (const text of saved.mine) {
      try {
        const key = deserializeSenderKey(fromBase64url(text));
        if (!equalBytes(key.senderPublicKey, this.me)) continue;
        const held = this.chains.get(slot(key.channelId, key.epoch))?.get(this.meId) ?? [];
        // Chains of one identity keep to disjoint ranges: the one starting nearest below is this one.
        const chain =
          held.filter((c) => c.from <= key.iteration).sort((a, b) => b.from - a.from)[0] ??
          this.addChain(copySenderKey(key));
        this.mine.set(slot(key.channelId, key.epoch), { key, chain });
      } catch {
        // Unreadable: the next send starts a fresh chain.
      }
    }
    for (const [conversation, epoch, ids, from] of saved.distributed) {
      // Older saves name no chain: theirs is the one chain this device had there.
      const start = from ?? this.mine.get(slot(conversation, epoch))?.chain.from;
      if (start === undefined) continue;
      const set = this.recipients(conversation, epoch, start);
      for (const id of ids) set.add(id);
    }
  }

  /** A fresh chain of mine for (conversation, epoch), away from every chain of my identity known here. */
  private startChain(conversation: string, epoch: number): Own {
    const held = this.chains.get(slot(conversation, epoch))?.get(this.meId) ?? [];
    if (held.length >= MAX_CHAINS_PER_SENDER)
      throw new CryptoError(
        'KEY_REJECTED',
        `this identity has ${held.length} keys at epoch ${epoch} already`,
      );
    const key = createSenderKey(conversation, epoch, this.me);
    key.iteration = pickStart(held);
    const chain = this.addChain(key);
    const own = { key, chain };
    this.mine.set(slot(conversation, epoch), own);
    this.changed();
    return own;
  }

  /** Whether the iteration `own` would send at next is clear of every other known chain of my identity. */
  private free(s: string, own: Own): boolean {
    const next = own.key.iteration;
    if (next > MAX_ITERATION) return false;
    for (const c of this.chains.get(s)?.get(this.meId) ?? []) {
      if (c === own.chain) continue;
      // Its known span [from, seen] meets mine [own.from, next]: it starts inside mine, or ran into it.
      if (c.from <= next && Math.max(c.seen, c.from) >= own.chain.from) return false;
    }
    return true;
  }

  /** Adds `key` as a new chain of its sender, in the first ring without one of theirs. */
  private addChain(key: SenderKey): Chain {
    const s = slot(key.channelId, key.epoch);
    const rings = this.ringsOf(key.channelId, key.epoch);
    let bySender = this.chains.get(s);
    if (!bySender) this.chains.set(s, (bySender = new Map()));
    const sender = userIdOf(key.senderPublicKey);
    let held = bySender.get(sender);
    if (!held) bySender.set(sender, (held = []));
    const used = new Set(held.map((c) => c.lane));
    let lane = 0;
    while (used.has(lane)) lane++;
    while (rings.length <= lane)
      rings.push(new GroupKeyRing(key.channelId, this.me, { graceMs: 0, epoch: key.epoch }));
    rings[lane]!.install(key); // the ring's chain starts from a copy
    const chain: Chain = {
      lane,
      from: key.iteration,
      start: serializeSenderKey(key),
      seen: key.iteration - 1,
    };
    held.push(chain);
    return chain;
  }

  /** The rings of (conversation, epoch), made on first use; epochs past `MAX_EPOCHS_KEPT` are dropped. */
  private ringsOf(conversation: string, epoch: number): GroupKeyRing[] {
    let byEpoch = this.rings.get(conversation);
    const held = byEpoch?.get(epoch);
    if (held) return held;
    if (byEpoch && epoch < Math.max(...byEpoch.keys()) - MAX_EPOCHS_KEPT)
      throw new CryptoError('TOO_OLD', `epoch ${epoch} is no longer kept`);
    if (!byEpoch) this.rings.set(conversation, (byEpoch = new Map()));
    const rings: GroupKeyRing[] = [];
    byEpoch.set(epoch, rings);
    const floor = Math.max(...byEpoch.keys()) - MAX_EPOCHS_KEPT;
    for (const [e, old] of byEpoch) {
      if (e >= floor) continue;
      for (const r of old) r.wipe();
      byEpoch.delete(e);
      const gone = slot(conversation, e);
      this.chains.delete(gone);
      for (const [k, chain] of this.history) {
        if (!k.startsWith(`${gone}|`)) continue;
        for (const p of chain.points) p.chainKey.fill(0);
        chain.last?.chainKey.fill(0);
        this.history.delete(k);
      }
    }
    return rings;
  }

  private opened(chain: Chain, opened: OpenedMessage): OpenedMessage {
    if (opened.iteration > chain.seen) chain.seen = opened.iteration;
    return opened;
  }

  /**
   * Opens `message` with `chain` rebuilt from its first state (see the header), or
   * undefined. Only called after the ring refused it; its signature was verified
   * before, so only signed messages reach this work.
   */
  private openFromStart(
    conversation: string,
    chain: Chain,
    message: VerifiedMessage,
    guard: ReplayGuard,
  ): OpenedMessage | undefined {
    const { epoch, iteration, sender } = message;
    if (iteration - chain.from > MAX_HISTORY_ITERATION) return undefined;
    const key = `${slot(conversation, epoch)}|${userIdOf(sender)}|${chain.from}`;
    let rebuilt = this.history.get(key);
    if (!rebuilt)
      this.history.set(key, (rebuilt = { points: [deserializeSenderKey(chain.start)], last: undefined }));
    const at = stateAt(rebuilt, iteration);
    const temporary = new GroupKeyRing(conversation, this.me, { graceMs: 0, epoch });
    try {
      temporary.install(at); // the ring's chain starts from a copy: `at` stays at `iteration`
      const opened = openMessage(temporary, message, guard);
      rebuilt.last?.chainKey.fill(0);
      rebuilt.last = at;
      return opened;
    } catch (error) {
      at.chainKey.fill(0);
      throw error;
    } finally {
      temporary.wipe();
    }
  }
}

/** Whether `key` lies on `chain` (its first state, or within MAX_SKIP steps after or before it). */
function onChain(chain: Chain, key: SenderKey): boolean {
  const start = deserializeSenderKey(chain.start);
  const distance = key.iteration - start.iteration;
  if (Math.abs(distance) > MAX_SKIP) return false;
  const [behind, ahead] = distance >= 0 ? [copySenderKey(start), key] : [copySenderKey(key), start];
  advanceSenderKey(behind, ahead.iteration);
  const same = equalBytes(behind.chainKey, ahead.chainKey);
  behind.chainKey.fill(0);
  start.chainKey.fill(0);
  return same;
}

/**
 * A start for a new chain of mine: random below START_SPAN, at least START_GAP from
 * every known chain's span [from, seen] (see the header).
 */
function pickStart(known: readonly Chain[]): number {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const start = readU32(randomBytes(4), 0) % START_SPAN;
    const clear = known.every(
      (c) => start < c.from - START_GAP || start > Math.max(c.seen, c.from) + START_GAP,
    );
    if (clear) return start;
  }
  throw new CryptoError('EXPIRED', 'no room left for another sender key at this epoch');
}

/**
 * The voice-frame secret of a chain: frameSecretOf of its first state. A chain
 * starts wherever its random chain key does (see the header), so that state plays
 * the part sender-key.ts gives iteration 0: every holder derives the same secret.
 */
function frameSecretOfStart(start: Uint8Array): Uint8Array {
  const first = deserializeSenderKey(start);
  first.iteration = 0;
  const secret = frameSecretOf(first);
  first.chainKey.fill(0);
  return secret;
}

/**
 * A fresh copy of `chain`'s state at `iteration`: from the last state opened when it
 * is on the way, else from the checkpoint below (made as needed, chain keys only).
 */
function stateAt(chain: HistoryChain, iteration: number): SenderKey {
  const { points, last } = chain;
  const from = points[0]!.iteration;
  const want = Math.floor((iteration - from) / CHECKPOINT_EVERY);
  while (points.length <= want) {
    const next = copySenderKey(points.at(-1)!);
    advanceSenderKey(next, next.iteration + CHECKPOINT_EVERY);
    points.push(next);
  }
  const checkpoint = points[want]!;
  const base =
    last && last.iteration <= iteration && last.iteration > checkpoint.iteration ? last : checkpoint;
  const at = copySenderKey(base);
  advanceSenderKey(at, iteration);
  return at;
}
