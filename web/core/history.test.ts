/**
 * History's catch-up against a log whose `log.fetch` answers are released by the test:
 * the race the soak found (a pushed entry past a gap, while a catch-up is already in
 * flight and was answered before that entry existed) needs one ordering of two
 * replies, which a real server on loopback gives only now and then. The log itself is
 * an in-memory list with the server's seq and paging rules (signal/logs.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { History } from './history.ts';
import { type LogEntry, MemoryCache } from './local-cache.ts';

const entry = (seq: number): LogEntry => ({
  seq,
  kind: 'update',
  id: `m${seq}`,
  author: 'a',
  at: seq,
  blob: 'AA',
});

describe('history catch-up', () => {
  it('fetches again when a push past a gap arrives while a catch-up answered before it was in flight', async () => {
    const log: LogEntry[] = [entry(1)];
    const held: (() => void)[] = [];
    let holdNext = false;
    const seen: number[] = [];
    const history = new History({
      conversation: 'c',
      cache: new MemoryCache(),
      pageSize: 100,
      sink: async (entries) => {
        seen.push(...entries.map((e) => e.seq));
      },
      request: async (_type, fields) => {
        const after = Number(fields.after ?? 0);
        const before = Number(fields.before ?? Number.MAX_SAFE_INTEGER);
        // Answered now (the log as it is now), delivered when the test releases it.
        const entries = log.filter((e) => e.seq > after && e.seq < before).slice(-100);
        if (holdNext) {
          holdNext = false;
          await new Promise<void>((r) => held.push(r));
        }
        return { entries, hasOlder: false };
      },
    });
    await history.start(true);
    assert.deepEqual(seen, [1], 'the first page');
    // A reconnect starts a catch-up, answered while the log holds only seq 2.
    log.push(entry(2));
    holdNext = true;
    const reconnect = history.reconnected();
    await new Promise((r) => setTimeout(r, 10));
    // Seqs 3 and 4 are appended after that answer; the push of 4 (a gap past 1) arrives meanwhile.
    log.push(entry(3), entry(4));
    const push = history.live(entry(4));
    for (const release of held) release();
    await Promise.all([reconnect, push]);
    assert.deepEqual(
      [...new Set(seen)].sort((a, b) => a - b),
      [1, 2, 3, 4],
      'every entry reaches the sink: none is lost to the catch-up answered too early',
    );
  });
});
