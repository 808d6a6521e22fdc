/**
 * A 20 ms clock that does not drift: tick n is due at `start + n × period` on the
 * monotonic clock, and each timer is set for the next due time, so a timer that
 * fires late makes that one tick late and never shifts the ones after it (a chain of
 * `setTimeout(20)` loses ~1 ms a tick in Node: 5% slow, which a listener's jitter
 * buffer hears as underruns).
 *
 * Ticks that fell due while the event loop was busy run at once, in order, up to
 * `maxCatchUp` of them; past that (the process was stopped, the machine slept) the
 * schedule restarts from now and the skipped ticks are counted, never bursted:
 * a sender catching up seconds at once would have the relay drop them as late anyway.
 * Time is injected for tests.
 */
import { BotError } from './errors.ts';
import { FRAME_MS } from './opus.ts';

export interface FrameClockOptions {
  /** ms between ticks. Default 20 (one Opus frame). */
  readonly periodMs?: number;
  /** Overdue ticks run at once before the schedule restarts. Default 5 (100 ms). */
  readonly maxCatchUp?: number;
  /** A monotonic clock in ms. Default `performance.now`. */
  readonly now?: () => number;
}

export interface FrameClockStats {
  /** Ticks run. */
  readonly ticks: number;
  /** The latest any tick ran after its due time, ms. */
  readonly maxLateMs: number;
  /** Ticks skipped by restarts of the schedule. */
  readonly skipped: number;
}

/** A timer may fire this early (Node rounds timer starts to whole ms); the tick runs then. */
const EARLY_MS = 1;

export class FrameClock {
  readonly periodMs: number;
  private readonly maxCatchUp: number;
  private readonly now: () => number;
  private origin = 0;
  /** Index (from origin) of the next tick due. */
  private next = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private onTick: ((tick: number) => void) | undefined;
  private counts = { ticks: 0, maxLateMs: 0, skipped: 0 };

  constructor(options: FrameClockOptions = {}) {
    const { periodMs = FRAME_MS, maxCatchUp = 5, now = () => performance.now() } = options;
    if (!(Number.isFinite(periodMs) && periodMs >= 1))
      throw new BotError('BAD_ARGUMENT', `periodMs must be at least 1, got ${periodMs}`);
    if (!(Number.isInteger(maxCatchUp) && maxCatchUp >= 0))
      throw new BotError('BAD_ARGUMENT', `maxCatchUp must be an integer ≥ 0, got ${maxCatchUp}`);
    this.periodMs = periodMs;
    this.maxCatchUp = maxCatchUp;
    this.now = now;
  }

  get running(): boolean {
    return this.onTick !== undefined;
  }

  stats(): FrameClockStats {
    return { ...this.counts };
  }

  /**
   * Calls `onTick(n)` (n = 0, 1, 2, … counting every tick run) now and then every
   * period until `stop()`. A tick that throws stops the clock and the error goes to
   * the event loop (an uncaught exception): a sender must not fail silently.
   */
  start(onTick: (tick: number) => void): void {
    if (this.running) throw new BotError('BAD_ARGUMENT', 'the clock is already running');
    this.onTick = onTick;
    this.origin = this.now();
    this.next = 0;
    this.fire();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.onTick = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    const run = this.onTick; // a tick may stop (or stop and restart) the clock: this run ends then
    const now = this.now();
    const overdue = Math.floor((now - this.due(this.next)) / this.periodMs);
    if (overdue > this.maxCatchUp) {
      // Stalled for longer than catching up is worth: start the schedule again from now.
      this.counts.skipped += overdue;
      this.origin = now;
      this.next = 0;
    }
    while (run && this.onTick === run && this.due(this.next) <= now + EARLY_MS) {
      const late = now - this.due(this.next);
      if (late > this.counts.maxLateMs) this.counts.maxLateMs = late;
      this.next++;
      const tick = this.counts.ticks++;
      try {
        run(tick);
      } catch (error) {
        this.stop();
        throw error;
      }
    }
    if (run && this.onTick === run)
      this.timer = setTimeout(() => this.fire(), Math.max(0, this.due(this.next) - this.now()));
  }

  private due(index: number): number {
    return this.origin + index * this.periodMs;
  }
}
