/**
 * The real web app (dist/app.js, as `npm start` serves it) in three separate Chromium
 * contexts against a real server on loopback, driven the way a person uses it:
 * invite links, the composer, the member panel. What the server holds is then read
 * from its own store and data dir.
 *
 * One scenario, in steps that build on each other (node:test runs them in order):
 *  1. Alice opens the admin invite; Bob and Carol join by links Alice creates in the app.
 *  2. Alice writes text, markdown and an image; Bob and Carol see all three.
 *  3. Carol closes her tab; Alice and Bob talk; Carol comes back and sees everything.
 *  4. A DM between Alice and Carol: Carol reads it; Bob neither sees it nor can open its
 *     ciphertext when it is handed to his client.
 *  5. A member (a Node client on the same client core) posts normally, then a message
 *     signed with the wrong key: nobody shows the forgery; it is counted as forged.
 *  6. Alice kicks Bob: Bob is told; what Alice writes next is sealed for a new epoch,
 *     and Bob's client, given that ciphertext, cannot read it.
 *  7. Alice adds a second server from the same page: the rail shows both, each with its
 *     own channel and messages.
 *  8. No canary text or image byte is in either server's data dir.
 * Screenshots of the main views go to test-results/ (not committed).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { rawAgreement } from '../../crypto/ecdh.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { type RunningServer, startServer } from '../../signal/server.ts';
import { parseJoinLink } from '../../web/core/app.ts';
import type { IdentityProvider } from '../../web/core/identity-provider.ts';
import { MemoryCache } from '../../web/core/local-cache.ts';
import { ServerSession } from '../../web/core/server-view.ts';
import { eventually, filesContaining } from '../../web/core/testing.ts';
import { type E2ESession, e2eSession, RESULTS_DIR, STEP_TIMEOUT_MS } from '../helpers/e2e.ts';
import { nodeSocket } from '../helpers/signal.ts';
import { pngWithCanary } from './fixtures/png.ts';

const tag = toBase64url(randomBytes(6));
const CANARY = {
  hello: `canary-hello-${tag}`,
  markdown: `canary-md-${tag}`,
  offline: `canary-while-carol-away-${tag}`,
  dm: `canary-dm-${tag}`,
  forged: `canary-forged-${tag}`,
  afterKick: `canary-after-kick-${tag}`,
  second: `canary-second-server-${tag}`,
  image: `canary-image-bytes-${tag}`,
};

/** What a log entry looks like on the wire (and to the client core). */
interface WireEntry {
  seq: number;
  kind: string;
  id: string | null;
  author: string;
  at: number;
  blob: string;
}

// ---- driving the app like a person ----------------------------------------------------

async function joinByLink(page: Page, link: string, name: string): Promise<void> {
  await page.goto(link);
  await page.getByLabel('Your display name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('button', { name: /^Open / }).click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

async function createInvite(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Invite people' }).click();
  const dialog = page.locator('tc-invite-dialog');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const link = await dialog.getByLabel('Invite link').inputValue();
  await dialog.getByRole('button', { name: 'Done' }).click();
  assert.match(link, /#invite=/, 'the invite dialog should show a link with an #invite= fragment');
  return link;
}

async function say(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: /^Message / });
  await box.fill(text);
  await box.press('Enter');
}

/** Waits until the open conversation shows `text`. */
async function sees(page: Page, text: string, what = text): Promise<void> {
  try {
    await page.getByRole('log').getByText(text).first().waitFor({ timeout: STEP_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`expected the conversation to show ${what}`, { cause: error });
  }
}

async function shown(page: Page, text: string): Promise<boolean> {
  return (await page.getByText(text).count()) > 0;
}

async function openMember(page: Page, name: string): Promise<void> {
  await page.locator('tc-member-list button.member', { hasText: name }).first().click();
}

async function openDm(page: Page, name: string): Promise<void> {
  await openMember(page, name);
  await page.locator('tc-member-panel').getByRole('button', { name: 'Send message' }).click();
  await page.getByRole('textbox', { name: `Message ${name}` }).waitFor();
}

async function openChannel(page: Page, id: string): Promise<void> {
  await page.locator(`tc-channel-list button.channel[data-id="${id}"]`).click();
  await page.getByRole('textbox', { name: /^Message #/ }).waitFor();
}

// ---- reaching into a page's client core (for what a person cannot do) -------------------

type CoreWindow = {
  document: Document;
};

/**
 * Hands `entries` of `log` to the first server's client core in `page`, as if its
 * server had pushed them, and returns what that conversation then shows and counts.
 */
function feedCiphertext(
  page: Page,
  log: string,
  entries: WireEntry[],
): Promise<{ texts: string[]; stats: Record<string, number>; pendingKeys: number }> {
  return page.evaluate(
    async ([log, entries]) => {
      const shell = (globalThis as unknown as CoreWindow).document.querySelector('tc-app') as unknown as {
        app: {
          servers: {
            value: Array<{
              settled(): Promise<void>;
              conversation(id: string): {
                inbox: {
                  push(e: unknown[], live: boolean): Promise<void>;
                  stats: Record<string, number>;
                  pendingKeys: number;
                };
                messages: { value: Array<{ text: string }> };
              };
            }>;
          };
        };
      };
      const server = shell.app.servers.value[0]!;
      const c = server.conversation(log);
      await c.inbox.push(entries, true);
      await server.settled();
      await new Promise((r) => setTimeout(r, 50)); // the message list refreshes in a microtask
      return {
        texts: c.messages.value.map((m) => m.text),
        stats: { ...c.inbox.stats },
        pendingKeys: c.inbox.pendingKeys,
      };
    },
    [log, entries] as const,
  );
}

function inboxStats(page: Page, log: string): Promise<Record<string, number>> {
  return feedCiphertext(page, log, []).then((r) => r.stats);
}

/** The user ids `page`'s first server has verified in the mesh of `log`. */
function meshPeers(page: Page, log: string): Promise<string[]> {
  return page.evaluate((log) => {
    const shell = (globalThis as unknown as CoreWindow).document.querySelector('tc-app') as unknown as {
      app: { servers: { value: Array<{ meshes?: { peers(c: string): string[] } }> } };
    };
    return shell.app.servers.value[0]?.meshes?.peers(log) ?? [];
  }, log);
}

function wireEntries(server: RunningServer, log: string): WireEntry[] {
  return server.hub.store.fetchAfter(log, 0, 10_000).map((e) => ({
    seq: e.seq,
    kind: e.kind,
    id: e.id ?? null,
    author: e.author,
    at: e.at,
    blob: toBase64url(e.blob),
  }));
}

/** A member whose signer can be switched to sign with a key that is not its own. */
function forgingIdentity(): { identity: IdentityProvider; forge(on: boolean): void } {
  const pair = generateIdentity();
  const own = rawSigner(pair.secretKey);
  const wrong = rawSigner(generateIdentity().secretKey);
  let forging = false;
  return {
    identity: {
      publicKey: pair.publicKey,
      agreement: rawAgreement(pair.secretKey),
      signer: { publicKey: pair.publicKey, sign: (m) => (forging ? wrong : own).sign(m) },
    },
    forge: (on) => {
      forging = on;
    },
  };
}

describe('the web app, three people, end to end', { timeout: 180_000 }, () => {
  let s: E2ESession;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let general: string;
  let inviteForMallory: string;
  let second: { server: RunningServer; dataDir: string } | undefined;
  let mallory: ServerSession | undefined;
  const pageErrors: string[] = [];

  before(async () => {
    s = await e2eSession({ peers: 3 });
    [alice, bob, carol] = s.peers.map((p) => p.page) as [Page, Page, Page];
    general = s.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
  });

  /** Saves each person's current page to test-results/<label>-<name>.png. */
  const shoot = async (label: string): Promise<void> => {
    await mkdir(RESULTS_DIR, { recursive: true });
    for (const [page, name] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const)
      if (page && !page.isClosed())
        await page.screenshot({ path: join(RESULTS_DIR, `${label}-${name}.png`) });
  };

  after(async () => {
    mallory?.close();
    await shoot('app-end').catch((error: unknown) => console.error('app e2e: no end screenshots:', error));
    await s?.close();
    if (second) {
      await second.server.close();
      await rm(second.dataDir, { recursive: true, force: true });
    }
  });

  it('1. Alice opens the admin invite; Bob and Carol join by links made in the app', async () => {
    assert.ok(s.server.adminInvite, 'a fresh server should print an admin invite');
    await joinByLink(alice, s.server.adminInvite, 'Alice');
    const forBob = await createInvite(alice);
    const forCarol = await createInvite(alice);
    inviteForMallory = await createInvite(alice);
    await joinByLink(bob, forBob, 'Bob');
    await joinByLink(carol, forCarol, 'Carol');
    for (const [page, who] of [
      [alice, 'Alice'],
      [bob, 'Bob'],
      [carol, 'Carol'],
    ] as const) {
      for (const other of ['Alice', 'Bob', 'Carol'])
        await page
          .locator('tc-member-list button.member', { hasText: other })
          .first()
          .waitFor({ timeout: STEP_TIMEOUT_MS })
          .catch((error: unknown) => {
            throw new Error(`${who} should see ${other} in the member list`, { cause: error });
          });
    }
  });

  it('2. Alice writes text, markdown and an image; Bob and Carol see all three', async () => {
    // The channel is open in all three tabs: their meshes link up (signed DTLS fingerprints).
    await eventually(
      async () =>
        assert.equal((await meshPeers(alice, general)).length, 2, 'Alice has Bob and Carol as peers'),
      STEP_TIMEOUT_MS,
    );
    await say(alice, `${CANARY.hello} everyone`);
    await say(alice, `**bold ${CANARY.markdown}** and \`code\``);
    const composer = alice.locator('tc-composer');
    await composer.locator('input[type=file]').setInputFiles({
      name: 'canary.png',
      mimeType: 'image/png',
      buffer: pngWithCanary(CANARY.image),
    });
    await say(alice, 'a picture');
    for (const [page, who] of [
      [bob, 'Bob'],
      [carol, 'Carol'],
    ] as const) {
      await sees(page, CANARY.hello, `Alice's text at ${who}`);
      const bold = page.getByRole('log').locator('strong', { hasText: CANARY.markdown });
      await bold.waitFor().catch((error: unknown) => {
        throw new Error(`${who} should see Alice's markdown rendered as <strong>`, { cause: error });
      });
      assert.equal(await page.getByRole('log').locator('code', { hasText: 'code' }).count(), 1);
      const img = page.getByRole('log').getByRole('img', { name: 'canary.png' });
      await img.waitFor().catch((error: unknown) => {
        throw new Error(`${who} should see Alice's image inline`, { cause: error });
      });
      await eventually(async () => {
        const width = await img.evaluate((el) => (el as HTMLImageElement).naturalWidth);
        assert.equal(width, 4, `${who}'s decrypted image should decode to the 4 px wide PNG Alice sent`);
      }, STEP_TIMEOUT_MS);
    }
    for (const [page, who] of [
      [bob, 'Bob'],
      [carol, 'Carol'],
    ] as const) {
      const stats = await inboxStats(page, general);
      assert.ok(
        stats.fromPeers! >= 1,
        `${who} should have had at least one of Alice's 3 posts from the mesh before the server's copy: ${JSON.stringify(stats)}`,
      );
      assert.equal(stats.forged, 0, `${who} counted nothing as forged`);
    }
    await shoot('app-channel');
  });

  it('3. Carol closes her tab, Alice and Bob talk, Carol comes back and sees everything', async () => {
    const context = carol.context();
    await carol.close();
    await say(alice, `${CANARY.offline} one`);
    await say(bob, `${CANARY.offline} two`);
    await sees(alice, `${CANARY.offline} two`);
    carol = await context.newPage();
    carol.on('pageerror', (e) => pageErrors.push(`carol: ${e.message}`));
    await carol.goto(s.url);
    await sees(carol, `${CANARY.offline} one`, 'what Alice wrote while Carol was away');
    await sees(carol, `${CANARY.offline} two`, 'what Bob wrote while Carol was away');
    await sees(carol, CANARY.hello, 'the older history');
  });

  it('4. a DM between Alice and Carol: Carol reads it, Bob cannot, even given its ciphertext', async () => {
    await openDm(alice, 'Carol');
    await say(alice, `${CANARY.dm} just for you`);
    const dmEntry = carol.locator('tc-channel-list button.dm', { hasText: 'Alice' });
    await dmEntry
      .locator('.badge')
      .waitFor()
      .catch((error: unknown) => {
        throw new Error("Carol's channel list should show Alice's DM with an unread badge", { cause: error });
      });
    await dmEntry.click();
    await sees(carol, CANARY.dm, "Alice's DM");
    assert.equal(await shown(bob, CANARY.dm), false, 'Bob should not see the DM anywhere');
    const aliceKey = s.server.hub.store.listMembers().find((m) => m.name === 'Alice')!.key;
    const carolKey = s.server.hub.store.listMembers().find((m) => m.name === 'Carol')!.key;
    const dm = aliceKey < carolKey ? `dm:${aliceKey}:${carolKey}` : `dm:${carolKey}:${aliceKey}`;
    const entries = wireEntries(s.server, dm);
    assert.ok(entries.length >= 2, `the DM log should hold keys and the message, got ${entries.length}`);
    const atBob = await feedCiphertext(bob, dm, entries);
    assert.equal(
      atBob.texts.some((t) => t.includes(CANARY.dm)),
      false,
      "Bob's client should not open the DM",
    );
    assert.equal(atBob.texts.length, 0, `Bob's client should show nothing of the DM, showed ${atBob.texts}`);
    await openChannel(alice, general);
    await openChannel(carol, general);
  });

  it('5. a message signed with the wrong key is shown to nobody', async () => {
    const forger = forgingIdentity();
    const link = parseJoinLink(inviteForMallory);
    mallory = await ServerSession.connect({
      url: link.url,
      identity: forger.identity,
      socket: nodeSocket,
      cache: new MemoryCache(),
      invite: { token: link.token, name: 'Mallory', ...(link.secret ? { secret: link.secret } : {}) },
    });
    const room = mallory.open(general);
    await room.send(`hello from mallory ${tag}`);
    await sees(alice, `hello from mallory ${tag}`, "Mallory's genuine message");
    const before = await inboxStats(alice, general);
    forger.forge(true);
    await room.send(CANARY.forged);
    forger.forge(false);
    await room.send(`mallory again ${tag}`);
    for (const page of [alice, bob, carol]) await sees(page, `mallory again ${tag}`);
    for (const [page, who] of [
      [alice, 'Alice'],
      [bob, 'Bob'],
      [carol, 'Carol'],
    ] as const)
      assert.equal(await shown(page, CANARY.forged), false, `${who} should not show the forged message`);
    const afterStats = await inboxStats(alice, general);
    assert.equal(afterStats.forged, (before.forged ?? 0) + 1, "Alice's client should count one forgery");
  });

  it('6. Alice kicks Bob: Bob is told, and cannot read what follows even given the ciphertext', async () => {
    await openMember(alice, 'Bob');
    await alice.locator('tc-member-panel').getByRole('button', { name: 'Kick…' }).click();
    await alice.getByRole('button', { name: 'Kick Bob' }).click();
    await bob
      .getByText('You were removed from this server by a moderator.')
      .first()
      .waitFor()
      .catch((error: unknown) => {
        throw new Error('Bob should be told he was removed', { cause: error });
      });
    await alice.locator('tc-member-list button.member', { hasText: 'Bob' }).waitFor({ state: 'detached' });
    await say(alice, `${CANARY.afterKick} secret plans`);
    await sees(carol, CANARY.afterKick, "Alice's message after the kick, at Carol");
    await shoot('app-after-kick');
    assert.equal(
      await bob.getByRole('textbox', { name: /^Message / }).count(),
      0,
      'a removed member gets no composer (nothing would ever be sent)',
    );
    assert.ok(
      (await alice.getByRole('log').getByText('Bob', { exact: true }).count()) > 0,
      "Bob's earlier messages should still carry his name at Alice's",
    );
    const entries = wireEntries(s.server, general);
    const atBob = await feedCiphertext(bob, general, entries);
    assert.ok(
      atBob.texts.some((t) => t.includes(CANARY.hello)),
      "Bob's client should still read what was said before he was kicked",
    );
    assert.equal(
      atBob.texts.some((t) => t.includes(CANARY.afterKick)),
      false,
      "Bob's client should not read what Alice wrote after the kick",
    );
  });

  it('7. Alice adds a second server from the same page; the rail shows both', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tincan-e2e-second-'));
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      overrides: { serverName: 'Second' },
      log: { info: () => undefined, warn: () => undefined },
    });
    second = { server, dataDir };
    const rail = alice.locator('tc-server-rail');
    await rail.getByRole('button', { name: 'Add a server' }).click();
    await rail.getByLabel('Invite link').fill(server.adminInvite!);
    await rail.getByRole('button', { name: 'Join', exact: true }).click();
    await alice.getByLabel('Your display name').fill('Alice');
    await alice.getByRole('button', { name: 'Join', exact: true }).click();
    await alice.getByRole('button', { name: /^Open / }).click();
    await say(alice, CANARY.second);
    await sees(alice, CANARY.second);
    const servers = rail.locator('button.server');
    assert.equal(await servers.count(), 2, 'the rail should show two servers');
    await shoot('app-two-servers');
    await servers.first().click();
    await sees(alice, CANARY.afterKick, "the first server's channel after switching back");
    assert.equal(
      await shown(alice, CANARY.second),
      false,
      "the first server's channel should not show the second's",
    );
    assert.equal(server.hub.store.fetchAfter(general, 0, 10).length, 0, 'the servers share nothing');
  });

  it("8. no canary text or image byte is in either server's data dir", async () => {
    for (const dir of [s.dataDir, second?.dataDir].filter((d): d is string => d !== undefined)) {
      for (const canary of Object.values(CANARY)) {
        const hits = await filesContaining(dir, canary);
        assert.deepEqual(
          hits,
          [],
          `${canary} should not be stored in the clear, found in ${hits.join(', ')}`,
        );
      }
    }
    assert.deepEqual(pageErrors, [], 'no uncaught errors in reopened pages');
  });
});
