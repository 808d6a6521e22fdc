/** The IndexedDB LocalCache in Chromium, against the same behaviour as the core's MemoryCache. */
import { expect } from '@open-wc/testing';
import type { LogEntry } from '../core/local-cache.ts';
import { MemoryCache } from '../core/local-cache.ts';
import { deleteDatabase } from './idb.ts';
import { IndexedDbCache, lazyCache } from './local-cache.ts';

function entry(seq: number, blob = `b${seq}`): LogEntry {
  return { seq, kind: 'update', id: `i${seq}`, author: 'a', at: 1000 + seq, blob };
}

let counter = 0;

describe('IndexedDbCache', () => {
  let name: string;
  let cache: IndexedDbCache;
  beforeEach(async () => {
    name = `tincan-cache-test-${Date.now()}-${counter++}`;
    cache = await IndexedDbCache.open(name, { maxEntries: 50 });
  });
  afterEach(async () => {
    cache.close();
    await deleteDatabase(name);
  });

  it('returns a conversation’s entries in seq order, keeps the first copy of a seq, isolates conversations', async () => {
    await cache.putEntries('general', [entry(3), entry(1), entry(2)]);
    await cache.putEntries('general', [entry(2, 'changed'), entry(4)]);
    await cache.putEntries('random', [entry(1, 'other')]);
    const general = await cache.entries('general');
    expect(general.map((e) => e.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(general[1]!.blob).to.equal('b2');
    expect(general[0]).to.deep.equal(entry(1));
    expect((await cache.entries('random')).map((e) => e.blob)).to.deep.equal(['other']);
    expect(await cache.entries('nothing')).to.deep.equal([]);
  });

  it('behaves like MemoryCache', async () => {
    const memory = new MemoryCache();
    for (const batch of [[entry(5), entry(1)], [entry(1, 'dup'), entry(9)], [entry(2)]]) {
      await cache.putEntries('c', batch);
      await memory.putEntries('c', batch);
    }
    expect(await cache.entries('c')).to.deep.equal(await memory.entries('c'));
    const cursor = { oldest: 1, newest: 9, hasOlder: true };
    await cache.setCursor('c', cursor);
    await memory.setCursor('c', cursor);
    expect(await cache.cursor('c')).to.deep.equal(await memory.cursor('c'));
    expect(await cache.cursor('none')).to.equal(await memory.cursor('none'));
    const value = { pinned: ['k1'], n: 2, nested: { ok: true } };
    await cache.putSetting('names', value);
    await memory.putSetting('names', value);
    expect(await cache.getSetting('names')).to.deep.equal(await memory.getSetting('names'));
    expect(await cache.getSetting('missing')).to.equal(undefined);
  });

  it('drops the oldest entries past the cap', async () => {
    await cache.putEntries(
      'c',
      Array.from({ length: 40 }, (_, i) => entry(i + 1)),
    );
    await cache.putEntries(
      'c',
      Array.from({ length: 30 }, (_, i) => entry(i + 41)),
    );
    const kept = await cache.entries('c');
    expect(kept).to.have.length(50);
    expect(kept[0]!.seq).to.equal(21);
    expect(kept.at(-1)!.seq).to.equal(70);
  });

  it('pages backwards from a seq, newest first', async () => {
    await cache.putEntries(
      'c',
      Array.from({ length: 30 }, (_, i) => entry(i + 1)),
    );
    expect((await cache.page('c', 11, 4)).map((e) => e.seq)).to.deep.equal([10, 9, 8, 7]);
    expect((await cache.page('c', 3, 10)).map((e) => e.seq)).to.deep.equal([2, 1]);
  });

  it('survives reopening', async () => {
    await cache.putEntries('c', [entry(1)]);
    await cache.setCursor('c', { oldest: 1, newest: 1, hasOlder: false });
    cache.close();
    cache = await IndexedDbCache.open(name);
    expect(await cache.entries('c')).to.deep.equal([entry(1)]);
    expect(await cache.cursor('c')).to.deep.equal({ oldest: 1, newest: 1, hasOlder: false });
  });

  it('opens lazily for the core’s synchronous cacheFor(slot)', async () => {
    await cache.putEntries('c', [entry(7)]);
    cache.close();
    const lazy = lazyCache(name);
    expect(await lazy.entries('c')).to.deep.equal([entry(7)]);
    await lazy.putSetting('x', 1);
    expect(await lazy.getSetting('x')).to.equal(1);
    cache = await IndexedDbCache.open(name);
  });
});
