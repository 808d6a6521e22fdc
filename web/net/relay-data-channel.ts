/**
 * The client's WebRTC data channel to the voice relay (relay/peer.ts answers it). One
 * channel, unordered with no retransmits (voice: late is as good as lost), negotiated
 * by trading SIGNAL messages over the relay's WebSocket: our offer and candidates out,
 * the relay's answer and candidates in.
 *
 * It reports `open` once, and `end` once when it is gone for good: not open within
 * `timeoutMs`, closed, or failed. Then it is spent; the owner keeps using the
 * WebSocket and negotiates a new channel only on a new socket. The RTCPeerConnection
 * comes from a factory: the browser's, or node-datachannel's polyfill in Node.
 */
import type { RelaySignal } from '../../protocol/relay.ts';

/** Makes the connection: `(c) => new RTCPeerConnection(c)` in browsers. */
export type PeerConnectionFactory = (config: RTCConfiguration) => RTCPeerConnection;

/** Why a channel ended: never open in time, closed after opening, or negotiation or ICE failed. */
export type DataChannelEnd = 'timeout' | 'closed' | 'failed';

export interface RelayDataChannelOptions {
  readonly peerConnection: PeerConnectionFactory;
  readonly config: RTCConfiguration;
  /** How long the channel may take to open before it is given up. */
  readonly timeoutMs: number;
}

export interface RelayDataChannelEvents {
  /** A SIGNAL for the relay; the owner sends it over the WebSocket. */
  signal(signal: RelaySignal): void;
  /** One binary message of the channel (text is not part of the relay protocol). */
  message(bytes: Uint8Array): void;
  open(): void;
  /** The channel is gone for good. Not called after `close()`. */
  end(reason: DataChannelEnd): void;
}

export class RelayDataChannel {
  private readonly pc: RTCPeerConnection;
  private readonly channel: RTCDataChannel;
  private readonly timer: ReturnType<typeof setTimeout>;
  private state: 'negotiating' | 'open' | 'ended' = 'negotiating';
  /** Our candidates, held until the relay's answer is applied (see `apply`). */
  private held: RelaySignal[] | undefined = [];
  /** The relay's signals, applied one after another. */
  private remote: Promise<void> = Promise.resolve();

  /** Starts negotiating at once. Throws what the factory or `createDataChannel` throws. */
  constructor(
    options: RelayDataChannelOptions,
    private readonly events: RelayDataChannelEvents,
  ) {
    const pc = options.peerConnection(options.config);
    this.pc = pc;
    let channel: RTCDataChannel;
    try {
      channel = pc.createDataChannel('voice', { ordered: false, maxRetransmits: 0 });
    } catch (error) {
      pc.close();
      throw error;
    }
    this.channel = channel;
    channel.binaryType = 'arraybuffer';
    pc.addEventListener('icecandidate', (event) => {
      const c = event.candidate;
      if (!c?.candidate) return; // end of candidates: the relay needs no word of it
      const signal: RelaySignal = { kind: 'candidate', candidate: c.candidate, mid: c.sdpMid ?? '0' };
      if (this.held) this.held.push(signal);
      else if (this.state !== 'ended') events.signal(signal);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') this.end('failed');
      else if (pc.connectionState === 'closed') this.end('closed');
    });
    channel.addEventListener('open', () => {
      if (this.state !== 'negotiating') return;
      this.state = 'open';
      clearTimeout(this.timer);
      events.open();
    });
    channel.addEventListener('message', (event: MessageEvent) => {
      if (this.state === 'ended') return;
      const data: unknown = event.data;
      if (data instanceof ArrayBuffer) events.message(new Uint8Array(data));
      else if (ArrayBuffer.isView(data))
        events.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    channel.addEventListener('close', () => this.end('closed'));
    channel.addEventListener('error', () => this.end('failed'));
    this.timer = setTimeout(() => this.end('timeout'), options.timeoutMs);
    this.offer().catch(() => this.end('failed'));
  }

  get isOpen(): boolean {
    return this.state === 'open' && this.channel.readyState === 'open';
  }

  /** Bytes queued in the channel, not yet handed to the network. */
  get bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }

  /** Sends one message; throws when the channel is not open or its buffer is full (as RTCDataChannel does). */
  send(bytes: Uint8Array): void {
    // Relay messages are built in fresh (never shared) ArrayBuffers, which is what the DOM type asks for.
    this.channel.send(bytes as Uint8Array<ArrayBuffer>);
  }

  /** Applies the relay's answer or candidate, in arrival order. */
  signal(signal: RelaySignal): void {
    if (this.state === 'ended') return;
    this.remote = this.remote.then(() => this.apply(signal)).catch(() => this.end('failed'));
  }

  /** Tears the connection down without an `end` event (the owner is done with it). */
  close(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.teardown();
  }

  private async offer(): Promise<void> {
    const offer = await this.pc.createOffer();
    if (this.ended) return;
    await this.pc.setLocalDescription(offer);
    if (this.ended) return;
    if (!offer.sdp) throw new Error('the offer has no SDP');
    this.events.signal({ kind: 'offer', sdp: offer.sdp });
  }

  private async apply(signal: RelaySignal): Promise<void> {
    if (this.ended) return;
    switch (signal.kind) {
      case 'answer': {
        await this.pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
        // Only now may the relay start ICE checks towards us: its DTLS handshake follows at once,
        // and an endpoint that does not yet hold the answer's fingerprint refuses it (libdatachannel
        // does: "certificate verify failed"). So our candidates go out after the answer is in.
        const held = this.held ?? [];
        this.held = undefined;
        if (!this.ended) for (const c of held) this.events.signal(c);
        return;
      }
      case 'candidate':
        try {
          await this.pc.addIceCandidate({
            candidate: signal.candidate,
            sdpMid: signal.mid,
            sdpMLineIndex: 0,
          });
        } catch {
          // A candidate this side cannot use (malformed, or of a kind it does not take) leaves the others.
        }
        return;
      case 'offer':
        return; // the relay answers; an offer from it is junk
      default: {
        const unreachable: never = signal;
        throw new Error(`unhandled ${(unreachable as { kind: string }).kind}`);
      }
    }
  }

  /** A getter, so that TypeScript re-reads the state after an await. */
  private get ended(): boolean {
    return this.state === 'ended';
  }

  private end(reason: DataChannelEnd): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.teardown();
    this.events.end(reason);
  }

  private teardown(): void {
    clearTimeout(this.timer);
    this.held = undefined;
    try {
      this.channel.close();
      this.pc.close();
    } catch {
      // A connection the platform already tore down: nothing left to close.
    }
  }
}
