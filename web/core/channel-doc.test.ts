/** The conversation document and its authorship rule, without crypto: updates made by hand. */
import assert from 'node:assert/strict';
import type * as Y from 'yjs';
import * as Yjs from 'yjs';
import { generateIdentity, userIdOf } from '../../crypto/identity.ts';
import { seededRandom } from '../../test/helpers/random.ts';
import { ChannelDoc } from './channel-doc.ts';
import { updateIds } from './doc-ids.ts';

const A = userIdOf(generateIdentity().publicKey);
const B = userIdOf(generateIdentity().publicKey);
const M = userIdOf(generateIdentity().publicKey);

let iteration = 0;
/** Makes an update on `from` as `author` and returns what a reader needs to check it. */
function write(from: ChannelDoc, author: string, change: (d: ChannelDoc, postId: string) => void) {
  const ids = updateIds(new Uint8Array(33).fill(author.charCodeAt(0)), 'chan', 0, iteration++);
  const update = from.change(ids.clientId, author, (d) => change(d, ids.postId))!;
  return { update, ctx: { author, clientId: ids.clientId, postId: ids.postId, moderator: author === M } };
}

describe('ChannelDoc', () => {
  it('applies a post, an edit, a reaction and a deletion by their authors', () => {
    const a = new ChannelDoc();
    const reader = new ChannelDoc();
    const post = write(a, A, (d, id) => d.createPost(id, { author: A, at: 1, text: 'hello' }));
    assert.ok(post.ctx.clientId > 2 ** 32, 'client ids use 48 bits');
    const v = reader.apply(post.update, post.ctx);
    assert.deepEqual(v, { ok: true, duplicate: false, newPost: true });
    const id = post.ctx.postId;
    const edit = write(a, A, (d) => d.setText(id, 'hello, world', 2));
    assert.equal(reader.apply(edit.update, edit.ctx).ok, true);
    const b = new ChannelDoc();
    b.apply(post.update, post.ctx);
    b.apply(edit.update, edit.ctx);
    const react = write(b, B, (d) => d.toggleReaction(id, B, '👍'));
    assert.equal(reader.apply(react.update, react.ctx).ok, true);
    const unreact = write(b, B, (d) => d.toggleReaction(id, B, '👍'));
    assert.equal(reader.apply(react.update, react.ctx).ok, true, 'a repeat is a duplicate, not an error');
    assert.deepEqual(reader.read()[0]!.reactions, { '👍': [B] });
    assert.equal(reader.apply(unreact.update, unreact.ctx).ok, true);
    const del = write(a, A, (d) => d.markDeleted(id));
    assert.equal(reader.apply(del.update, del.ctx).ok, true);
    const [p] = reader.read();
    assert.equal(p!.author, A);
    assert.equal(p!.deleted, true);
    assert.equal(p!.text, '');
    assert.equal(p!.editedAt, 2);
    assert.deepEqual(p!.reactions, {});
  });

  it("refuses a member's edit, deletion or fake reaction on another's message", () => {
    const a = new ChannelDoc();
    const post = write(a, A, (d, id) => d.createPost(id, { author: A, at: 1, text: 'mine' }));
    const id = post.ctx.postId;
    const reader = new ChannelDoc();
    reader.apply(post.update, post.ctx);
    for (const [what, change] of [
      ['edit', (d: ChannelDoc) => d.setText(id, 'hacked', 5)],
      ['delete', (d: ChannelDoc) => d.markDeleted(id)],
      [
        'remove field',
        (d: ChannelDoc) => (d.doc.getMap('messages').get(id) as Y.Map<unknown>).delete('text'),
      ],
      ['remove post', (d: ChannelDoc) => d.doc.getMap('messages').delete(id)],
      ['reaction as A', (d: ChannelDoc) => d.toggleReaction(id, A, '👎')],
      [
        'overwrite author',
        (d: ChannelDoc) => (d.doc.getMap('messages').get(id) as Y.Map<unknown>).set('author', B),
      ],
    ] as const) {
      const b = new ChannelDoc(); // a fresh copy each time: B's own forgeries stay out of the next case
      b.apply(post.update, post.ctx);
      const forged = write(b, B, change);
      const v = reader.apply(forged.update, forged.ctx);
      assert.equal(v.ok, false, `${what} refused`);
      assert.equal(!v.ok && v.wait, false, `${what} refused for good`);
    }
    assert.equal(reader.read()[0]!.text, 'mine');
    assert.equal(reader.read()[0]!.deleted, false);
  });

  it('lets a moderator remove, but not rewrite the author of, a message', () => {
    const a = new ChannelDoc();
    const post = write(a, A, (d, id) => d.createPost(id, { author: A, at: 1, text: 'spam' }));
    const id = post.ctx.postId;
    const reader = new ChannelDoc();
    reader.apply(post.update, post.ctx);
    const m = new ChannelDoc();
    m.apply(post.update, post.ctx);
    const del = write(m, M, (d) => d.markDeleted(id));
    assert.equal(reader.apply(del.update, del.ctx).ok, true);
    assert.equal(reader.read()[0]!.deleted, true);
    const forged = write(m, M, (d) => (d.doc.getMap('messages').get(id) as Y.Map<unknown>).set('author', M));
    assert.equal(reader.apply(forged.update, forged.ctx).ok, false);
  });

  it('refuses posts under a foreign key or client, and posts in another name', () => {
    const b = new ChannelDoc();
    const reader = new ChannelDoc();
    const wrongName = write(b, B, (d, id) => d.createPost(id, { author: A, at: 1, text: 'from A (not)' }));
    assert.equal(reader.apply(wrongName.update, wrongName.ctx).ok, false);
    const wrongKey = write(b, B, (d) => d.createPost('somebody-elses-id', { author: B, at: 1, text: 'x' }));
    assert.equal(reader.apply(wrongKey.update, wrongKey.ctx).ok, false);
    const ok = write(b, B, (d, id) => d.createPost(id, { author: B, at: 1, text: 'x' }));
    assert.equal(reader.apply(ok.update, { ...ok.ctx, clientId: ok.ctx.clientId + 1 }).ok, false);
    const other = write(b, B, (d) => d.doc.getMap('elsewhere').set('k', 1));
    assert.equal(reader.apply(other.update, other.ctx).ok, false);
    assert.equal(reader.read().length, 0);
  });

  it('makes an edit that arrives before its post wait, then applies it', () => {
    const a = new ChannelDoc();
    const post = write(a, A, (d, id) => d.createPost(id, { author: A, at: 1, text: 'v1' }));
    const edit = write(a, A, (d) => d.setText(post.ctx.postId, 'v2', 2));
    const reader = new ChannelDoc();
    const v = reader.apply(edit.update, edit.ctx);
    assert.equal(!v.ok && v.wait, true);
    assert.equal(reader.apply(post.update, post.ctx).ok, true);
    assert.equal(reader.apply(edit.update, edit.ctx).ok, true);
    assert.equal(reader.read()[0]!.text, 'v2');
  });
});

describe('ChannelDoc.read is incremental and stays right', () => {
  /** Seeded, so a failure reproduces. */
  const rng = seededRandom;
  const fullRead = (d: ChannelDoc) =>
    JSON.stringify(
      d.read().map((p) => ({ ...p })),
      (_k, v) => (v === undefined ? null : v),
    );

  it('matches a fresh read after random posts (in and out of order), edits, reactions and deletions', () => {
    const seed = Number(process.env.SEED ?? 7);
    const random = rng(seed);
    const writer = new ChannelDoc();
    const reader = new ChannelDoc();
    const ids: string[] = [];
    for (let step = 0; step < 300; step++) {
      const r = random();
      let made: ReturnType<typeof write>;
      if (r < 0.5 || ids.length === 0) {
        // Mostly appended in time order, sometimes back-dated (a late arrival).
        const at = random() < 0.8 ? 1000 + step : Math.floor(random() * 1000);
        made = write(writer, A, (d, id) => d.createPost(id, { author: A, at, text: `post ${step}` }));
        ids.push(made.ctx.postId);
      } else {
        const id = ids[Math.floor(random() * ids.length)]!;
        if (r < 0.75) made = write(writer, A, (d) => d.setText(id, `edit ${step}`, 5000 + step));
        else if (r < 0.9) made = write(writer, A, (d) => d.toggleReaction(id, A, '👍'));
        else made = write(writer, A, (d) => d.markDeleted(id));
      }
      assert.equal(reader.apply(made.update, made.ctx).ok, true);
      if (step % 7 === 0 || step === 299) {
        const incremental = fullRead(reader);
        const scratch = fullRead(readerCopy(writer)); // a doc that never read before: computed from scratch
        assert.equal(
          incremental,
          scratch,
          `seed ${seed}, step ${step}: incremental read differs from a full one`,
        );
      }
    }
    const first = reader.read();
    const again = reader.read();
    assert.notEqual(first, again, 'read returns a copy');
    assert.ok(
      first.every((p, i) => p === again[i]),
      'unchanged posts keep their identity between reads',
    );
  });
});

/** A ChannelDoc holding the same state as `from`, read for the first time (no incremental history). */
function readerCopy(from: ChannelDoc): ChannelDoc {
  const copy = new ChannelDoc();
  Yjs.applyUpdate(copy.doc, Yjs.encodeStateAsUpdate(from.doc));
  return copy;
}
