/**
 * Newcomers against a real server, through the App (join by link): with a bundle
 * secret in the link, the newcomer reads the epoch's earlier messages although the
 * inviter is gone; without one, a member online hands its key over and the newcomer
 * reads what follows. Also: the link pins the server, backups round-trip.
 */
import assert from 'node:assert/strict';
import { generateIdentity } from '../../crypto/identity.ts';
import { member, nodeSocket, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { App, parseJoinLink } from './app.ts';
import { MemoryIdentityStore } from './identity-provider.ts';
import { MemoryCache } from './local-cache.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, fastPolicy, session, textChannel, texts } from './testing.ts';

function newApp(): Promise<App> {
  return App.load({
    socket: nodeSocket,
    identities: new MemoryIdentityStore(generateIdentity(), generateIdentity),
    storage: new MemoryCache(),
    cacheFor: () => new MemoryCache(),
    policy: fastPolicy,
    backupParams: { logN: 10, r: 8, p: 1 },
  });
}

describe('invites', () => {
  const a = member(['admin'], 'alice');
  const aCache = new MemoryCache();
  let t: TestServer;
  let channel: string;
  const apps: App[] = [];
  const sessions: ServerSession[] = [];

  before(async () => {
    t = await startTestServer({ authorizedKeys: a.line });
    channel = textChannel(t);
  });
  after(async () => {
    for (const app of apps) app.close();
    for (const s of sessions) s.close();
    await t.close();
  });

  it('hands over keys from a member online when the link has no bundle', async () => {
    const sa = await session(t, a.identity, { cache: aCache });
    sessions.push(sa);
    const ca = sa.open(channel);
    await ca.send('said before E came');
    const link = await sa.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1, shareHistory: false });
    assert.ok(!link.includes('.', link.indexOf('#')), 'no secret in the link');
    const app = await newApp();
    apps.push(app);
    const se = await app.join(link, 'erin');
    assert.equal(se.id, t.server.hub.identity.id);
    const ce = se.open(channel);
    await eventually(() => assert.ok(ce.inbox.stats.keysInstalled >= 1, 'A handed its key to E'));
    await ca.send('welcome, E');
    await eventually(() => assert.ok(texts(ce).includes('welcome, E'), 'E reads what A sends next'));
    assert.ok(texts(ce).includes('said before E came'), 'the key was handed over at iteration 0');
    await sa.settled();
    // The key state is saved (debounced; close drops a pending save): the next test restores from it.
    await eventually(async () =>
      assert.deepEqual(
        await aCache.getSetting('keys'),
        JSON.parse(JSON.stringify(sa.keys.save())),
        'A’s cache holds its current key state',
      ),
    );
    sa.close();
  });

  it('lets a newcomer read the epoch’s earlier messages from the link’s bundle, inviter gone', async () => {
    // A again, on the same device: its saved keys (the cache) let it go on at this epoch.
    const restored = await session(t, a.identity, { cache: aCache });
    sessions.push(restored);
    const ca = restored.open(channel);
    await ca.send('early one');
    await ca.send('early two');
    const link = await restored.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 });
    const parsed = parseJoinLink(link);
    assert.ok(parsed.secret, 'the link carries a bundle secret');
    restored.close(); // nobody who could hand keys over is online
    const app = await newApp();
    apps.push(app);
    const sd = await app.join(link, 'dave');
    const cd = sd.open(channel);
    await eventually(() => {
      const seen = texts(cd);
      for (const text of ['said before E came', 'welcome, E', 'early one', 'early two'])
        assert.ok(seen.includes(text), text);
    });
    assert.equal(cd.messages.value.find((m) => m.text === 'early one')!.author, a.key);
  });

  it('refuses a server whose key is not the one the link names, and round-trips a backup', async () => {
    const other = await startTestServer({ authorizedKeys: a.line });
    try {
      const sa = await session(t, a.identity);
      sessions.push(sa);
      const link = await sa.createInvite({
        role: 'member',
        expiresIn: 3600,
        maxUses: 1,
        shareHistory: false,
      });
      const wrongHost = link.replace(/:\d+\//, `:${other.server.port}/`);
      assert.notEqual(wrongHost, link);
      const app = await newApp();
      apps.push(app);
      await assert.rejects(app.join(wrongHost, 'mallory'), { code: 'AUTH_FAILED' });
      assert.equal(other.server.hub.members.list().length, 1, 'the token never reached the other server');
      const backup = await app.exportBackup('correct horse battery staple');
      const again = await newApp();
      apps.push(again);
      await again.importBackup(backup, 'correct horse battery staple');
      const main = await (
        again as unknown as { deps: { identities: MemoryIdentityStore } }
      ).deps.identities.exportKeyPair();
      const original = await (
        app as unknown as { deps: { identities: MemoryIdentityStore } }
      ).deps.identities.exportKeyPair();
      assert.deepEqual(main.publicKey, original.publicKey);
    } finally {
      await other.close();
    }
  });
});
