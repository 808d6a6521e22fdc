/**
 * Who is in my call, among the peers of a voice channel's mesh room. The room is
 * shared with the channel's text chat (shared-mesh.ts), so a member who leaves the
 * call may stay in the room: the room's own joins and leaves do not say who is in
 * the call, and a member who came back would find the others' tracks to them long
 * added (no track event) and the others never adding theirs again.
 *
 * So each call greets the room on the `voice-call` action: `{call, in: true, seen}`,
 * where `call` is this call's random id and `seen` the id I know of the peer's call.
 * A greeting whose `seen` is not my current id is answered with mine, which settles
 * both sides in one exchange, whoever greeted first, and after either side lost and
 * regained the link. A call that ends says `{call, in: false}`. The voice engine sees
 * a peer join once I have its greeting, and leave on its goodbye, on a greeting under
 * a new id (a rejoin: it leaves and joins again, so senders are added anew), or when
 * the room loses it.
 *
 * A peer's track may also outlive a call of mine: its sender kept sending into the
 * same transceiver (it never saw me leave), so no new track event comes when I am
 * back. Each roster therefore records the labelled tracks it sees per connection,
 * and when a peer joins the call, replays those still being received
 * (`currentDirection` receiving, track live) to the engine.
 */
import type { JsonValue, MessageAction } from '@trystero-p2p/core';
import type { Mesh, MeshPeer } from '../net/mesh.ts';
import type { VoiceMediaOptions } from '../voice/voice-mesh.ts';
import type { CallMesh } from './voice-call.ts';

export const CALL_ACTION = 'voice-call';
const MAX_ID_LENGTH = 64;
/** How long a goodbye may take before the room is let go anyway. */
const GOODBYE_MS = 500;

export type Greeting = {
  call: string;
  in: boolean;
  seen?: string;
};

/** What the roster needs of the room (web/net/mesh.ts's `Mesh` has it). */
export type RoomMesh = Pick<
  Mesh,
  'peers' | 'onPeerJoin' | 'onPeerLeave' | 'onPeerTrack' | 'addTrack' | 'makeAction' | 'leave'
>;

type TrackListener = Parameters<Mesh['onPeerTrack']>[0];
type Seen = { track: MediaStreamTrack; stream: MediaStream; metadata: JsonValue | undefined };

/** Tracks each connection delivered, by track id, across the rosters of its room. */
const seenTracks = new WeakMap<RTCPeerConnection, Map<string, Seen>>();

/** The tracks `connection` delivered that are still coming in now. */
function receiving(connection: RTCPeerConnection): Seen[] {
  const seen = seenTracks.get(connection);
  if (!seen) return [];
  const live: Seen[] = [];
  for (const [id, s] of seen) {
    if (s.track.readyState === 'ended') {
      seen.delete(id);
      continue;
    }
    const transceiver = connection.getTransceivers?.().find((t) => t.receiver.track === s.track);
    const direction = transceiver?.currentDirection;
    if (direction === 'recvonly' || direction === 'sendrecv') live.push(s);
  }
  return live;
}

function isGreeting(data: unknown): data is Greeting {
  if (typeof data !== 'object' || data === null) return false;
  const g = data as Record<string, unknown>;
  const id = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
  return id(g.call) && typeof g.in === 'boolean' && (g.seen === undefined || id(g.seen));
}

/** A fresh random id (24 hex digits) for a call. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The call's view of `room`: its peers are the room's peers who are in the call too. */
export function callRoster(
  room: RoomMesh,
  options: { callId?: string; log?: (line: string) => void } = {},
): CallMesh {
  const me = options.callId ?? randomId();
  const action: MessageAction<Greeting> = room.makeAction<Greeting>(CALL_ACTION);
  /** Peer id → the id of its call, for the room's peers whose greeting I have. */
  const inCall = new Map<string, { peer: MeshPeer; call: string }>();
  const joins = new Set<(peer: MeshPeer) => void>();
  const leaves = new Set<(peer: MeshPeer) => void>();
  const tracks = new Set<TrackListener>();
  let ended = false;

  const emit = <A extends unknown[]>(set: Set<(...args: A) => void>, ...args: A): void => {
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (error) {
        console.error('tincan call roster: a listener failed', error);
      }
    }
  };
  const send = (greeting: Greeting, peerId: string): void => {
    action.send(greeting, { target: peerId }).catch(() => undefined); // a peer gone meanwhile
  };
  const greet = (peerId: string): void => {
    const seen = inCall.get(peerId)?.call;
    send(seen === undefined ? { call: me, in: true } : { call: me, in: true, seen }, peerId);
  };
  const drop = (peerId: string): void => {
    const known = inCall.get(peerId);
    if (!known) return;
    inCall.delete(peerId);
    emit(leaves, known.peer);
  };

  const onMessage: NonNullable<MessageAction<Greeting>['onMessage']> = (data, { peerId }) => {
    if (ended) return;
    if (!isGreeting(data)) {
      options.log?.(`voice: a malformed call greeting from ${peerId} was ignored`);
      return;
    }
    const peer = room.peers().find((p) => p.peerId === peerId);
    if (!peer) return; // not (or no longer) a verified peer of the room
    if (!data.in) {
      if (inCall.get(peerId)?.call === data.call) drop(peerId);
      return;
    }
    const known = inCall.get(peerId);
    if (known?.call !== data.call) {
      if (known) drop(peerId); // a new call from that page: it rejoined
      inCall.set(peerId, { peer, call: data.call });
      if (data.seen !== me) greet(peerId); // before the join, so my answer precedes my tracks
      emit(joins, peer);
      for (const s of receiving(peer.connection)) emit(tracks, s.track, s.stream, peer, s.metadata);
    } else if (data.seen !== me) greet(peerId);
  };
  action.onMessage = onMessage;

  const off = [
    room.onPeerJoin((peer) => {
      drop(peer.peerId); // a link made anew: its call is greeted again
      greet(peer.peerId);
    }),
    room.onPeerLeave((peer) => drop(peer.peerId)),
    room.onPeerTrack((track, stream, peer, metadata) => {
      // A peer's tracks to me follow its answer to my greeting, so a peer sending
      // is in my call; tracks from the room's other features pass through unlabelled.
      if (peer.connection) {
        let seen = seenTracks.get(peer.connection);
        if (!seen) seenTracks.set(peer.connection, (seen = new Map()));
        seen.set(track.id, { track, stream, metadata });
      }
      emit(tracks, track, stream, peer, metadata);
    }),
  ];
  for (const peer of room.peers()) greet(peer.peerId);

  const peers = (): MeshPeer[] => {
    const present = new Set(room.peers().map((p) => p.peerId));
    return [...inCall.values()].filter(({ peer }) => present.has(peer.peerId)).map(({ peer }) => peer);
  };

  return {
    peers,
    onPeerJoin: (listener) => {
      joins.add(listener);
      return () => joins.delete(listener);
    },
    onPeerLeave: (listener) => {
      leaves.add(listener);
      return () => leaves.delete(listener);
    },
    onPeerTrack: (listener) => {
      tracks.add(listener);
      return () => tracks.delete(listener);
    },
    addTrack: (track, stream, o?: VoiceMediaOptions) => {
      // Never to the room at large: only to peers in the call.
      const target = o?.target ?? peers().map((p) => p.peerId);
      return target.length === 0 ? [] : room.addTrack(track, stream, { ...o, target });
    },
    leave: async () => {
      if (ended) return;
      ended = true;
      for (const unsubscribe of off) unsubscribe();
      // Nothing queues for a call no longer here (unless the next call took the action).
      if (action.onMessage === onMessage) action.onMessage = () => undefined;
      const goodbye: Greeting = { call: me, in: false };
      const sent = room.peers().map((p) => action.send(goodbye, { target: p.peerId }).catch(() => undefined));
      await Promise.race([Promise.all(sent), new Promise((r) => setTimeout(r, GOODBYE_MS))]);
      inCall.clear();
      await room.leave();
    },
  };
}
