/**
 * The video the peers share (screens, cameras) as a list of tiles the UI renders:
 * a tile appears when a labelled video track arrives and goes when the track is
 * removed from its stream (the sender stopped sharing), ends, or the peer leaves.
 */
import { Value } from '../core/observable.ts';
import type { VoicePeer } from './voice-mesh.ts';

export type VideoKind = 'screen' | 'camera';

export interface VideoTile {
  readonly peerId: string;
  readonly userId: string;
  readonly kind: VideoKind;
  /** A stream holding only this tile's track: set it as a <video>'s srcObject. */
  readonly stream: MediaStream;
  readonly track: MediaStreamTrack;
}

export class RemoteVideo {
  readonly tiles = new Value<readonly VideoTile[]>([]);
  private readonly watchers = new Map<MediaStreamTrack, AbortController>();

  add(peer: VoicePeer, track: MediaStreamTrack, stream: MediaStream, kind: VideoKind): void {
    if (track.kind !== 'video' || track.readyState === 'ended' || this.watchers.has(track)) return;
    const watcher = new AbortController();
    this.watchers.set(track, watcher);
    const gone = () => this.remove(track);
    track.addEventListener('ended', gone, { signal: watcher.signal });
    stream.addEventListener(
      'removetrack',
      (event) => {
        if (event.track === track) gone();
      },
      { signal: watcher.signal },
    );
    const tile: VideoTile = {
      peerId: peer.peerId,
      userId: peer.userId,
      kind,
      stream: new MediaStream([track]),
      track,
    };
    this.tiles.set([...this.tiles.value, tile]);
  }

  removePeer(peerId: string): void {
    for (const tile of this.tiles.value) if (tile.peerId === peerId) this.remove(tile.track);
  }

  clear(): void {
    for (const watcher of this.watchers.values()) watcher.abort();
    this.watchers.clear();
    this.tiles.set([]);
  }

  private remove(track: MediaStreamTrack): void {
    this.watchers.get(track)?.abort();
    this.watchers.delete(track);
    const left = this.tiles.value.filter((tile) => tile.track !== track);
    if (left.length !== this.tiles.value.length) this.tiles.set(left);
  }
}
