/**
 * Conversations end to end against a real signal server: members A (admin), B and C
 * send, edit, delete, react and reply; B cannot change A's messages; forgeries are
 * not shown; C catches up after being away and pages back; writes made offline are
 * stored exactly once; the server's files never hold what was said.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { peekMessageHeader, sealMessage } from '../../crypto/message.ts';
import { deserializeSenderKey } from '../../crypto/sender-key.ts';
import { startServer } from '../../signal/server.ts';
import { member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { ChannelDoc } from './channel-doc.ts';
import { encodeDocPlaintext, updateIds } from './doc-ids.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, filesContaining, session, textChannel, texts } from './testing.ts';

const CANARY = `canary-${toBase64url(randomBytes(9))}`;

describe('conversations', () => {
  const a = member(['admin'], 'alice');
  const b = member(['member'], 'bob');
  const c = member(['member'], 'carol');
  let dataDir: string;
  let t: TestServer;
  let sa: ServerSession;
  let sb: ServerSession;
  let channel: string;
  const open: ServerSession[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-core-'));
    t = await startTestServer({ dataDir, authorizedKeys: a.line + b.line + c.line });
    channel = textChannel(t);
    sa = await session(t, a.identity);
    sb = await session(t, b.identity);
    open.push(sa, sb);
  });
  after(async () => {
    for (const s of open) s.close();
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers text, edits, reactions, replies and deletions, decrypted and attributed', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await ca.send(`hello ${CANARY} @bob`);
    const [m] = await eventually(() => {
      const list = cb.messages.value;
      assert.equal(list.length, 1);
      return list;
    });
    assert.equal(m!.author, a.key);
    assert.equal(m!.text, `hello ${CANARY} @bob`);
    assert.deepEqual(m!.mentions, [b.key]);
    await ca.edit(m!.id, 'hello, edited');
    await eventually(() => assert.equal(cb.messages.value[0]!.text, 'hello, edited'));
    assert.ok(cb.messages.value[0]!.editedAt !== undefined, 'editedAt set');
    await cb.react(m!.id, '👍');
    await eventually(() => assert.deepEqual(ca.messages.value[0]!.reactions, { '👍': [b.key] }));
    await cb.send('a reply', { replyTo: m!.id });
    await eventually(() => assert.equal(ca.messages.value[1]?.replyTo, m!.id));
    assert.equal(ca.messages.value[1]!.author, b.key);
    await ca.remove(m!.id);
    await eventually(() => assert.equal(cb.messages.value[0]!.deleted, true));
    assert.equal(cb.messages.value[0]!.text, '');
    await assert.rejects(cb.edit(m!.id, 'x'), { code: 'NOT_OWNER' }, 'the UI path refuses too');
  });

  it("drops B's hand-made edit and deletion of A's messages on A's and C's side", async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await ca.send('edit me not');
    await ca.send('delete me not');
    const [edit, del] = await eventually(() => {
      const list = cb.messages.value.filter((x) => x.text.endsWith('me not'));
      assert.equal(list.length, 2);
      return list;
    });
    const sc = await session(t, c.identity);
    open.push(sc);
    const cc = sc.open(channel);
    await eventually(() => assert.ok(texts(cc).includes('delete me not'), 'C sees the history'));
    const rejectedA = ca.inbox.stats.rejected;
    const rejectedC = cc.inbox.stats.rejected;
    // Straight into the document, past the UI's own check: what a hostile client would send.
    await cb.commit((d) => d.setText(edit!.id, 'hacked', Date.now()));
    await cb.commit((d) => d.markDeleted(del!.id));
    for (const [conv, before] of [
      [ca, rejectedA],
      [cc, rejectedC],
    ] as const) {
      await eventually(() => assert.equal(conv.inbox.stats.rejected, before + 2));
      const shown = conv.messages.value;
      assert.equal(shown.find((x) => x.id === edit!.id)!.text, 'edit me not');
      assert.equal(shown.find((x) => x.id === del!.id)!.deleted, false);
      assert.ok(!texts(conv).includes('hacked'), 'no hacked text');
    }
  });

  it('does not show forged messages (wrong signature, or a blob naming A but signed by B)', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await cb.send('b is here');
    await eventually(() => assert.ok(texts(ca).includes('b is here'), 'A sees B'));
    const forgedBefore = ca.inbox.stats.forged;
    const forge = async (
      senderKey: ReturnType<typeof deserializeSenderKey>,
      claimed: Uint8Array,
      text: string,
    ) => {
      const ids = updateIds(claimed, channel, senderKey.epoch, senderKey.iteration);
      const scratch = new ChannelDoc();
      const update = scratch.change(ids.clientId, toBase64url(claimed), (d) =>
        d.createPost(ids.postId, { author: toBase64url(claimed), at: Date.now(), text }),
      )!;
      const wrongKey = p256.utils.randomSecretKey();
      // A signer that claims `claimed` but signs with another key.
      const signer = { publicKey: claimed, sign: async (msg: Uint8Array) => p256.sign(msg, wrongKey) };
      const sealed = await sealMessage(signer, senderKey, encodeDocPlaintext(update));
      return { blob: toBase64url(sealed), id: toBase64url(peekMessageHeader(sealed).id) };
    };
    // 1. B's own valid chain, signed by a key that is not B's.
    const bKey = sb.keys.sendingKey(channel);
    const one = await forge(bKey, b.identity.publicKey, 'forged one');
    await sb.conn.request('log.append', { log: channel, kind: 'update', ...one });
    // 2. A's chain (B holds it as a reader), naming A as sender, appended by B.
    const aKey = deserializeSenderKey(
      sb.keys.keysAt(channel, 0).find((k) => toBase64url(k.slice(41, 74)) === a.key)!,
    );
    aKey.iteration = 0;
    const two = await forge(aKey, a.identity.publicKey, 'forged two');
    await sb.conn.request('log.append', { log: channel, kind: 'update', ...two });
    // 3. The same blob as if a lying server said A appended it: the signature still fails.
    await ca.inbox.push(
      [{ seq: 1_000_000, kind: 'update', id: two.id, author: a.key, at: Date.now(), blob: two.blob }],
      true,
    );
    await eventually(() => assert.equal(ca.inbox.stats.forged, forgedBefore + 3));
    for (const conv of [ca, cb]) for (const text of texts(conv)) assert.ok(!text.startsWith('forged'), text);
  });

  it('lets C, away while A and B talk, catch up and page back', async () => {
    const ca = sa.open(channel);
    for (let i = 0; i < 12; i++) await ca.send(`while C was away ${i}`);
    await eventually(() => assert.ok(texts(sb.open(channel)).includes('while C was away 11'), 'B sees all'));
    const sc = await session(t, c.identity, { pageSize: 10 });
    open.push(sc);
    const pages: unknown[] = [];
    const request = sc.conn.request.bind(sc.conn);
    sc.conn.request = (type, fields) => {
      if (type === 'log.fetch') pages.push(fields?.before);
      return request(type, fields);
    };
    const cc = sc.open(channel);
    await eventually(() => assert.ok(texts(cc).includes('while C was away 11'), 'C caught up'));
    while (cc.hasOlder.value) await cc.loadOlder();
    // The newest page first, then pages back (here also to find the key entries, which came first).
    assert.ok(pages.length > 2, `${pages.length} pages`);
    assert.equal(pages[0], Number.MAX_SAFE_INTEGER);
    assert.ok(
      pages.slice(1).every((p) => typeof p === 'number' && p < Number.MAX_SAFE_INTEGER),
      'then back',
    );
    await eventually(() => {
      const all = texts(cc);
      for (let i = 0; i < 12; i++) assert.ok(all.includes(`while C was away ${i}`), `message ${i}`);
      assert.ok(all.includes('b is here'), 'the oldest page too');
    });
  });

  it('queues writes made while the connection is down and stores them exactly once', async () => {
    const port = t.server.port;
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await t.server.close();
    await eventually(() => assert.equal(sa.connection.value.status, 'reconnecting'));
    await ca.send(`offline 1 ${CANARY}`);
    await ca.send('offline 2');
    await eventually(() => {
      const pending = ca.messages.value.filter((m) => m.text.startsWith('offline'));
      assert.equal(pending.length, 2);
      assert.ok(
        pending.every((m) => m.pending),
        'pending while offline',
      );
    });
    const restarted = await startServer({
      host: '127.0.0.1',
      port,
      dataDir,
      log: { info: () => {}, warn: () => {} },
    });
    t = { ...t, server: restarted, close: () => restarted.close() };
    await eventually(
      () =>
        assert.ok(
          ca.messages.value.filter((m) => m.text.startsWith('offline')).every((m) => !m.pending),
          'stored after reconnect',
        ),
      10_000,
    );
    await eventually(() => {
      const seen = texts(cb).filter((x) => x.startsWith('offline'));
      assert.deepEqual(seen, [`offline 1 ${CANARY}`, 'offline 2']);
    }, 10_000);
    const stored = restarted.hub.store.fetchAfter(channel, 0, 500).filter((e) => e.kind === 'update');
    const ids = stored.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no id stored twice');
  });

  it('shows typing and counts unread messages of conversations not open', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await eventually(() => assert.equal(sb.connection.value.status, 'online'));
    await eventually(() =>
      assert.ok(
        [...(t.server.hub.rooms.subscribers(channel, 'typing') ?? [])].some((s) => s.user?.key === b.key),
        'B’s re-subscription to typing in the channel reached the (restarted) server',
      ),
    );
    ca.setTyping();
    await eventually(() => assert.deepEqual(cb.typing.value, [a.key]));
    cb.close();
    await ca.send('while B looks elsewhere');
    await eventually(() => assert.equal(sb.unread.value[channel], 1));
    cb.markRead();
    assert.equal(sb.unread.value[channel], undefined);
  });

  it('never writes plaintext to the server’s data directory', async () => {
    await sa.settled();
    assert.deepEqual(await filesContaining(dataDir, CANARY), []);
    assert.ok(!t.logs.some((l) => l.includes(CANARY)), 'no canary in the logs');
  });
});
