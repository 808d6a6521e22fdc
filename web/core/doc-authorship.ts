/**
 * The authorship rule of a conversation document, checked on every remote update
 * before `Y.applyUpdate` (the document itself is channel-doc.ts). The update has
 * already been opened: its author is the signer of the sealed message, and its
 * clientId and postId are derived from the signed header (doc-ids.ts).
 *
 * Layout: `messages` (root Y.Map) post id → post (Y.Map) with `author`, `at`,
 * `text`, `editedAt`, `deleted`, `replyTo`, `attachments`, and `reactions` (Y.Map)
 * `<user id>:<emoji>` → true.
 *
 * An update is accepted only if:
 * 1. every struct it carries belongs to its own clientId (GC and skip structs included);
 * 2. its only write to the root is one new post under its own postId, with no
 *    origin (nothing overwritten), holding a Y.Map; no other root type is written;
 * 3. writes into a post it creates use the post fields above, `author` being the
 *    update's author and `reactions` a Y.Map;
 * 4. writes into an existing post touch only `text`, `editedAt`, `deleted`, and only
 *    if the post's author is the update's author — or, for `text` and `deleted`,
 *    if the author holds `kick` or `mute` (moderators remove messages);
 * 5. writes into a post's `reactions` use keys that start with the author's own id;
 * 6. deletions (the delete set, which map overwrites also produce) hit only items
 *    made by the same author, unless the author is a moderator;
 * 7. content is plain values (ContentAny) or a Y.Map where rules 2 and 3 allow one.
 *
 * Who made an existing item comes from the table clientId → author that the
 * document fills as it applies updates. An update that refers to items not yet
 * present waits (they may arrive later: another epoch's key, an older page).
 *
 * Why reactions are flat (`<user>:<emoji>` keys) rather than emoji → map of users:
 * two members adding the first reaction of one emoji at the same time would each
 * create the emoji's map, and the losing map (with its reaction) would vanish.
 */
import * as Y from 'yjs';

export const POST_FIELDS = new Set([
  'author',
  'at',
  'text',
  'editedAt',
  'deleted',
  'replyTo',
  'reactions',
  'attachments',
]);
const AUTHOR_EDITS = new Set(['text', 'editedAt', 'deleted']);
const MODERATOR_EDITS = new Set(['text', 'deleted']);
/** Deleted clocks one update may name (edits delete one item per field). */
const MAX_DELETED = 1024;

export interface UpdateContext {
  /** User id of the update's signer. */
  author: string;
  clientId: number;
  postId: string;
  /** The author may remove others' messages. */
  moderator: boolean;
}

export type Verdict =
  | { ok: true; duplicate: boolean; newPost: boolean }
  | { ok: false; wait: boolean; reason: string };

type Struct = Y.Item | Y.GC | Y.Skip;
type Placement =
  | { root: string; key: string | null }
  | { parent: Y.ID; key: string | null }
  | 'missing'
  | 'bad';
type Container = { kind: 'post'; client: number } | { kind: 'reactions'; client: number } | 'missing' | 'bad';

const reject = (reason: string): Verdict => ({ ok: false, wait: false, reason });
const WAIT: Verdict = { ok: false, wait: true, reason: 'refers to items not yet present' };

export class AuthorshipCheck {
  constructor(
    private readonly doc: Y.Doc,
    private readonly posts: Y.Map<unknown>,
    private readonly authors: ReadonlyMap<number, string>,
  ) {}

  check(update: Uint8Array, ctx: UpdateContext): Verdict {
    let decoded: ReturnType<typeof Y.decodeUpdate>;
    try {
      decoded = Y.decodeUpdate(update);
    } catch {
      return reject('not a Yjs update');
    }
    const { structs, ds } = decoded;
    for (const s of structs as Struct[]) {
      if (s.id.client !== ctx.clientId) return reject('a struct of another client');
    }
    if (Y.getState(this.doc.store, ctx.clientId) > 0) return { ok: true, duplicate: true, newPost: false };
    const own = structs.filter((s): s is Y.Item => s instanceof Y.Item);
    const find = (id: Y.ID): Y.Item | Y.GC | undefined => {
      if (id.client === ctx.clientId)
        return own.find((s) => s.id.clock <= id.clock && id.clock < s.id.clock + s.length);
      if (Y.getState(this.doc.store, id.client) <= id.clock) return undefined;
      return Y.getItem(this.doc.store, id) as Y.Item | Y.GC;
    };
    const authorOf = (client: number) => (client === ctx.clientId ? ctx.author : this.authors.get(client));

    const placement = (item: Y.Item, depth = 0): Placement => {
      const parent = item.parent as unknown;
      if (parent instanceof Y.AbstractType) {
        const type = parent as Y.AbstractType<unknown>;
        if (type._item === null) return { root: type === this.posts ? 'messages' : '?', key: item.parentSub };
        return { parent: type._item.id, key: item.parentSub };
      }
      if (typeof parent === 'string') return { root: parent, key: item.parentSub };
      if (parent instanceof Y.ID) return { parent, key: item.parentSub };
      const ref = item.origin ?? item.rightOrigin;
      if (ref === null || depth > own.length + 1) return 'bad';
      const neighbour = find(ref);
      if (neighbour === undefined) return 'missing';
      if (!(neighbour instanceof Y.Item)) return 'bad';
      return placement(neighbour, depth + 1);
    };
    const isMap = (item: Y.Item) =>
      item.content instanceof Y.ContentType && item.content.type instanceof Y.Map;
    const container = (id: Y.ID): Container => {
      const item = find(id);
      if (item === undefined) return 'missing';
      if (!(item instanceof Y.Item) || !isMap(item)) return 'bad';
      const at = placement(item);
      if (at === 'missing' || at === 'bad') return at;
      if ('root' in at) return at.root === 'messages' ? { kind: 'post', client: id.client } : 'bad';
      if (at.key !== 'reactions') return 'bad';
      const post = container(at.parent);
      if (post === 'missing' || post === 'bad') return post;
      return post.kind === 'post' ? { kind: 'reactions', client: post.client } : 'bad';
    };

    let waiting = false;
    let newPost = false;
    for (const item of own) {
      const content = item.content;
      const plain = content instanceof Y.ContentAny || content instanceof Y.ContentDeleted;
      if (!plain && !isMap(item)) return reject('content other than plain values or maps');
      const at = placement(item);
      if (at === 'bad') return reject('a struct with no valid parent');
      if (at === 'missing') {
        waiting = true;
        continue;
      }
      if ('root' in at) {
        if (at.root !== 'messages') return reject('a write outside the messages map');
        if (at.key !== ctx.postId) return reject('a post under a key that is not its own');
        if (item.origin !== null || item.rightOrigin !== null || this.posts.has(at.key) || newPost)
          return reject('a post that overwrites another');
        if (!isMap(item)) return reject('a post that is not a map');
        newPost = true;
        continue;
      }
      const where = container(at.parent);
      if (where === 'bad') return reject('a write into something other than a post or its reactions');
      if (where === 'missing') {
        waiting = true;
        continue;
      }
      const key = at.key ?? '';
      if (where.kind === 'reactions') {
        if (!key.startsWith(`${ctx.author}:`) || !plain) return reject("a reaction in someone else's name");
        continue;
      }
      if (where.client === ctx.clientId) {
        if (!POST_FIELDS.has(key)) return reject(`an unknown post field ${key}`);
        if ((key === 'reactions') !== isMap(item)) return reject('a post field of the wrong kind');
        if (key === 'author' && !(content instanceof Y.ContentAny && content.arr[0] === ctx.author))
          return reject('a post in someone else’s name');
        continue;
      }
      if (!plain) return reject('a map inside an existing post');
      const owner = authorOf(where.client);
      if (owner === ctx.author && AUTHOR_EDITS.has(key)) continue;
      if (owner !== ctx.author && ctx.moderator && MODERATOR_EDITS.has(key)) continue;
      return reject(
        owner === ctx.author ? `a change to the fixed field ${key}` : "an edit of someone else's message",
      );
    }

    let deleted = 0;
    for (const [client, ranges] of ds.clients) {
      if (client === ctx.clientId) continue;
      const owner = this.authors.get(client);
      for (const range of ranges) {
        deleted += range.len;
        if (deleted > MAX_DELETED) return reject('too many deletions');
        if (Y.getState(this.doc.store, client) < range.clock + range.len) {
          waiting = true;
          continue;
        }
        if (owner !== ctx.author && !ctx.moderator) return reject("a deletion of someone else's content");
      }
    }
    if (waiting) return WAIT;
    return { ok: true, duplicate: false, newPost };
  }
}
