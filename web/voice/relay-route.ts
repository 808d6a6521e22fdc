/**
 * A call's voice through the relay, inside a VoiceSession: what the session would
 * send to its mesh peers is encoded, sealed and handed to the relay link instead
 * (relay/encoder.ts), and what the relay forwards is opened per sender
 * (relay/frame-keys.ts), put through a jitter buffer and decoded (relay/decoder.ts)
 * into an audio node the session plays like any peer's voice (remote-voices.ts),
 * so volume, local mute, server mute, deafen and speaking indicators are the same
 * on both routes. Each relay sender is the peer `relay:<slot>`.
 *
 * The link is anything that carries frames to the relay and back: RelayClient
 * (web/net/relay-client.ts) over a data channel or its WebSocket fits.
 */
import type { CryptoErrorCode } from '../../crypto/errors.ts';
import type { FrameSealer } from '../../crypto/frame.ts';
import type { Observable } from '../core/model.ts';
import { VoiceError } from './errors.ts';
import { SenderPlayback, type SenderStats } from './relay/decoder.ts';
import { RelayEncoder } from './relay/encoder.ts';
import { type FrameSecrets, frameSealerFor, SenderFrames, slotSender } from './relay/frame-keys.ts';
import type { JitterBufferOptions } from './relay/jitter-buffer.ts';
import type { DirectFeed } from './remote-audio.ts';
import type { VoicePeer } from './voice-mesh.ts';

/** What a call needs of its relay connection. */
export interface RelayLink {
  /** Sends one sealed frame; false when it was dropped (not connected, buffer full). */
  send(frame: Uint8Array): boolean;
  onFrame(
    listener: (frame: Uint8Array, from: { slot: number; userId: string | undefined }) => void,
  ): () => void;
  /** Deafened (false): the relay stops forwarding to me. */
  listen(on: boolean): void;
  /** Slots of the others in the channel → their user ids. */
  readonly peers: Observable<ReadonlyMap<number, string>>;
  /** Round trip to the relay, ms, when the link measures it. */
  readonly rttMs?: Observable<number | null>;
  /** How frames travel to the relay now. */
  readonly transport?: Observable<'websocket' | 'datachannel'>;
}

/** Where the route's voices play (the session's RemoteVoices). */
export interface RelayVoiceSink {
  /** Returns where to write the sender's opened packets when the output plays them directly. */
  addNode(peer: Pick<VoicePeer, 'peerId' | 'userId'>, node: AudioNode): DirectFeed | undefined;
  remove(peerId: string): void;
}

export interface RelayRouteStats {
  readonly framesSent: number;
  readonly framesReceived: number;
  /** Frames refused before playback, by crypto error code (UNKNOWN_KEY, DECRYPT_FAILED, REPLAY, …). */
  readonly refused: Readonly<Partial<Record<CryptoErrorCode, number>>>;
  /** Per relay peer id (`relay:<slot>`). */
  readonly senders: Readonly<Record<string, SenderStats & { userId: string }>>;
}

/** A relay voice's link, for the route indicator. */
export interface RelayPeerStats {
  readonly transport: 'websocket' | 'datachannel';
  readonly rttMs: number | null;
  /** Fraction 0–1 of the sender's frames lost (never arrived in time). */
  readonly loss: number | null;
  /** How unevenly the sender's frames arrive, ms (RFC 3550 interarrival jitter). */
  readonly jitterMs: number | null;
  /** The jitter buffer's delay, ms (it grows with jitter): WebRTC's when the voice plays from its packets, else the page's target. */
  readonly bufferMs: number;
}

const TICK_MS = 5;
export const relayPeerId = (slot: number): string => `relay:${slot}`;

interface Sender {
  readonly userId: string;
  readonly frames: SenderFrames;
  readonly playback: SenderPlayback;
  readonly node: GainNode;
  readonly direct: DirectFeed | undefined;
}

export class RelayRoute {
  private readonly encoder: RelayEncoder;
  private readonly senders = new Map<number, Sender>();
  private readonly refused: Partial<Record<CryptoErrorCode, number>> = {};
  private readonly off: (() => void)[] = [];
  private readonly ticker: ReturnType<typeof setInterval>;
  private framesReceived = 0;
  private sealerEpoch: number;
  private source: MediaStreamTrack | undefined;
  private closed = false;

  constructor(
    private readonly context: AudioContext,
    private readonly link: RelayLink,
    private readonly secrets: FrameSecrets,
    private readonly me: string,
    private readonly sink: RelayVoiceSink,
    options: { bitrate?: number; jitter?: JitterBufferOptions } = {},
  ) {
    this.sealerEpoch = secrets.epoch();
    this.encoder = new RelayEncoder({
      sealer: RelayRoute.sealer(secrets, me),
      send: (frame) => link.send(frame),
      ...(options.bitrate === undefined ? {} : { bitrate: options.bitrate }),
    });
    this.encoder.setGated(true);
    this.off.push(
      link.onFrame((frame, from) => this.receive(frame, from.slot, from.userId, options.jitter)),
      link.peers.subscribe((peers) => {
        for (const slot of [...this.senders.keys()]) if (!peers.has(slot)) this.drop(slot);
      }),
    );
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  /** Encodes `track` (the mic, or the mic + file mix) from now on. */
  setSource(track: MediaStreamTrack): void {
    if (this.closed || track === this.source) return;
    this.source = track;
    this.encoder.start(track);
  }

  /** Whether frames leave (the session's transmit decision). */
  setTransmitting(on: boolean): void {
    this.encoder.setGated(!on);
  }

  setBitrate(bps: number): void {
    this.encoder.setBitrate(bps);
  }

  setDeafened(deafened: boolean): void {
    this.link.listen(!deafened);
  }

  /** Keys changed: at a new epoch, seal with my key of it (under a fresh key id). */
  keysChanged(): void {
    const epoch = this.secrets.epoch();
    if (this.closed || epoch === this.sealerEpoch) return;
    this.sealerEpoch = epoch;
    this.encoder.setSealer(RelayRoute.sealer(this.secrets, this.me));
  }

  private static sealer(secrets: FrameSecrets, me: string): FrameSealer {
    const sealer = frameSealerFor(secrets, me);
    if (!sealer) throw new VoiceError('NOT_SUPPORTED', 'no key of mine for this channel to seal voice with');
    return sealer;
  }

  stats(): RelayRouteStats {
    const senders: Record<string, SenderStats & { userId: string }> = {};
    for (const [slot, s] of this.senders)
      senders[relayPeerId(slot)] = { ...s.playback.stats(), userId: s.userId };
    return {
      framesSent: this.encoder.stats().framesSent,
      framesReceived: this.framesReceived,
      refused: { ...this.refused },
      senders,
    };
  }

  /** How one relay sender reaches me: the relay's round trip, the sender's loss and my jitter buffer's delay. */
  linkStats(peerId: string): RelayPeerStats | undefined {
    const sender = [...this.senders].find(([slot]) => relayPeerId(slot) === peerId)?.[1];
    if (!sender) return undefined;
    const s = sender.playback.stats();
    const total = s.played + s.lost;
    return {
      transport: this.link.transport?.value ?? 'websocket',
      rttMs: this.link.rttMs?.value ?? null,
      loss: total > 0 ? s.lost / total : null,
      jitterMs: s.jitterMs,
      bufferMs: sender.direct?.bufferMs() ?? s.targetMs,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    for (const off of this.off) off();
    this.encoder.stop();
    for (const slot of [...this.senders.keys()]) this.drop(slot);
  }

  private receive(
    frame: Uint8Array,
    slot: number,
    userId: string | undefined,
    jitter: JitterBufferOptions | undefined,
  ): void {
    if (this.closed) return;
    if (userId === undefined) {
      this.refuse('UNKNOWN_KEY');
      return;
    }
    const sender = slotSender(
      this.senders,
      slot,
      userId,
      () => {
        const node = this.context.createGain();
        const direct = this.sink.addNode({ peerId: relayPeerId(slot), userId }, node);
        return {
          userId,
          frames: new SenderFrames(userId, this.secrets),
          playback: new SenderPlayback(this.context, node, 1, jitter),
          node,
          direct,
        };
      },
      (s) => this.drop(s),
    );
    let opened: { keyId: number; counter: number; payload: Uint8Array };
    try {
      opened = sender.frames.open(frame);
    } catch (error) {
      this.refuse((error as { code?: CryptoErrorCode }).code ?? 'BAD_INPUT');
      return;
    }
    this.framesReceived++;
    sender.direct?.write(opened.keyId, opened.counter, opened.payload);
    sender.playback.push(opened.keyId, opened.counter, opened.payload);
    sender.playback.tick();
  }

  private refuse(code: CryptoErrorCode): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
  }

  private tick(): void {
    for (const { playback } of this.senders.values()) playback.tick();
  }

  private drop(slot: number): void {
    const sender = this.senders.get(slot);
    if (!sender) return;
    this.senders.delete(slot);
    sender.playback.close();
    sender.node.disconnect();
    this.sink.remove(relayPeerId(slot));
  }
}
