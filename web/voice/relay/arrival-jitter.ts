/**
 * Interarrival jitter of one relay sender's frames, as RTP receivers estimate it
 * (RFC 3550 §6.4.1): for consecutive frames i−1, i the transit difference is
 * D = (arrival_i − arrival_{i−1}) − (counter_i − counter_{i−1}) × 20 ms, and the
 * estimate moves 1/16 of the way towards |D| each frame. Pure and clock-free: the
 * caller gives arrival times (ms). A gap longer than `PAUSE_MS` (a talk-spurt pause,
 * a mute) starts over, so silence between words is not counted as jitter, and a
 * frame older than the last one (reordered) is skipped.
 */
const FRAME_MS = 20;
const GAIN = 1 / 16;
const PAUSE_MS = 200;

export class ArrivalJitter {
  private last: { counter: number; at: number } | undefined;
  private estimate: number | null = null;

  /** One frame, with its counter and when it arrived (ms). */
  arrived(counter: number, atMs: number): void {
    const last = this.last;
    if (last && counter <= last.counter) return;
    this.last = { counter, at: atMs };
    if (!last || atMs - last.at > PAUSE_MS) return;
    const d = atMs - last.at - (counter - last.counter) * FRAME_MS;
    this.estimate =
      this.estimate === null ? Math.abs(d) : this.estimate + GAIN * (Math.abs(d) - this.estimate);
  }

  /** The estimate in ms, null before two frames in a row have arrived. */
  get ms(): number | null {
    return this.estimate;
  }

  reset(): void {
    this.last = undefined;
  }
}
