/**
 * One sender's receive chain on the relay path, after the frame was opened:
 *
 *   opened Opus packet → jitter buffer → AudioDecoder → AudioBufferSourceNode,
 *   scheduled on the AudioContext clock → volume gain → the output's master bus
 *
 * The output (playback.ts) ticks every few ms; each tick, every sender schedules
 * 20 ms slots until it is `LOOKAHEAD_S` ahead of the context clock, pulling one
 * jitter-buffer slot per 20 ms. A frame is decoded at once and played at its slot's
 * start (found again by the chunk timestamp, which is the slot number × 20 ms).
 *
 * The slot grid runs only while the jitter buffer plays: an idle slot (not started,
 * paused) stops it, and the frame that primes the buffer again starts a new grid
 * `LOOKAHEAD_S` from then, so a talk spurt starts as soon as its frames are there
 * (a grid left running through the silence made it wait 0–20 ms more for a slot).
 * A page stall gives up whole missed slots but keeps the grid's phase, and a slot
 * decoded after its start plays only its rest, so neither adds to the delay.
 *
 * Concealment (WebCodecs' Opus decoder has no packet-loss concealment call): the
 * first missing slot after a frame repeats that frame's PCM fading from half gain
 * to zero; further consecutive missing slots are silence. Holds count the same way.
 */
import { VoiceError } from '../errors.ts';
import { ArrivalJitter } from './arrival-jitter.ts';
import { FRAME_DURATION_US, OPUS_SAMPLE_RATE } from './encoder.ts';
import {
  JitterBuffer,
  type JitterBufferOptions,
  type JitterBufferStats,
  type PushResult,
} from './jitter-buffer.ts';

/** How far ahead of the context clock slots are scheduled, s. */
export const LOOKAHEAD_S = 0.015;
const SLOT_S = FRAME_DURATION_US / 1e6;
const GAIN_SMOOTHING_S = 0.01;

export interface SenderStats extends JitterBufferStats {
  /** Decoded slots that reached the scheduler after their start time. */
  readonly underruns: number;
  /** Frames given up because the page stalled past their playout time. */
  readonly stalledFrames: number;
  readonly decodeErrors: number;
  /** Interarrival jitter of this sender's frames, ms (RFC 3550), null before two in a row. */
  readonly jitterMs: number | null;
}

export function checkVolume(volume: number): number {
  if (!(Number.isFinite(volume) && volume >= 0 && volume <= 2))
    throw VoiceError.badArgument('volume', `must be 0–2, got ${volume}`);
  return volume;
}

export class SenderPlayback {
  readonly jitter: JitterBuffer;
  private readonly arrivals = new ArrivalJitter();
  private readonly gain: GainNode;
  private readonly decoder: AudioDecoder;
  /** Start times of decodes in flight, by chunk timestamp (µs). */
  private readonly pending = new Map<number, number>();
  private slot = 0;
  private scheduledUntil = 0;
  private lastPcm: Float32Array | undefined;
  private concealRun = 0;
  private underruns = 0;
  private stalledFrames = 0;
  private decodeErrors = 0;
  /** The key id the buffered counters belong to: another one restarts the buffer. */
  keyId: number | undefined;

  constructor(
    private readonly context: AudioContext,
    destination: AudioNode,
    volume: number,
    options: JitterBufferOptions = {},
  ) {
    this.jitter = new JitterBuffer(options);
    this.gain = context.createGain();
    this.gain.gain.value = checkVolume(volume);
    this.gain.connect(destination);
    this.decoder = new AudioDecoder({
      output: (data) => this.decoded(data),
      error: (error) => {
        this.decodeErrors++;
        console.warn('tincan relay voice: the decoder failed', error);
      },
    });
    this.decoder.configure({ codec: 'opus', sampleRate: OPUS_SAMPLE_RATE, numberOfChannels: 1 });
  }

  push(keyId: number, counter: number, payload: Uint8Array): PushResult {
    if (this.keyId !== keyId) {
      this.keyId = keyId;
      this.jitter.reset();
      this.arrivals.reset();
    }
    this.arrivals.arrived(counter, performance.now());
    return this.jitter.push(counter, payload);
  }

  setVolume(volume: number): void {
    this.gain.gain.setTargetAtTime(checkVolume(volume), this.context.currentTime, GAIN_SMOOTHING_S);
  }

  stats(): SenderStats {
    return {
      ...this.jitter.stats(),
      underruns: this.underruns,
      stalledFrames: this.stalledFrames,
      decodeErrors: this.decodeErrors,
      jitterMs: this.arrivals.ms,
    };
  }

  /** Schedules slots up to `LOOKAHEAD_S` ahead of the context clock. */
  tick(): void {
    const now = this.context.currentTime;
    if (this.scheduledUntil === 0) {
      // No slot grid (not started, or paused): the frame that primes the jitter buffer
      // starts a new one, LOOKAHEAD_S ahead like every later slot, rather than waiting
      // 0–20 ms for the next slot of a grid that ran on through the silence.
      if (!this.scheduleSlot(now + LOOKAHEAD_S)) return;
    } else if (this.scheduledUntil < now) {
      // The page stalled past the schedule: the whole slots that should have played
      // meanwhile are pulled and their frames given up, and the grid keeps its phase
      // (the slot under way plays its rest), so that a stall does not add to the delay.
      const missed = Math.floor((now - this.scheduledUntil) / SLOT_S);
      for (let i = 0; i < missed; i++) if (this.jitter.pull().kind === 'frame') this.stalledFrames++;
      if (missed > 0) this.lastPcm = undefined;
      this.scheduledUntil += missed * SLOT_S;
    }
    while (this.scheduledUntil !== 0 && this.scheduledUntil < now + LOOKAHEAD_S)
      this.scheduleSlot(this.scheduledUntil);
  }

  /** Pulls one jitter-buffer slot to play at `start`; an idle one stops the grid (false). */
  private scheduleSlot(start: number): boolean {
    const slot = this.jitter.pull();
    if (slot.kind === 'idle') {
      this.scheduledUntil = 0;
      this.concealRun = 0;
      this.lastPcm = undefined;
      return false;
    }
    this.scheduledUntil = start + SLOT_S;
    if (slot.kind === 'frame') {
      this.concealRun = 0;
      if (this.decoder.state !== 'configured') return true;
      const timestamp = this.slot++ * FRAME_DURATION_US;
      this.pending.set(timestamp, start);
      if (this.pending.size > 50) this.pending.delete(this.pending.keys().next().value as number); // outputs lost to a decoder error
      this.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp, data: slot.payload }));
    } else if (this.concealRun++ === 0 && this.lastPcm) this.play(fadeOut(this.lastPcm), start);
    return true;
  }

  close(): void {
    if (this.decoder.state !== 'closed') this.decoder.close();
    this.gain.disconnect();
    this.pending.clear();
  }

  private decoded(data: AudioData): void {
    try {
      let start = this.pending.get(data.timestamp);
      if (start === undefined) {
        // Timestamps shifted (the first output loses the Opus pre-skip): take the oldest in flight.
        const first = this.pending.entries().next();
        if (first.done) return;
        start = first.value[1];
        this.pending.delete(first.value[0]);
      } else this.pending.delete(data.timestamp);
      const pcm = new Float32Array(data.numberOfFrames);
      data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      this.lastPcm = pcm;
      this.play(pcm, start, data.sampleRate);
    } finally {
      data.close();
    }
  }

  /** Plays `pcm` from `start`; if that is already past, only the rest (the grid keeps its timing). */
  private play(pcm: Float32Array, start: number, sampleRate = OPUS_SAMPLE_RATE): void {
    if (pcm.length === 0) return;
    const now = this.context.currentTime;
    const late = Math.max(0, now - start);
    if (late > 0) this.underruns++;
    if (late >= pcm.length / sampleRate) return;
    const buffer = this.context.createBuffer(1, pcm.length, sampleRate);
    buffer.copyToChannel(pcm as Float32Array<ArrayBuffer>, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.gain);
    source.onended = () => source.disconnect();
    source.start(start + late, late);
  }
}

/** The frame again, from half gain fading linearly to silence. */
function fadeOut(pcm: Float32Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! * 0.5 * (1 - i / pcm.length);
  return out;
}
