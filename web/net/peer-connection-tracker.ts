/**
 * The RTCPeerConnection class one server's mesh hands to trystero (`rtcPolyfill`),
 * for two things trystero's API does not give:
 *
 * - ICE settings read at each connection's creation, so refreshed TURN credentials
 *   reach new connections (trystero keeps the first room's config for its offer pool).
 * - Which connection a peer's handshake runs on. `onPeerHandshake` gets a peer id,
 *   not the connection; trystero starts it from the data channel's `open` event
 *   (onopen → connect → connectPeer → onPeer → handshake, microtasks only, no task
 *   boundary). This class listens to `open` before trystero's handler and remembers
 *   the connection until the end of that task; a handshake on a connection already
 *   open (a second room sharing it) finds it by peer id from the first.
 *
 * A wrong answer here cannot admit anyone: the proof is checked against the
 * fingerprints of the connection returned, and DTLS certificates are per connection,
 * so a mix-up fails the handshake (closed), never passes it (open).
 */

export interface IceSettings {
  iceServers: RTCIceServer[];
  /** `relay` hides this browser's addresses from peers (TURN only). */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

const isClosed = (pc: RTCPeerConnection): boolean => pc.signalingState === 'closed';
/** How long `close` waits for the far end to acknowledge the data channels' closing. */
const CHANNEL_CLOSE_WAIT_MS = 1_000;

export class PeerConnectionTracker {
  /** Pass as trystero's `rtcPolyfill`. Browser only (extends the global RTCPeerConnection). */
  readonly PeerConnection: typeof RTCPeerConnection;
  private ice: IceSettings;
  private justOpened: { pc: RTCPeerConnection; peerId?: string } | undefined;
  private readonly byPeer = new Map<string, RTCPeerConnection>();
  private readonly channels = new WeakMap<RTCPeerConnection, Set<RTCDataChannel>>();

  constructor(ice: IceSettings) {
    this.ice = ice;
    const tracker = this;
    this.PeerConnection = class TrackedPeerConnection extends RTCPeerConnection {
      constructor(config?: RTCConfiguration) {
        super({ ...config, ...tracker.rtcConfiguration() });
        // Registered before trystero sets `ondatachannel`, so this runs first.
        this.addEventListener('datachannel', (event) => tracker.watch(this, event.channel));
      }

      override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
        const channel = super.createDataChannel(label, init);
        tracker.watch(this, channel);
        return channel;
      }
    };
  }

  /** Applies to connections created from now on (existing ones keep theirs). */
  setIce(ice: IceSettings): void {
    this.ice = ice;
  }

  rtcConfiguration(): RTCConfiguration {
    return { iceServers: this.ice.iceServers, iceTransportPolicy: this.ice.iceTransportPolicy ?? 'all' };
  }

  /**
   * The live connection the handshake with `peerId` runs on: the one whose data
   * channel opened in this task, else the one an earlier handshake with `peerId` ran on.
   */
  linkFor(peerId: string): RTCPeerConnection | undefined {
    for (const [id, pc] of this.byPeer) if (isClosed(pc)) this.byPeer.delete(id);
    const opened = this.justOpened;
    if (opened && !isClosed(opened.pc) && (opened.peerId === undefined || opened.peerId === peerId)) {
      opened.peerId = peerId;
      this.byPeer.set(peerId, opened.pc);
      return opened.pc;
    }
    return this.byPeer.get(peerId);
  }

  /**
   * Closes `pc` so the far end sees its data channels close cleanly (a plain
   * `pc.close()` aborts the SCTP association, which the far end reports as a data
   * channel error): closes the channels, waits for them (bounded), then the connection.
   */
  async close(pc: RTCPeerConnection): Promise<void> {
    const open = [...(this.channels.get(pc) ?? [])].filter((c) => c.readyState !== 'closed');
    await Promise.all(
      open.map(
        (channel) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, CHANNEL_CLOSE_WAIT_MS);
            channel.addEventListener('close', () => {
              clearTimeout(timer);
              resolve();
            });
            channel.close();
          }),
      ),
    );
    pc.close();
  }

  private watch(pc: RTCPeerConnection, channel: RTCDataChannel): void {
    let set = this.channels.get(pc);
    if (!set) this.channels.set(pc, (set = new Set()));
    set.add(channel);
    channel.addEventListener('open', () => {
      const opened = { pc };
      this.justOpened = opened;
      setTimeout(() => {
        if (this.justOpened === opened) this.justOpened = undefined;
      }, 0);
    });
  }
}
