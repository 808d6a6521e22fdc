/** The fan-out write path: frames made once, written to sockets directly, coalesced per tick, bounded. */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { connect, member, nextMessage, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import type { SignalClient } from '../web/net/signal-client.ts';
import { textFrame } from './session.ts';

/** ws's own framer (exported at runtime, absent from its types), as the second implementation. */
const { Sender } = (await import('ws')) as unknown as {
  Sender: { frame(data: Buffer, options: object): Buffer[] };
};

describe('textFrame', () => {
  it('matches ws framing at every length encoding (7-bit, 16-bit, 64-bit)', () => {
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70_000]) {
      const payload = Buffer.alloc(n, 0x61);
      const expected = Buffer.concat(
        Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }),
      );
      assert.deepEqual(textFrame(payload), expected, `payload of ${n} bytes`);
    }
  });
});

describe('session fan-out writes', () => {
  let t: TestServer;
  const alice = member(['admin'], 'alice');
  const bob = member(['member'], 'bob');
  const carol = member(['member'], 'carol');
  /** Fresh identities for the flood, each with its own per-identity burst of 100 frames. */
  const flooders = [1, 2, 3, 4].map((i) => member(['member'], `flooder${i}`));
  const clients: SignalClient[] = [];
  const sockets: WebSocket[] = [];
  const open = async (m: typeof alice) => {
    const c = await connect(t, m.identity, {
      socket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        return ws as never;
      },
    });
    clients.push(c);
    return c;
  };
  /** A round trip: frames sent before it have been handled. */
  const roundTrip = (c: SignalClient) => {
    const pong = nextMessage(c, 'pong');
    c.send({ type: 'ping' });
    return pong;
  };

  before(async () => {
    t = await startTestServer({
      authorizedKeys: [alice, bob, carol, ...flooders].map((m) => m.line).join(''),
      overrides: { maxSendQueueBytes: 256 * 1024 },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  it('delivers a burst in order and intact, large frames included', async () => {
    const a = await open(alice);
    const b = await open(bob);
    b.subscribe(['burst']);
    await roundTrip(b);
    const got: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      b.on('publish', (m) => {
        got.push(m.data);
        if (got.length === 92) resolve();
      });
    });
    const big = 'y'.repeat(60_000);
    a.publish('burst', { big: 'x'.repeat(300) });
    for (let i = 0; i < 90; i++) a.publish('burst', { i }); // within the per-identity burst of 100
    a.publish('burst', { big });
    await done;
    assert.deepEqual(got[0], { big: 'x'.repeat(300) });
    assert.deepEqual(
      got.slice(1, 91),
      Array.from({ length: 90 }, (_, i) => ({ i })),
    );
    assert.deepEqual(got[91], { big });
    await roundTrip(b); // frames written through ws itself still flow after the direct ones
  });

  it('disconnects a subscriber that stops reading (SLOW_CONSUMER) and keeps serving the rest', async () => {
    const publishers = await Promise.all(flooders.map((m) => open(m)));
    const slow = await open(carol);
    const fast = await open(bob);
    slow.subscribe(['flood']);
    fast.subscribe(['flood']);
    await roundTrip(slow);
    await roundTrip(fast);
    const slowSocket = (sockets.at(-2) as unknown as { _socket: Socket })._socket;
    slowSocket.pause(); // stops reading: the kernel buffers fill, then the server's queue grows
    const before = t.server.hub.metrics.value('tincan_rejections_total', { code: 'SLOW_CONSUMER' });
    const chunk = 'z'.repeat(60_000);
    let received = 0;
    fast.on('publish', () => {
      received++;
    });
    for (let i = 0; i < 95; i++) {
      for (const p of publishers) p.publish('flood', { i, chunk });
      await new Promise((r) => setTimeout(r, 5)); // lets the reading subscriber keep up
      if (t.server.hub.metrics.value('tincan_rejections_total', { code: 'SLOW_CONSUMER' }) > before) break;
    }
    assert.ok(
      t.server.hub.metrics.value('tincan_rejections_total', { code: 'SLOW_CONSUMER' }) > before,
      'expected the paused subscriber to be cut with SLOW_CONSUMER',
    );
    slowSocket.resume();
    await roundTrip(fast);
    assert.ok(received > 0, 'the subscriber that reads still gets the flood');
  });
});
