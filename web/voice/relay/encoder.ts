/**
 * The sending half of the relay path: a microphone (or any audio) track →
 * MediaStreamTrackProcessor → WebCodecs AudioEncoder (Opus, 48 kHz mono, 20 ms) →
 * FrameSealer → `send(frame)`.
 *
 * Gating (mute, push-to-talk released) happens before the encoder: while gated the
 * captured audio is dropped, nothing is encoded, sealed or sent, and counters
 * simply resume afterwards (the receiver's jitter buffer treats the gap as a pause).
 * Input that is not 48 kHz mono is taken from its first channel and encoded at its
 * own rate (Opus accepts 8–48 kHz input).
 */
import type { FrameSealer } from '../../../crypto/frame.ts';
import { type TrackProcessorConstructor, trackProcessor } from '../capture-levels.ts';
import { VoiceError } from '../errors.ts';

export const OPUS_SAMPLE_RATE = 48_000;
export const FRAME_DURATION_US = 20_000;
export const DEFAULT_BITRATE = 32_000;

export interface RelayEncoderOptions {
  readonly sealer: FrameSealer;
  /** Where sealed frames go (the relay data channel). Called synchronously per frame. */
  readonly send: (frame: Uint8Array) => void;
  /** Opus bitrate, bit/s (6 000–510 000). Default 32 000. */
  readonly bitrate?: number;
}

export interface EncoderStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  /** Captured 20 ms chunks dropped while gated. */
  readonly gatedChunks: number;
  readonly errors: number;
}

function processorForEncoding(): TrackProcessorConstructor {
  const ctor = trackProcessor();
  if (ctor === undefined || typeof AudioEncoder === 'undefined')
    throw new VoiceError(
      'NOT_SUPPORTED',
      'the relay path needs MediaStreamTrackProcessor and WebCodecs AudioEncoder',
    );
  return ctor;
}

export function checkBitrate(bitrate: number): number {
  if (!Number.isInteger(bitrate) || bitrate < 6_000 || bitrate > 510_000)
    throw VoiceError.badArgument('bitrate', `must be an integer 6000–510000 bit/s, got ${bitrate}`);
  return bitrate;
}

/** Encodes one track into sealed Opus frames until `stop()`. */
export class RelayEncoder {
  private sealer: FrameSealer;
  private readonly send: (frame: Uint8Array) => void;
  private bitrate: number;
  private encoder: AudioEncoder | undefined;
  private reader: ReadableStreamDefaultReader<AudioData> | undefined;
  private configuredFor = '';
  private gated = false;
  private counts = { framesSent: 0, bytesSent: 0, gatedChunks: 0, errors: 0 };

  constructor(options: RelayEncoderOptions) {
    this.sealer = options.sealer;
    this.send = options.send;
    this.bitrate = checkBitrate(options.bitrate ?? DEFAULT_BITRATE);
  }

  get running(): boolean {
    return this.reader !== undefined;
  }

  stats(): EncoderStats {
    return { ...this.counts };
  }

  /** Seals from now on with `sealer` (a new epoch's key). */
  setSealer(sealer: FrameSealer): void {
    this.sealer = sealer;
  }

  /** While gated (muted, push-to-talk up) nothing is encoded or sent. */
  setGated(gated: boolean): void {
    this.gated = gated;
  }

  get isGated(): boolean {
    return this.gated;
  }

  setBitrate(bitrate: number): void {
    this.bitrate = checkBitrate(bitrate);
    this.configuredFor = ''; // reconfigure on the next chunk
  }

  /** Starts encoding `track` (stopping any previous one); frames follow as audio arrives. */
  start(track: MediaStreamTrack): void {
    if (track.kind !== 'audio') throw VoiceError.badArgument('track', 'must be an audio track');
    this.stop();
    const Processor = processorForEncoding();
    const reader = new Processor({ track }).readable.getReader();
    this.reader = reader;
    this.encoder = new AudioEncoder({
      output: (chunk) => this.output(chunk),
      error: (error) => {
        this.counts.errors++;
        console.warn('tincan relay voice: the encoder failed', error);
      },
    });
    this.configuredFor = '';
    void this.pump(reader);
  }

  /** Stops reading and encoding; the track itself is the caller's. */
  stop(): void {
    const reader = this.reader;
    this.reader = undefined;
    if (reader) reader.cancel().catch(() => undefined /* already closed: nothing to cancel */);
    if (this.encoder && this.encoder.state !== 'closed') this.encoder.close();
    this.encoder = undefined;
  }

  private async pump(reader: ReadableStreamDefaultReader<AudioData>): Promise<void> {
    for (;;) {
      let result: ReadableStreamReadResult<AudioData>;
      try {
        result = await reader.read();
      } catch {
        return; // cancelled by stop(), or the track ended
      }
      if (result.done) return;
      const data = result.value;
      try {
        if (this.reader !== reader) return;
        if (this.gated) {
          this.counts.gatedChunks++;
          continue;
        }
        this.encode(data);
      } finally {
        data.close();
      }
    }
  }

  private encode(data: AudioData): void {
    const encoder = this.encoder;
    if (!encoder || encoder.state === 'closed') return;
    const input = data.numberOfChannels === 1 ? data : firstChannel(data);
    const key = `${input.sampleRate}/${this.bitrate}`;
    if (key !== this.configuredFor) {
      encoder.configure({
        codec: 'opus',
        sampleRate: input.sampleRate,
        numberOfChannels: 1,
        bitrate: this.bitrate,
        opus: { frameDuration: FRAME_DURATION_US, format: 'opus' },
      });
      this.configuredFor = key;
    }
    encoder.encode(input);
    if (input !== data) input.close();
  }

  private output(chunk: EncodedAudioChunk): void {
    const packet = new Uint8Array(chunk.byteLength);
    chunk.copyTo(packet);
    let frame: Uint8Array;
    try {
      frame = this.sealer.seal(packet);
    } catch (error) {
      this.counts.errors++;
      console.warn('tincan relay voice: a frame could not be sealed', error);
      return;
    }
    this.counts.framesSent++;
    this.counts.bytesSent += frame.length;
    this.send(frame);
  }
}

/** A mono copy of `data`'s first channel. */
function firstChannel(data: AudioData): AudioData {
  const samples = new Float32Array(data.numberOfFrames);
  data.copyTo(samples, { planeIndex: 0, format: 'f32-planar' });
  return new AudioData({
    format: 'f32-planar',
    sampleRate: data.sampleRate,
    numberOfFrames: data.numberOfFrames,
    numberOfChannels: 1,
    timestamp: data.timestamp,
    data: samples,
  });
}
