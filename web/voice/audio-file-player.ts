/**
 * An audio file (mp3, ogg, wav: whatever `decodeAudioData` reads) played into the
 * channel: decoded once into an AudioBuffer, played by an AudioBufferSourceNode
 * through its own volume into the send mix. A source node cannot pause, so pause
 * remembers the position and resume starts a new node from there.
 */
import type { Value } from '../core/observable.ts';
import { VoiceError } from './errors.ts';

export type FileState = 'idle' | 'playing' | 'paused';

export interface FileStatus {
  state: FileState;
  /** Length of the loaded file, s (0 when idle). */
  duration: number;
  /** 0–2. */
  volume: number;
  loop: boolean;
}

export const IDLE_FILE: Readonly<FileStatus> = { state: 'idle', duration: 0, volume: 1, loop: false };

export const MAX_FILE_VOLUME = 2;

/** Decodes `blob`; rejects with BAD_AUDIO_FILE when it is not audio the browser reads. */
export async function decodeAudioFile(context: BaseAudioContext, blob: Blob): Promise<AudioBuffer> {
  if (!(blob instanceof Blob)) throw VoiceError.badArgument('file', 'must be a Blob');
  const bytes = await blob.arrayBuffer();
  try {
    return await context.decodeAudioData(bytes);
  } catch (error) {
    throw new VoiceError('BAD_AUDIO_FILE', 'the file does not decode as audio', { cause: error });
  }
}

export function checkFileVolume(volume: number): void {
  if (!(Number.isFinite(volume) && volume >= 0 && volume <= MAX_FILE_VOLUME))
    throw VoiceError.badArgument('file volume', `must be in 0…${MAX_FILE_VOLUME}`);
}

export class AudioFilePlayer {
  private readonly gain: GainNode;
  private buffer: AudioBuffer | undefined;
  private source: AudioBufferSourceNode | undefined;
  /** Position in the buffer where the current source started, s. */
  private offset = 0;
  /** Context time at which the current source started. */
  private startedAt = 0;

  constructor(
    private readonly context: AudioContext,
    output: AudioNode,
    readonly status: Value<FileStatus>,
  ) {
    this.gain = context.createGain();
    this.gain.gain.value = status.value.volume;
    this.gain.connect(output);
  }

  /** Plays `buffer` from the start (stopping what played). */
  play(buffer: AudioBuffer, options: { volume?: number; loop?: boolean } = {}): void {
    const volume = options.volume ?? this.status.value.volume;
    checkFileVolume(volume);
    this.halt();
    this.buffer = buffer;
    this.gain.gain.value = volume;
    this.start(0, options.loop ?? false);
    this.status.set({ state: 'playing', duration: buffer.duration, volume, loop: options.loop ?? false });
  }

  pause(): void {
    if (this.status.value.state !== 'playing') return;
    this.offset = this.position;
    this.halt();
    this.update({ state: 'paused' });
  }

  resume(): void {
    if (this.status.value.state !== 'paused' || !this.buffer) return;
    this.start(this.offset, this.status.value.loop);
    this.update({ state: 'playing' });
  }

  stop(): void {
    this.halt();
    this.buffer = undefined;
    this.offset = 0;
    this.update({ state: 'idle', duration: 0 });
  }

  setVolume(volume: number): void {
    checkFileVolume(volume);
    this.gain.gain.setTargetAtTime(volume, this.context.currentTime, 0.01);
    this.update({ volume });
  }

  /** Seconds into the file. */
  get position(): number {
    const { state } = this.status.value;
    if (state === 'paused') return this.offset;
    if (state !== 'playing' || !this.buffer) return 0;
    const played = this.offset + this.context.currentTime - this.startedAt;
    return this.status.value.loop ? played % this.buffer.duration : Math.min(played, this.buffer.duration);
  }

  close(): void {
    this.stop();
    this.gain.disconnect();
  }

  private start(offset: number, loop: boolean): void {
    const buffer = this.buffer;
    if (!buffer) return;
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.loop = loop;
    source.connect(this.gain);
    source.addEventListener('ended', () => {
      // stop() fires 'ended' too; only the current source reaching its end counts.
      if (this.source !== source) return;
      this.source = undefined;
      this.buffer = undefined;
      this.offset = 0;
      this.update({ state: 'idle', duration: 0 });
    });
    this.source = source;
    this.offset = offset;
    this.startedAt = this.context.currentTime;
    source.start(0, offset);
  }

  private halt(): void {
    const source = this.source;
    this.source = undefined;
    if (!source) return;
    source.stop();
    source.disconnect();
  }

  private update(change: Partial<FileStatus>): void {
    this.status.set({ ...this.status.value, ...change });
  }
}
