/**
 * Audio files for the bots: a PCM 16-bit WAV (any rate, any channel count) read with
 * web/voice/wav.ts `readWav`, brought to 48 kHz (resample.ts) and to 16-bit mono, the
 * form `VoiceBot.send` takes 960 samples of at a time.
 *
 * Several channels: readWav returns the first channel only, so a stereo file plays
 * its left channel (a true downmix needs readWav to hand back every channel).
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { readWav } from '../web/voice/wav.ts';
import { BotError } from './errors.ts';
import { FRAME_SAMPLES, OPUS_SAMPLE_RATE } from './opus.ts';
import { resample } from './resample.ts';

export interface PcmTrack {
  readonly name: string;
  /** 48 kHz mono. */
  readonly pcm: Int16Array;
  readonly sourceRate: number;
  readonly sourceChannels: number;
  readonly durationMs: number;
  /** 20 ms frames it plays as (the last one padded with silence). */
  readonly frames: number;
}

/** Floats (−1…1, clipped) as 16-bit samples. */
export function toPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]!));
    out[i] = Math.round(x < 0 ? x * 0x8000 : x * 0x7fff);
  }
  return out;
}

/** A track from WAV bytes. Throws `BAD_AUDIO` for anything but PCM 16-bit WAV. */
export function wavTrack(bytes: Uint8Array, name: string): PcmTrack {
  let wav: ReturnType<typeof readWav>;
  try {
    wav = readWav(bytes);
  } catch (error) {
    throw new BotError('BAD_AUDIO', `${name}: ${(error as Error).message}`, { cause: error });
  }
  if (wav.sampleRate < 1000 || wav.sampleRate > 384_000)
    throw new BotError('BAD_AUDIO', `${name}: a sample rate of ${wav.sampleRate} Hz is not supported`);
  const pcm = toPcm16(resample(wav.samples, wav.sampleRate, OPUS_SAMPLE_RATE));
  return {
    name,
    pcm,
    sourceRate: wav.sampleRate,
    sourceChannels: wav.channels,
    durationMs: (pcm.length / OPUS_SAMPLE_RATE) * 1000,
    frames: Math.ceil(pcm.length / FRAME_SAMPLES),
  };
}

/** A track from a WAV file on disk, named by its file name without the extension. */
export async function loadWavFile(path: string): Promise<PcmTrack> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new BotError('NOT_FOUND', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  return wavTrack(bytes, basename(path, extname(path)));
}

/** Frame `index` of `track` (960 samples; past the end, or its last part, padded with silence). */
export function frameOf(track: PcmTrack, index: number, out = new Int16Array(FRAME_SAMPLES)): Int16Array {
  const start = index * FRAME_SAMPLES;
  const part = track.pcm.subarray(Math.min(start, track.pcm.length), start + FRAME_SAMPLES);
  out.set(part);
  out.fill(0, part.length);
  return out;
}
