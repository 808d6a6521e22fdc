/**
 * RelayClient against a real signal server and its in-process relay, on loopback,
 * through `ws` (the browser's WebSocket has the same shape): admission with tickets
 * from `relay.ticket`, frames fanned out to the others with the sender's user id,
 * deafen (listen off) and back, a refused admission ending the client with its code,
 * and a dropped socket reconnecting by itself with a fresh ticket.
 */
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { randomBytes } from '../../crypto/bytes.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { connect, member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { eventually } from '../core/testing.ts';
import { ReconnectPolicy } from './reconnect.ts';
import { type BinarySocket, RelayClient } from './relay-client.ts';
import type { SignalClient } from './signal-client.ts';

describe('RelayClient through the in-process relay', () => {
  const people = ['alice', 'bob', 'carol'].map((n) => member(['member'], n));
  let t: TestServer;
  let voice: string;
  const signals: SignalClient[] = [];
  const relays: RelayClient[] = [];
  const sockets: WebSocket[] = [];

  const socket = (url: string): BinarySocket => {
    const ws = new WebSocket(new URL(url, t.server.url.replace(/^http/, 'ws')).toString(), {
      perMessageDeflate: false,
    });
    sockets.push(ws);
    return ws as unknown as BinarySocket; // ws's EventTarget methods fit at runtime (as nodeSocket casts)
  };

  const join = async (signal: SignalClient): Promise<RelayClient> => {
    await signal.request('voice.join', { channel: voice });
    const client = await RelayClient.connect({
      admission: async () => {
        const reply = await signal.request('relay.ticket', { channel: voice });
        return { ticket: reply.ticket as string, url: reply.url as string };
      },
      socket,
      policy: new ReconnectPolicy({ baseMs: 20, maxMs: 100 }),
    });
    relays.push(client);
    return client;
  };

  before(async () => {
    t = await startTestServer({ authorizedKeys: people.map((p) => p.line).join('') });
    voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!.id;
    for (const p of people) signals.push(await connect(t, p.identity));
  });
  after(async () => {
    for (const r of relays) r.close();
    for (const s of signals) s.close();
    await t.close();
  });

  it('fans a sealed frame out to the others, named by user id, never back to its sender', async () => {
    const [a, b, c] = [await join(signals[0]!), await join(signals[1]!), await join(signals[2]!)];
    await eventually(() =>
      assert.deepEqual(
        [...a.peers.value.values()].sort(),
        [people[1]!.key, people[2]!.key].sort(),
        'Alice knows Bob and Carol by their slots',
      ),
    );
    const got = new Map<RelayClient, { userId: string | undefined; seq: number; frame: Uint8Array }[]>();
    for (const r of [a, b, c]) {
      got.set(r, []);
      r.onFrame((frame, from) =>
        got.get(r)!.push({ userId: from.userId, seq: from.seq, frame: frame.slice() }),
      );
    }
    const frames = Array.from({ length: 20 }, () => randomBytes(120));
    for (const f of frames) assert.equal(a.send(f), true, 'a short buffer takes the frame');
    await eventually(() => {
      for (const r of [b, c]) assert.equal(got.get(r)!.length, 20, 'each listener gets all 20 frames');
    });
    for (const r of [b, c]) {
      const list = got.get(r)!;
      assert.ok(
        list.every((x) => x.userId === people[0]!.key),
        'every frame is named as Alice’s',
      );
      assert.deepEqual(
        list.map((x) => x.frame),
        frames,
        'frames arrive whole and in order',
      );
      assert.deepEqual(
        list.map((x) => x.seq),
        list.map((_, i) => list[0]!.seq + i),
        'the relay numbers them',
      );
    }
    assert.equal(got.get(a)!.length, 0, 'Alice gets nothing of her own');

    // Carol deafens: nothing more reaches her; undeafened, frames do again.
    c.listen(false);
    await new Promise((r) => setTimeout(r, 100));
    const carolHad = got.get(c)!.length;
    b.send(randomBytes(100));
    await eventually(() => assert.equal(got.get(a)!.length, 1, 'Alice hears Bob'));
    assert.equal(got.get(c)!.length, carolHad, 'deafened Carol gets nothing');
    c.listen(true);
    await new Promise((r) => setTimeout(r, 100));
    b.send(randomBytes(100));
    await eventually(() => assert.equal(got.get(c)!.length, carolHad + 1, 'Carol hears again'));
  });

  it('reconnects by itself with a fresh ticket when its socket drops, and frames flow again', async () => {
    const [a, b] = [relays[0]!, relays[1]!];
    const before = a.stats.reconnects;
    const aliceSocket = sockets[0]!;
    aliceSocket.terminate();
    await eventually(() => assert.equal(a.stats.reconnects, before + 1, 'one reconnect'));
    await eventually(() => assert.equal(a.status.value, 'joined', 'joined again'));
    let heard = 0;
    const off = b.onFrame((_f, from) => {
      if (from.userId === people[0]!.key) heard++;
    });
    await eventually(() => {
      a.send(randomBytes(80));
      assert.ok(heard > 0, 'Bob hears Alice after her reconnect');
    });
    off();
  });

  it('ends with the relay’s refusal for a forged ticket, and does not retry', async () => {
    await assert.rejects(
      RelayClient.connect({
        admission: async () => ({ ticket: 'AQ', url: '/relay' }),
        socket,
        policy: new ReconnectPolicy({ baseMs: 20, maxMs: 100 }),
      }),
      (e) => (e as ProtocolError).code === 'AUTH_FAILED',
      'a ticket the server never signed is AUTH_FAILED',
    );
  });
});
