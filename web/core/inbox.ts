/**
 * The way in for one conversation's log entries, pushed or fetched: key entries
 * install keys; update entries are checked (the server-attested author must be the
 * signed sender), opened (signature, decryption, replay guard: crypto/message.ts),
 * then handed to the document's authorship check before they touch it.
 *
 * Entries whose key has not arrived wait in `buffered` (bounded, oldest dropped),
 * and are retried whenever a key is installed; updates that refer to document items
 * not yet present wait in `waiting`, retried after every update applied. Forgeries
 * and rule violations are dropped and counted in `stats`, never shown.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import type { Agreement } from '../../crypto/ecdh.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { userIdOf } from '../../crypto/identity.ts';
import {
  type MessageHeader,
  peekMessageHeader,
  type VerifiedMessage,
  verifyMessageAsync,
} from '../../crypto/message.ts';
import { ReplayGuard } from '../../crypto/replay-guard.ts';
import type { ChannelDoc } from './channel-doc.ts';
import type { UpdateContext } from './doc-authorship.ts';
import { decodeDocPlaintext, updateIds } from './doc-ids.ts';
import { openKeyEntry } from './key-entry.ts';
import type { KeyManager } from './key-manager.ts';
import type { LogEntry } from './local-cache.ts';

export const MAX_BUFFERED = 2000;
/** Failures to open that more keys of the sender may cure (crypto codes). */
const RETRY_WITH_MORE_KEYS: ReadonlySet<string> = new Set(['UNKNOWN_KEY', 'TOO_OLD', 'DECRYPT_FAILED']);
/** How often an update that no held chain opened waits for more keys before it is given up. */
const MAX_TRIES = 2;
export const MAX_WAITING = 1000;
/** The seq of an update that came from a peer rather than the server's log. */
const PEER_SEQ = -1;

export interface InboxContext {
  conversation: string;
  keys: KeyManager;
  agreement: Agreement;
  doc: ChannelDoc;
  isModerator(userId: string): boolean;
  /** Updates from these senders at `epoch` wait for keys. */
  onKeysMissing(epoch: number, senders: string[]): void;
  /** A post by someone was added; `live` when it arrived as news rather than history. */
  onNewPost(postId: string, author: string, live: boolean): void;
}

export interface InboxStats {
  /** Entries whose signature, sender or format did not hold up. */
  forged: number;
  /** Authentic updates the authorship rule refused. */
  rejected: number;
  /** Authentic entries this device can never open (keys gone, or refused). */
  undecryptable: number;
  /** Dropped from a full buffer. */
  overflowed: number;
  keysInstalled: number;
  /** Updates shown first from a mesh peer's copy (the server's copy then came as a replay). */
  fromPeers: number;
}

interface Waiting {
  update: Uint8Array;
  ctx: UpdateContext;
  live: boolean;
}

export class Inbox {
  readonly stats: InboxStats = {
    forged: 0,
    rejected: 0,
    undecryptable: 0,
    overflowed: 0,
    keysInstalled: 0,
    fromPeers: 0,
  };
  private readonly guard = new ReplayGuard();
  private readonly seen = new Set<number>();
  private buffered: {
    entry: LogEntry;
    live: boolean;
    header: MessageHeader;
    verified: VerifiedMessage | undefined;
    /** Times it failed to open with the keys held (a chain of its sender not yet here). */
    tries: number;
  }[] = [];
  private waiting: Waiting[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: InboxContext) {}

  /** Updates that wait for a key. */
  get pendingKeys(): number {
    return this.buffered.length;
  }

  /** Processes entries in seq order, after any already queued. */
  push(entries: readonly LogEntry[], live: boolean): Promise<void> {
    const sorted = [...entries].sort((a, b) => a.seq - b.seq);
    this.queue = this.queue.then(() => this.process(sorted, live));
    return this.queue;
  }

  /**
   * A sealed update a mesh peer sent, `sender` being the user id its link proved
   * (mesh.ts). It takes the same checks as a log entry; it has no seq, so the
   * server's copy, when it comes, is refused as a replay by message id.
   */
  fromPeer(sealed: Uint8Array, sender: string): Promise<void> {
    const entry: LogEntry = {
      seq: PEER_SEQ,
      kind: 'update',
      id: null,
      author: sender,
      at: Date.now(),
      blob: toBase64url(sealed),
    };
    // Verified before it joins the queue (WebCrypto, off the main thread), opened in turn.
    const verified = this.verifyAll([entry]).then((v) => v.get(entry));
    this.queue = this.queue.then(async () => {
      const message = await verified;
      if (message) this.update(entry, true, message);
      else this.stats.forged++;
      this.askForKeys();
    });
    return this.queue;
  }

  private async process(entries: LogEntry[], live: boolean): Promise<void> {
    const fresh: LogEntry[] = [];
    for (const entry of entries) {
      if (this.seen.has(entry.seq)) continue;
      this.seen.add(entry.seq);
      fresh.push(entry);
    }
    const verified = await this.verifyAll(fresh);
    for (const entry of fresh) {
      if (entry.kind === 'key') {
        if (await this.key(entry)) this.retryBuffered();
      } else if (entry.kind === 'update') {
        const message = verified.get(entry);
        if (message) this.update(entry, live, message);
        else this.stats.forged++;
      }
      // 'snapshot' entries (log.compact) are not written by this client, and a merged
      // update would break the one-client-per-update rule: ignored.
    }
    this.askForKeys();
  }

  /**
   * The signatures of a batch's updates, checked all at once (WebCrypto, in parallel)
   * before any of them is opened, in seq order, without checking again. An update
   * missing from the result is malformed or not signed by the sender it names.
   */
  private async verifyAll(entries: readonly LogEntry[]): Promise<Map<LogEntry, VerifiedMessage>> {
    const verified = new Map<LogEntry, VerifiedMessage>();
    await Promise.all(
      entries
        .filter((e) => e.kind === 'update')
        .map(async (e) => {
          try {
            verified.set(e, await verifyMessageAsync(fromBase64url(e.blob)));
          } catch {
            // Left out: `process` counts it as forged.
          }
        }),
    );
    return verified;
  }

  private async key(entry: LogEntry): Promise<boolean> {
    const { conversation, keys, agreement } = this.ctx;
    try {
      const got = await openKeyEntry(agreement, conversation, fromBase64url(entry.blob));
      if (!got) return false;
      if (userIdOf(got.sender) !== entry.author) {
        this.stats.forged++;
        return false;
      }
      const added = keys.install(got.key);
      if (added) this.stats.keysInstalled++;
      return added;
    } catch (error) {
      if (error instanceof CryptoError && error.code === 'KEY_REJECTED') this.stats.undecryptable++;
      else this.stats.forged++;
      return false;
    }
  }

  /** An update entry; `verified` when its signature was checked already (else `open` checks it). */
  private update(entry: LogEntry, live: boolean, verified?: VerifiedMessage): void {
    let header: MessageHeader;
    try {
      header = verified ?? peekMessageHeader(fromBase64url(entry.blob));
    } catch {
      this.stats.forged++;
      return;
    }
    // The server says who appended the entry; a blob naming another sender is a forgery or a copy.
    if (header.channelId !== this.ctx.conversation || userIdOf(header.sender) !== entry.author) {
      this.stats.forged++;
      return;
    }
    if (!this.ctx.keys.hasKey(this.ctx.conversation, header.sender, header.epoch)) {
      this.hold({ entry, live, header, verified, tries: 0 });
      return;
    }
    this.open(entry, live, header, verified, 0);
  }

  /** Keeps an update until a key of its sender comes (bounded: the oldest goes first). */
  private hold(b: Inbox['buffered'][number]): void {
    this.buffered.push(b);
    if (this.buffered.length > MAX_BUFFERED) {
      this.buffered.shift();
      this.stats.overflowed++;
    }
  }

  private open(
    entry: LogEntry,
    live: boolean,
    header: MessageHeader,
    verified: VerifiedMessage | undefined,
    tries: number,
  ): void {
    const { conversation, keys } = this.ctx;
    let plaintext: Uint8Array;
    let ids: ReturnType<typeof updateIds>;
    let author: string;
    try {
      const opened = keys.open(conversation, verified ?? fromBase64url(entry.blob), this.guard);
      author = userIdOf(opened.sender);
      ids = updateIds(opened.sender, conversation, opened.epoch, opened.iteration);
      plaintext = opened.plaintext;
    } catch (error) {
      const code = error instanceof CryptoError ? error.code : 'BAD_FORMAT';
      if (code === 'REPLAY') return; // the same entry again: already applied
      if (RETRY_WITH_MORE_KEYS.has(code) && tries < MAX_TRIES) {
        // Signed by its sender, yet no chain held opens it: likely a chain of another
        // device of theirs whose key is not here yet. It waits for keys, and is asked for.
        this.hold({ entry, live, header, verified, tries: tries + 1 });
        return;
      }
      if (code === 'UNKNOWN_KEY' || code === 'TOO_OLD') this.stats.undecryptable++;
      else this.stats.forged++;
      return;
    }
    let update: Uint8Array;
    try {
      update = decodeDocPlaintext(plaintext);
    } catch {
      this.stats.rejected++;
      return;
    }
    const ctx = {
      author,
      clientId: ids.clientId,
      postId: ids.postId,
      moderator: this.ctx.isModerator(author),
    };
    if (this.apply({ update, ctx, live }) && entry.seq === PEER_SEQ) this.stats.fromPeers++;
  }

  private apply(w: Waiting): boolean {
    const verdict = this.ctx.doc.apply(w.update, w.ctx);
    if (verdict.ok) {
      if (verdict.newPost) this.ctx.onNewPost(w.ctx.postId, w.ctx.author, w.live);
      if (!verdict.duplicate) this.retryWaiting();
      return true;
    }
    if (verdict.wait) {
      if (!this.waiting.includes(w)) {
        this.waiting.push(w);
        if (this.waiting.length > MAX_WAITING) {
          this.waiting.shift();
          this.stats.overflowed++;
        }
      }
    } else this.stats.rejected++;
    return false;
  }

  private retryWaiting(): void {
    for (let progress = true; progress && this.waiting.length > 0; ) {
      progress = false;
      for (const w of [...this.waiting]) {
        const verdict = this.ctx.doc.apply(w.update, w.ctx);
        if (verdict.ok || !verdict.wait) {
          this.waiting.splice(this.waiting.indexOf(w), 1);
          if (verdict.ok && verdict.newPost) this.ctx.onNewPost(w.ctx.postId, w.ctx.author, w.live);
          if (!verdict.ok) this.stats.rejected++;
          progress ||= verdict.ok;
        }
      }
    }
  }

  private retryBuffered(): void {
    const { conversation, keys } = this.ctx;
    const ready = this.buffered.filter((b) => keys.hasKey(conversation, b.header.sender, b.header.epoch));
    if (ready.length === 0) return;
    this.buffered = this.buffered.filter((b) => !ready.includes(b));
    for (const b of ready) this.open(b.entry, b.live, b.header, b.verified, b.tries);
  }

  private askForKeys(): void {
    const byEpoch = new Map<number, Set<string>>();
    for (const b of this.buffered) {
      let set = byEpoch.get(b.header.epoch);
      if (!set) byEpoch.set(b.header.epoch, (set = new Set()));
      set.add(userIdOf(b.header.sender));
    }
    for (const [epoch, senders] of byEpoch) this.ctx.onKeysMissing(epoch, [...senders]);
  }
}
