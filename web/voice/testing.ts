/**
 * Test support for the voice engine: an in-page `VoiceMesh` whose peers are other
 * endpoints in the same page, joined by real RTCPeerConnection pairs (host
 * candidates, DTLS-SRTP, Opus — nothing mocked; only the signaling is a function
 * call), and small bounded waits.
 *
 * Like trystero, a link carries a data channel from the start and reports the peer
 * once it opens; tracks come with their metadata (here looked up by the sender's
 * stream id and track kind rather than sent over the data channel).
 */
import { Value } from '../core/observable.ts';
import type { RelayLink } from './relay-route.ts';
import type { JsonValue, VoiceMediaOptions, VoiceMesh, VoicePeer } from './voice-mesh.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';

type Listener<A extends unknown[]> = (...args: A) => void;

class Listeners<A extends unknown[]> {
  private readonly set = new Set<Listener<A>>();
  add(listener: Listener<A>): () => void {
    this.set.add(listener);
    return () => {
      this.set.delete(listener);
    };
  }
  emit(...args: A): void {
    for (const listener of [...this.set]) listener(...args);
  }
}

interface Link {
  /** The far endpoint as our peer, with our side's connection. */
  readonly peer: VoicePeer;
  readonly remote: LoopbackMesh;
  /** Metadata of the tracks this side sends, by `${stream.id}/${kind}`. */
  readonly sent: Map<string, JsonValue | undefined>;
}

const GATHER_TIMEOUT_MS = 5_000;
const OPEN_TIMEOUT_MS = 10_000;

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pc.removeEventListener('icegatheringstatechange', check);
      reject(new Error(`ICE gathering did not complete within ${GATHER_TIMEOUT_MS} ms`));
    }, GATHER_TIMEOUT_MS);
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', check);
  });
}

let counter = 0;

export class LoopbackMesh implements VoiceMesh {
  readonly peerId: string;
  private readonly links = new Map<string, Link>();
  private readonly joins = new Listeners<[VoicePeer]>();
  private readonly leaves = new Listeners<[VoicePeer]>();
  private readonly tracks = new Listeners<
    [MediaStreamTrack, MediaStream, VoicePeer, JsonValue | undefined]
  >();

  constructor(readonly userId: string) {
    this.peerId = `${userId}-${++counter}`;
  }

  peers(): VoicePeer[] {
    return [...this.links.values()].map((link) => link.peer);
  }

  /** This endpoint's connection to `other` (throws when not linked). */
  connectionTo(other: LoopbackMesh): RTCPeerConnection {
    const link = this.links.get(other.peerId);
    if (!link) throw new Error(`${this.peerId} is not linked to ${other.peerId}`);
    return link.peer.connection;
  }

  onPeerJoin(listener: (peer: VoicePeer) => void): () => void {
    return this.joins.add(listener);
  }

  onPeerLeave(listener: (peer: VoicePeer) => void): () => void {
    return this.leaves.add(listener);
  }

  onPeerTrack(
    listener: (track: MediaStreamTrack, stream: MediaStream, peer: VoicePeer, metadata?: JsonValue) => void,
  ): () => void {
    return this.tracks.add(listener);
  }

  addTrack(track: MediaStreamTrack, stream: MediaStream, options: VoiceMediaOptions = {}): Promise<void>[] {
    return this.targets(options.target).map(async (link) => {
      link.sent.set(`${stream.id}/${track.kind}`, options.metadata);
      link.peer.connection.addTrack(track, stream);
    });
  }

  /** Links two endpoints with a fresh RTCPeerConnection pair; resolves once both report the other. */
  static async link(a: LoopbackMesh, b: LoopbackMesh): Promise<void> {
    if (a.links.has(b.peerId)) throw new Error(`${a.peerId} and ${b.peerId} are already linked`);
    const pcA = new RTCPeerConnection({ iceServers: [] });
    const pcB = new RTCPeerConnection({ iceServers: [] });
    const linkA: Link = {
      peer: { peerId: b.peerId, userId: b.userId, connection: pcA },
      remote: b,
      sent: new Map(),
    };
    const linkB: Link = {
      peer: { peerId: a.peerId, userId: a.userId, connection: pcB },
      remote: a,
      sent: new Map(),
    };
    // One negotiation at a time per pair, non-trickle (candidates ride in the SDP).
    let queue = Promise.resolve();
    const negotiate = (from: RTCPeerConnection, to: RTCPeerConnection) => {
      queue = queue
        .then(async () => {
          if (from.signalingState !== 'stable' || from.connectionState === 'closed') return;
          await from.setLocalDescription();
          await gathered(from);
          const offer = from.localDescription;
          if (!offer) throw new Error('no local offer');
          await to.setRemoteDescription(offer);
          await to.setLocalDescription();
          await gathered(to);
          const answer = to.localDescription;
          if (!answer) throw new Error('no local answer');
          await from.setRemoteDescription(answer);
        })
        .catch((error: unknown) => {
          if (from.connectionState !== 'closed') console.error('loopback mesh: negotiation failed', error);
        });
    };
    pcA.onnegotiationneeded = () => negotiate(pcA, pcB);
    pcB.onnegotiationneeded = () => negotiate(pcB, pcA);
    pcA.ontrack = (event) => a.arrived(linkA, event);
    pcB.ontrack = (event) => b.arrived(linkB, event);
    const open = (channel: RTCDataChannel) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('loopback data channel did not open')),
          OPEN_TIMEOUT_MS,
        );
        channel.addEventListener('open', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    const opened = Promise.all([
      open(pcA.createDataChannel('link', { negotiated: true, id: 0 })),
      open(pcB.createDataChannel('link', { negotiated: true, id: 0 })),
    ]);
    await opened;
    a.links.set(b.peerId, linkA);
    b.links.set(a.peerId, linkB);
    a.joins.emit(linkA.peer);
    b.joins.emit(linkB.peer);
  }

  /** Closes the pair to `other`; both sides report the other gone. */
  unlink(other: LoopbackMesh): void {
    const mine = this.links.get(other.peerId);
    const theirs = other.links.get(this.peerId);
    if (!mine || !theirs) return;
    this.links.delete(other.peerId);
    other.links.delete(this.peerId);
    mine.peer.connection.close();
    theirs.peer.connection.close();
    this.leaves.emit(mine.peer);
    other.leaves.emit(theirs.peer);
  }

  /** Unlinks from every peer. */
  close(): void {
    for (const link of [...this.links.values()]) this.unlink(link.remote);
  }

  private targets(target: VoiceMediaOptions['target']): Link[] {
    if (target === undefined || target === null) return [...this.links.values()];
    const ids = typeof target === 'string' ? [target] : target;
    return ids.map((id) => this.links.get(id)).filter((link): link is Link => link !== undefined);
  }

  private arrived(link: Link, event: RTCTrackEvent): void {
    const stream = event.streams[0];
    if (!stream) return;
    const metadata = link.remote.links.get(this.peerId)?.sent.get(`${stream.id}/${event.track.kind}`);
    this.tracks.emit(event.track, stream, link.peer, metadata);
  }
}

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than undefined/false; rejects
 * after the timeout with `what` and the last value seen.
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions,
): Promise<T> {
  const { what, timeoutMs = 8_000, intervalMs = 50 } = options;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    last = value;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Sums a stat field over the reports of one type (and kind, if given) of `pc`. */
export async function statSum(
  pc: RTCPeerConnection,
  type: RTCStatsType,
  field: string,
  kind?: 'audio' | 'video',
): Promise<number> {
  const report = await pc.getStats();
  let sum = 0;
  report.forEach((stat: Record<string, unknown>) => {
    if (stat.type !== type || (kind && stat.kind !== kind)) return;
    const value = stat[field];
    if (typeof value === 'number') sum += value;
  });
  return sum;
}

/** MIME types of the codecs the inbound streams of `kind` use. */
export async function inboundCodecs(pc: RTCPeerConnection, kind: 'audio' | 'video'): Promise<string[]> {
  const report = await pc.getStats();
  const codecs = new Map<string, string>();
  const used: string[] = [];
  report.forEach((stat: Record<string, unknown>) => {
    if (stat.type === 'codec' && typeof stat.id === 'string' && typeof stat.mimeType === 'string')
      codecs.set(stat.id, stat.mimeType);
  });
  report.forEach((stat: Record<string, unknown>) => {
    if (stat.type === 'inbound-rtp' && stat.kind === kind && typeof stat.codecId === 'string') {
      const mime = codecs.get(stat.codecId);
      if (mime) used.push(mime);
    }
  });
  return used;
}

/** Mean RMS of `count` reads of `read`, `intervalMs` apart (steadies a level that varies block to block). */
export async function meanRms(read: () => number, count = 10, intervalMs = 50): Promise<number> {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum += read();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return sum / count;
}

/**
 * Observes for a fixed window: only for proving that something does *not* happen
 * (no packets while muted), where there is nothing to poll for.
 */
export function observeFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `read` gives the same number twice `intervalMs` apart (counters settle after a stop). */
export async function settled(read: () => Promise<number>, what: string, intervalMs = 250): Promise<number> {
  let last = await read();
  return waitFor(
    async () => {
      await observeFor(intervalMs);
      const now = await read();
      const same = now === last;
      last = now;
      return same ? now : undefined;
    },
    { what: `${what} to stop changing`, intervalMs: 0 },
  );
}

/** Waits until `read` grows by more than `by` from its value now. */
export async function rises(read: () => Promise<number>, what: string, by = 10): Promise<number> {
  const start = await read();
  return waitFor(
    async () => {
      const now = await read();
      return now > start + by ? now : undefined;
    },
    { what: `${what} to rise by more than ${by} from ${start}` },
  );
}

/** A test's session on its own LoopbackMesh endpoint. */
export interface Endpoint {
  name: string;
  mesh: LoopbackMesh;
  session: VoiceSession;
}

/** The endpoints of one test file: made on demand, called together, all closed after each test. */
export class Endpoints {
  private live: Endpoint[] = [];

  add(name: string, options: VoiceSessionOptions = { inputMode: 'open-mic' }): Endpoint {
    const made = { name, mesh: new LoopbackMesh(name), session: new VoiceSession(options) };
    this.live.push(made);
    return made;
  }

  /** Links every pair of endpoints, then joins each session. */
  async call(...endpoints: Endpoint[]): Promise<void> {
    for (let i = 0; i < endpoints.length; i++)
      for (let j = i + 1; j < endpoints.length; j++)
        await LoopbackMesh.link(endpoints[i]!.mesh, endpoints[j]!.mesh);
    await Promise.all(endpoints.map(({ session, mesh }) => session.join(mesh)));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.live.map(({ session }) => session.leave()));
    for (const { mesh } of this.live) mesh.close();
    this.live = [];
  }
}

type FrameListener = Parameters<RelayLink['onFrame']>[0];

/**
 * A relay stand-in inside the page (the real relay is a Node process): it forwards each
 * frame to every other listening member, labelled with the sender's slot, as
 * relay/routes.ts does, and records what it forwarded.
 */
export class PageRelay {
  readonly forwarded: { to: string; frame: Uint8Array }[] = [];
  private readonly members = new Map<
    number,
    {
      userId: string;
      listening: boolean;
      listeners: Set<FrameListener>;
      link: { peers: Value<ReadonlyMap<number, string>> };
    }
  >();
  private next = 0;

  join(userId: string): RelayLink & { sent: number } {
    const slot = this.next++;
    const listeners = new Set<FrameListener>();
    const peers = new Value<ReadonlyMap<number, string>>(new Map());
    const member = { userId, listening: true, listeners, link: { peers } };
    this.members.set(slot, member);
    this.announce();
    const link = {
      sent: 0,
      peers,
      send: (frame: Uint8Array) => {
        link.sent++;
        for (const [other, m] of this.members) {
          if (other === slot || !m.listening) continue;
          const copy = frame.slice();
          this.forwarded.push({ to: m.userId, frame: copy });
          for (const l of m.listeners) l(copy, { slot, userId });
        }
        return true;
      },
      onFrame: (l: FrameListener) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      listen: (on: boolean) => {
        member.listening = on;
      },
    };
    return link;
  }

  private announce(): void {
    for (const [slot, m] of this.members)
      m.link.peers.set(
        new Map([...this.members].filter(([s]) => s !== slot).map(([s, o]) => [s, o.userId] as const)),
      );
  }
}
