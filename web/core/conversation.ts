/**
 * One conversation (a channel or a DM) as the UI sees it: its document, its inbox
 * and history, typing, unread count, and the actions (send, edit, remove, react).
 *
 * A local change is one Yjs transaction made under the clientId derived from the
 * header of the message that will carry it (doc-ids.ts), sealed with my sender key
 * (sealMessage with a bare SenderKey: message.ts takes the ratchet step before its
 * first await, so the iteration read here is the one sealed), and appended through
 * the exactly-once outbox (`id` = the sealed message id). The same sealed bytes go
 * to the peers who have the conversation open, over its mesh (conversation-mesh.ts),
 * when there is one: they see it without waiting for the server's round trip. Before the first message
 * at an epoch, my key goes out to the conversation's readers (key-distributor.ts).
 *
 * Files: each is sealed and stored in chunks first (file-transfer.ts), then the post
 * goes out carrying their ids and keys inside the sealed update (attachments.ts),
 * so a reader never sees a post whose chunks are not all stored yet.
 */
import { toBase64url } from '../../crypto/bytes.ts';
import { maxFileSizeFor } from '../../crypto/file.ts';
import { peekMessageHeader, sealMessage } from '../../crypto/message.ts';
import { MAX_ATTACHMENTS, type SealedAttachment, safeName, viewOf } from './attachments.ts';
import { ChannelDoc, type Post } from './channel-doc.ts';
import { encodeDocPlaintext, updateIds } from './doc-ids.ts';
import { CoreError } from './errors.ts';
import type { FileTransfer } from './file-transfer.ts';
import { DEFAULT_PAGE_SIZE, History } from './history.ts';
import type { IdentityProvider } from './identity-provider.ts';
import { Inbox } from './inbox.ts';
import type { KeyDistributor } from './key-distributor.ts';
import type { KeyManager } from './key-manager.ts';
import type { LocalCache, LogEntry } from './local-cache.ts';
import { findMentions, type Named } from './mentions.ts';
import type { ChatMessage, ConversationView } from './model.ts';
import { Value } from './observable.ts';
import { TYPING_TOPIC, Typing } from './typing.ts';

/** Longest text of one message, in characters (a sealed update must fit a 64 KiB frame). */
export const MAX_TEXT = 16_000;
/** History pages fetched on open while messages still wait for keys sent before them. */
const KEY_SEARCH_PAGES = 5;

export interface ConversationContext {
  identity: IdentityProvider;
  meId: string;
  keys: KeyManager;
  distributor: KeyDistributor;
  cache: LocalCache;
  pageSize?: number;
  online(): boolean;
  request(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
  enqueue(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The server's blob store, shared by the server's conversations. */
  files: FileTransfer;
  /** Stored bytes one file may take on this server (the welcome's `maxUploadBytes`). */
  maxUploadBytes(): number;
  publish(topic: string, data: unknown, room: string): void;
  subscribe(topics: string[], room: string): void;
  unsubscribe(topics: string[], room: string): void;
  members(): Named[];
  isModerator(userId: string): boolean;
  mayRead(userId: string): boolean;
  onUnread(): void;
  /** The fast path to the peers who have this conversation open (conversation-mesh.ts); absent in Node. */
  peers?: PeerPath;
  log?(message: string): void;
}

/** What a conversation asks of its mesh: be there while open, carry my sealed updates. */
export interface PeerPath {
  open(): void;
  close(): void;
  send(sealed: Uint8Array): void;
}

export class Conversation implements ConversationView {
  readonly messages = new Value<ChatMessage[]>([]);
  readonly unread = new Value(0);
  readonly doc = new ChannelDoc();
  readonly inbox: Inbox;
  private readonly history: History;
  private readonly typingState: Typing;
  private readonly pending = new Set<string>();
  private visible = false;
  private opened: Promise<void> | undefined;
  private refreshQueued = false;
  /** Views of posts, reused while the post, its pending mark and the member list are the same objects. */
  private readonly views = new Map<
    string,
    { post: Post; members: Named[]; pending: boolean; message: ChatMessage }
  >();

  constructor(
    readonly id: string,
    private readonly ctx: ConversationContext,
  ) {
    this.inbox = new Inbox({
      conversation: id,
      keys: ctx.keys,
      agreement: ctx.identity.agreement,
      doc: this.doc,
      isModerator: (u) => ctx.isModerator(u),
      onKeysMissing: (epoch, senders) => {
        ctx.distributor.request(id, epoch, senders).catch(() => undefined);
      },
      onNewPost: (_postId, author, live) => this.newPost(author, live),
    });
    this.history = new History({
      conversation: id,
      request: ctx.request,
      cache: ctx.cache,
      pageSize: ctx.pageSize ?? DEFAULT_PAGE_SIZE,
      sink: (entries, live) => this.inbox.push(entries, live),
    });
    this.typingState = new Typing(
      id,
      ctx.meId,
      ctx.identity.signer,
      (data) => ctx.publish(TYPING_TOPIC, data, id),
      (u) => ctx.mayRead(u),
    );
    this.doc.onChange(() => this.scheduleRefresh());
  }

  get typing(): Value<string[]> {
    return this.typingState.typing;
  }

  get hasOlder(): Value<boolean> {
    return this.history.hasOlder;
  }

  /** Shows the conversation: loads history (once) and listens for typing. */
  open(): Promise<void> {
    this.visible = true;
    this.ctx.subscribe([TYPING_TOPIC], this.id);
    this.ctx.peers?.open();
    this.opened ??= this.load();
    return this.opened;
  }

  private async load(): Promise<void> {
    await this.history.start(this.ctx.online());
    for (let i = 0; i < KEY_SEARCH_PAGES && this.inbox.pendingKeys > 0 && this.hasOlder.value; i++)
      await this.history.loadOlder();
  }

  /** A `log` push for this conversation. */
  receive(entry: LogEntry): Promise<void> {
    return this.history.live(entry);
  }

  /** The connection came back: catch up. */
  reconnected(): Promise<void> {
    if (this.visible) this.ctx.subscribe([TYPING_TOPIC], this.id);
    return this.history.reconnected();
  }

  /** A `typing` note published in this conversation's room. */
  typingNote(data: unknown): void {
    this.typingState.receive(data);
  }

  /**
   * Sends a message, with files if given: every file is checked against the server's
   * limit before anything is uploaded (`TOO_LARGE`), then sealed and stored, then the
   * post goes out. Resolves once the post is queued; with files, only after they are
   * stored (offline, the upload waits in the outbox for the connection).
   */
  async send(text: string, options: { replyTo?: string; files?: File[] | Blob[] } = {}): Promise<void> {
    const files: Blob[] = [...(options.files ?? [])];
    if (text.length > MAX_TEXT)
      throw new CoreError('TOO_LARGE', `messages are at most ${MAX_TEXT} characters`);
    if (files.length > MAX_ATTACHMENTS)
      throw new CoreError('TOO_LARGE', `a message carries at most ${MAX_ATTACHMENTS} files`);
    const limit = maxFileSizeFor(this.ctx.maxUploadBytes());
    for (const f of files) {
      if (f.size > limit) {
        const name = 'name' in f && typeof f.name === 'string' ? safeName(f.name) : 'the file';
        throw new CoreError(
          'TOO_LARGE',
          `${name} is ${f.size} bytes; this server takes files up to ${limit}`,
        );
      }
    }
    const attachments: SealedAttachment[] = [];
    for (const f of files) attachments.push(await this.ctx.files.upload(this.id, f));
    const at = Date.now();
    await this.commit((d, postId) =>
      d.createPost(postId, {
        author: this.ctx.meId,
        at,
        text,
        ...(options.replyTo !== undefined ? { replyTo: options.replyTo } : {}),
        ...(attachments.length > 0 ? { attachments } : {}),
      }),
    );
    this.typingState.sent();
  }

  async edit(id: string, text: string): Promise<void> {
    if (text.length > MAX_TEXT)
      throw new CoreError('TOO_LARGE', `messages are at most ${MAX_TEXT} characters`);
    this.requireAuthor(id, false);
    await this.commit((d) => d.setText(id, text, Date.now()));
  }

  async remove(id: string): Promise<void> {
    this.requireAuthor(id, true);
    await this.commit((d) => d.markDeleted(id));
  }

  async react(id: string, emoji: string): Promise<void> {
    if (!this.doc.has(id)) throw new CoreError('NOT_FOUND', `no message ${id}`);
    if (emoji.length === 0 || emoji.length > 32)
      throw new CoreError('BAD_FORMAT', 'an emoji is 1–32 characters');
    await this.commit((d) => {
      d.toggleReaction(id, this.ctx.meId, emoji);
    });
  }

  loadOlder(): Promise<void> {
    return this.history.loadOlder();
  }

  setTyping(): void {
    this.typingState.start();
  }

  /**
   * Fetches, opens and checks an attachment of a post I can read (`NOT_FOUND` when
   * the post or the attachment is not in my copy of the conversation). Typed with
   * the MIME type the post's author gave; cached in memory, so re-renders are free.
   */
  async attachment(message: string, attachment: string): Promise<Blob> {
    const a = this.doc.attachmentsOf(message).find((x) => x.id === attachment);
    if (!a) throw new CoreError('NOT_FOUND', `no attachment ${attachment} in message ${message}`);
    const bytes = await this.ctx.files.download(this.id, a);
    return new Blob([bytes], { type: a.mime });
  }

  markRead(): void {
    this.unread.set(0);
    this.ctx.onUnread();
  }

  close(): void {
    this.visible = false;
    this.ctx.peers?.close();
    this.typingState.close();
    this.ctx.unsubscribe([TYPING_TOPIC], this.id);
  }

  /**
   * Low level: makes `change` as my next update, applies it here, seals and queues
   * it. Resolves once queued (not stored: offline writes wait in the outbox and show
   * as `pending`). No authorship check happens here: readers apply it (doc-authorship.ts).
   */
  async commit(change: (doc: ChannelDoc, postId: string) => void): Promise<void> {
    const { keys, identity, meId } = this.ctx;
    for (;;) {
      const epoch = keys.epoch;
      await this.ctx.distributor.ensure(this.id);
      if (keys.epoch === epoch) break; // else the epoch rose meanwhile: distribute the new key first
    }
    // From here to sealMessage's ratchet step nothing awaits, so the iteration read is the one sealed.
    const key = keys.sendingKey(this.id);
    const ids = updateIds(identity.publicKey, this.id, key.epoch, key.iteration);
    const expected = key.iteration;
    const update = this.doc.change(ids.clientId, meId, (d) => change(d, ids.postId));
    if (!update) return;
    const sealing = sealMessage(identity.signer, key, encodeDocPlaintext(update));
    keys.changed();
    const sealed = await sealing;
    const header = peekMessageHeader(sealed);
    if (header.iteration !== expected) throw new Error('internal: the sealed iteration moved');
    this.pending.add(ids.postId);
    this.scheduleRefresh();
    this.ctx.peers?.send(sealed);
    this.ctx
      .enqueue('log.append', {
        log: this.id,
        kind: 'update',
        blob: toBase64url(sealed),
        id: toBase64url(header.id),
      })
      .then(
        () => this.pending.delete(ids.postId),
        (error: Error) => {
          this.pending.delete(ids.postId);
          this.ctx.log?.(`message to ${this.id} refused: ${error.message}`);
        },
      )
      .finally(() => this.scheduleRefresh());
  }

  private requireAuthor(id: string, moderatorToo: boolean): void {
    const author = this.doc.authorOf(id);
    if (author === undefined) throw new CoreError('NOT_FOUND', `no message ${id}`);
    if (author !== this.ctx.meId && !(moderatorToo && this.ctx.isModerator(this.ctx.meId)))
      throw new CoreError('NOT_OWNER', 'only its author changes a message');
  }

  private newPost(author: string, live: boolean): void {
    this.typingState.stopped(author);
    if (!live || this.visible || author === this.ctx.meId) return;
    this.unread.set(this.unread.value + 1);
    this.ctx.onUnread();
  }

  private scheduleRefresh(): void {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    queueMicrotask(() => {
      this.refreshQueued = false;
      const members = this.ctx.members();
      this.messages.set(this.doc.read().map((p: Post) => this.messageFor(p, members)));
    });
  }

  private messageFor(p: Post, members: Named[]): ChatMessage {
    const pending = this.pending.has(p.id);
    const held = this.views.get(p.id);
    if (held && held.post === p && held.members === members && held.pending === pending) return held.message;
    const message = this.toMessage(p, members);
    this.views.set(p.id, { post: p, members, pending, message });
    return message;
  }

  private toMessage(p: Post, members: Named[]): ChatMessage {
    return {
      ...p,
      attachments: p.attachments.map(viewOf),
      mentions: findMentions(p.text, members),
      pending: this.pending.has(p.id),
    };
  }
}
