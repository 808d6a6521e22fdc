/**
 * Inbox: a batch of log entries has its signatures verified at once, then is opened
 * and applied in seq order; forgeries are dropped and counted, one by one; replays
 * are refused; updates waiting for a key keep their verification until it comes.
 */
import assert from 'node:assert/strict';
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { rawAgreement } from '../../crypto/ecdh.ts';
import { generateIdentity, userIdOf } from '../../crypto/identity.ts';
import { peekMessageHeader, sealMessage } from '../../crypto/message.ts';
import { deserializeSenderKey } from '../../crypto/sender-key.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { ChannelDoc } from './channel-doc.ts';
import { encodeDocPlaintext, updateIds } from './doc-ids.ts';
import { Inbox } from './inbox.ts';
import { sealKeyEntries } from './key-entry.ts';
import { KeyManager } from './key-manager.ts';
import type { LogEntry } from './local-cache.ts';

const CHANNEL = 'inbox-test';

/** A writer whose every update is one sealed log entry, seq 1, 2, … */
function writer() {
  const identity = generateIdentity();
  const signer = rawSigner(identity.secretKey);
  const id = userIdOf(identity.publicKey);
  const keys = new KeyManager(identity.publicKey);
  const key = keys.sendingKey(CHANNEL);
  const doc = new ChannelDoc();
  let seq = 0;
  const entry = async (change: (d: ChannelDoc, postId: string) => void) => {
    const ids = updateIds(identity.publicKey, CHANNEL, key.epoch, key.iteration);
    const update = doc.change(ids.clientId, id, (d) => change(d, ids.postId))!;
    const sealed = await sealMessage(signer, key, encodeDocPlaintext(update));
    const e: LogEntry = {
      seq: ++seq,
      kind: 'update',
      id: toBase64url(peekMessageHeader(sealed).id),
      author: id,
      at: Date.now(),
      blob: toBase64url(sealed),
    };
    return { entry: e, postId: ids.postId };
  };
  const post = (text: string) =>
    entry((d, postId) => d.createPost(postId, { author: id, at: 1_000 + seq, text }));
  return { identity, signer, id, keys, entry, post };
}

/** A reader's inbox, holding the writer's iteration-0 key unless `withKey` is false; records posts in the order added. */
function reader(w: ReturnType<typeof writer>, withKey = true) {
  const identity = generateIdentity();
  const keys = new KeyManager(identity.publicKey);
  if (withKey) keys.install(deserializeSenderKey(w.keys.myDistribution(CHANNEL, 0)!));
  const doc = new ChannelDoc();
  const added: string[] = [];
  const missing: [number, string[]][] = [];
  const inbox = new Inbox({
    conversation: CHANNEL,
    keys,
    agreement: rawAgreement(identity.secretKey),
    doc,
    isModerator: () => false,
    onKeysMissing: (epoch, senders) => missing.push([epoch, senders]),
    onNewPost: (postId) => added.push(postId),
  });
  return { identity, keys, doc, inbox, added, missing };
}

/** The same entry with the last byte of its signature flipped. */
function forge(e: LogEntry): LogEntry {
  const bytes = fromBase64url(e.blob);
  bytes[bytes.length - 1]! ^= 1;
  return { ...e, blob: toBase64url(bytes) };
}

const texts = (doc: ChannelDoc) => doc.read().map((p) => p.text);

describe('Inbox: a batch verified at once, applied in seq order', () => {
  it('drops exactly the forged entry of a batch, counted, and applies the rest in seq order', async () => {
    const w = writer();
    const made: { entry: LogEntry; postId: string }[] = [];
    for (let i = 1; i <= 8; i++) made.push(await w.post(`post ${i}`));
    const edit = await w.entry((d) => d.setText(made[0]!.postId, 'post 1, edited', 2_000));
    const entries = [...made.map((m) => m.entry), edit.entry];
    entries[4] = forge(entries[4]!);
    const r = reader(w);
    await r.inbox.push([...entries].reverse(), false); // handed over in any order: opened by seq
    assert.equal(r.inbox.stats.forged, 1, 'one forgery counted');
    assert.equal(r.inbox.stats.rejected, 0, 'nothing refused by the authorship rule');
    assert.equal(r.inbox.stats.undecryptable, 0, 'everything else opened');
    const expected = made.filter((_, i) => i !== 4).map((m) => m.postId);
    assert.deepEqual(r.added, expected, 'posts added in seq order, the forged one left out');
    assert.deepEqual(
      texts(r.doc),
      ['post 1, edited', 'post 2', 'post 3', 'post 4', 'post 6', 'post 7', 'post 8'],
      'the edit applied after its post',
    );
  });

  it('refuses a replay under another seq quietly, and counts a misattributed entry as forged', async () => {
    const w = writer();
    const a = await w.post('once');
    const b = await w.post('by the writer');
    const r = reader(w);
    await r.inbox.push(
      [a.entry, { ...a.entry, seq: 3 }, { ...b.entry, author: userIdOf(r.identity.publicKey) }],
      false,
    );
    await r.inbox.push([{ ...a.entry, seq: 4 }], true);
    assert.deepEqual(texts(r.doc), ['once'], 'shown once; the misattributed entry not at all');
    assert.equal(r.inbox.stats.forged, 1, 'the entry whose author the server misstated');
    assert.equal(r.inbox.stats.rejected + r.inbox.stats.undecryptable, 0, 'replays are not errors');
  });

  it('keeps verified updates that wait for their key, and opens them once it comes', async () => {
    const w = writer();
    const posts = [await w.post('early 1'), await w.post('early 2'), await w.post('early 3')];
    const r = reader(w, false);
    await r.inbox.push([posts[0]!.entry, forge(posts[1]!.entry), posts[2]!.entry], false);
    assert.equal(r.inbox.pendingKeys, 2, 'the two authentic updates wait');
    assert.equal(r.inbox.stats.forged, 1, 'the forgery is dropped before it takes a place');
    assert.deepEqual(r.missing, [[0, [w.id]]], 'the key is asked for');
    const [blob] = await sealKeyEntries(w.signer, CHANNEL, 0, w.keys.myDistribution(CHANNEL, 0)!, [
      r.identity.publicKey,
    ]);
    await r.inbox.push(
      [{ seq: 10, kind: 'key', id: 'k', author: w.id, at: Date.now(), blob: toBase64url(blob!) }],
      true,
    );
    assert.equal(r.inbox.stats.keysInstalled, 1, 'the key entry opened');
    assert.equal(r.inbox.pendingKeys, 0, 'nothing waits any more');
    assert.deepEqual(texts(r.doc), ['early 1', 'early 3'], 'both opened, in order');
  });

  it('keeps an update from another device of a known sender, whose chain is not here yet, until its key comes', async () => {
    const w = writer();
    const first = await w.post('from the first device');
    // A second device of the same identity, with its own chain (a restored backup, a bot).
    const device = new KeyManager(w.identity.publicKey);
    const key = device.sendingKey(CHANNEL);
    const doc = new ChannelDoc();
    const ids = updateIds(w.identity.publicKey, CHANNEL, key.epoch, key.iteration);
    const update = doc.change(ids.clientId, w.id, (d) =>
      d.createPost(ids.postId, { author: w.id, at: 5_000, text: 'from the second device' }),
    )!;
    const sealed = await sealMessage(w.signer, key, encodeDocPlaintext(update));
    const second: LogEntry = {
      seq: 2,
      kind: 'update',
      id: toBase64url(peekMessageHeader(sealed).id),
      author: w.id,
      at: Date.now(),
      blob: toBase64url(sealed),
    };
    const r = reader(w); // holds the first device's chain only
    await r.inbox.push([first.entry, second], false);
    assert.deepEqual(texts(r.doc), ['from the first device'], 'the first device’s post opens');
    assert.equal(r.inbox.pendingKeys, 1, 'the second device’s waits instead of being dropped');
    assert.equal(r.inbox.stats.undecryptable + r.inbox.stats.forged, 0, 'nothing given up');
    assert.deepEqual(r.missing.at(-1), [0, [w.id]], 'its sender’s keys are asked for');
    const [blob] = await sealKeyEntries(w.signer, CHANNEL, 0, device.myDistribution(CHANNEL, 0)!, [
      r.identity.publicKey,
    ]);
    await r.inbox.push(
      [{ seq: 10, kind: 'key', id: 'k2', author: w.id, at: Date.now(), blob: toBase64url(blob!) }],
      true,
    );
    assert.equal(r.inbox.pendingKeys, 0, 'nothing waits once the second chain came');
    assert.deepEqual(
      texts(r.doc).sort(),
      ['from the first device', 'from the second device'],
      'both devices’ posts are read',
    );
  });
});
