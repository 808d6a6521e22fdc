import { equal } from '../test/helpers/assert.ts';
import { KeyedBuckets, TokenBucket } from './rate-limit.ts';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    equal(b.take(0), true);
    equal(b.take(0), true);
    equal(b.take(0), true);
    equal(b.take(0), false, 'burst of 3 is spent');
    equal(b.take(50), false, 'half a token after 50 ms at 10/s');
    equal(b.take(100), true, 'a whole token after 100 ms');
    equal(b.take(100_000, 3), true, 'refill caps at the burst');
    equal(b.take(100_000), false, 'the burst was spent at once');
  });
});

describe('KeyedBuckets', () => {
  it('keeps one bucket per key and sweeps idle ones', () => {
    const k = new KeyedBuckets(1, 1);
    equal(k.take('a', 0), true);
    equal(k.take('a', 0), false);
    equal(k.take('b', 0), true, 'b has its own bucket');
    k.sweep(10_000);
    equal(k.size, 0, 'idle buckets are swept');
  });
});
