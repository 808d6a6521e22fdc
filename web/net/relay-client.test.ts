/**
 * RelayClient against a real signal server and its in-process relay, on loopback,
 * through `ws` (the browser's WebSocket has the same shape): admission with tickets
 * from `relay.ticket`, frames fanned out to the others with the sender's user id,
 * deafen (listen off) and back, a refused admission ending the client with its code,
 * and a dropped socket reconnecting by itself with a fresh ticket.
 *
 * Then against a standalone relay (tickets minted here with its server key), with
 * node-datachannel's RTCPeerConnection polyfill: voice moving onto data channels (the
 * relay's own counters say which transport each frame took); the voice staying on
 * the socket when a channel cannot open (no ICE path, or a relay that offers none)
 * or closes later; a dropped socket and a relay restart each negotiating a fresh
 * channel; and the relay's per-IP cap retried rather than taken as final.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, afterEach, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { RTCPeerConnection as PolyfillPeerConnection } from 'node-datachannel/polyfill';
import { WebSocket } from 'ws';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { mintRelayTicket } from '../../protocol/relay.ts';
import { type StandaloneRelay, startRelay, type TransportTotals } from '../../relay/server.ts';
import { connect, member, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { eventually } from '../core/testing.ts';
import { ReconnectPolicy } from './reconnect.ts';
import {
  type BinarySocket,
  PING_MS,
  RelayClient,
  type RelayClientOptions,
  type RelayTransport,
  SILENT_CHANNEL_PINGS,
} from './relay-client.ts';
import type { PeerConnectionFactory } from './relay-data-channel.ts';
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
    /** Waits until the relay has Carol's LISTEN: it forwards to her (`true`) or not. */
    const relayHearsCarol = (listening: boolean) =>
      eventually(() => {
        const carol = people[2]!.identity.publicKey;
        const at = t.server.relay!.routes.members(voice).filter((m) => Buffer.from(m.user).equals(carol));
        assert.ok(
          at.length > 0 && at.every((m) => m.listening === listening),
          `the relay has Carol listening: ${listening}`,
        );
      });
    c.listen(false);
    await relayHearsCarol(false);
    const carolHad = got.get(c)!.length;
    b.send(randomBytes(100));
    await eventually(() => assert.equal(got.get(a)!.length, 1, 'Alice hears Bob'));
    assert.equal(got.get(c)!.length, carolHad, 'deafened Carol gets nothing');
    c.listen(true);
    await relayHearsCarol(true);
    b.send(randomBytes(100));
    await eventually(() => assert.equal(got.get(c)!.length, carolHad + 1, 'Carol hears again'));
  });

  it('times the round trip to the relay once joined, and forgets it when closed', async () => {
    const client = await join(signals[0]!);
    await eventually(() => {
      const rtt = client.rttMs.value;
      assert.ok(rtt !== null && rtt >= 0 && rtt < 1000, `a round trip of a few ms on loopback, got ${rtt}`);
    });
    client.close();
    assert.equal(client.rttMs.value, null, 'no round trip shown once the client has left');
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

/** Whether a UDP socket can bind `address` here (IPv6 loopback is not everywhere). */
function canBind(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    udp.once('error', () => {
      udp.close();
      resolve(false);
    });
    udp.bind(0, address, () => {
      udp.close();
      resolve(true);
    });
  });
}

describe('RelayClient over WebRTC data channels to a standalone relay', () => {
  const serverKey = generateIdentity();
  let relay: StandaloneRelay;
  const clients: RelayClient[] = [];
  /** Every connection the factories made, to check what became of them. */
  const made: RTCPeerConnection[] = [];

  const start = (port = 0, extra: { maxConnectionsPerIp?: number } = {}) =>
    startRelay({
      host: '127.0.0.1',
      port,
      serverKey: serverKey.publicKey,
      peer: { bindAddress: '127.0.0.1' },
      ...extra,
    });
  /** What a Node client passes: node-datachannel's RTCPeerConnection. */
  const polyfill: PeerConnectionFactory = (config) => {
    // The polyfill implements RTCPeerConnection, but its event classes carry private fields the DOM's lack.
    const pc = new PolyfillPeerConnection(config) as unknown as RTCPeerConnection;
    made.push(pc);
    return pc;
  };
  const sockets: WebSocket[] = [];
  const socket = (url: string): BinarySocket => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets.push(ws);
    return ws as unknown as BinarySocket; // fits at runtime (as nodeSocket casts)
  };
  const join = async (extra: Partial<RelayClientOptions> = {}, on = () => relay): Promise<RelayClient> => {
    const user = generateIdentity();
    const client = await RelayClient.connect({
      admission: async () => ({
        ticket: toBase64url(
          mintRelayTicket(serverKey.secretKey, {
            user: user.publicKey,
            channel: 'lounge',
            expiresAt: Math.floor(Date.now() / 1000) + 60,
          }),
        ),
        url: on().url,
      }),
      socket,
      peerConnection: polyfill,
      policy: new ReconnectPolicy({ baseMs: 20, maxMs: 100 }),
      ...extra,
    });
    clients.push(client);
    return client;
  };
  /** Everything `to` hears from `from`, as the frames' first bytes (frames are numbered there). */
  const hearing = (to: RelayClient, from: RelayClient): number[] => {
    const heard: number[] = [];
    to.onFrame((frame, sender) => {
      if (sender.slot === from.slot.value) heard.push(frame[0]!);
    });
    return heard;
  };
  const numbered = (n: number) => new Uint8Array(100).fill(n);
  const sendAll = (client: RelayClient, count: number, base = 0) => {
    for (let i = 0; i < count; i++)
      assert.equal(client.send(numbered(base + i)), true, `frame ${base + i} goes out`);
  };
  const sorted = (xs: number[]) => [...xs].sort((p, q) => p - q);
  const range = (base: number, count: number) => Array.from({ length: count }, (_, i) => base + i);
  /** The relay's counters since `before`. */
  const since = (before: TransportTotals, now = relay.relay.transportTotals) => ({
    inWs: now.framesIn.ws - before.framesIn.ws,
    inDc: now.framesIn.dc - before.framesIn.dc,
    outWs: now.forwardsOut.ws - before.forwardsOut.ws,
    outDc: now.forwardsOut.dc - before.forwardsOut.dc,
  });
  const onDataChannel = (client: RelayClient, name: string) =>
    eventually(() =>
      assert.equal(client.transport.value, 'datachannel', `${name}'s voice is on the data channel`),
    );
  const record = (client: RelayClient): RelayTransport[] => {
    const seen: RelayTransport[] = [];
    client.transport.subscribe((t) => seen.push(t));
    return seen;
  };

  beforeEach(async () => {
    relay = await start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    made.length = 0;
    sockets.length = 0;
    await relay.close();
  });
  after(async () => {
    (await import('node-datachannel')).cleanup();
  });

  it('moves both ends onto data channels, and frames go both ways over them', async () => {
    const [a, b] = [await join(), await join()];
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows A'));
    const bHears = hearing(b, a);
    const aHears = hearing(a, b);
    // One frame each first: the relay forwards over a client's data channel once that
    // client's own traffic comes that way (its ping on open may still be on its way).
    sendAll(a, 1, 50);
    sendAll(b, 1, 150);
    await eventually(() => {
      assert.deepEqual(bHears, [50], 'B hears A’s first frame');
      assert.deepEqual(aHears, [150], 'A hears B’s first frame');
    });
    bHears.length = 0;
    aHears.length = 0;
    const before = relay.relay.transportTotals;
    sendAll(a, 20);
    sendAll(b, 10, 100);
    await eventually(() => {
      assert.deepEqual(sorted(bHears), range(0, 20), 'B hears all 20 of A’s frames, each once');
      assert.deepEqual(sorted(aHears), range(100, 10), 'A hears all 10 of B’s frames, each once');
    });
    assert.deepEqual(
      since(before),
      { inWs: 0, inDc: 30, outWs: 0, outDc: 30 },
      'the relay took every frame in and sent every copy out over data channels, none over a socket',
    );
    assert.equal(made.length, 2, 'one peer connection per client');
  });

  it('stays on the WebSocket when the data channel cannot open in time, and frames flow both ways', async (t: TestContext) => {
    if (!(await canBind('::1'))) {
      t.skip('no IPv6 loopback here to make an unreachable ICE path with');
      return;
    }
    const b = await join();
    await onDataChannel(b, 'B');
    // Bound to IPv6 loopback, this side can never reach the relay's IPv4 candidates: ICE checks
    // go nowhere and nothing fails, so only the timeout ends the attempt. (iceTransportPolicy
    // 'relay' would not do: node-datachannel gathers no candidates then, yet still connects
    // through peer-reflexive ones.)
    const v6only: PeerConnectionFactory = (config) =>
      polyfill({ ...config, bindAddress: '::1' } as RTCConfiguration); // a node-datachannel extension the polyfill passes on
    const timeoutMs = 600;
    const joinedAt = Date.now();
    const stuck = await join({
      peerConnection: v6only,
      dataChannelTimeoutMs: timeoutMs,
      iceServers: [{ urls: 'stun:127.0.0.1:9' }],
      iceTransportPolicy: 'all',
    });
    const seen = record(stuck);
    const pc = made.at(-1)!;
    assert.deepEqual(
      [pc.getConfiguration().iceServers, pc.getConfiguration().iceTransportPolicy],
      [[{ urls: ['stun:127.0.0.1:9'] }], 'all'],
      'the ICE options reached the connection',
    );
    await new Promise((r) => setTimeout(r, timeoutMs / 3));
    assert.notEqual(pc.connectionState, 'closed', 'the attempt is still on before the timeout');
    await eventually(() => assert.equal(pc.connectionState, 'closed', 'the attempt is torn down'), 3000);
    assert.ok(Date.now() - joinedAt >= timeoutMs, 'not before the timeout');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, [], 'the transport never left the WebSocket');
    assert.equal(stuck.transport.value, 'websocket', 'the voice stays on the WebSocket');
    assert.equal(stuck.status.value, 'joined', 'the call goes on');
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows the stuck client'));
    const bHears = hearing(b, stuck);
    const stuckHears = hearing(stuck, b);
    const before = relay.relay.transportTotals;
    sendAll(stuck, 10);
    sendAll(b, 10, 100);
    await eventually(() => {
      assert.deepEqual(sorted(bHears), range(0, 10), 'B hears the stuck client');
      assert.deepEqual(sorted(stuckHears), range(100, 10), 'the stuck client hears B');
    });
    assert.deepEqual(
      since(before),
      { inWs: 10, inDc: 10, outWs: 10, outDc: 10 },
      'the stuck client’s frames both ways took its socket, B’s its data channel',
    );
  });

  it('stays on the WebSocket with a relay that offers no data channels', async () => {
    const plain = await startRelay({
      host: '127.0.0.1',
      port: 0,
      serverKey: serverKey.publicKey,
      dataChannels: false,
    });
    try {
      const x = await join({ dataChannelTimeoutMs: 300 }, () => plain);
      const y = await join({ dataChannelTimeoutMs: 300 }, () => plain);
      const seen = [record(x), record(y)];
      await eventually(() => {
        assert.equal(made.length, 2, 'both tried');
        assert.ok(
          made.every((pc) => pc.connectionState === 'closed'),
          'both attempts were given up after the timeout',
        );
      }, 3000);
      assert.deepEqual(seen, [[], []], 'neither left the WebSocket');
      assert.ok(
        plain.relay.rejectionCount('NOT_ALLOWED', 'no data channels') >= 2,
        'the relay refused the offers',
      );
      assert.deepEqual(
        [x.status.value, y.status.value],
        ['joined', 'joined'],
        'the refusal did not end the call',
      );
      await eventually(() => assert.equal(y.peers.value.size, 1, 'y knows x'));
      const yHears = hearing(y, x);
      const xHears = hearing(x, y);
      sendAll(x, 10);
      sendAll(y, 10, 100);
      await eventually(() => {
        assert.deepEqual(sorted(yHears), range(0, 10), 'y hears x');
        assert.deepEqual(sorted(xHears), range(100, 10), 'x hears y');
      });
      assert.deepEqual(
        plain.relay.transportTotals,
        { framesIn: { ws: 20, dc: 0 }, forwardsOut: { ws: 20, dc: 0 } },
        'all over the sockets',
      );
    } finally {
      for (const c of clients.splice(0)) c.close();
      await plain.close();
    }
  });

  it('falls back to the WebSocket when an open data channel closes, without dropping the call', async () => {
    const [a, b] = [await join(), await join()];
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    const seen = record(a);
    made[0]!.close(); // A's connection goes away under it, as when its network path dies
    await eventually(() => assert.equal(a.transport.value, 'websocket', 'A is back on the WebSocket'), 3000);
    assert.deepEqual(seen, ['websocket'], 'the fallback shows in transport');
    assert.equal(a.status.value, 'joined', 'A never left the call');
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows A'));
    const bHears = hearing(b, a);
    const aHears = hearing(a, b);
    const before = relay.relay.transportTotals;
    // The relay learns of the closed channel over SCTP; until then a copy may still go to it.
    await eventually(() => {
      b.send(numbered(200));
      assert.ok(aHears.includes(200), 'A hears B again');
    }, 3000);
    sendAll(a, 10);
    await eventually(() => assert.deepEqual(sorted(bHears), range(0, 10), 'B hears A over its socket'));
    assert.equal(since(before).inWs, 10, 'A’s frames came in over its socket');
  });

  it('gives up an open data channel that goes silent, and the relay sends to the socket at once', async () => {
    const [a, b] = [await join(), await join()];
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows A'));
    // The path dies without a close reaching either end (UDP blocked mid-call), which
    // needs root and a network namespace to do for real: A's channel at the relay is
    // made a black hole, its sends dropped and what comes in ignored. Reaching into the
    // relay's private connections is the price of that.
    type Conn = {
      member?: { slot: number };
      peer?: { send(b: Uint8Array): boolean; events: { message(b: Uint8Array): void } };
    };
    const conns = (relay.relay as unknown as { connections: Set<Conn> }).connections;
    const atRelay = [...conns].find((c) => c.member?.slot === a.slot.value)?.peer;
    assert.ok(atRelay, 'A’s data channel at the relay');
    atRelay.send = () => true;
    atRelay.events.message = () => undefined;
    const seen = record(a);
    const aHears = hearing(a, b);
    await eventually(
      () => assert.equal(a.transport.value, 'websocket', 'A gave the silent channel up'),
      (SILENT_CHANNEL_PINGS + 2) * PING_MS,
    );
    assert.deepEqual(seen, ['websocket'], 'the move shows in transport');
    assert.equal(a.status.value, 'joined', 'A never left the call');
    await eventually(() => {
      b.send(numbered(50));
      assert.ok(aHears.includes(50), 'A hears B again, over its socket');
    }, 2 * PING_MS);
  });

  it('closes the data channel with a dropped socket, and negotiates a new one on the next', async () => {
    const [a, b] = [await join(), await join()];
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    const old = made[0]!;
    const onDrop: [RelayTransport, RTCPeerConnectionState][] = [];
    a.status.subscribe((s) => {
      if (s === 'reconnecting') onDrop.push([a.transport.value, old.connectionState]);
    });
    sockets[0]!.terminate();
    await eventually(() => assert.equal(a.stats.reconnects, 1, 'A reconnects'), 3000);
    assert.deepEqual(onDrop, [['websocket', 'closed']], 'the old channel went down with its socket, at once');
    await eventually(() => assert.equal(a.status.value, 'joined', 'A joined again'), 3000);
    await onDataChannel(a, 'A');
    assert.equal(made.length, 3, 'A made a new peer connection for its new socket');
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows A again'));
    const bHears = hearing(b, a);
    const before = relay.relay.transportTotals;
    sendAll(a, 10);
    await eventually(() => assert.deepEqual(sorted(bHears), range(0, 10), 'B hears A again'));
    assert.equal(since(before).inDc, 10, 'over A’s new data channel');
  });

  it('negotiates new data channels after a relay restart, and frames flow again', async () => {
    const [a, b] = [await join(), await join()];
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    const port = relay.port;
    const reconnects = a.stats.reconnects;
    const transportOnDrop: RelayTransport[] = [];
    a.status.subscribe((s) => {
      if (s === 'reconnecting') transportOnDrop.push(a.transport.value);
    });
    await relay.close();
    await eventually(() => assert.notEqual(a.status.value, 'joined', 'A sees the relay gone'), 3000);
    assert.deepEqual(transportOnDrop, ['websocket'], 'A’s data channel went down with its socket, at once');
    relay = await start(port);
    await eventually(() => assert.equal(a.status.value, 'joined', 'A joined the new relay'), 5000);
    await eventually(() => assert.equal(b.status.value, 'joined', 'B joined the new relay'), 5000);
    assert.ok(a.stats.reconnects > reconnects, 'A reconnected');
    await onDataChannel(a, 'A');
    await onDataChannel(b, 'B');
    assert.equal(made.length, 4, 'each client made a second peer connection');
    assert.ok(
      made.slice(0, 2).every((pc) => pc.connectionState === 'closed'),
      'the old connections were torn down',
    );
    await eventually(() => assert.equal(b.peers.value.size, 1, 'B knows A again'));
    const bHears = hearing(b, a);
    const before = relay.relay.transportTotals;
    sendAll(a, 10);
    await eventually(() => assert.deepEqual(sorted(bHears), range(0, 10), 'B hears A through the new relay'));
    assert.deepEqual(since(before), { inWs: 0, inDc: 10, outWs: 0, outDc: 10 }, 'over the new data channels');
  });

  it('takes the relay’s per-IP cap as “try again”, and joins once a place is free', async () => {
    const capped = await start(0, { maxConnectionsPerIp: 1 });
    try {
      const holder = await join({ peerConnection: undefined }, () => capped);
      const joining = join({ peerConnection: undefined }, () => capped);
      let settled = false;
      joining.then(
        () => (settled = true),
        () => (settled = true),
      );
      await eventually(
        () =>
          assert.ok(
            capped.relay.rejectionCount('TOO_MANY_CONNECTIONS', 'per-ip') >= 2,
            'the relay refused the second client more than once',
          ),
        3000,
      );
      assert.equal(settled, false, 'the second client is still trying');
      holder.close();
      const second = await joining;
      assert.equal(second.status.value, 'joined', 'the second client joined once the first left');
      assert.equal(second.error.value, undefined, 'the refusals did not end it');
    } finally {
      for (const c of clients.splice(0)) c.close();
      await capped.close();
    }
  });
});
