import assert from 'node:assert/strict';
import { parseServerRelayMessage } from '../protocol/relay.ts';
import { type Member, Routes, type Sink } from './routes.ts';

class FakeSink implements Sink {
  sent: Uint8Array[] = [];
  pending = 0;
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
  }
  buffered(): number {
    return this.pending;
  }
}

const key = (n: number) => new Uint8Array(33).fill(n);
const frame = (n: number) => new Uint8Array([n, n, n]);

function forwarded(sink: FakeSink): { slot: number; seq: number; first: number }[] {
  return sink.sent.map((b) => {
    const m = parseServerRelayMessage(b);
    assert.ok(m.type === 'forward', `expected a forward, got ${m.type}`);
    return { slot: m.slot, seq: m.seq, first: m.frame[0]! };
  });
}

describe('relay routes', () => {
  it('sends each frame to every other listening member of the channel, with per-sender seq', () => {
    const routes = new Routes();
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink(), new FakeSink()];
    const a = routes.join('c1', key(1), sinks[0]!).member;
    const b = routes.join('c1', key(2), sinks[1]!).member;
    const c = routes.join('c1', key(3), sinks[2]!).member;
    routes.join('c2', key(4), sinks[3]!);
    assert.deepEqual([a.slot, b.slot, c.slot], [0, 1, 2]);
    routes.forward(a, frame(1), 0);
    routes.forward(a, frame(2), 0);
    routes.forward(b, frame(9), 0);
    assert.deepEqual(forwarded(sinks[0]!), [{ slot: 1, seq: 0, first: 9 }], 'a hears b only, never itself');
    assert.deepEqual(forwarded(sinks[1]!), [
      { slot: 0, seq: 0, first: 1 },
      { slot: 0, seq: 1, first: 2 },
    ]);
    assert.equal(forwarded(sinks[2]!).length, 3, 'c hears both');
    assert.equal(sinks[3]!.sent.length, 0, 'another channel hears nothing');
    assert.deepEqual(a.stats, { received: 2, forwarded: 4, dropped: 0, late: 0 });
    assert.ok(sinks[1]!.sent[0] === sinks[2]!.sent[0], 'one buffer per frame, shared by all receivers');
  });

  it('skips members who are not listening and reuses the lowest free slot', () => {
    const routes = new Routes();
    const s = [new FakeSink(), new FakeSink(), new FakeSink()];
    const a = routes.join('c', key(1), s[0]!).member;
    const b = routes.join('c', key(2), s[1]!).member;
    b.listening = false;
    routes.forward(a, frame(1), 0);
    assert.equal(s[1]!.sent.length, 0, 'a deafened member gets nothing');
    routes.leave(a);
    assert.equal(routes.join('c', key(3), s[2]!).member.slot, 0, 'slot 0 is free again');
  });

  it('queues for a backed-up receiver, drops late frames, sheds it, and never holds the others', () => {
    const shed: Member[] = [];
    const routes = new Routes({ maxBufferedBytes: 100, queueFrames: 4, lateMs: 50, shedAfterMs: 500 }, (m) =>
      shed.push(m),
    );
    const fast = new FakeSink();
    const slow = new FakeSink();
    const a = routes.join('c', key(1), new FakeSink()).member;
    routes.join('c', key(2), fast);
    const slowMember = routes.join('c', key(3), slow).member;
    slow.pending = 1000;
    for (let i = 0; i < 10; i++) routes.forward(a, frame(i), i);
    assert.equal(fast.sent.length, 10, 'the fast receiver got every frame at once');
    assert.equal(slow.sent.length, 0);
    assert.equal(a.stats.dropped, 6, 'a queue of 4: six copies fell out');
    slow.pending = 0;
    routes.flush(20);
    assert.deepEqual(
      forwarded(slow).map((f) => f.seq),
      [6, 7, 8, 9],
      'the newest four arrive once it drains, seq shows the gap',
    );
    slow.pending = 1000;
    routes.forward(a, frame(10), 100);
    routes.flush(200);
    assert.equal(a.stats.late, 1, 'a frame that waited past lateMs is dropped as late');
    routes.forward(a, frame(11), 300);
    routes.flush(550);
    assert.equal(shed.length, 0, 'not yet shed: backed up since 100, for 450 ms');
    assert.equal(a.stats.late, 2, 'frame 11 waited too long as well');
    routes.flush(700);
    assert.deepEqual(shed, [slowMember], 'shed after 600 ms backed up');
    assert.equal(routes.totals.shed, 1);
    assert.equal(routes.members('c').length, 2);
    routes.forward(a, frame(12), 701);
    assert.equal(fast.sent.length, 13, 'the fast receiver kept getting every frame');
    const t = routes.totals;
    assert.equal(t.received, 13);
    assert.equal(
      t.forwarded + t.dropped + t.late,
      13 * 2 - 1,
      'every copy is accounted for (one sent after shed)',
    );
  });
});
