/**
 * Epochs and privacy against a real server: a kick raises the epoch, the others
 * rotate, and the kicked member (its old keys still in memory) cannot open what is
 * sent afterwards; a DM between two members is neither pushed to nor fetchable by a
 * third, and its keys go to the two alone.
 */
import assert from 'node:assert/strict';
import { equalBytes } from '../../crypto/bytes.ts';
import { parseEnvelopeHeader } from '../../crypto/envelope.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { distributionContext } from '../../crypto/group-keys.ts';
import { peekMessageHeader } from '../../crypto/message.ts';
import { ReplayGuard } from '../../crypto/replay-guard.ts';
import { member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { decodeKeyEntry } from './key-entry.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, session, textChannel, texts } from './testing.ts';

describe('membership', () => {
  const a = member(['admin'], 'alice');
  const b = member(['member'], 'bob');
  const c = member(['member'], 'carol');
  let t: TestServer;
  let sa: ServerSession;
  let sb: ServerSession;
  let sc: ServerSession;
  let channel: string;

  before(async () => {
    // B is not in the file: a kick removes database members only.
    t = await startTestServer({ authorizedKeys: a.line + c.line });
    t.server.hub.members.add({ key: b.key, name: 'bob', roles: ['member'], addedBy: 'test' });
    channel = textChannel(t);
    [sa, sb, sc] = await Promise.all([
      session(t, a.identity),
      session(t, b.identity),
      session(t, c.identity),
    ]);
  });
  after(async () => {
    for (const s of [sa, sb, sc]) s.close();
    await t.close();
  });

  it('keeps a DM between A and C from B', async () => {
    const dm = sa.dmWith(c.key);
    assert.equal(dm, sc.dmWith(a.key));
    const pushedToB: string[] = [];
    sb.conn.on('log', (m) => pushedToB.push(String(m.log)));
    const da = sa.open(dm);
    const dc = sc.open(dm);
    await da.send('just between us');
    await eventually(() => assert.deepEqual(texts(dc), ['just between us']));
    await dc.send('indeed');
    await eventually(() => assert.deepEqual(texts(da), ['just between us', 'indeed']));
    await assert.rejects(sb.conn.request('log.fetch', { log: dm, after: 0, limit: 10 }), {
      code: 'NOT_ALLOWED',
    });
    assert.ok(!pushedToB.includes(dm), 'no push of the DM reached B');
    assert.ok(!sb.keys.conversations().includes(dm), 'B holds no key of the DM');
    const keyEntries = t.server.hub.store.fetchAfter(dm, 0, 100).filter((e) => e.kind === 'key');
    assert.ok(keyEntries.length >= 2, 'each side sent its key');
    for (const e of keyEntries)
      for (const { recipient } of decodeKeyEntry(e.blob))
        assert.ok(
          equalBytes(recipient, a.identity.publicKey) || equalBytes(recipient, c.identity.publicKey),
          'DM keys are sealed to its two members only',
        );
  });

  it('rotates on a kick: the kicked member cannot read what follows, the others can', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    const cc = sc.open(channel);
    await ca.send('before the kick');
    await eventually(() => assert.deepEqual(texts(cb), ['before the kick']));
    await eventually(() => assert.deepEqual(texts(cc), ['before the kick']));
    assert.equal(sa.keys.epoch, 0);
    await sa.kick(b.key, 'test');
    await eventually(() => assert.equal(sb.connection.value.status, 'offline'));
    assert.equal(sb.connection.value.status === 'offline' && sb.connection.value.code, 'KICKED');
    await eventually(() => assert.equal(sc.keys.epoch, 1));
    assert.equal(sa.keys.epoch, 1);
    await ca.send('after the kick');
    await cc.send('c after the kick');
    await eventually(() =>
      assert.deepEqual(texts(cc), ['before the kick', 'after the kick', 'c after the kick']),
    );
    await eventually(() =>
      assert.deepEqual(texts(ca), ['before the kick', 'after the kick', 'c after the kick']),
    );

    const entries = t.server.hub.store.fetchAfter(channel, 0, 500);
    const late = entries.filter((e) => e.kind === 'update' && peekMessageHeader(e.blob).epoch === 1);
    assert.equal(late.length, 2, 'both later messages were sealed at epoch 1');
    for (const e of late) {
      assert.throws(
        () => sb.keys.open(channel, e.blob, new ReplayGuard()),
        (error: unknown) => error instanceof CryptoError && error.code === 'UNKNOWN_KEY',
        'B has no key of epoch 1',
      );
    }
    // And no key of epoch 1 is sealed to B.
    const epochOne = entries
      .filter((x) => x.kind === 'key')
      .flatMap((x) => decodeKeyEntry(x.blob))
      .filter(({ envelope }) => parseEnvelopeHeader(envelope).context === distributionContext(channel, 1));
    assert.ok(epochOne.length >= 2, 'A and C handed out epoch-1 keys');
    for (const { recipient } of epochOne) assert.ok(!equalBytes(recipient, b.identity.publicKey), 'not to B');
    assert.ok(
      sb.keys.hasKey(channel, a.identity.publicKey, 0),
      'B still holds the old epoch (history it had)',
    );
  });
});
