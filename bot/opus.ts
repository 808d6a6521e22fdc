/**
 * Opus in Node, as the browser's relay path makes and reads it
 * (web/voice/relay/encoder.ts, decoder.ts): 48 kHz mono, one 20 ms packet (960
 * samples) per frame, raw Opus packets (RFC 6716) with no container.
 *
 * The codec is `opusscript`: libopus 1.4 compiled to WebAssembly, shipped inside the
 * npm package, so it installs with no native build and no download. Its handles live
 * on the WebAssembly heap and are not garbage collected: `close()` each coder.
 *
 * opusscript's calling convention is bytes: `encode` takes the PCM as little-endian
 * 16-bit bytes (a view of an Int16Array is copied byte by byte, not sample by
 * sample) and `decode` returns bytes; the wrappers here turn both into Int16Array.
 */
import OpusScript from 'opusscript';
import {
  checkBitrate,
  DEFAULT_BITRATE,
  FRAME_DURATION_US,
  OPUS_SAMPLE_RATE,
} from '../web/voice/relay/encoder.ts';
import { BotError } from './errors.ts';

export { DEFAULT_BITRATE, OPUS_SAMPLE_RATE };
/** Samples in one 20 ms mono frame at 48 kHz. */
export const FRAME_SAMPLES = (OPUS_SAMPLE_RATE * FRAME_DURATION_US) / 1_000_000;
/** Milliseconds of one frame. */
export const FRAME_MS = FRAME_DURATION_US / 1000;
/** The largest Opus packet (RFC 6716 §3.2.1). */
export const MAX_OPUS_PACKET = 1275;

/** `audio` for music (libopus OPUS_APPLICATION_AUDIO, WebCodecs' default), `voip` for speech. */
export type OpusApplication = 'audio' | 'voip';

export interface OpusEncoderOptions {
  /** bit/s, 6 000–510 000. Default 32 000 (the browser's relay default). */
  readonly bitrate?: number;
  readonly application?: OpusApplication;
}

const APPLICATION: Record<OpusApplication, number> = {
  audio: OpusScript.Application.AUDIO,
  voip: OpusScript.Application.VOIP,
};

/** The samples of `pcm` as little-endian bytes, into `out` (no allocation). */
function toLittleEndian(pcm: Int16Array, out: DataView): void {
  for (let i = 0; i < pcm.length; i++) out.setInt16(i * 2, pcm[i]!, true);
}

/** Encodes 20 ms mono frames at 48 kHz into Opus packets. */
export class OpusEncoder {
  private readonly codec: OpusScript;
  private readonly input = Buffer.alloc(FRAME_SAMPLES * 2);
  private readonly inputView = new DataView(this.input.buffer, this.input.byteOffset, this.input.length);
  private closed = false;
  private frames = 0;
  private busyMs = 0;

  constructor(options: OpusEncoderOptions = {}) {
    const application = options.application ?? 'audio';
    if (!(application in APPLICATION))
      throw new BotError('BAD_ARGUMENT', `application must be audio or voip, got ${String(application)}`);
    const bitrate = checkBitrate(options.bitrate ?? DEFAULT_BITRATE);
    this.codec = new OpusScript(OPUS_SAMPLE_RATE, 1, APPLICATION[application]);
    this.codec.setBitrate(bitrate);
  }

  /** One Opus packet of exactly `FRAME_SAMPLES` samples. */
  encode(pcm: Int16Array): Uint8Array {
    if (this.closed) throw new BotError('CODEC', 'the encoder is closed');
    if (!(pcm instanceof Int16Array) || pcm.length !== FRAME_SAMPLES)
      throw new BotError('BAD_ARGUMENT', `pcm must be an Int16Array of ${FRAME_SAMPLES} samples`);
    const start = performance.now();
    toLittleEndian(pcm, this.inputView);
    let packet: Buffer;
    try {
      packet = this.codec.encode(this.input, FRAME_SAMPLES);
    } catch (error) {
      throw new BotError('CODEC', 'Opus refused the frame', { cause: error });
    }
    this.busyMs += performance.now() - start;
    this.frames++;
    return new Uint8Array(packet.buffer, packet.byteOffset, packet.length);
  }

  setBitrate(bitrate: number): void {
    this.codec.setBitrate(checkBitrate(bitrate));
  }

  /** Frames encoded and the mean time one took, ms. */
  stats(): { frames: number; meanMs: number } {
    return { frames: this.frames, meanMs: this.frames > 0 ? this.busyMs / this.frames : 0 };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.codec.delete();
  }
}

/** Decodes one sender's Opus packets into 48 kHz mono PCM (keep one per sender: Opus is stateful). */
export class OpusDecoder {
  private readonly codec = new OpusScript(OPUS_SAMPLE_RATE, 1, OpusScript.Application.AUDIO);
  private closed = false;

  /** The PCM of one packet (960 samples for the browser's 20 ms packets). */
  decode(packet: Uint8Array): Int16Array {
    if (this.closed) throw new BotError('CODEC', 'the decoder is closed');
    if (!(packet instanceof Uint8Array) || packet.length === 0 || packet.length > MAX_OPUS_PACKET)
      throw new BotError('BAD_ARGUMENT', `an Opus packet is 1–${MAX_OPUS_PACKET} bytes`);
    let bytes: Buffer;
    try {
      bytes = this.codec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.length));
    } catch (error) {
      throw new BotError('CODEC', 'Opus refused the packet', { cause: error });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const pcm = new Int16Array(bytes.length >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(i * 2, true);
    return pcm;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.codec.delete();
  }
}
