/**
 * The call roster over a shared room. Node has no RTCPeerConnection, so trystero
 * cannot run here: `Rooms` stands in for the rooms of web/net/mesh.ts, delivering
 * each action message in order on a later tick, as a data channel would. The real
 * path (a member who left the call and came back, on the page whose text chat kept
 * the room) runs in Chromium in test/e2e/voice.e2e.test.ts step 8.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JsonValue, MessageAction } from '@trystero-p2p/core';
import type { MeshPeer } from '../net/mesh.ts';
import { CALL_ACTION, callRoster, type Greeting, type RoomMesh } from './call-roster.ts';
import { eventually } from './testing.ts';
import type { CallMesh } from './voice-call.ts';

/** Lets in-memory messages land; generous, since a loaded CI machine can stall timers. */
const tick = () => new Promise((r) => setTimeout(r, 25));

class Room {
  readonly joins = new Set<(peer: MeshPeer) => void>();
  readonly trackListeners = new Set<Parameters<RoomMesh['onPeerTrack']>[0]>();
  /** What each peer's connection reports of its transceivers. */
  readonly transceivers = new Map<
    string,
    { receiver: { track: MediaStreamTrack }; currentDirection: string }[]
  >();
  readonly leaves = new Set<(peer: MeshPeer) => void>();
  readonly present = new Map<string, MeshPeer>();
  readonly added: { track: string; target: unknown }[] = [];
  action: MessageAction<Greeting> | undefined;
  left = false;

  constructor(
    readonly peerId: string,
    private readonly rooms: Rooms,
  ) {}

  mesh(): RoomMesh {
    const on =
      <F>(set: Set<F>) =>
      (listener: F) => {
        set.add(listener);
        return () => set.delete(listener);
      };
    return {
      peers: () => [...this.present.values()],
      onPeerJoin: on(this.joins),
      onPeerLeave: on(this.leaves),
      onPeerTrack: on(this.trackListeners),
      addTrack: (track, _stream, options) => {
        this.added.push({ track: track.id, target: options?.target });
        return [];
      },
      makeAction: (<T>(name: string) => {
        assert.equal(name, CALL_ACTION, 'the roster talks on its own action');
        // One action per room and name, as trystero keeps it.
        this.action ??= {
          onMessage: null,
          onReceiveProgress: null,
          send: async (data: Greeting, options?: { target?: unknown }) => {
            const target = options?.target;
            assert.equal(typeof target, 'string', 'every greeting is sent to one peer');
            this.rooms.deliver(this.peerId, target as string, data);
          },
        };
        return this.action as unknown as MessageAction<T & JsonValue>;
      }) as RoomMesh['makeAction'],
      leave: async () => {
        this.left = true;
      },
    };
  }

  /** `other` becomes a verified peer of this room. */
  see(other: Room): void {
    const transceivers = this.transceivers.get(other.peerId) ?? [];
    this.transceivers.set(other.peerId, transceivers);
    const connection = { getTransceivers: () => transceivers } as unknown as RTCPeerConnection;
    const peer = { peerId: other.peerId, userId: `user-${other.peerId}`, connection } as MeshPeer;
    this.present.set(other.peerId, peer);
    for (const l of [...this.joins]) l(peer);
  }

  /** A track from `peerId` arrives (trystero's onPeerTrack), on a transceiver now `direction`. */
  track(peerId: string, id: string, direction: string): MediaStreamTrack {
    const track = { id, readyState: 'live' } as MediaStreamTrack;
    this.transceivers.get(peerId)!.push({ receiver: { track }, currentDirection: direction });
    const peer = this.present.get(peerId)!;
    for (const l of [...this.trackListeners]) l(track, {} as MediaStream, peer, { tincan: 'voice' });
    return track;
  }

  lose(peerId: string): void {
    const peer = this.present.get(peerId);
    if (!peer) return;
    this.present.delete(peerId);
    for (const l of [...this.leaves]) l(peer);
  }
}

class Rooms {
  private readonly byPeer = new Map<string, Room>();
  /** Every greeting sent, in order. */
  readonly sent: { from: string; to: string; data: unknown }[] = [];

  room(peerId: string): Room {
    const room = new Room(peerId, this);
    this.byPeer.set(peerId, room);
    return room;
  }

  link(a: Room, b: Room): void {
    a.see(b);
    b.see(a);
  }

  deliver(from: string, to: string, data: unknown): void {
    this.sent.push({ from, to, data });
    setTimeout(() => {
      const room = this.byPeer.get(to);
      if (room?.present.has(from)) void room.action?.onMessage?.(data as Greeting, { peerId: from });
    }, 1);
  }
}

/** What a call's listeners saw: 'join b', 'leave b', in order. */
function watch(call: CallMesh): string[] {
  const seen: string[] = [];
  call.onPeerJoin((p) => seen.push(`join ${p.peerId}`));
  call.onPeerLeave((p) => seen.push(`leave ${p.peerId}`));
  return seen;
}

const ids = (call: CallMesh) => call.peers().map((p) => p.peerId);

describe('call roster', () => {
  it('two calls in one room find each other once, whoever greets first', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b); // the text chat holds the room before either call
    const callA = callRoster(a.mesh());
    const seenA = watch(callA);
    await tick();
    assert.deepEqual(ids(callA), [], 'a peer of the room that is not in the call is not a call peer');
    const callB = callRoster(b.mesh());
    const seenB = watch(callB);
    await tick();
    assert.deepEqual(seenA, ['join b'], 'A sees B join the call once');
    assert.deepEqual(seenB, ['join a'], 'B sees A once, from A’s answer');
    assert.deepEqual([ids(callA), ids(callB)], [['b'], ['a']], 'each lists the other');
    assert.ok(
      rooms.sent.length <= 3,
      `the exchange settles in at most 3 greetings, sent ${rooms.sent.length}`,
    );
  });

  it('a call sends its tracks to call peers only, never to the whole room', async () => {
    const rooms = new Rooms();
    const [a, b, c] = [rooms.room('a'), rooms.room('b'), rooms.room('c')];
    rooms.link(a, b);
    rooms.link(a, c);
    const callA = callRoster(a.mesh());
    callRoster(b.mesh());
    await tick();
    const track = { id: 'mic' } as MediaStreamTrack;
    callA.addTrack(track, {} as MediaStream);
    callA.addTrack(track, {} as MediaStream, { target: null });
    assert.deepEqual(
      a.added.map((x) => x.target),
      [['b'], ['b']],
      'without a target, only B (in the call) gets the track, not C (room only)',
    );
  });

  it('a member who leaves and rejoins is seen to leave, then join anew', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const callA = callRoster(a.mesh());
    const seenA = watch(callA);
    const first = callRoster(b.mesh());
    await tick();
    await first.leave();
    await tick();
    assert.deepEqual(seenA, ['join b', 'leave b'], 'A sees B leave on its goodbye');
    assert.deepEqual(ids(callA), [], 'B is no longer a call peer');
    assert.equal(b.left, true, 'the call let go of its room handle');
    const second = callRoster(b.mesh());
    const seenB = watch(second);
    await tick();
    assert.deepEqual(seenA, ['join b', 'leave b', 'join b'], 'A sees B join again');
    assert.deepEqual(seenB, ['join a'], 'the new call of B sees A');
  });

  it('a rejoin whose goodbye was lost is still a leave and a join', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const seenA = watch(callRoster(a.mesh()));
    callRoster(b.mesh(), { callId: 'b-first' });
    await tick();
    callRoster(b.mesh(), { callId: 'b-second' }); // the first never said goodbye
    await tick();
    assert.deepEqual(seenA, ['join b', 'leave b', 'join b'], 'a new call id from the same page is a rejoin');
  });

  it('a goodbye naming another call, a malformed greeting, and a stranger change nothing', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const logged: string[] = [];
    const callA = callRoster(a.mesh(), { log: (l) => logged.push(l) });
    const seenA = watch(callA);
    callRoster(b.mesh(), { callId: 'b-call' });
    await tick();
    const onMessage = a.action?.onMessage;
    assert.ok(onMessage, 'the roster listens on the action');
    for (const junk of [
      { call: 'other', in: false },
      { call: 5, in: true },
      'hello',
      null,
      { call: 'x'.repeat(65), in: true },
    ])
      void onMessage(junk as Greeting, { peerId: 'b' });
    void onMessage({ call: 'z', in: true }, { peerId: 'stranger' });
    await tick();
    assert.deepEqual(seenA, ['join b'], 'only the real greeting counted');
    assert.equal(logged.length, 4, `each malformed greeting is logged, got ${JSON.stringify(logged)}`);
  });

  it('a link lost and remade on one side only is greeted again and settles', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const callA = callRoster(a.mesh());
    const seenA = watch(callA);
    const callB = callRoster(b.mesh());
    const seenB = watch(callB);
    await tick();
    a.lose('b'); // A's side saw the link drop and come back; B's never noticed
    a.see(b);
    await tick();
    assert.deepEqual(seenA, ['join b', 'leave b', 'join b'], 'A has B in the call again');
    assert.deepEqual(seenB, ['join a'], 'B, whose link never dropped, keeps A without a second join');
    assert.deepEqual([ids(callA), ids(callB)], [['b'], ['a']], 'both list each other');
  });

  it('a track still coming in from a peer is handed to my next call when the peer joins it; a stopped one is not', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const first = callRoster(a.mesh());
    callRoster(b.mesh());
    await tick();
    a.track('b', 'voice-still-sending', 'recvonly'); // B never saw me leave, and kept sending
    a.track('b', 'voice-removed', 'inactive'); // a sender B removed
    await first.leave();
    const second = callRoster(a.mesh());
    const got: string[] = [];
    second.onPeerTrack((track) => got.push(track.id));
    await eventually(() => {
      assert.deepEqual(ids(second), ['b'], 'B is in my new call');
      assert.deepEqual(
        got,
        ['voice-still-sending'],
        'the live track is replayed to the new call, the inactive one not',
      );
    });
  });

  it('a call that ended hears nothing more, and the next call on the room takes over', async () => {
    const rooms = new Rooms();
    const [a, b] = [rooms.room('a'), rooms.room('b')];
    rooms.link(a, b);
    const old = callRoster(a.mesh());
    const seenOld = watch(old);
    const leaving = old.leave();
    const next = callRoster(a.mesh()); // started while the old one says goodbye
    const seenNext = watch(next);
    await leaving;
    callRoster(b.mesh());
    await tick();
    assert.deepEqual(seenOld, [], 'the ended call saw nobody');
    assert.deepEqual(seenNext, ['join b'], 'the new call still hears greetings');
  });
});
