/**
 * The peer mesh of one tincan room (a channel, a DM, or the server lobby): trystero
 * over our own signal connection (mesh-signaling.ts), with every peer proving its
 * identity inside trystero's handshake (mesh-handshake.ts) before it is admitted.
 *
 * A peer that fails the proof never becomes active in trystero, so it gets no data
 * and no media either way; it is reported through `onRejected` and, when the failure
 * is cryptographic, its connection is closed and its signaling ignored for a while.
 *
 * One trystero strategy per `ServerConnection`: rooms of the same server share one
 * RTCPeerConnection per remote peer (each room still runs its own proof, since
 * membership is per room); meshes of different servers never share anything.
 */
import {
  createTopicStrategy,
  type DataPayload,
  type JoinRoom,
  type JsonValue,
  type MessageAction,
  type PeerHandshake,
  type Room,
  selfId,
} from '@trystero-p2p/core';
import { equalBytes } from '../../crypto/bytes.ts';
import type { Signer } from '../../crypto/sign.ts';
import type { ServerConnection } from './connection.ts';
import { settledLinkFingerprints } from './dtls-fingerprint.ts';
import { checkIdentity, type LinkView, type MeshRejectCode, proveIdentity } from './mesh-handshake.ts';
import { type MeshSignaling, meshSignaling, toTrysteroRoom } from './mesh-signaling.ts';
import { type IceSettings, PeerConnectionTracker } from './peer-connection-tracker.ts';

export type { MeshRejectCode } from './mesh-handshake.ts';

/** trystero's app id; the room id is the tincan room (see mesh-signaling.ts). */
const APP_ID = 'tincan';
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a link whose data channel opened may take to show both its descriptions. */
const DESCRIPTION_WAIT_MS = 2_000;
/** How long a refused peer's signaling is ignored, by reason (absent: not at all). */
const BLOCK_MS: Partial<Record<MeshRejectCode, number>> = {
  BAD_MESSAGE: 60_000,
  BAD_SIGNATURE: 60_000,
  FINGERPRINT_MISMATCH: 60_000,
  NOT_MEMBER: 15_000,
};
/** Failures that say the link itself is bad (not just this room's membership): close it. */
const CLOSES_LINK: ReadonlySet<MeshRejectCode> = new Set([
  'BAD_MESSAGE',
  'BAD_SIGNATURE',
  'FINGERPRINT_MISMATCH',
]);

export interface MeshIdentity {
  signer: Signer;
  /** Must be `signer.publicKey`; the user id peers will see. */
  publicKey: Uint8Array;
}

export interface MeshOptions {
  /** The already-authenticated connection to the server; signaling rides on it. */
  connection: ServerConnection;
  /** '' (server lobby), a channel id, or `dm:<a>:<b>`. */
  room: string;
  identity: MeshIdentity;
  /** From `turn.credentials` (or [] for host candidates only). No public STUN is ever added. */
  iceServers: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Whether `userId` may be in this room (e.g. from the presence list). Default: anyone who proves a key. */
  isMember?: (userId: string) => boolean | Promise<boolean>;
  /** Called for every peer refused; also available as `mesh.onRejected`. */
  onRejected?: (peerId: string, code: MeshRejectCode, detail: string) => void;
  /** Bound on the whole proof exchange with one peer. */
  handshakeTimeoutMs?: number;
}

/** A peer that proved its identity over the link we negotiated with it. */
export interface MeshPeer {
  /** trystero's peer id (one per page; the same user may have several tabs). */
  readonly peerId: string;
  /** The verified tincan user id (base64url public key). */
  readonly userId: string;
  readonly connection: RTCPeerConnection;
  /** `performance.now()` when the peer was admitted. */
  readonly admittedAt: number;
}

type Unsubscribe = () => void;

export interface Mesh {
  readonly room: string;
  /** Our trystero peer id. */
  readonly selfPeerId: string;
  /** Verified peers, in the order they were admitted. */
  peers(): MeshPeer[];
  peer(peerId: string): MeshPeer | undefined;
  /** Each verified peer's RTCPeerConnection, for `getStats()`. */
  getPeers(): Record<string, RTCPeerConnection>;
  onPeerJoin(listener: (peer: MeshPeer) => void): Unsubscribe;
  onPeerLeave(listener: (peer: MeshPeer) => void): Unsubscribe;
  onRejected(listener: (peerId: string, code: MeshRejectCode, detail: string) => void): Unsubscribe;
  onPeerStream(listener: (stream: MediaStream, peer: MeshPeer, metadata?: JsonValue) => void): Unsubscribe;
  onPeerTrack(
    listener: (track: MediaStreamTrack, stream: MediaStream, peer: MeshPeer, metadata?: JsonValue) => void,
  ): Unsubscribe;
  /** trystero's message action (only verified peers can send or receive on it). */
  makeAction<T extends DataPayload = DataPayload>(namespace: string): MessageAction<T>;
  addStream: Room['addStream'];
  removeStream: Room['removeStream'];
  addTrack: Room['addTrack'];
  removeTrack: Room['removeTrack'];
  replaceTrack: Room['replaceTrack'];
  /** New ICE settings (fresh TURN credentials) for connections made from now on, in all rooms of this server. */
  setIce(ice: IceSettings): void;
  /** Leaves the room: peers see us go at once (trystero sends a leave message). */
  leave(): Promise<void>;
}

/** Everything the meshes of one server connection share. */
interface ConnectionMesh {
  readonly joinRoom: JoinRoom;
  readonly tracker: PeerConnectionTracker;
  readonly signaling: MeshSignaling;
  /** Joined rooms → whether the room holds a peer (admitted or being checked). */
  readonly rooms: Map<string, (peerId: string) => boolean>;
}

const perConnection = new WeakMap<ServerConnection, ConnectionMesh>();

function connectionMesh(connection: ServerConnection, ice: IceSettings): ConnectionMesh {
  let shared = perConnection.get(connection);
  if (shared) {
    shared.tracker.setIce(ice);
    return shared;
  }
  const signaling = meshSignaling(connection);
  shared = {
    joinRoom: createTopicStrategy(signaling.adapter),
    tracker: new PeerConnectionTracker(ice),
    signaling,
    rooms: new Map(),
  };
  perConnection.set(connection, shared);
  return shared;
}

class Listeners<F extends (...args: never[]) => void> {
  private readonly set = new Set<F>();
  add(listener: F): Unsubscribe {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }
  emit(...args: Parameters<F>): void {
    for (const listener of [...this.set]) {
      try {
        listener(...args);
      } catch (error) {
        console.error('tincan mesh: a listener failed', error);
      }
    }
  }
}

/** Thrown inside trystero's handshake to refuse a peer; trystero then drops it. */
class Refusal extends Error {
  constructor(
    readonly code: MeshRejectCode,
    readonly detail: string,
  ) {
    super(`tincan mesh refused the peer: ${code}: ${detail}`);
  }
}

/** The caller's membership test; one that throws counts as a no (fail closed). */
async function isMember(
  test: (userId: string) => boolean | Promise<boolean>,
  userId: string,
): Promise<boolean> {
  try {
    return (await test(userId)) === true;
  } catch (error) {
    console.warn('tincan mesh: isMember failed; refusing the peer', error);
    return false;
  }
}

/** Joins the mesh of `options.room`; peers appear through `onPeerJoin` once verified. */
export function joinMesh(options: MeshOptions): Mesh {
  const { connection, room, identity } = options;
  if (typeof room !== 'string') throw new TypeError('joinMesh: room must be a string');
  if (!equalBytes(identity.publicKey, identity.signer.publicKey))
    throw new TypeError('joinMesh: identity.publicKey must be the signer’s public key');
  const ice: IceSettings = { iceServers: options.iceServers };
  if (options.iceTransportPolicy) ice.iceTransportPolicy = options.iceTransportPolicy;
  const shared = connectionMesh(connection, ice);
  if (shared.rooms.has(room))
    throw new Error(`joinMesh: already in the mesh of room ${JSON.stringify(room)}`);

  const verified = new Map<string, MeshPeer>();
  /** Peers whose proof passed, waiting for trystero to activate them on that connection. */
  const pending = new Map<string, { userId: string; connection: RTCPeerConnection }>();
  const joins = new Listeners<(peer: MeshPeer) => void>();
  const leaves = new Listeners<(peer: MeshPeer) => void>();
  const rejections = new Listeners<(peerId: string, code: MeshRejectCode, detail: string) => void>();
  const streams = new Listeners<(stream: MediaStream, peer: MeshPeer, metadata?: JsonValue) => void>();
  const tracks = new Listeners<
    (track: MediaStreamTrack, stream: MediaStream, peer: MeshPeer, metadata?: JsonValue) => void
  >();
  if (options.onRejected) rejections.add(options.onRejected);

  const refuse = (peerId: string, code: MeshRejectCode, detail: string, link?: RTCPeerConnection): void => {
    const blockMs = BLOCK_MS[code];
    if (blockMs !== undefined) shared.signaling.block(room, peerId, blockMs);
    // After trystero has dropped the peer (it does so right after the handshake throws).
    if (link && CLOSES_LINK.has(code)) setTimeout(() => void shared.tracker.close(link), 0);
    rejections.emit(peerId, code, detail);
  };

  const dropVerified = (peerId: string): void => {
    pending.delete(peerId);
    const peer = verified.get(peerId);
    if (!peer) return;
    verified.delete(peerId);
    leaves.emit(peer);
  };

  const onPeerHandshake: PeerHandshake = async (peerId, send, receive) => {
    // Runs again when trystero replaces a peer's connection: the old admission ends here.
    dropVerified(peerId);
    const link = shared.tracker.linkFor(peerId);
    try {
      const fingerprints = link && (await settledLinkFingerprints(link, DESCRIPTION_WAIT_MS));
      if (!link || !fingerprints)
        throw new Refusal('NO_LINK', 'no negotiated connection to bind the proof to');
      const view: LinkView = {
        room,
        localFingerprint: fingerprints.local,
        remoteFingerprint: fingerprints.remote,
        localPeerId: selfId,
        remotePeerId: peerId,
      };
      await send(await proveIdentity(identity.signer, view));
      const { data } = await receive();
      const checked = checkIdentity(data, view);
      if (!checked.ok) throw new Refusal(checked.code, checked.detail);
      if (options.isMember && !(await isMember(options.isMember, checked.userId)))
        throw new Refusal('NOT_MEMBER', `${checked.userId} is not a member of this room`);
      pending.set(peerId, { userId: checked.userId, connection: link });
    } catch (error) {
      if (error instanceof Refusal) refuse(peerId, error.code, error.detail, link);
      throw error;
    }
  };

  const trysteroRoom = shared.joinRoom(
    {
      appId: APP_ID,
      rtcPolyfill: shared.tracker.PeerConnection,
      rtcConfig: shared.tracker.rtcConfiguration(),
      relayConfig: { manualReconnection: true },
    },
    toTrysteroRoom(room),
    {
      onPeerHandshake,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      onJoinError: ({ peerId, error }) => {
        // Our own refusals were reported where they were thrown; a silent peer was not.
        if (/handshake timed out/.test(error)) refuse(peerId, 'HANDSHAKE_TIMEOUT', error);
      },
    },
  );
  shared.rooms.set(room, (peerId) => verified.has(peerId) || pending.has(peerId));

  trysteroRoom.onPeerJoin = (peerId) => {
    const proved = pending.get(peerId);
    pending.delete(peerId);
    const active = trysteroRoom.getPeers()[peerId];
    if (!proved || active !== proved.connection) {
      // Cannot happen with trystero 0.25; if it ever does, do not trust the admission.
      const detail = 'trystero admitted a connection other than the one that was proved';
      refuse(peerId, 'NO_LINK', detail);
      if (active) void shared.tracker.close(active);
      return;
    }
    const peer: MeshPeer = {
      peerId,
      userId: proved.userId,
      connection: active,
      admittedAt: performance.now(),
    };
    verified.set(peerId, peer);
    joins.emit(peer);
  };
  trysteroRoom.onPeerLeave = dropVerified;
  trysteroRoom.onPeerStream = (stream, peerId, metadata) => {
    const peer = verified.get(peerId);
    if (peer) streams.emit(stream, peer, metadata);
  };
  trysteroRoom.onPeerTrack = (track, stream, peerId, metadata) => {
    const peer = verified.get(peerId);
    if (peer) tracks.emit(track, stream, peer, metadata);
  };

  let left: Promise<void> | undefined;
  return {
    room,
    selfPeerId: selfId,
    peers: () => [...verified.values()],
    peer: (peerId) => verified.get(peerId),
    getPeers: () => Object.fromEntries([...verified].map(([id, p]) => [id, p.connection])),
    onPeerJoin: (listener) => joins.add(listener),
    onPeerLeave: (listener) => leaves.add(listener),
    onRejected: (listener) => rejections.add(listener),
    onPeerStream: (listener) => streams.add(listener),
    onPeerTrack: (listener) => tracks.add(listener),
    makeAction: <T extends DataPayload = DataPayload>(namespace: string): MessageAction<T> => {
      if (namespace.startsWith('@_'))
        throw new TypeError('makeAction: names starting with @_ are trystero’s');
      return trysteroRoom.makeAction<T>(namespace);
    },
    addStream: (stream, o) => trysteroRoom.addStream(stream, o),
    removeStream: (stream, o) => trysteroRoom.removeStream(stream, o),
    addTrack: (track, stream, o) => trysteroRoom.addTrack(track, stream, o),
    removeTrack: (track, o) => trysteroRoom.removeTrack(track, o),
    replaceTrack: (oldTrack, newTrack, o) => trysteroRoom.replaceTrack(oldTrack, newTrack, o),
    setIce: (next) => shared.tracker.setIce(next),
    leave: () => {
      left ??= (async () => {
        const links = [...verified.values()];
        await trysteroRoom.leave();
        verified.clear();
        pending.clear();
        shared.rooms.delete(room);
        // trystero keeps a shared connection for two minutes after its last room; a
        // link no other room of this server uses is closed now.
        const rooms = [...shared.rooms.values()];
        const unused = links.filter(({ peerId }) => !rooms.some((holds) => holds(peerId)));
        await Promise.all(unused.map(({ connection: pc }) => shared.tracker.close(pc)));
      })();
      return left;
    },
  };
}
