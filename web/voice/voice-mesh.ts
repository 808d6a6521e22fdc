/**
 * What the voice engine needs from a peer mesh: a structural subset of
 * `Mesh` (web/net/mesh.ts), so a real mesh is passed as it is, and tests can pass
 * an in-page mesh of RTCPeerConnection pairs (testing.ts).
 *
 * The engine adds tracks through the mesh (so the mesh can label them for the far
 * side) and from then on works on the RTCRtpSender itself: gating replaces the
 * sender's track with null, and removal is `connection.removeTrack(sender)`.
 * trystero's own `replaceTrack` is not used: it sends a label for the new track
 * that the far side never pairs with a track event, and that stale label would be
 * given to the next track that arrives.
 */
import type { JsonValue } from '@trystero-p2p/core';

export type { JsonValue } from '@trystero-p2p/core';

/** A verified peer of the mesh (`MeshPeer` fits). */
export interface VoicePeer {
  /** The mesh's id for the peer's page (one user may have several). */
  readonly peerId: string;
  /** The verified tincan user id. */
  readonly userId: string;
  /** The one RTCPeerConnection to this peer (shared with other rooms of the server). */
  readonly connection: RTCPeerConnection;
}

export interface VoiceMediaOptions {
  /** One peer id, several, or null/absent for every peer. */
  target?: string | string[] | null;
  /** Delivered with the track to the far side's `onPeerTrack`. */
  metadata?: JsonValue;
}

export interface VoiceMesh {
  /** Verified peers now. */
  peers(): readonly VoicePeer[];
  onPeerJoin(listener: (peer: VoicePeer) => void): () => void;
  onPeerLeave(listener: (peer: VoicePeer) => void): () => void;
  onPeerTrack(
    listener: (track: MediaStreamTrack, stream: MediaStream, peer: VoicePeer, metadata?: JsonValue) => void,
  ): () => void;
  /** Adds `track` (in `stream`) to the targets' connections; one promise per target. */
  addTrack(track: MediaStreamTrack, stream: MediaStream, options?: VoiceMediaOptions): Promise<void>[];
}

/** What a track carries, as labelled in its metadata. */
export type MediaKind = 'voice' | 'screen' | 'camera';

const KINDS: readonly MediaKind[] = ['voice', 'screen', 'camera'];
const isKind = (value: unknown): value is MediaKind => KINDS.some((kind) => kind === value);

/** The metadata the engine sends with each track. */
export function mediaLabel(kind: MediaKind): { tincan: MediaKind } {
  return { tincan: kind };
}

/** Reads a track's label; anything else (another feature's track, junk) is undefined. */
export function mediaKindOf(metadata: unknown): MediaKind | undefined {
  if (typeof metadata !== 'object' || metadata === null || !('tincan' in metadata)) return undefined;
  return isKind(metadata.tincan) ? metadata.tincan : undefined;
}
