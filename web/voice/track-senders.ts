/**
 * One outgoing track (voice, screen or camera) on every peer's connection: added
 * through the mesh (so it reaches the far side with its label), then held as an
 * RTCRtpSender per peer whose track and encoding limits follow a desired state.
 *
 * - `setOpen(false)` replaces each sender's track with null: no packets leave (a
 *   disabled track would still send silence).
 * - `setSource(track)` swaps the track in place (mic re-captured, file mix on/off)
 *   without renegotiation.
 * - `setMaxBitrate(bps)` sets `encodings[*].maxBitrate` (Opus bitrate for voice).
 *
 * Changes to one sender are applied in order, one at a time, always to the latest
 * desired state, so a burst of gate flips ends in the right place.
 */
import type { JsonValue, VoiceMesh, VoicePeer } from './voice-mesh.ts';

interface PeerSender {
  readonly peer: VoicePeer;
  sender: RTCRtpSender | undefined;
  /** The maxBitrate the sender carries now (undefined: none set). */
  appliedBitrate: number | undefined;
  removed: boolean;
  queue: Promise<void>;
}

const isOpen = (pc: RTCPeerConnection): boolean => pc.signalingState !== 'closed';

export class TrackSenders {
  private readonly entries = new Map<string, PeerSender>();
  private source: MediaStreamTrack;
  private open: boolean;
  private maxBitrate: number | undefined;
  private closed = false;

  constructor(
    private readonly mesh: VoiceMesh,
    source: MediaStreamTrack,
    private readonly stream: MediaStream,
    private readonly metadata: JsonValue,
    initial: { open?: boolean; maxBitrate?: number | undefined } = {},
  ) {
    this.source = source;
    this.open = initial.open ?? true;
    this.maxBitrate = initial.maxBitrate;
  }

  /** The RTCRtpSender per peer id (for stats and tests). */
  senders(): Map<string, RTCRtpSender> {
    const out = new Map<string, RTCRtpSender>();
    for (const [id, entry] of this.entries) if (entry.sender && !entry.removed) out.set(id, entry.sender);
    return out;
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  /** Sends the track to `peer` (no-op if it already does). Resolves once the sender carries the desired state. */
  async addPeer(peer: VoicePeer): Promise<void> {
    if (this.closed || this.entries.has(peer.peerId)) return;
    const entry: PeerSender = {
      peer,
      sender: undefined,
      appliedBitrate: undefined,
      removed: false,
      queue: Promise.resolve(),
    };
    this.entries.set(peer.peerId, entry);
    // A fresh track object for each addition: trystero pairs an added track with the
    // far side's track event by a key per local track object, and the far side keeps
    // what it received under that key for the life of the connection. The same track
    // added again (the peer rejoined the call, or the call came back from the relay)
    // would be handed over as the old, dead remote track, and the live one dropped.
    // The carrier is disabled (silence, never the microphone) and replaced by the
    // desired track as soon as the sender exists.
    const carrier = this.source.clone();
    carrier.enabled = false;
    try {
      await Promise.all(
        this.mesh.addTrack(carrier, this.stream, { target: peer.peerId, metadata: this.metadata }),
      );
    } catch (error) {
      carrier.stop();
      console.warn(`tincan voice: could not add a track for ${peer.peerId}`, error);
      if (this.entries.get(peer.peerId) === entry) this.entries.delete(peer.peerId);
      return;
    }
    entry.sender = peer.connection.getSenders().find((s) => s.track === carrier);
    if (!entry.sender) {
      carrier.stop();
      console.warn(`tincan voice: the mesh added no sender for ${peer.peerId}`);
      if (this.entries.get(peer.peerId) === entry) this.entries.delete(peer.peerId);
      return;
    }
    if (entry.removed || this.closed) this.detach(entry);
    else await this.sync(entry);
    carrier.stop();
  }

  /** Stops sending to one peer (it left): the sender is removed if the connection lives on. */
  removePeer(peerId: string): Promise<void> {
    const entry = this.entries.get(peerId);
    if (!entry) return Promise.resolve();
    this.entries.delete(peerId);
    entry.removed = true;
    return this.enqueue(entry, () => this.detach(entry));
  }

  /** Whether packets may leave; false replaces every sender's track with null. */
  setOpen(open: boolean): Promise<void> {
    if (this.open === open) return Promise.resolve();
    this.open = open;
    return this.syncAll();
  }

  /** The track to send (replaceTrack on every sender; no renegotiation). */
  setSource(track: MediaStreamTrack): Promise<void> {
    if (this.source === track) return Promise.resolve();
    this.source = track;
    return this.syncAll();
  }

  /** Caps each encoding's bitrate (bits/s; undefined lifts the cap). */
  setMaxBitrate(bps: number | undefined): Promise<void> {
    this.maxBitrate = bps;
    return this.syncAll();
  }

  /** Removes the track from every peer. The track itself is the caller's to stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(
      entries.map((entry) => {
        entry.removed = true;
        return this.enqueue(entry, () => this.detach(entry));
      }),
    );
  }

  private syncAll(): Promise<void> {
    return Promise.all([...this.entries.values()].map((entry) => this.sync(entry))).then(() => undefined);
  }

  private sync(entry: PeerSender): Promise<void> {
    return this.enqueue(entry, async () => {
      const { sender } = entry;
      if (!sender || entry.removed || this.closed || !isOpen(entry.peer.connection)) return;
      const want = this.open ? this.source : null;
      if (sender.track !== want) await sender.replaceTrack(want);
      if (entry.appliedBitrate !== this.maxBitrate) {
        const wanted = this.maxBitrate;
        const apply = () => {
          const parameters = sender.getParameters();
          for (const encoding of parameters.encodings) {
            if (wanted === undefined) delete encoding.maxBitrate;
            else encoding.maxBitrate = wanted;
          }
          return sender.setParameters(parameters);
        };
        // A negotiation that lands between reading and setting changes the encodings
        // (InvalidModificationError): read them again once.
        await apply().catch((error: unknown) => {
          if (error instanceof DOMException && error.name === 'InvalidModificationError') return apply();
          throw error;
        });
        entry.appliedBitrate = wanted;
      }
    });
  }

  private enqueue(entry: PeerSender, task: () => void | Promise<void>): Promise<void> {
    const run = entry.queue.then(task).catch((error: unknown) => {
      // A connection closing under us rejects replaceTrack/setParameters; nothing to undo.
      if (isOpen(entry.peer.connection)) console.warn('tincan voice: sender update failed', error);
    });
    entry.queue = run;
    return run;
  }

  private detach(entry: PeerSender): void {
    const { sender, peer } = entry;
    if (!sender || !isOpen(peer.connection)) return;
    if (peer.connection.getSenders().includes(sender)) peer.connection.removeTrack(sender);
  }
}
