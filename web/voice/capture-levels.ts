/**
 * The mic's level chunk by chunk, as the capture delivers it (10 ms at a time in
 * Chromium), read with a MediaStreamTrackProcessor: the voice-activity gate opens
 * on the chunk that carries the first loud sound, instead of at the next meter tick
 * after Web Audio has passed it on (together 20–30 ms later, every first word).
 * Reads a clone of the track, so the mic itself is left as it is.
 */
import { levelFromRms, rms } from './level.ts';

/** Chromium's MediaStreamTrackProcessor (not in TypeScript's DOM lib). */
export type TrackProcessorConstructor = new (init: {
  track: MediaStreamTrack;
}) => { readonly readable: ReadableStream<AudioData> };

/** The browser's MediaStreamTrackProcessor, if it has one. */
export function trackProcessor(): TrackProcessorConstructor | undefined {
  return (globalThis as { MediaStreamTrackProcessor?: TrackProcessorConstructor }).MediaStreamTrackProcessor;
}

export class CaptureLevels {
  private readonly track: MediaStreamTrack;
  private readonly reader: ReadableStreamDefaultReader<AudioData>;
  private samples = new Float32Array(0);
  private stopped = false;

  /**
   * Calls `onLevel(level 0–1, performance.now())` for every captured chunk of `track`
   * until stop(); `onEnd` once if the reading ends by itself (the track ended, or a
   * chunk could not be read), so the caller can fall back to its meter.
   */
  constructor(
    track: MediaStreamTrack,
    private readonly onLevel: (level: number, now: number) => void,
    private readonly onEnd: () => void = () => undefined,
  ) {
    const Processor = trackProcessor();
    if (!Processor)
      throw new TypeError('CaptureLevels: no MediaStreamTrackProcessor here (check supported())');
    this.track = track.clone();
    this.track.enabled = true;
    this.reader = new Processor({ track: this.track }).readable.getReader();
    void this.pump();
  }

  static supported(): boolean {
    return trackProcessor() !== undefined;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reader.cancel().catch(() => undefined /* already ended */);
    this.track.stop();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        let result: ReadableStreamReadResult<AudioData>;
        try {
          result = await this.reader.read();
        } catch {
          return; // cancelled by stop(), or the track ended
        }
        if (result.done) return;
        const data = result.value;
        try {
          if (this.stopped) return;
          if (this.samples.length !== data.numberOfFrames)
            this.samples = new Float32Array(data.numberOfFrames);
          data.copyTo(this.samples, { planeIndex: 0, format: 'f32-planar' });
          this.onLevel(levelFromRms(rms(this.samples)), performance.now());
        } finally {
          data.close();
        }
      }
    } catch (error) {
      console.warn('tincan voice: reading the mic chunk by chunk failed; the meter takes over', error);
    } finally {
      if (!this.stopped) {
        this.stop();
        this.onEnd();
      }
    }
  }
}
