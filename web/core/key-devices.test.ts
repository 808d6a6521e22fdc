/**
 * One identity on several devices (a browser restored from a backup, a bot restarted
 * without its state file) against a real signal server: each device sends in a
 * channel its identity already used at this epoch, every member reads every message,
 * and no (chain, iteration) or (identity, epoch, iteration) is ever used twice; and
 * the distributor hands a newcomer every chain of the identity, other devices' too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64url, toBase64url, toHex } from '../../crypto/bytes.ts';
import { rawAgreement } from '../../crypto/ecdh.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { peekMessageHeader } from '../../crypto/message.ts';
import { deserializeSenderKey } from '../../crypto/sender-key.ts';
import { member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { rawIdentity } from './identity-provider.ts';
import { KeyDistributor } from './key-distributor.ts';
import { openKeyEntry } from './key-entry.ts';
import { KeyManager } from './key-manager.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, session, textChannel, texts } from './testing.ts';

describe('one identity on several devices', () => {
  const x = member(['admin'], 'xena');
  const y = member(['member'], 'yann');
  let dataDir: string;
  let t: TestServer;
  let channel: string;
  const open: ServerSession[] = [];

  const connect = async (m: typeof x) => {
    const s = await session(t, m.identity);
    open.push(s);
    return s;
  };
  /** Every update entry of the channel's log: its sender, epoch and iteration, in seq order. */
  const updates = () =>
    t.server.hub.store
      .fetchAfter(channel, 0, 500)
      .filter((e) => e.kind === 'update')
      .map((e) => peekMessageHeader(e.blob));

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-devices-'));
    t = await startTestServer({ dataDir, authorizedKeys: x.line + y.line });
    channel = textChannel(t);
  });
  after(async () => {
    for (const s of open) s.close();
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a fresh device sends where its identity already sent at this epoch, and everyone reads both', async () => {
    const first = await connect(x);
    const reader = await connect(y);
    const c1 = first.open(channel);
    const cy = reader.open(channel);
    await c1.send('from the first device');
    await eventually(() =>
      assert.ok(texts(cy).includes('from the first device'), 'Y reads the first device'),
    );

    // Same identity, fresh memory: the log hands it its own first key back.
    const fresh = await connect(x);
    const c2 = fresh.open(channel);
    await eventually(() =>
      assert.ok(texts(c2).includes('from the first device'), 'the fresh device reads history'),
    );
    await c2.send('from the fresh device');

    const both = ['from the first device', 'from the fresh device'];
    for (const [name, conv] of [
      ['the first device', c1],
      ['the fresh device', c2],
      ['Y', cy],
    ] as const) {
      await eventually(() => assert.deepEqual(texts(conv), both, `${name} reads both messages`));
    }
    assert.notDeepEqual(
      fresh.keys.myDistribution(channel, 0),
      first.keys.myDistribution(channel, 0),
      'each device sends on a chain of its own',
    );
    assert.equal(first.keys.myChains(channel, 0).length, 2, 'the first device holds both chains of X');
    assert.equal(cy.inbox.stats.undecryptable, 0, 'Y could open everything');
    assert.equal(c1.inbox.stats.undecryptable, 0, 'the first device could open everything');
  });

  it('two live devices of one identity both sending: no iteration used twice, all readable', async () => {
    const earlier = ['from the first device', 'from the fresh device'];
    const [d1, d2, reader] = [await connect(x), await connect(x), await connect(y)];
    const [c1, c2, cy] = [d1.open(channel), d2.open(channel), reader.open(channel)];
    for (const c of [c1, c2, cy])
      await eventually(() => assert.deepEqual(texts(c), earlier, 'the earlier messages are read first'));
    const sent: string[] = [];
    for (let round = 0; round < 5; round++) {
      // Both at once, neither waiting for the other's key: the dangerous interleaving.
      const a = `d1 round ${round}`;
      const b = `d2 round ${round}`;
      await Promise.all([c1.send(a), c2.send(b)]);
      sent.push(a, b);
    }
    for (const [name, conv] of [
      ['device 1', c1],
      ['device 2', c2],
      ['Y', cy],
    ] as const) {
      await eventually(() => {
        const shown = texts(conv);
        for (const s of [...earlier, ...sent]) assert.ok(shown.includes(s), `${name} reads "${s}"`);
        assert.equal(shown.length, earlier.length + sent.length, `${name} shows each message once`);
      });
      assert.equal(conv.inbox.stats.undecryptable, 0, `${name} could open everything`);
    }
    await eventually(() => assert.equal(updates().length, texts(cy).length, 'every update is in the log'));
    const mine = updates().filter((h) => toHex(h.sender) === toHex(x.identity.publicKey));
    const triples = new Set(mine.map((h) => `${h.epoch}/${h.iteration}`));
    // Unique per identity, so unique per chain too: no message key opened two messages.
    assert.equal(triples.size, mine.length, 'no (identity, epoch, iteration) is used twice across devices');
    const chains = new Set([d1, d2].map((d) => toHex(d.keys.myDistribution(channel, 0)!)));
    assert.equal(chains.size, 2, 'the two live devices send on chains of their own');
  });
});

describe('KeyDistributor with several devices of one identity', () => {
  it('hands a newcomer every chain of my identity, another device’s too; before a send, only its own', async () => {
    const x = generateIdentity();
    const newcomer = generateIdentity();
    const [me, newId] = [x.publicKey, newcomer.publicKey].map((k) => toBase64url(k)) as [string, string];
    const appended: Uint8Array[] = [];
    const readers = [me];
    const distributorOf = (keys: KeyManager) =>
      new KeyDistributor({
        identity: rawIdentity(x),
        keys,
        enqueue: async (_type, fields) => {
          appended.push(fromBase64url(fields.blob as string));
          return {};
        },
        publish: () => {},
        readersOf: () => readers,
        isMember: () => true,
      });
    // Another device of X sent (its chain reached this one through the log), then this one did.
    const other = new KeyManager(x.publicKey);
    other.sendingKey('lounge');
    const keys = new KeyManager(x.publicKey);
    keys.install(deserializeSenderKey(other.myDistribution('lounge', 0)!));
    const distributor = distributorOf(keys);
    await distributor.ensure('lounge');
    const mine = new KeyManager(x.publicKey); // X's own view of what was sealed to X
    for (const e of appended) {
      const got = await openKeyEntry(rawAgreement(x.secretKey), 'lounge', e);
      mine.install(got!.key);
    }
    assert.deepEqual(
      mine.keysAt('lounge', 0),
      [keys.myDistribution('lounge', 0)],
      'before a send: only this device’s chain, to every reader (X itself here)',
    );
    appended.length = 0;
    readers.push(newId);
    await distributor.welcome(newId);
    const agreement = rawAgreement(newcomer.secretKey);
    const opened = async () =>
      (await Promise.all(appended.map((e) => openKeyEntry(agreement, 'lounge', e)))).map((o) =>
        toHex(o!.key.chainKey),
      );
    const want = keys.myChains('lounge', 0).map((c) => toHex(deserializeSenderKey(c.distribution).chainKey));
    assert.equal(want.length, 2, 'two chains of X are held');
    assert.deepEqual((await opened()).sort(), want.sort(), 'a newcomer gets both chains of X');
  });
});
