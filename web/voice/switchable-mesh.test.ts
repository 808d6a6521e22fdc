/**
 * SwitchableMesh with plain in-process meshes (it touches no WebRTC itself): the
 * engine behind it must see every peer of the old mesh leave when the call moves
 * off it (to the relay), so that it removes its senders and the peer's voice, and
 * the new mesh's peers join.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SwitchableMesh } from './switchable-mesh.ts';
import type { VoiceMesh, VoicePeer } from './voice-mesh.ts';

function meshOf(...ids: string[]): VoiceMesh & { leave(id: string): void } {
  const peers = ids.map((id) => ({ peerId: id, userId: `user-${id}` }) as VoicePeer);
  const leaves = new Set<(p: VoicePeer) => void>();
  return {
    peers: () => peers,
    onPeerJoin: () => () => undefined,
    onPeerLeave: (l) => {
      leaves.add(l);
      return () => leaves.delete(l);
    },
    onPeerTrack: () => () => undefined,
    addTrack: () => [],
    leave(id) {
      const at = peers.findIndex((p) => p.peerId === id);
      const [peer] = peers.splice(at, 1);
      for (const l of [...leaves]) l(peer!);
    },
  };
}

describe('SwitchableMesh', () => {
  it('moving off a mesh makes each of its peers leave; the next mesh’s peers join', () => {
    const front = new SwitchableMesh();
    const seen: string[] = [];
    front.onPeerJoin((p) => seen.push(`join ${p.peerId}`));
    front.onPeerLeave((p) => seen.push(`leave ${p.peerId}`));
    front.use(meshOf('a', 'b'));
    front.use(undefined); // to the relay
    assert.deepEqual(seen, ['join a', 'join b', 'leave a', 'leave b'], 'both peers left with the mesh');
    assert.deepEqual(front.peers(), [], 'no peers while on the relay');
    front.use(meshOf('a'));
    assert.deepEqual(seen.slice(4), ['join a'], 'back on a mesh, its peer joins again');
  });

  it('a forgotten peer leaves once: not again when the mesh notices, nor with the mesh', () => {
    const front = new SwitchableMesh();
    const left: string[] = [];
    front.onPeerLeave((p) => left.push(p.peerId));
    const mesh = meshOf('a', 'b');
    front.use(mesh);
    front.forget(mesh.peers()[0]!);
    mesh.leave('a');
    front.use(undefined);
    assert.deepEqual(left, ['a', 'b'], 'a left when forgotten, b with the mesh, each once');
  });
});
