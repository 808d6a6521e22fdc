/**
 * The peer mesh (web/net/mesh.ts) in real Chromium: separate browser contexts, each
 * with a `ServerConnection` to the real server on loopback and `joinMesh` on one
 * channel room; trystero's signaling rides on that connection's pub/sub, and every
 * peer proves its identity inside trystero's handshake before it is admitted. The
 * page is this test's own bundle (fixtures/mesh-page.ts) on a route at the server's
 * origin, under the production CSP. No ICE servers: host candidates only.
 *
 * (a) Three members see each other with verified user ids, on links whose DTLS
 *     fingerprints match end to end, and exchange data both ways.
 * (a2) Two of them join a second room (the voice channel) on the same connection: the
 *     same DTLS link carries it, its own proof admits them, messages stay in their room.
 * (b) A fourth member that claims another member's key (signing with its own) is
 *     refused by all three, BAD_SIGNATURE, and never admitted.
 * (c) A member that leaves is gone from the others' peers within LEAVE_BOUND_MS.
 * (d) A member with a valid proof whom the others' `isMember` does not know is refused,
 *     NOT_MEMBER.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { toBase64url } from '../../crypto/bytes.ts';
import { CONTENT_SECURITY_POLICY } from '../../signal/static.ts';
import { type E2ESession, e2eSession, STEP_TIMEOUT_MS, within } from '../helpers/e2e.ts';
import { member } from '../helpers/signal.ts';
import type { JoinOptions, MeshHarness, MeshStatus } from './fixtures/mesh-page.ts';

const PAGE_PATH = '/__e2e/mesh.html';
const SCRIPT_PATH = '/__e2e/mesh.js';
const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>mesh e2e</title>
<script type="module" src="${SCRIPT_PATH}"></script></head><body></body></html>`;
/** From `leave()` on one page to its absence from every other page's peers. */
const LEAVE_BOUND_MS = 1_000;
/** From `join()` to every expected peer admitted (host candidates on one machine). */
const JOIN_BOUND_MS = 8_000;

const alice = member(['member'], 'alice');
const bob = member(['member'], 'bob');
const carol = member(['member'], 'carol');
const dave = member(['member'], 'dave');
/** A member of the server the others' `isMember` does not know (e.g. not in this channel). */
const erin = member(['member'], 'erin');
const MEMBERS = [alice, bob, carol, dave].map((m) => m.key);

async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./fixtures/mesh-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  assert.ok(out, 'esbuild produced no output');
  return out.text;
}

type Harness = { tcMesh: MeshHarness };
/** Drives one page's harness in one room. */
const harnessOf = (page: Page, room: string) => ({
  connect: (url: string, secret: Uint8Array) =>
    page.evaluate(([u, s]) => (globalThis as unknown as Harness).tcMesh.connect(u, s), [
      url,
      toBase64url(secret),
    ] as const),
  join: (options: JoinOptions) =>
    page.evaluate(([r, o]) => (globalThis as unknown as Harness).tcMesh.join(r, o), [room, options] as const),
  send: (text: string, target?: string) =>
    page.evaluate(([r, t, to]) => (globalThis as unknown as Harness).tcMesh.send(r, t, to), [
      room,
      text,
      target,
    ] as const),
  status: (): Promise<MeshStatus> =>
    page.evaluate((r) => (globalThis as unknown as Harness).tcMesh.status(r), room),
  leave: () => page.evaluate((r) => (globalThis as unknown as Harness).tcMesh.leave(r), room),
});
type PeerHarness = ReturnType<typeof harnessOf>;

/** Polls `status()` until `test` holds; on timeout says what it waited for and what it saw. */
async function until(
  h: PeerHarness,
  what: string,
  test: (s: MeshStatus) => boolean,
  ms = STEP_TIMEOUT_MS,
): Promise<MeshStatus> {
  const deadline = Date.now() + ms;
  let last: MeshStatus | undefined;
  while (Date.now() < deadline) {
    last = await h.status();
    if (test(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}; last status ${JSON.stringify(last)}`);
}

describe('mesh: trystero over the tincan connection, identities proved in the handshake', () => {
  let session: E2ESession;
  let wsUrl: string;
  let room: string;
  let bundled = '';
  const h: Record<'alice' | 'bob' | 'carol', PeerHarness> = {} as never;
  const peerIds: Record<string, string> = {};

  before(async () => {
    const started = performance.now();
    const script = await bundlePage();
    bundled = `page bundled in ${(performance.now() - started).toFixed(0)} ms (${(script.length / 1024).toFixed(0)} KiB)`;
    session = await e2eSession({
      peers: 3,
      path: PAGE_PATH,
      authorizedKeys: alice.line + bob.line + carol.line + dave.line + erin.line,
      setupContext: async (context) => {
        // As in y-webrtc.e2e.test.ts: a Playwright-fulfilled page counts as public for
        // Local Network Access, so it needs this grant to open a WebSocket to 127.0.0.1.
        await context.grantPermissions(['local-network-access']);
        await context.route('**/__e2e/*', (route) => {
          const { pathname } = new URL(route.request().url());
          const [body, contentType] =
            pathname === PAGE_PATH
              ? [PAGE_HTML, 'text/html; charset=utf-8']
              : pathname === SCRIPT_PATH
                ? [script, 'text/javascript; charset=utf-8']
                : [undefined, ''];
          if (body === undefined) return route.fulfill({ status: 404 });
          return route.fulfill({
            status: 200,
            contentType,
            body,
            headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
          });
        });
      },
    });
    wsUrl = `${session.url.replace('http', 'ws')}/ws`;
    const text = session.server.hub.channels.list().find((c) => c.kind === 'text');
    assert.ok(text, 'expected a seeded text channel');
    room = text.id;
    const [pa, pb, pc] = session.peers;
    assert.ok(pa && pb && pc, 'expected three browser contexts');
    h.alice = harnessOf(pa.page, room);
    h.bob = harnessOf(pb.page, room);
    h.carol = harnessOf(pc.page, room);
    const keys = await Promise.all([
      h.alice.connect(wsUrl, alice.identity.secretKey),
      h.bob.connect(wsUrl, bob.identity.secretKey),
      h.carol.connect(wsUrl, carol.identity.secretKey),
    ]);
    assert.deepEqual(keys, [alice.key, bob.key, carol.key], 'each page is online as its own member');
  });
  after(async () => {
    await session?.close();
  });

  it('(a) three members admit each other with verified user ids and exchange data both ways', async (t) => {
    const names = ['alice', 'bob', 'carol'] as const;
    const keyOf = { alice: alice.key, bob: bob.key, carol: carol.key };
    for (const name of names) await h[name].join({ members: MEMBERS });
    const statuses = await within(
      JOIN_BOUND_MS + 1_000,
      'three full meshes',
      Promise.all(
        names.map((name) =>
          until(h[name], `${name} to admit two peers`, (s) => s.peers.length === 2, JOIN_BOUND_MS),
        ),
      ),
    );
    names.forEach((name, i) => {
      peerIds[name] = statuses[i]!.selfPeerId;
    });

    const joinMs: number[] = [];
    names.forEach((name, i) => {
      const s = statuses[i]!;
      const others = names.filter((n) => n !== name);
      assert.deepEqual(
        s.peers.map((p) => p.userId).sort(),
        others.map((n) => keyOf[n]).sort(),
        `${name} sees the other two with their verified user ids`,
      );
      assert.deepEqual(
        s.peers.map((p) => p.peerId).sort(),
        others.map((n) => peerIds[n]).sort(),
        `${name} sees the other two under their trystero peer ids`,
      );
      assert.deepEqual(s.rejected, [], `${name} refused nobody`);
      // From the later of the two joins (the pages join one after the other) to admission.
      for (const j of s.joins) {
        const other = statuses.find((o) => o.selfPeerId === j.peerId);
        joinMs.push(j.at - Math.max(s.joinedAt, other?.joinedAt ?? 0));
      }
      assert.deepEqual(
        s.peers.map((p) => p.iceServers),
        [0, 0],
        `${name}: the links use the ICE servers given (none), not trystero's public STUN defaults`,
      );
      // Per-connection certificates: each of a page's links has its own local fingerprint.
      assert.equal(new Set(s.peers.map((p) => p.local)).size, 2, `${name}: one certificate per connection`);
    });
    // Each admitted link is one DTLS association: my local fingerprint is your remote one.
    for (const [x, y] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      const sx = statuses[x]!;
      const sy = statuses[y]!;
      const xSeesY = sx.peers.find((p) => p.peerId === sy.selfPeerId);
      const ySeesX = sy.peers.find((p) => p.peerId === sx.selfPeerId);
      assert.ok(xSeesY && ySeesX, `${names[x]} and ${names[y]} see each other`);
      assert.match(xSeesY.local, /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(xSeesY.local, ySeesX.remote, `${names[x]}→${names[y]}: fingerprints match end to end`);
      assert.equal(xSeesY.remote, ySeesX.local, `${names[y]}→${names[x]}: fingerprints match end to end`);
    }

    await h.alice.send('hello bob, from alice', peerIds.bob);
    await h.bob.send('hello alice, from bob', peerIds.alice);
    const atBob = await until(h.bob, 'alice’s message at bob', (s) => s.messages.length > 0);
    const atAlice = await until(h.alice, 'bob’s message at alice', (s) => s.messages.length > 0);
    assert.deepEqual(atBob.messages, [
      { peerId: peerIds.alice, userId: alice.key, text: 'hello bob, from alice' },
    ]);
    assert.deepEqual(atAlice.messages, [
      { peerId: peerIds.bob, userId: bob.key, text: 'hello alice, from bob' },
    ]);
    const carolNow = await h.carol.status();
    assert.deepEqual(carolNow.messages, [], 'carol was not a target');

    joinMs.sort((a, b) => a - b);
    t.diagnostic(
      `later join() → verified peer: min ${joinMs[0]} ms, median ${joinMs[joinMs.length >> 1]} ms, max ${joinMs.at(-1)} ms ` +
        `(${joinMs.length} admissions); ${bundled}`,
    );
  });

  it('(a2) a second room on the same connection reuses the link and runs its own proof', async (t) => {
    const voice = session.server.hub.channels.list().find((c) => c.kind === 'voice');
    assert.ok(voice, 'expected a seeded voice channel');
    const [pa, pb] = session.peers;
    const va = harnessOf(pa!.page, voice.id);
    const vb = harnessOf(pb!.page, voice.id);
    const started = Date.now();
    await va.join({ members: MEMBERS });
    await vb.join({ members: MEMBERS });
    const [sa, sb] = await Promise.all([
      until(va, 'alice to admit bob in the voice room', (s) => s.peers.length === 1),
      until(vb, 'bob to admit alice in the voice room', (s) => s.peers.length === 1),
    ]);
    assert.deepEqual(
      [sa.peers[0]?.peerId, sa.peers[0]?.userId, sb.peers[0]?.peerId, sb.peers[0]?.userId],
      [peerIds.bob, bob.key, peerIds.alice, alice.key],
      'each admits the other, verified, in the second room',
    );
    assert.deepEqual([...sa.rejected, ...sb.rejected], [], 'nobody refused');
    // trystero shares one RTCPeerConnection per remote peer across rooms: same DTLS association.
    const inText = (await h.alice.status()).peers.find((p) => p.peerId === peerIds.bob);
    assert.ok(inText, 'alice still has bob in the text room');
    assert.deepEqual(
      [sa.peers[0]?.local, sa.peers[0]?.remote],
      [inText.local, inText.remote],
      'the voice room runs over the text room’s link',
    );
    // Rooms stay apart on the shared link.
    await va.send('voice-room hello', peerIds.bob);
    const got = await until(vb, 'the voice-room message at bob', (s) => s.messages.length > 0);
    assert.deepEqual(got.messages, [{ peerId: peerIds.alice, userId: alice.key, text: 'voice-room hello' }]);
    assert.equal(
      (await h.bob.status()).messages.length,
      1,
      'bob’s text room got only alice’s earlier message',
    );
    const admitted = Math.max(...[...sa.joins, ...sb.joins].map((j) => j.at)) - started;
    t.diagnostic(`second room: both admitted ${admitted} ms after alice's join() (no new connection)`);
  });

  it('(b) refuses a member that claims another member’s key', async (t) => {
    const forger = await session.addPeer('dave');
    const d = harnessOf(forger.page, room);
    assert.equal(await d.connect(wsUrl, dave.identity.secretKey), dave.key, 'dave is online as himself');
    const started = Date.now();
    // Dave claims to be bob in the handshake; his signature is by dave's key.
    await d.join({ members: MEMBERS, claim: bob.key });
    const daveId = (await d.status()).selfPeerId;

    for (const name of ['alice', 'bob', 'carol'] as const) {
      const s = await until(h[name], `${name} to refuse dave`, (st) =>
        st.rejected.some((r) => r.peerId === daveId),
      );
      const refusal = s.rejected.find((r) => r.peerId === daveId)!;
      assert.equal(refusal.code, 'BAD_SIGNATURE', `${name}: refused for the signature (${refusal.detail})`);
      t.diagnostic(`${name} refused dave ${refusal.at - started} ms after his join(): ${refusal.detail}`);
    }
    // Give a wrongly admitted peer time to show up, then look again everywhere.
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const name of ['alice', 'bob', 'carol'] as const) {
      const s = await h[name].status();
      assert.ok(!s.peers.some((p) => p.peerId === daveId), `${name} never admits dave`);
      assert.ok(!s.joins.some((j) => j.peerId === daveId), `${name} never reported dave joining`);
      assert.deepEqual(
        s.peers.filter((p) => p.userId === bob.key).map((p) => p.peerId),
        name === 'bob' ? [] : [peerIds.bob],
        `${name}: bob's key belongs to bob's page only`,
      );
      assert.equal(s.peers.length, 2, `${name} still has exactly the two honest peers`);
      assert.deepEqual(
        s.messages.filter((m) => m.peerId === daveId),
        [],
        `${name}: nothing from dave`,
      );
    }
    await d.send('let me in').catch(() => undefined);
    const ds = await d.status();
    assert.deepEqual(ds.peers, [], 'dave was admitted by nobody, so he admits nobody either');
  });

  it(`(c) a member that leaves is gone from the others within ${LEAVE_BOUND_MS} ms`, async (t) => {
    const leftAt = Date.now();
    await h.carol.leave();
    for (const name of ['alice', 'bob'] as const) {
      const s = await until(
        h[name],
        `${name} to drop carol`,
        (st) => !st.peers.some((p) => p.peerId === peerIds.carol),
        LEAVE_BOUND_MS,
      );
      const leave = s.leaves.find((l) => l.peerId === peerIds.carol);
      assert.ok(leave, `${name} reported carol leaving`);
      assert.equal(leave.userId, carol.key);
      assert.ok(leave.at - leftAt <= LEAVE_BOUND_MS, `${name}: within ${LEAVE_BOUND_MS} ms`);
      assert.equal(s.peers.length, 1, `${name} keeps the other one`);
      t.diagnostic(`${name} saw carol leave ${leave.at - leftAt} ms after her leave()`);
    }
    // The honest pages stay clean (links are closed channel-first, see peer-connection-tracker.ts);
    // the forger's page may log trystero's complaints about the links cut under it.
    for (const peer of session.peers.filter((p) => p.name !== 'dave'))
      assert.deepEqual(peer.errors, [], `${peer.name}: no page errors`);
  });

  it('(d) refuses a valid proof from a key the caller’s isMember does not know', async (t) => {
    const outsider = await session.addPeer('erin');
    const e = harnessOf(outsider.page, room);
    assert.equal(await e.connect(wsUrl, erin.identity.secretKey), erin.key, 'erin is online as herself');
    const started = Date.now();
    await e.join({ members: [...MEMBERS, erin.key] });
    const erinId = (await e.status()).selfPeerId;
    for (const name of ['alice', 'bob'] as const) {
      const s = await until(h[name], `${name} to refuse erin`, (st) =>
        st.rejected.some((r) => r.peerId === erinId),
      );
      const refusal = s.rejected.find((r) => r.peerId === erinId)!;
      assert.equal(refusal.code, 'NOT_MEMBER', `${name}: refused as a non-member (${refusal.detail})`);
      assert.ok(!s.peers.some((p) => p.peerId === erinId), `${name} does not admit erin`);
      t.diagnostic(`${name} refused erin ${refusal.at - started} ms after her join()`);
    }
  });
});
