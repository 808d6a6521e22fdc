/**
 * Plays tracks (audio-file.ts) into a voice channel through a VoiceBot: one 20 ms
 * frame per tick of a drift-free clock (frame-clock.ts), the last one padded with
 * silence. Paused, nothing is sent (listeners hear a pause, as when someone mutes);
 * resumed, the track goes on where it stopped. One track at a time: playing another
 * stops the current one.
 */
import { Value } from '../web/core/observable.ts';
import { frameOf, type PcmTrack } from './audio-file.ts';
import { FrameClock, type FrameClockOptions } from './frame-clock.ts';
import { FRAME_MS, FRAME_SAMPLES } from './opus.ts';

export type PlayerState = 'idle' | 'playing' | 'paused';
/** How a `play` ended: the track ran out, or `stop`/another `play` ended it. */
export type PlayEnd = 'ended' | 'stopped';

/** What the player needs of the bot. */
export interface FrameSink {
  send(pcm: Int16Array): boolean;
}

interface Playing {
  readonly track: PcmTrack;
  position: number;
  readonly loop: boolean;
  readonly done: (end: PlayEnd) => void;
  readonly fail: (error: unknown) => void;
}

export class MusicPlayer {
  readonly state = new Value<PlayerState>('idle');
  readonly track = new Value<PcmTrack | undefined>(undefined);
  private readonly clock: FrameClock;
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private playing: Playing | undefined;

  constructor(
    private readonly sink: FrameSink,
    clock: FrameClockOptions = {},
  ) {
    this.clock = new FrameClock(clock);
  }

  /** Where the current track is, ms. */
  get positionMs(): number {
    return (this.playing?.position ?? 0) * FRAME_MS;
  }

  /** The clock's counters (ticks, lateness, skips). */
  clockStats() {
    return this.clock.stats();
  }

  /**
   * Plays `track` from its start (stopping whatever plays). Resolves when it ends or
   * is stopped; rejects if sending fails (the bot left).
   */
  play(track: PcmTrack, options: { loop?: boolean } = {}): Promise<PlayEnd> {
    this.stop();
    return new Promise<PlayEnd>((resolve, reject) => {
      this.playing = { track, position: 0, loop: options.loop === true, done: resolve, fail: reject };
      this.track.set(track);
      this.resume();
    });
  }

  pause(): void {
    if (this.state.value !== 'playing') return;
    this.clock.stop();
    this.state.set('paused');
  }

  resume(): void {
    if (!this.playing || this.state.value === 'playing') return;
    this.state.set('playing');
    this.clock.start(() => this.tick());
  }

  stop(): void {
    this.finish('stopped');
  }

  private tick(): void {
    const p = this.playing;
    if (!p) return;
    if (p.position >= p.track.frames) {
      if (!p.loop) {
        this.finish('ended');
        return;
      }
      p.position = 0;
    }
    try {
      this.sink.send(frameOf(p.track, p.position++, this.frame));
    } catch (error) {
      this.clock.stop();
      this.playing = undefined;
      this.track.set(undefined);
      this.state.set('idle');
      p.fail(error);
    }
  }

  private finish(end: PlayEnd): void {
    const p = this.playing;
    this.clock.stop();
    this.playing = undefined;
    this.track.set(undefined);
    this.state.set('idle');
    p?.done(end);
  }
}
