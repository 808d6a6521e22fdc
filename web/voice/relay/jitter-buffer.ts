/**
 * One sender's jitter buffer for the relay path: sealed Opus frames (20 ms each)
 * keyed by their frame counter, released in order, one per playout tick.
 *
 * Pure and clock-free: the player calls `pull()` once per 20 ms of audio it
 * schedules, and `push()` whenever a frame arrives. Delay is counted in ticks.
 *
 * - Priming: after the first frame (and after each talk-spurt pause) nothing plays
 *   until `target` frames are buffered — the start-up delay (default 2 = 40 ms).
 * - A missing frame at its tick is a `conceal` slot: the player fills it (the
 *   decoder here fades the last frame out, then plays silence). With later frames
 *   buffered up to the target, its counter is skipped; if it arrives later it is
 *   `late` and dropped. With nothing buffered at all it is a *hold* instead: the
 *   frame is late rather than lost (the next frame is not there either), so the
 *   buffer waits for it, the delay grows by that tick and the frame plays when it
 *   comes — as NetEq stretches time on an underrun instead of dropping the packet.
 * - Adaptation (after NetEq's idea, much simplified): each late frame, and each
 *   frame held for, raises the target by how late it was (up to `maxTarget`) and
 *   the next ticks *hold* (conceal without skipping a counter) until the buffer
 *   reaches the new target. Every `shrinkAfter` ticks without a late frame the
 *   target drops by one frame (not below `minTarget`); when the buffer's low-water
 *   mark over the last window stays above target, one frame is skipped to bring the
 *   delay down. (At a steady rate the low-water mark sits one below target — the
 *   newest frame lands about when the oldest is taken — so a mark above target is
 *   at least two frames of slack.)
 * - After `idleAfter` consecutive ticks with nothing buffered the stream counts as
 *   paused (mute, push-to-talk released, sender gone): the trailing conceal slots
 *   are not counted as lost, and the next frame primes again from its own counter.
 * - Duplicates (a counter buffered or already played) are dropped; a frame more
 *   than `capacity` ahead of playout resyncs the buffer (a sender restart). Memory
 *   is bounded by `capacity` frames plus a 64-tick history.
 *
 * Counts: `lost` are conceal slots inside a talk spurt (including those whose frame
 * came late); `concealed` is every conceal slot, holds and trailing ones included.
 */

/** What `pull()` releases for one tick. */
export type Slot =
  | { readonly kind: 'frame'; readonly counter: number; readonly payload: Uint8Array }
  /** Fill 20 ms by concealment; `counter` is the frame given up on, or undefined for a hold. */
  | { readonly kind: 'conceal'; readonly counter: number | undefined }
  /** Nothing to play (not started, or paused): silence, not a loss. */
  | { readonly kind: 'idle' };

export type PushResult = 'accepted' | 'duplicate' | 'late' | 'resync';

export interface JitterBufferOptions {
  /** Start-up target delay in frames. Default 2 (40 ms). */
  readonly initialTarget?: number;
  /** Default 2 (40 ms). */
  readonly minTarget?: number;
  /** Default 15 (300 ms). */
  readonly maxTarget?: number;
  /** Most frames held; a frame further ahead resyncs. Default 50 (1 s). */
  readonly capacity?: number;
  /** Ticks without a late frame before the target shrinks by one. Default 150 (3 s). */
  readonly shrinkAfter?: number;
  /** Empty ticks after which the stream counts as paused. Default 5 (100 ms). */
  readonly idleAfter?: number;
}

export interface JitterBufferStats {
  readonly received: number;
  readonly played: number;
  readonly concealed: number;
  readonly lost: number;
  readonly late: number;
  readonly duplicates: number;
  /** Frames skipped to bring the delay down. */
  readonly skipped: number;
  readonly resyncs: number;
  /** Target delay, ms. */
  readonly targetMs: number;
  /** Audio buffered ahead of playout now, ms. */
  readonly bufferedMs: number;
}

export const FRAME_MS = 20;
const HISTORY = 64;

function checkCount(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new RangeError(`jitter buffer: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

export class JitterBuffer {
  readonly minTarget: number;
  readonly maxTarget: number;
  readonly capacity: number;
  private readonly shrinkAfter: number;
  private readonly idleAfter: number;
  private readonly initialTarget: number;
  private target: number;
  private readonly frames = new Map<number, Uint8Array>();
  /** The counter the next tick plays; undefined until the first frame. */
  private next: number | undefined;
  private highest = -1;
  private primed = false;
  /** For each of the last HISTORY counters below `next`: was it played? (ring by counter). */
  private readonly playedRing = new Int32Array(HISTORY).fill(-1);
  private emptyTicks = 0;
  /** Conceal slots since the last played frame (lost once a later frame plays). */
  private pendingLoss = 0;
  /** Holds in a row with nothing buffered, waiting for `next` (how late it is, in ticks). */
  private waited = 0;
  private ticksSinceLate = 0;
  private lowWater = Number.POSITIVE_INFINITY;
  private windowTicks = 0;
  private counts = {
    received: 0,
    played: 0,
    concealed: 0,
    lost: 0,
    late: 0,
    duplicates: 0,
    skipped: 0,
    resyncs: 0,
  };

  constructor(options: JitterBufferOptions = {}) {
    this.minTarget = checkCount(options.minTarget ?? 2, 'minTarget', 1);
    this.maxTarget = checkCount(options.maxTarget ?? 15, 'maxTarget', this.minTarget);
    this.initialTarget = checkCount(options.initialTarget ?? 2, 'initialTarget', this.minTarget);
    if (this.initialTarget > this.maxTarget)
      throw new RangeError('jitter buffer: initialTarget above maxTarget');
    this.capacity = checkCount(options.capacity ?? 50, 'capacity', this.maxTarget + 1);
    this.shrinkAfter = checkCount(options.shrinkAfter ?? 150, 'shrinkAfter', 1);
    this.idleAfter = checkCount(options.idleAfter ?? 5, 'idleAfter', 1);
    this.target = this.initialTarget;
  }

  /** Frames buffered ahead of playout (newest buffered counter − next + 1), 0 if none. */
  get depth(): number {
    if (this.next === undefined || this.frames.size === 0) return 0;
    return Math.max(0, this.highest - this.next + 1);
  }

  get targetFrames(): number {
    return this.target;
  }

  /** Offers a frame that arrived now. */
  push(counter: number, payload: Uint8Array): PushResult {
    if (!Number.isSafeInteger(counter) || counter < 0)
      throw new RangeError(`jitter buffer: counter must be a non-negative integer, got ${counter}`);
    if (this.next === undefined || (!this.primed && this.frames.size === 0 && counter >= this.next)) {
      // First frame, or the first after a pause: playout restarts from here.
      this.restart(counter);
    } else if (counter < this.next) {
      if (this.next - counter <= HISTORY && this.playedRing[counter % HISTORY] === counter) {
        this.counts.duplicates++;
        return 'duplicate';
      }
      this.counts.late++;
      this.ticksSinceLate = 0;
      this.target = Math.min(this.maxTarget, this.target + (this.next - counter));
      return 'late';
    } else if (counter >= this.next + this.capacity) {
      this.counts.resyncs++;
      this.restart(counter);
      this.frames.set(counter, payload);
      this.highest = counter;
      this.counts.received++;
      return 'resync';
    }
    if (this.frames.has(counter)) {
      this.counts.duplicates++;
      return 'duplicate';
    }
    if (counter === this.next && this.waited > 0) {
      // Held for: as late as the ticks waited, and like a late frame it raises the target.
      this.ticksSinceLate = 0;
      this.target = Math.min(this.maxTarget, this.target + this.waited);
      this.waited = 0;
    }
    this.frames.set(counter, payload);
    if (counter > this.highest) this.highest = counter;
    this.counts.received++;
    return 'accepted';
  }

  /** Releases the next 20 ms tick. */
  pull(): Slot {
    const next = this.next;
    if (next === undefined) return { kind: 'idle' };
    const depth = this.depth;
    if (!this.primed) {
      if (this.frames.size === 0 || depth < this.target) return { kind: 'idle' };
      this.primed = true;
    }
    this.trackLowWater(depth);
    const payload = this.frames.get(next);
    if (payload === undefined) {
      if (this.frames.size === 0) {
        if (++this.emptyTicks >= this.idleAfter) return this.pause();
      }
      this.counts.concealed++;
      if (depth < this.target) {
        // Hold: grow the delay (to a new target, or waiting for a late frame with nothing buffered).
        if (this.frames.size === 0) this.waited++;
        return { kind: 'conceal', counter: undefined };
      }
      this.waited = 0;
      this.pendingLoss++;
      this.advance(next, false);
      return { kind: 'conceal', counter: next };
    }
    this.emptyTicks = 0;
    this.waited = 0;
    this.frames.delete(next);
    this.counts.played++;
    this.counts.lost += this.pendingLoss;
    this.pendingLoss = 0;
    this.advance(next, true);
    if (this.shouldSkip()) {
      // Drop the oldest buffered frame that is due next: one 20 ms step down in delay.
      const skipped = this.next as number;
      if (this.frames.delete(skipped)) {
        this.counts.skipped++;
        this.advance(skipped, true);
      }
    }
    return { kind: 'frame', counter: next, payload };
  }

  stats(): JitterBufferStats {
    return { ...this.counts, targetMs: this.target * FRAME_MS, bufferedMs: this.depth * FRAME_MS };
  }

  /** Forgets every buffered frame and starts over at the initial target (a new key id, a new stream). */
  reset(): void {
    this.frames.clear();
    this.next = undefined;
    this.highest = -1;
    this.primed = false;
    this.target = this.initialTarget;
    this.playedRing.fill(-1);
    this.emptyTicks = 0;
    this.pendingLoss = 0;
    this.waited = 0;
  }

  private restart(counter: number): void {
    this.frames.clear();
    this.next = counter;
    this.highest = counter;
    this.primed = false;
    this.emptyTicks = 0;
    this.pendingLoss = 0;
    this.waited = 0;
    this.lowWater = Number.POSITIVE_INFINITY;
    this.windowTicks = 0;
  }

  private pause(): Slot {
    this.primed = false;
    this.emptyTicks = 0;
    this.waited = 0;
    this.pendingLoss = 0; // trailing silence: the sender stopped, nothing was lost
    return { kind: 'idle' };
  }

  private advance(counter: number, played: boolean): void {
    this.playedRing[counter % HISTORY] = played ? counter : -1;
    this.next = counter + 1;
    this.ticksSinceLate++;
    if (this.ticksSinceLate >= this.shrinkAfter && this.target > this.minTarget) {
      this.target--;
      this.ticksSinceLate = 0;
    }
  }

  private trackLowWater(depth: number): void {
    this.lowWater = Math.min(this.lowWater, depth);
    this.windowTicks++;
  }

  /** Once per 50-tick window: skip a frame if the buffer never ran below target + 1. */
  private shouldSkip(): boolean {
    if (this.windowTicks < 50) return false;
    const slack = this.lowWater - this.target;
    this.lowWater = Number.POSITIVE_INFINITY;
    this.windowTicks = 0;
    return slack >= 1;
  }
}
