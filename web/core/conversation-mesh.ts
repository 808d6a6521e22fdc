/**
 * The fast path of a conversation: while it is open, its sealed updates also go
 * straight to the other readers who have it open, over the peer mesh of its room
 * (web/net/mesh.ts: trystero over our signal connection, every peer proven by a
 * signature over its DTLS fingerprint). The server's log stays the source of truth:
 * every update is appended there too, and its copy then arrives as a replay the
 * inbox drops by message id. So anything this path refuses or loses (a flood, an
 * oversized frame, a sender the server has muted) still arrives the slow way, if
 * the server takes it.
 *
 * One mesh room per open conversation. A closed conversation's mesh lingers for a
 * while (switching back and forth between channels does not rebuild links), then
 * is left. ICE servers come from `turn.credentials` (ice-credentials.ts).
 */

import { TokenBucket } from '../../protocol/rate-limit.ts';
import type { Mesh, MeshOptions } from '../net/mesh.ts';

/** The mesh action that carries sealed updates (bytes of crypto/message.ts). */
export const UPDATE_ACTION = 'update';
/** Largest sealed update taken from a peer (a sealed update fits a 64 KiB frame). */
export const MAX_PEER_UPDATE_BYTES = 96 * 1024;
/** How long a closed conversation keeps its mesh. */
export const LINGER_MS = 30_000;
/** Per peer: a burst of this many updates, then this many per second (more wait for the server's copy). */
const PEER_BURST = 40;
const PEER_RATE_PER_S = 10;

/** What this path uses of a mesh (web/net/mesh.ts's `Mesh` has it all). */
export type PeerMesh = Pick<Mesh, 'peers' | 'peer' | 'makeAction' | 'leave'>;
export type JoinMesh = (options: MeshOptions) => PeerMesh;

export interface ConversationMeshContext {
  join: JoinMesh;
  connection: MeshOptions['connection'];
  identity: MeshOptions['identity'];
  /** The server's ICE servers (ice-credentials.ts). */
  iceServers(): Promise<RTCIceServer[]>;
  /** 'relay' when the user hides their IP. */
  iceTransportPolicy(): RTCIceTransportPolicy;
  /** Whether `userId` may read the conversation now (links are checked at admission and at every send). */
  mayRead(conversation: string, userId: string): boolean;
  /** Whether an update from `userId` may be shown before the server has it (their roles let them post). */
  maySend(userId: string): boolean;
  /** A sealed update from a verified peer, for the conversation's inbox. */
  deliver(conversation: string, sealed: Uint8Array, userId: string): void;
  log?(message: string): void;
}

export interface MeshStats {
  sent: number;
  received: number;
  /** Refused before the inbox: too big, not bytes, from a non-reader or a sender who may not post, or over the rate. */
  refused: number;
}

interface Joined {
  mesh: PeerMesh;
  send(data: Uint8Array, target: string[]): Promise<void>;
  lingering?: ReturnType<typeof setTimeout>;
}

/** Bytes of a trystero payload, or undefined when it is not bytes. */
function bytesOf(payload: unknown): Uint8Array | undefined {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload))
    return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  return undefined;
}

export class ConversationMeshes {
  readonly stats: MeshStats = { sent: 0, received: 0, refused: 0 };
  /** How long a closed conversation keeps its mesh (tests shorten it). */
  linger = LINGER_MS;
  private readonly rooms = new Map<string, Joined | Promise<Joined | undefined>>();
  private readonly buckets = new Map<string, TokenBucket>();
  private closed = false;

  constructor(private readonly ctx: ConversationMeshContext) {}

  /** Joins (or keeps) the mesh of an open conversation. */
  open(conversation: string): void {
    if (this.closed) return;
    const held = this.rooms.get(conversation);
    if (held && !(held instanceof Promise)) {
      clearTimeout(held.lingering);
      held.lingering = undefined;
      return;
    }
    if (held) return;
    const joining = this.joinRoom(conversation).then(
      (joined) => {
        if (this.rooms.get(conversation) !== joining) return undefined;
        if (joined) this.rooms.set(conversation, joined);
        else this.rooms.delete(conversation);
        return joined;
      },
      (error: Error) => {
        this.ctx.log?.(`mesh of ${conversation}: ${error.message}`);
        if (this.rooms.get(conversation) === joining) this.rooms.delete(conversation);
        return undefined;
      },
    );
    this.rooms.set(conversation, joining);
  }

  /** The conversation was closed: its mesh is left after LINGER_MS unless it opens again. */
  close(conversation: string): void {
    const held = this.rooms.get(conversation);
    if (!held || held instanceof Promise) return;
    clearTimeout(held.lingering);
    held.lingering = setTimeout(() => void this.leave(conversation), this.linger);
  }

  /** Sends a sealed update to the peers of the conversation's mesh who may read it (none: nothing to do). */
  send(conversation: string, sealed: Uint8Array): void {
    const held = this.rooms.get(conversation);
    if (!held || held instanceof Promise) return;
    const target = held.mesh
      .peers()
      .filter((p) => this.ctx.mayRead(conversation, p.userId))
      .map((p) => p.peerId);
    if (target.length === 0) return;
    this.stats.sent += target.length;
    held.send(sealed, target).catch((error: Error) => this.ctx.log?.(`mesh send: ${error.message}`));
  }

  /** The verified peers in a conversation's mesh (tests and the member list). */
  peers(conversation: string): string[] {
    const held = this.rooms.get(conversation);
    return held && !(held instanceof Promise) ? held.mesh.peers().map((p) => p.userId) : [];
  }

  /** The joined mesh of a conversation, if any (benchmarks put a bare data-channel baseline on it). */
  mesh(conversation: string): PeerMesh | undefined {
    const held = this.rooms.get(conversation);
    return held && !(held instanceof Promise) ? held.mesh : undefined;
  }

  /** Leaves every mesh (the server is closed or left). */
  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.rooms.keys()].map((c) => this.leave(c)));
  }

  private async leave(conversation: string): Promise<void> {
    const held = this.rooms.get(conversation);
    this.rooms.delete(conversation);
    const joined = held instanceof Promise ? await held : held;
    if (!joined) return;
    clearTimeout(joined.lingering);
    await joined.mesh.leave().catch(() => undefined);
  }

  private async joinRoom(conversation: string): Promise<Joined | undefined> {
    const ice = await this.ctx.iceServers();
    if (this.closed) return undefined;
    const mesh = this.ctx.join({
      connection: this.ctx.connection,
      room: conversation,
      identity: this.ctx.identity,
      iceServers: ice,
      iceTransportPolicy: this.ctx.iceTransportPolicy(),
      isMember: (userId) => this.ctx.mayRead(conversation, userId),
    });
    const action = mesh.makeAction<Uint8Array>(UPDATE_ACTION);
    action.onMessage = (payload, { peerId }) => this.receive(conversation, mesh, peerId, payload);
    return { mesh, send: (data, target) => action.send(data, { target }) };
  }

  private receive(conversation: string, mesh: PeerMesh, peerId: string, payload: unknown): void {
    const peer = mesh.peer(peerId);
    const sealed = bytesOf(payload);
    if (
      !peer ||
      !sealed ||
      sealed.length > MAX_PEER_UPDATE_BYTES ||
      !this.ctx.mayRead(conversation, peer.userId) ||
      !this.ctx.maySend(peer.userId) ||
      !this.bucketOf(peer.userId).take(Date.now())
    ) {
      this.stats.refused++;
      return;
    }
    this.stats.received++;
    this.ctx.deliver(conversation, sealed, peer.userId);
  }

  private bucketOf(userId: string): TokenBucket {
    let bucket = this.buckets.get(userId);
    if (!bucket)
      this.buckets.set(userId, (bucket = new TokenBucket(PEER_RATE_PER_S, PEER_BURST, Date.now())));
    return bucket;
  }
}
