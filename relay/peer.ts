/**
 * The relay's end of one client's WebRTC data channel (node-datachannel, libdatachannel
 * bindings): answers the client's offer, trades candidates over the relay WebSocket,
 * and hands every binary message of the channel to `onMessage`. The client opens the
 * channel unordered with no retransmits; the relay only answers. node-datachannel is
 * loaded on the first offer, so a relay nobody reaches over UDP never loads it.
 */
import type { RelaySignal } from '../protocol/relay.ts';
import { announcedTwin, announceInSdp } from './announce.ts';

type NodeDataChannel = typeof import('node-datachannel');
let loaded: Promise<NodeDataChannel> | undefined;
const load = () => {
  loaded ??= import('node-datachannel');
  return loaded;
};

export interface PeerOptions {
  /** STUN/TURN for the relay's side, in node-datachannel's form (`stun:host:port`). */
  readonly iceServers?: readonly string[];
  /** Bind ICE to one address (`127.0.0.1` for loopback tests). */
  readonly bindAddress?: string;
  /** The UDP ports the data channels take, one per client (`[relay] udp_ports`), for a firewall rule. */
  readonly portRangeBegin?: number;
  readonly portRangeEnd?: number;
  /** The public address clients dial behind a 1:1 NAT (relay/announce.ts). */
  readonly announcedIp?: string;
}

export interface PeerEvents {
  signal(signal: RelaySignal): void;
  message(bytes: Uint8Array): void;
  open(): void;
  close(): void;
}

export class RelayPeer {
  private pc: import('node-datachannel').PeerConnection | undefined;
  private dc: import('node-datachannel').DataChannel | undefined;
  private pendingCandidates: { candidate: string; mid: string }[] = [];
  private closed = false;

  constructor(
    private readonly name: string,
    private readonly options: PeerOptions,
    private readonly events: PeerEvents,
  ) {}

  get isOpen(): boolean {
    return this.dc?.isOpen() === true;
  }

  /** Bytes waiting in the data channel's send buffer. */
  buffered(): number {
    return this.dc?.bufferedAmount() ?? 0;
  }

  /** Sends on the data channel; false when it is not open (the caller falls back to the WebSocket). */
  send(bytes: Uint8Array): boolean {
    if (!this.dc?.isOpen()) return false;
    try {
      return this.dc.sendMessageBinary(bytes);
    } catch {
      // A channel that closed between isOpen and send: the caller falls back.
      return false;
    }
  }

  /** Applies the client's signaling. An offer starts (or restarts) the connection. */
  async signal(signal: RelaySignal): Promise<void> {
    if (this.closed) return;
    switch (signal.kind) {
      case 'offer': {
        const ndc = await load();
        if (this.closed) return;
        this.pc?.close();
        const { announcedIp } = this.options;
        // Not ICE UDP mux (one port for all): under load some of its channels never opened.
        const pc = new ndc.PeerConnection(this.name, {
          iceServers: [...(this.options.iceServers ?? [])],
          bindAddress: this.options.bindAddress,
          portRangeBegin: this.options.portRangeBegin,
          portRangeEnd: this.options.portRangeEnd,
          maxMessageSize: 16 * 1024,
        });
        this.pc = pc;
        const twins = new Set<string>();
        pc.onLocalDescription((sdp, type) => {
          if (type !== 'answer') return;
          this.events.signal({
            kind: 'answer',
            sdp: announcedIp ? announceInSdp(sdp, announcedIp, twins) : sdp,
          });
        });
        pc.onLocalCandidate((candidate, mid) => {
          this.events.signal({ kind: 'candidate', candidate, mid });
          const twin = announcedIp && announcedTwin(candidate, announcedIp);
          if (!twin || twins.has(twin.key)) return;
          twins.add(twin.key);
          this.events.signal({ kind: 'candidate', candidate: twin.line, mid });
        });
        pc.onDataChannel((dc) => {
          this.dc?.close();
          this.dc = dc;
          dc.onMessage((msg) => {
            if (typeof msg === 'string') return; // text is not part of the relay protocol
            this.events.message(msg instanceof Uint8Array ? msg : new Uint8Array(msg));
          });
          dc.onClosed(() => {
            if (this.dc === dc) this.events.close();
          });
          if (dc.isOpen()) this.events.open();
          else dc.onOpen(() => this.events.open());
        });
        pc.setRemoteDescription(signal.sdp, 'offer');
        for (const c of this.pendingCandidates) pc.addRemoteCandidate(c.candidate, c.mid);
        this.pendingCandidates = [];
        return;
      }
      case 'candidate':
        if (!this.pc) this.pendingCandidates.push(signal);
        else this.pc.addRemoteCandidate(signal.candidate, signal.mid);
        return;
      case 'answer':
        throw new Error('the relay answers offers; it never sends one');
      default: {
        const unreachable: never = signal;
        throw new Error(`unhandled ${(unreachable as { kind: string }).kind}`);
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dc?.close();
      this.pc?.close();
    } catch {
      // Closing a connection that libdatachannel already tore down is not an error.
    }
  }
}
