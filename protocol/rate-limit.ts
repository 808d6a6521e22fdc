/** Token bucket: `rate` tokens per second, at most `burst` saved up. Time is injected. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `cost` tokens if available; returns false (taking none) when the bucket is short. */
  take(now: number, cost = 1): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}

/**
 * Buckets keyed by a string (an identity, an IP), dropped when idle long enough to
 * have refilled, so the map does not grow with every visitor ever seen.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; seen: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(key: string, now: number, cost = 1): boolean {
    let entry = this.buckets.get(key);
    if (!entry) {
      if (this.buckets.size > 100_000) this.sweep(now);
      entry = { bucket: new TokenBucket(this.rate, this.burst, now), seen: now };
      this.buckets.set(key, entry);
    }
    entry.seen = now;
    return entry.bucket.take(now, cost);
  }

  sweep(now: number): void {
    const idleMs = (this.burst / this.rate) * 1000;
    for (const [key, entry] of this.buckets) if (now - entry.seen > idleMs) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
