/**
 * Spaces requests out on the client, so a large upload or a page of images does not
 * run into the server's per-session rate limit (where every refused frame counts
 * towards a disconnect). A token bucket in its GCRA form: `burst` requests at once,
 * then one every `1000 / perSecond` ms. Time is injected for tests.
 */
export class Pacer {
  private readonly interval: number;
  private readonly tolerance: number;
  /** The theoretical arrival time of the next request (GCRA). */
  private tat = 0;

  constructor(
    perSecond: number,
    burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(perSecond > 0) || !Number.isInteger(burst) || burst < 1)
      throw new RangeError('a pacer needs a positive rate and a burst of at least 1');
    this.interval = 1000 / perSecond;
    this.tolerance = (burst - 1) * this.interval;
  }

  /** Milliseconds until the next request may go, booking it. */
  reserve(): number {
    const t = this.now();
    this.tat = Math.max(this.tat, t);
    const at = Math.max(t, this.tat - this.tolerance);
    this.tat += this.interval;
    return at - t;
  }

  /** Resolves when the next request may go. */
  wait(): Promise<void> {
    const delay = this.reserve();
    return delay <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, delay));
  }
}
