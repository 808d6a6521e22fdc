/**
 * WAV files (RIFF, PCM 16-bit, mono) for known-tone tests: `toneWav` makes a file
 * Chromium can play as a fake microphone (`--use-file-for-fake-audio-capture`) or
 * that `VoiceSession.playFile` sends into a channel; `readWav` reads one back.
 */

const HEADER_BYTES = 44;

export interface ToneWavOptions {
  /** Hz. */
  frequency: number;
  /** Length in ms. */
  durationMs: number;
  /** Default 48000. */
  sampleRate?: number;
  /** Peak amplitude 0–1. Default 0.5. */
  amplitude?: number;
  /** Linear fade in and out, ms, so a looping file does not click. Default 5. */
  fadeMs?: number;
}

/** PCM16 mono WAV bytes of `samples` (floats, clipped to −1…1). */
export function encodeWav(samples: ArrayLike<number>, sampleRate: number): Uint8Array<ArrayBuffer> {
  if (!(Number.isInteger(sampleRate) && sampleRate >= 1000 && sampleRate <= 384_000))
    throw new RangeError('wav: sampleRate must be an integer in 1000…384000');
  const dataBytes = samples.length * 2;
  const bytes = new Uint8Array(HEADER_BYTES + dataBytes);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[offset + i] = text.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i] as number));
    view.setInt16(HEADER_BYTES + i * 2, Math.round(x < 0 ? x * 0x8000 : x * 0x7fff), true);
  }
  return bytes;
}

/** The samples of a sine tone with short linear fades. */
export function toneSamples(options: ToneWavOptions): Float32Array {
  const { frequency, durationMs, sampleRate = 48_000, amplitude = 0.5, fadeMs = 5 } = options;
  if (!(Number.isFinite(frequency) && frequency > 0 && frequency < sampleRate / 2))
    throw new RangeError('wav: frequency must be between 0 and sampleRate / 2');
  if (!(Number.isFinite(durationMs) && durationMs > 0 && durationMs <= 600_000))
    throw new RangeError('wav: durationMs must be in (0, 600000]');
  if (!(amplitude >= 0 && amplitude <= 1)) throw new RangeError('wav: amplitude must be in 0…1');
  if (!(fadeMs >= 0)) throw new RangeError('wav: fadeMs must be ≥ 0');
  const count = Math.round((durationMs / 1000) * sampleRate);
  const fade = Math.min(Math.floor(count / 2), Math.round((fadeMs / 1000) * sampleRate));
  const samples = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const envelope = fade > 0 ? Math.min(1, i / fade, (count - 1 - i) / fade) : 1;
    samples[i] = amplitude * envelope * Math.sin((2 * Math.PI * frequency * i) / sampleRate);
  }
  return samples;
}

/** A PCM16 mono WAV file holding a sine tone. */
export function toneWav(options: ToneWavOptions): Uint8Array<ArrayBuffer> {
  return encodeWav(toneSamples(options), options.sampleRate ?? 48_000);
}

export interface WavAudio {
  sampleRate: number;
  channels: number;
  /** The first channel, as floats in −1…1. */
  samples: Float32Array;
}

/** Reads a PCM16 WAV file (any channel count; returns the first channel). */
export function readWav(bytes: Uint8Array): WavAudio {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('wav: expected a Uint8Array');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new TypeError('wav: not a RIFF WAVE file');
  let format: { channels: number; sampleRate: number; bits: number; codec: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (body + size > bytes.length) throw new TypeError(`wav: chunk ${id} runs past the end`);
    if (id === 'fmt ') {
      if (size < 16) throw new TypeError('wav: fmt chunk too short');
      format = {
        codec: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (!format) throw new TypeError('wav: data before fmt');
      if (format.codec !== 1 || format.bits !== 16 || format.channels < 1)
        throw new TypeError('wav: only PCM 16-bit is read');
      const frames = Math.floor(size / (2 * format.channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++)
        samples[i] = view.getInt16(body + i * 2 * format.channels, true) / 0x8000;
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new TypeError('wav: no data chunk');
}
