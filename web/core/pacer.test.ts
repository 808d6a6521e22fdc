/** The client-side pacing of blob requests, and the byte cache behind attachments. */
import assert from 'node:assert/strict';
import { ByteCache } from './byte-cache.ts';
import { Pacer } from './pacer.ts';

describe('pacer', () => {
  it('lets a burst through, then spaces requests at the rate', () => {
    let now = 1000;
    const pacer = new Pacer(10, 3, () => now);
    assert.deepEqual([pacer.reserve(), pacer.reserve(), pacer.reserve()], [0, 0, 0]);
    assert.equal(pacer.reserve(), 100);
    assert.equal(pacer.reserve(), 200);
    now += 1000; // idle: the burst is back
    assert.deepEqual([pacer.reserve(), pacer.reserve(), pacer.reserve(), pacer.reserve()], [0, 0, 0, 100]);
    assert.throws(() => new Pacer(0, 1), RangeError);
    assert.throws(() => new Pacer(1, 0), RangeError);
  });
});

describe('byte cache', () => {
  it('evicts the least recently used past its size and skips entries over a quarter of it', () => {
    const cache = new ByteCache(100);
    cache.set('a', new Uint8Array(25));
    cache.set('b', new Uint8Array(25));
    cache.set('c', new Uint8Array(25));
    cache.get('a');
    cache.set('d', new Uint8Array(25));
    cache.set('e', new Uint8Array(10));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.ok(cache.get('a') && cache.get('c') && cache.get('d') && cache.get('e'), 'the others stay');
    assert.equal(cache.bytes, 85);
    cache.set('big', new Uint8Array(26));
    assert.equal(cache.get('big'), undefined);
    cache.set('a', new Uint8Array(5));
    assert.equal(cache.bytes, 65);
  });
});
