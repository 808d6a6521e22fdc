/**
 * The conversation's peer path against a real signal server. Node has no
 * RTCPeerConnection, so trystero cannot run here: `LoopbackMeshes` stands in for
 * web/net/mesh.ts, connecting the sessions of one test in process (the peer's user
 * id is the identity that joined, as the real mesh proves it over DTLS). The real
 * mesh carries the same path in Chromium in test/e2e/app.e2e.test.ts.
 *
 * It checks that a peer sees an update before the server's copy and exactly once
 * after it; that a message written while the writer's server connection is down
 * reaches an open peer at once and is stored once when it comes back; that a peer
 * cannot pass off another member's update, post without the `send` permission,
 * or flood past the per-peer rate; and that closing a conversation leaves its mesh
 * after the linger.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataPayload, MessageAction } from '@trystero-p2p/core';
import { testHubOptions } from '../../signal/options.ts';
import { member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import type { MeshOptions, MeshPeer } from '../net/mesh.ts';
import { type JoinMesh, MAX_PEER_UPDATE_BYTES, type PeerMesh, UPDATE_ACTION } from './conversation-mesh.ts';
import type { ServerSession } from './server-view.ts';
import { eventually, session, textChannel, texts } from './testing.ts';

interface Endpoint {
  peerId: string;
  userId: string;
  isMember(userId: string): boolean | Promise<boolean>;
  handlers: Map<string, (data: DataPayload, peerId: string) => void>;
}

/** In-process rooms: every endpoint of a room sees the others whose membership test it passes. */
class LoopbackMeshes {
  private readonly rooms = new Map<string, Set<Endpoint>>();
  private next = 0;
  /** The last bytes each user sent on the update action. */
  readonly lastSent = new Map<string, Uint8Array>();

  joinAs(userId: string): JoinMesh {
    return (options: MeshOptions) => this.join(userId, options);
  }

  /** Sends raw bytes on a room's update action as `userId` would (a peer that misbehaves). */
  inject(room: string, fromUserId: string, data: DataPayload): number {
    let reached = 0;
    for (const e of this.rooms.get(room) ?? []) {
      if (e.userId === fromUserId) continue;
      const from = [...(this.rooms.get(room) ?? [])].find((x) => x.userId === fromUserId);
      if (!from) throw new Error(`${fromUserId} is not in ${room}`);
      e.handlers.get(UPDATE_ACTION)?.(data, from.peerId);
      reached++;
    }
    return reached;
  }

  members(room: string): string[] {
    return [...(this.rooms.get(room) ?? [])].map((e) => e.userId);
  }

  private join(userId: string, options: MeshOptions): PeerMesh {
    const self: Endpoint = {
      peerId: `peer-${this.next++}`,
      userId,
      isMember: options.isMember ?? (() => true),
      handlers: new Map(),
    };
    let room = this.rooms.get(options.room);
    if (!room) this.rooms.set(options.room, (room = new Set()));
    room.add(self);
    const others = (): Endpoint[] => [...(this.rooms.get(options.room) ?? [])].filter((e) => e !== self);
    const asPeer = (e: Endpoint): MeshPeer => ({
      peerId: e.peerId,
      userId: e.userId,
      connection: undefined as unknown as RTCPeerConnection,
      admittedAt: 0,
    });
    return {
      peers: () => others().map(asPeer),
      peer: (peerId) => {
        const e = others().find((x) => x.peerId === peerId);
        return e && asPeer(e);
      },
      makeAction: <T extends DataPayload = DataPayload>(namespace: string): MessageAction<T> => {
        const action: MessageAction<T> = {
          onMessage: null,
          onReceiveProgress: null,
          send: async (data, sendOptions) => {
            const target = sendOptions?.target;
            if (data instanceof Uint8Array) this.lastSent.set(userId, data.slice());
            for (const e of others()) {
              if (Array.isArray(target) && !target.includes(e.peerId)) continue;
              if (!(await e.isMember(userId))) continue;
              // A copy, as a data channel delivers: the sender's buffer is not shared.
              e.handlers.get(namespace)?.((data as Uint8Array).slice(), self.peerId);
            }
          },
        };
        self.handlers.set(namespace, (data, peerId) => void action.onMessage?.(data as T, { peerId }));
        return action;
      },
      leave: async () => {
        this.rooms.get(options.room)?.delete(self);
      },
    };
  }
}

describe('conversations over the peer mesh', () => {
  const a = member(['admin'], 'alice');
  const b = member(['member'], 'bob');
  const c = member(['member'], 'carol');
  const reader = member(['reader'], 'rita');
  let dataDir: string;
  let t: TestServer;
  let meshes: LoopbackMeshes;
  let sa: ServerSession;
  let sb: ServerSession;
  let sc: ServerSession;
  let sr: ServerSession;
  let channel: string;
  const stored = async () => {
    const reply = await sb.conn.request('log.fetch', { log: channel, limit: 100 });
    return (reply.entries as { kind: string }[]).filter((e) => e.kind === 'update').length;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-mesh-'));
    const roles = new Map(testHubOptions().roles);
    roles.set('reader', { permissions: new Set(), rate: { perSecond: 20, burst: 40 }, priority: 0 });
    t = await startTestServer({
      dataDir,
      authorizedKeys: a.line + b.line + c.line + reader.line,
      overrides: { roles },
    });
    channel = textChannel(t);
    meshes = new LoopbackMeshes();
    sa = await session(t, a.identity, { mesh: meshes.joinAs(a.key) });
    sb = await session(t, b.identity, { mesh: meshes.joinAs(b.key) });
    sc = await session(t, c.identity, { mesh: meshes.joinAs(c.key) });
    sr = await session(t, reader.identity, { mesh: meshes.joinAs(reader.key) });
  });
  after(async () => {
    for (const s of [sa, sb, sc, sr]) s.close();
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('shows a peer’s update from the mesh first, and the server’s copy does not show it twice', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    await eventually(() => assert.deepEqual(sa.meshes?.peers(channel), [b.key], 'A sees B in the mesh'));
    await ca.send('over the mesh');
    await eventually(() => assert.deepEqual(texts(cb), ['over the mesh'], 'B shows the message'));
    assert.equal(cb.inbox.stats.fromPeers, 1, 'the copy B applied first came from A over the mesh');
    await eventually(async () => assert.equal(await stored(), 1, 'the server stored the update once'));
    await eventually(() => assert.equal(ca.messages.value[0]?.pending, false, 'A saw it stored'));
    await sb.settled();
    assert.deepEqual(texts(cb), ['over the mesh'], 'shown exactly once after the server’s copy');
    assert.equal(cb.inbox.stats.forged, 0, 'nothing counted as forged');
  });

  it('delivers over the mesh while the writer’s server connection is down, then stores it once', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    const shown = texts(cb).length;
    const held = await stored();
    // Refuse A's reconnects for a while, so the append waits in A's outbox.
    const authenticate = t.server.hub.options.maxSessionsPerIdentity;
    t.server.hub.options.maxSessionsPerIdentity = 0;
    for (const s of t.server.hub.sessions) if (s.user?.key === a.key) s.ws.terminate();
    await eventually(() => assert.notEqual(sa.connection.value.status, 'online', 'A is offline'));
    await ca.send('written while the server was away');
    await eventually(() =>
      assert.equal(texts(cb).at(-1), 'written while the server was away', 'B has it over the mesh'),
    );
    assert.equal(await stored(), held, 'the server does not have it yet');
    t.server.hub.options.maxSessionsPerIdentity = authenticate;
    sa.retryNow();
    await eventually(
      async () => assert.equal(await stored(), held + 1, 'stored once when A came back'),
      10_000,
    );
    await sb.settled();
    assert.equal(texts(cb).length, shown + 1, 'and B still shows it once');
  });

  it('refuses what a peer passes off as another member’s, posts without `send`, and floods', async () => {
    const ca = sa.open(channel);
    const cb = sb.open(channel);
    sc.open(channel);
    sr.open(channel);
    await eventually(() =>
      assert.equal(sb.meshes?.peers(channel).length, 3, 'B sees A, C and the reader in the mesh'),
    );
    await ca.send('by alice');
    await eventually(() => assert.equal(texts(cb).at(-1), 'by alice', 'B has it'));
    const alices = meshes.lastSent.get(a.key);
    assert.ok(alices, 'A sent an update over the mesh');
    // C sends A's sealed update on C's own link: the sender is not the peer, a forgery.
    const forged = cb.inbox.stats.forged;
    meshes.inject(channel, c.key, alices);
    await eventually(() => assert.equal(cb.inbox.stats.forged, forged + 1, 'counted as forged'));
    // The reader may read, but its role has no `send`: refused before the inbox.
    let refused = sb.meshes!.stats.refused;
    meshes.inject(channel, reader.key, new Uint8Array([1, 2, 3]));
    assert.equal(sb.meshes!.stats.refused, refused + 1, 'an update from a role without send is refused');
    // Not bytes, and too big.
    refused = sb.meshes!.stats.refused;
    meshes.inject(channel, c.key, 'not bytes');
    meshes.inject(channel, c.key, new Uint8Array(MAX_PEER_UPDATE_BYTES + 1));
    assert.equal(sb.meshes!.stats.refused, refused + 2, 'a string and an oversized frame are refused');
    // A flood: past the burst, C's frames are refused (they would come from the server, if it took them).
    refused = sb.meshes!.stats.refused;
    for (let i = 0; i < 200; i++) meshes.inject(channel, c.key, new Uint8Array([1, 2, 3]));
    const flood = sb.meshes!.stats.refused - refused;
    assert.ok(flood >= 150 && flood <= 200, `most of a 200-frame flood is refused, got ${flood}`);
    await sb.settled();
    assert.equal(texts(cb).at(-1), 'by alice', 'nothing of it shows');
  });

  it('leaves a closed conversation’s mesh after the linger, and comes back when it opens', async () => {
    const cb = sb.open(channel);
    cb.close();
    assert.ok(meshes.members(channel).includes(b.key), 'still in the mesh while it lingers');
    sb.meshes!.linger = 20;
    cb.open();
    cb.close();
    await eventually(() => assert.ok(!meshes.members(channel).includes(b.key), 'left after the linger'));
    cb.open();
    await eventually(() => assert.ok(meshes.members(channel).includes(b.key), 'back in when it opens'));
  });
});
