/**
 * One VoiceMesh for a whole call, in front of whichever peer mesh the call uses now:
 * none while its voice goes through the relay, a channel mesh otherwise. A call
 * that moves between routes swaps the mesh here (`use`), and the voice engine sees
 * the old peers leave and the new ones join, as if they had come and gone, without
 * leaving the call (the microphone, the output and the relay route stay).
 */
import type { JsonValue, VoiceMediaOptions, VoiceMesh, VoicePeer } from './voice-mesh.ts';

type TrackListener = (
  track: MediaStreamTrack,
  stream: MediaStream,
  peer: VoicePeer,
  metadata?: JsonValue,
) => void;

export class SwitchableMesh implements VoiceMesh {
  private current: VoiceMesh | undefined;
  private off: (() => void)[] = [];
  private readonly joins = new Set<(peer: VoicePeer) => void>();
  private readonly leaves = new Set<(peer: VoicePeer) => void>();
  private readonly tracks = new Set<TrackListener>();
  /** Peers dropped before the mesh noticed they are gone (`forget`). */
  private readonly forgotten = new Set<string>();

  /** The mesh behind, if any. */
  get mesh(): VoiceMesh | undefined {
    return this.current;
  }

  /** Puts `mesh` (or none) behind: the old one's peers leave, the new one's join. */
  use(mesh: VoiceMesh | undefined): void {
    if (mesh === this.current) return;
    const leaving = this.peers(); // the old mesh's, before it is swapped out
    for (const off of this.off) off();
    this.off = [];
    this.current = mesh;
    for (const peer of leaving) for (const l of [...this.leaves]) l(peer);
    this.forgotten.clear();
    if (!mesh) return;
    this.off.push(
      mesh.onPeerJoin((peer) => {
        this.forgotten.delete(peer.peerId);
        for (const l of [...this.joins]) l(peer);
      }),
      mesh.onPeerLeave((peer) => {
        if (this.forgotten.delete(peer.peerId)) return; // already gone for the call
        for (const l of [...this.leaves]) l(peer);
      }),
      mesh.onPeerTrack((track, stream, peer, metadata) => {
        if (this.forgotten.has(peer.peerId)) return;
        for (const l of [...this.tracks]) l(track, stream, peer, metadata);
      }),
    );
    for (const peer of mesh.peers()) for (const l of [...this.joins]) l(peer);
  }

  /**
   * Drops a peer the call knows is gone (presence says so and its link is dead)
   * before the mesh gives up on the link: it leaves the call now, and the mesh's own
   * leave later is not repeated.
   */
  forget(peer: VoicePeer): void {
    if (this.forgotten.has(peer.peerId) || !this.current?.peers().some((p) => p.peerId === peer.peerId))
      return;
    this.forgotten.add(peer.peerId);
    for (const l of [...this.leaves]) l(peer);
  }

  peers(): readonly VoicePeer[] {
    const peers = this.current?.peers() ?? [];
    return this.forgotten.size === 0 ? peers : peers.filter((p) => !this.forgotten.has(p.peerId));
  }

  onPeerJoin(listener: (peer: VoicePeer) => void): () => void {
    this.joins.add(listener);
    return () => this.joins.delete(listener);
  }

  onPeerLeave(listener: (peer: VoicePeer) => void): () => void {
    this.leaves.add(listener);
    return () => this.leaves.delete(listener);
  }

  onPeerTrack(listener: TrackListener): () => void {
    this.tracks.add(listener);
    return () => this.tracks.delete(listener);
  }

  addTrack(track: MediaStreamTrack, stream: MediaStream, options?: VoiceMediaOptions): Promise<void>[] {
    return this.current?.addTrack(track, stream, options) ?? [];
  }
}
