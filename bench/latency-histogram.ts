/**
 * A small mergeable latency histogram for the signal bench: 10 µs buckets below 1 ms,
 * 100 µs to 10 ms, 1 ms to 100 ms, 10 ms to 1 s, then one overflow bucket. Client
 * processes fill one each; the parent adds them up and reads percentiles (each the
 * upper edge of its bucket, so at most ~10% high).
 */

const EDGES = [
  { below: 1_000, base: 0, step: 10, first: 0 },
  { below: 10_000, base: 1_000, step: 100, first: 100 },
  { below: 100_000, base: 10_000, step: 1_000, first: 190 },
  { below: 1_000_000, base: 100_000, step: 10_000, first: 280 },
] as const;

export const BUCKETS = 371;

export function bucketOf(us: number): number {
  for (const e of EDGES) if (us < e.below) return e.first + Math.floor((us - e.base) / e.step);
  return BUCKETS - 1;
}

/** Upper edge of a bucket in microseconds. */
export function upperEdge(bucket: number): number {
  for (const e of EDGES) {
    const span = (e.below - e.base) / e.step;
    if (bucket < e.first + span) return e.base + (bucket - e.first + 1) * e.step;
  }
  return Number.POSITIVE_INFINITY;
}

export function merge(into: number[], from: readonly number[]): void {
  for (let i = 0; i < BUCKETS; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

/** The value under which `q` (0..1) of the samples fall, in microseconds; NaN when empty. */
export function percentile(hist: readonly number[], q: number): number {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= rank) return upperEdge(i);
  }
  return Number.POSITIVE_INFINITY;
}
