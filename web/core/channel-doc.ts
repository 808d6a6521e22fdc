/**
 * A conversation's content as a Yjs document (layout and rules in
 * doc-authorship.ts): local changes made as one transaction under the clientId of
 * the update that will carry them, remote updates applied only after the
 * authorship check, and a plain read-out of the posts. No crypto, no network.
 */
import * as Y from 'yjs';
import { readAttachments, type SealedAttachment } from './attachments.ts';
import { AuthorshipCheck, type UpdateContext, type Verdict } from './doc-authorship.ts';
import { CoreError } from './errors.ts';

const LOCAL = Symbol('local');
const REMOTE = Symbol('remote');

/** A post as stored, before view-only fields (mentions, pending) are added. */
export interface Post {
  id: string;
  author: string;
  at: number;
  text: string;
  editedAt: number | undefined;
  deleted: boolean;
  replyTo: string | undefined;
  reactions: Record<string, string[]>;
  /** With their keys: strip them (attachments.ts `viewOf`) before anything reaches the UI. */
  attachments: SealedAttachment[];
}

export interface NewPost {
  author: string;
  at: number;
  text: string;
  replyTo?: string;
  attachments?: SealedAttachment[];
}

export class ChannelDoc {
  readonly doc = new Y.Doc();
  private readonly posts = this.doc.getMap<Y.Map<unknown>>('messages');
  /** Yjs clientId → user id of whoever made its structs. */
  private readonly authors = new Map<number, string>();
  private readonly checker = new AuthorshipCheck(this.doc, this.posts as Y.Map<unknown>, this.authors);
  private readonly listeners = new Set<() => void>();
  /**
   * `read()` is incremental: posts are re-read only when Yjs says they changed, and
   * the sorted list is patched in place when it can be (an edit, a post appended at
   * the end), so a channel of 10,000 posts costs O(changes) per update, not O(n).
   */
  private readonly cache = new Map<string, Post>();
  private readonly dirty = new Set<string>();
  private sorted: Post[] = [];
  private readonly index = new Map<string, number>();

  constructor() {
    this.posts.observeDeep((events) => {
      for (const event of events) {
        if (event.target === this.posts) for (const key of event.changes.keys.keys()) this.dirty.add(key);
        else if (typeof event.path[0] === 'string') this.dirty.add(event.path[0]);
      }
    });
    this.doc.on('afterTransaction', () => {
      for (const l of this.listeners) l();
    });
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Runs `change` as one transaction of client `clientId` (made by `author`, this
   * device) and returns the update it produced (undefined when it changed nothing).
   */
  change(clientId: number, author: string, change: (d: ChannelDoc) => void): Uint8Array | undefined {
    let update: Uint8Array | undefined;
    const capture = (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) update = u;
    };
    this.doc.on('update', capture);
    this.authors.set(clientId, author);
    this.doc.clientID = clientId;
    try {
      this.doc.transact(() => change(this), LOCAL);
    } finally {
      this.doc.off('update', capture);
    }
    return update;
  }

  /** Inside `change`: adds a post under `postId`. */
  createPost(postId: string, post: NewPost): void {
    const map = new Y.Map<unknown>();
    map.set('author', post.author);
    map.set('at', post.at);
    map.set('text', post.text);
    map.set('deleted', false);
    if (post.replyTo !== undefined) map.set('replyTo', post.replyTo);
    map.set('attachments', post.attachments ?? []);
    map.set('reactions', new Y.Map<unknown>());
    this.posts.set(postId, map);
  }

  /** Inside `change`: replaces a post's text. */
  setText(postId: string, text: string, at: number): void {
    const map = this.map(postId);
    map.set('text', text);
    map.set('editedAt', at);
  }

  /** Inside `change`: marks a post deleted and drops its text. */
  markDeleted(postId: string): void {
    const map = this.map(postId);
    map.set('deleted', true);
    map.set('text', '');
  }

  /** Inside `change`: toggles `user`'s reaction; returns whether it is now on. */
  toggleReaction(postId: string, user: string, emoji: string): boolean {
    const reactions = this.map(postId).get('reactions');
    if (!(reactions instanceof Y.Map)) throw new CoreError('NOT_FOUND', 'the post has no reactions map');
    const key = `${user}:${emoji}`;
    if (reactions.get(key) === true) {
      reactions.delete(key);
      return false;
    }
    reactions.set(key, true);
    return true;
  }

  /** Checks a remote update against the authorship rule and applies it if it passes. */
  apply(update: Uint8Array, ctx: UpdateContext): Verdict {
    const verdict = this.checker.check(update, ctx);
    if (!verdict.ok || verdict.duplicate) return verdict;
    this.authors.set(ctx.clientId, ctx.author);
    Y.applyUpdate(this.doc, update, REMOTE);
    return verdict;
  }

  has(postId: string): boolean {
    return this.posts.get(postId) instanceof Y.Map;
  }

  /** A post's attachments (checked as in `read`); empty for an unknown or deleted post. */
  attachmentsOf(postId: string): SealedAttachment[] {
    const map = this.posts.get(postId);
    if (!(map instanceof Y.Map) || map.get('deleted') === true) return [];
    return readAttachments(map.get('attachments'));
  }

  authorOf(postId: string): string | undefined {
    const author = this.posts.get(postId)?.get('author');
    return typeof author === 'string' ? author : undefined;
  }

  /**
   * Every post, oldest first (by claimed time, then id), with fields type-checked.
   * Unchanged posts keep their object identity between calls; the array is a copy.
   */
  read(): Post[] {
    if (this.dirty.size > 0) this.patch();
    return this.sorted.slice();
  }

  private patch(): void {
    const appended: Post[] = [];
    let resort = false;
    for (const id of this.dirty) {
      const post = readPost(id, this.posts.get(id));
      const held = this.cache.get(id);
      if (post) this.cache.set(id, post);
      else this.cache.delete(id);
      const at = this.index.get(id);
      if (held && post && at !== undefined && held.at === post.at) this.sorted[at] = post;
      else if (!held && post) appended.push(post);
      else if (held || post) resort = true;
    }
    this.dirty.clear();
    appended.sort(byTime);
    const last = this.sorted.at(-1);
    if (!resort && (!last || !appended[0] || byTime(last, appended[0]) < 0)) {
      for (const post of appended) {
        this.index.set(post.id, this.sorted.length);
        this.sorted.push(post);
      }
      return;
    }
    this.sorted = [...this.cache.values()].sort(byTime);
    this.index.clear();
    for (const [i, p] of this.sorted.entries()) this.index.set(p.id, i);
  }

  private map(postId: string): Y.Map<unknown> {
    const map = this.posts.get(postId);
    if (!(map instanceof Y.Map)) throw new CoreError('NOT_FOUND', `no message ${postId}`);
    return map;
  }
}

const byTime = (a: Post, b: Post): number => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One post's fields, type-checked; undefined when it is not a post. */
function readPost(id: string, map: unknown): Post | undefined {
  if (!(map instanceof Y.Map)) return undefined;
  const author = map.get('author');
  const at = map.get('at');
  if (typeof author !== 'string' || typeof at !== 'number') return undefined;
  const text = map.get('text');
  const editedAt = map.get('editedAt');
  const replyTo = map.get('replyTo');
  const deleted = map.get('deleted') === true;
  return {
    id,
    author,
    at,
    text: deleted || typeof text !== 'string' ? '' : text,
    editedAt: typeof editedAt === 'number' ? editedAt : undefined,
    deleted,
    replyTo: typeof replyTo === 'string' ? replyTo : undefined,
    reactions: readReactions(map.get('reactions')),
    attachments: readAttachments(map.get('attachments')),
  };
}

function readReactions(value: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!(value instanceof Y.Map)) return out;
  for (const [key, on] of value as Y.Map<unknown>) {
    const colon = key.indexOf(':');
    if (on !== true || colon <= 0) continue;
    const emoji = key.slice(colon + 1);
    (out[emoji] ??= []).push(key.slice(0, colon));
  }
  for (const users of Object.values(out)) users.sort();
  return out;
}
