/**
 * The browser end of relay voice, as one small facade over the pieces:
 *
 *   start(track) → RelayEncoder (Opus → FrameSealer) → options.send(frame)
 *   receive(frame, senderId) → FrameReceiver.open (replay window) → SenderPlayback
 *     (jitter buffer → AudioDecoder → scheduled PCM) → LoopbackOutput (master bus →
 *     loopback RTCPeerConnection → <audio>)
 *
 * It knows nothing of the relay's transport: whatever carries frames (a data
 * channel, a WebSocket) calls `receive` and is given frames through `send`. Frame
 * keys are the caller's: add each sender's key id to `receiver` (FrameReceiver) as
 * its sender key arrives. `senderId` is the relay's label for the stream (a slot);
 * the frame key id, not the label, decides which key opens a frame.
 *
 * Playout is driven by a 5 ms timer and by every received frame (background tabs
 * throttle timers; frames keep arriving).
 */
import type { CryptoErrorCode } from '../../../crypto/errors.ts';
import { FrameReceiver, FrameSealer } from '../../../crypto/frame.ts';
import { Value } from '../../core/observable.ts';
import { checkVolume, SenderPlayback, type SenderStats } from './decoder.ts';
import { RelayEncoder } from './encoder.ts';
import type { JitterBufferOptions } from './jitter-buffer.ts';
import { LoopbackOutput } from './playback.ts';

const TICK_MS = 5;
const STATS_MS = 250;

export interface RelayVoiceOptions {
  /** Hands a sealed frame to the relay transport. */
  readonly send: (frame: Uint8Array) => void;
  /** This device's frame key: the sender's frame secret (sender-key.ts `frameSecretOf`), public key, key id. */
  readonly sealer: {
    readonly secret: Uint8Array;
    readonly senderPublicKey: Uint8Array;
    readonly keyId: number;
    readonly clearToc?: boolean;
  };
  /** Openers for the other senders' key ids; default an empty one (see `receiver`). */
  readonly receiver?: FrameReceiver;
  /** Opus bitrate, bit/s. Default 32 000. */
  readonly bitrate?: number;
  readonly jitter?: JitterBufferOptions;
  /** The output's AudioContext; default a new interactive one. */
  readonly context?: AudioContext;
}

export interface RelaySenderStats extends SenderStats {
  readonly volume: number;
}

export interface RelayVoiceStats {
  readonly framesSent: number;
  /** Frames opened and offered to a jitter buffer. */
  readonly framesReceived: number;
  /** Frames refused before the jitter buffer, by crypto error code (DECRYPT_FAILED, REPLAY, …). */
  readonly refused: Readonly<Partial<Record<CryptoErrorCode, number>>>;
  readonly late: number;
  readonly lost: number;
  readonly concealed: number;
  readonly duplicates: number;
  readonly senders: Readonly<Record<string, RelaySenderStats>>;
}

const EMPTY_STATS: RelayVoiceStats = {
  framesSent: 0,
  framesReceived: 0,
  refused: {},
  late: 0,
  lost: 0,
  concealed: 0,
  duplicates: 0,
  senders: {},
};

export class RelayVoice {
  readonly receiver: FrameReceiver;
  readonly stats = new Value<RelayVoiceStats>(EMPTY_STATS);
  readonly muted = new Value(false);
  readonly deafened = new Value(false);
  private readonly encoder: RelayEncoder;
  private readonly jitterOptions: JitterBufferOptions;
  private readonly contextOption: AudioContext | undefined;
  private readonly senders = new Map<string, { playback: SenderPlayback; volume: number }>();
  private readonly volumes = new Map<string, number>();
  private readonly refused: Partial<Record<CryptoErrorCode, number>> = {};
  private framesReceived = 0;
  private output: LoopbackOutput | undefined;
  private opening: Promise<LoopbackOutput> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: RelayVoiceOptions) {
    const { secret, senderPublicKey, keyId, clearToc } = options.sealer;
    const sealer = new FrameSealer(
      secret,
      senderPublicKey,
      keyId,
      clearToc === undefined ? {} : { clearToc },
    );
    this.encoder = new RelayEncoder({ sealer, send: options.send, bitrate: options.bitrate ?? 32_000 });
    this.receiver = options.receiver ?? new FrameReceiver();
    this.jitterOptions = options.jitter ?? {};
    this.contextOption = options.context;
  }

  /** The playback output once open (its loopback connections, element and track prove the AEC path). */
  get playback(): LoopbackOutput | undefined {
    return this.output;
  }

  /** Opens the output (loopback pair, <audio>); `start` does this too. Idempotent. */
  open(): Promise<LoopbackOutput> {
    this.opening ??= LoopbackOutput.open(this.contextOption).then((output) => {
      this.output = output;
      output.setDeafened(this.deafened.value);
      this.ticker = setInterval(() => this.tick(), TICK_MS);
      this.statsTimer = setInterval(() => this.publish(), STATS_MS);
      return output;
    });
    return this.opening;
  }

  /** Opens the output and sends `track` (a mic, or any audio track), gated by mute. */
  async start(track?: MediaStreamTrack): Promise<void> {
    await this.open();
    if (track) {
      this.encoder.setGated(this.muted.value);
      this.encoder.start(track);
    }
  }

  /** Stops sending and playing; the track stays the caller's. */
  stop(): void {
    this.encoder.stop();
    clearInterval(this.ticker);
    clearInterval(this.statsTimer);
    this.publish();
    for (const { playback } of this.senders.values()) playback.close();
    this.senders.clear();
    this.output?.close();
    this.output = undefined;
    this.opening = undefined;
  }

  setMuted(muted: boolean): void {
    this.muted.set(muted);
    this.encoder.setGated(muted);
  }

  setDeafened(deafened: boolean): void {
    this.deafened.set(deafened);
    this.output?.setDeafened(deafened);
  }

  /** Volume of one sender, 0–2 (1 is as sent); kept for senders not heard yet. */
  setVolume(senderId: string, volume: number): void {
    checkVolume(volume);
    this.volumes.set(senderId, volume);
    const sender = this.senders.get(senderId);
    if (sender) {
      sender.volume = volume;
      sender.playback.setVolume(volume);
    }
  }

  setBitrate(bitrate: number): void {
    this.encoder.setBitrate(bitrate);
  }

  /** A sealed frame from the relay, labelled with its sender. Never throws on bad bytes: counts them. */
  receive(frame: Uint8Array, senderId: string): void {
    const output = this.output;
    if (!output) return; // not open: nothing plays, nothing buffers
    let opened: { keyId: number; counter: number; payload: Uint8Array };
    try {
      opened = this.receiver.open(frame);
    } catch (error) {
      const code = (error as { code?: CryptoErrorCode }).code ?? 'BAD_INPUT';
      this.refused[code] = (this.refused[code] ?? 0) + 1;
      return;
    }
    this.framesReceived++;
    let sender = this.senders.get(senderId);
    if (!sender) {
      const volume = this.volumes.get(senderId) ?? 1;
      sender = {
        playback: new SenderPlayback(output.context, output.input, volume, this.jitterOptions),
        volume,
      };
      this.senders.set(senderId, sender);
    }
    sender.playback.push(opened.keyId, opened.counter, opened.payload);
    this.tick();
  }

  /** Forgets a sender that left (its buffer, decoder and volume node). */
  removeSender(senderId: string): void {
    this.senders.get(senderId)?.playback.close();
    this.senders.delete(senderId);
  }

  private tick(): void {
    for (const { playback } of this.senders.values()) playback.tick();
  }

  private publish(): void {
    const senders: Record<string, RelaySenderStats> = {};
    let late = 0;
    let lost = 0;
    let concealed = 0;
    let duplicates = this.refused.REPLAY ?? 0;
    for (const [id, { playback, volume }] of this.senders) {
      const s = playback.stats();
      senders[id] = { ...s, volume };
      late += s.late;
      lost += s.lost;
      concealed += s.concealed;
      duplicates += s.duplicates;
    }
    this.stats.set(
      {
        framesSent: this.encoder.stats().framesSent,
        framesReceived: this.framesReceived,
        refused: { ...this.refused },
        late,
        lost,
        concealed,
        duplicates,
        senders,
      },
      (a, b) => JSON.stringify(a) === JSON.stringify(b),
    );
  }
}
