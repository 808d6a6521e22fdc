/** The relay on real sockets (127.0.0.1): fan-out over WebSocket and data channel, admission, bad input, shedding. */
import assert from 'node:assert/strict';
import { generateIdentity } from '../crypto/identity.ts';
import {
  encodeRelay,
  MAX_FRAME_BYTES,
  mintRelayTicket,
  mintSilenceNotice,
  RELAY_TYPE,
} from '../protocol/relay.ts';
import { eventually } from '../web/core/testing.ts';
import { type StandaloneRelay, startRelay } from './server.ts';
import { RelayTestClient } from './test-client.ts';

const serverKey = generateIdentity();
const nowS = () => Math.floor(Date.now() / 1000);
const ticketFor = (user = generateIdentity(), channel = 'lounge', expiresAt = nowS() + 60, key = serverKey) =>
  mintRelayTicket(key.secretKey, { user: user.publicKey, channel, expiresAt });
const frame = (n: number, size = 120) => new Uint8Array(size).fill(n & 0xff);

describe('relay server', () => {
  let relay: StandaloneRelay;
  const clients: RelayTestClient[] = [];
  const join = async (channel = 'lounge') => {
    const c = await RelayTestClient.connect(relay.url, ticketFor(undefined, channel));
    clients.push(c);
    return c;
  };

  before(async () => {
    relay = await startRelay({
      host: '127.0.0.1',
      port: 0,
      serverKey: serverKey.publicKey,
      peer: { bindAddress: '127.0.0.1' },
      frameRate: { perSecond: 200, burst: 200 },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await relay.close();
    (await import('node-datachannel')).cleanup();
  });

  it('fans each frame out to the other two of three (two on WebSocket, one on a data channel), never back', async () => {
    const a = await join();
    const b = await join();
    const c = await join();
    await c.openDataChannel();
    await a.until(() => a.peers.size === 2, 2000, 'a to see two peers');
    assert.deepEqual([...c.peers.keys()].sort(), [a.slot, b.slot].sort(), 'c knows who is in each slot');
    for (let i = 0; i < 10; i++) {
      a.sendFrame(frame(i));
      b.sendFrame(frame(100 + i));
      c.sendFrame(frame(200 + i));
    }
    for (const [x, name] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
    ] as const)
      await x.until(() => x.received.length === 20, 5000, `${name} to receive 20 frames`);
    for (const x of [a, b, c]) {
      assert.ok(!x.received.some((r) => r.slot === x.slot), 'no one hears their own frames');
      for (const other of [a, b, c].filter((o) => o !== x)) {
        const from = x.received.filter((r) => r.slot === other.slot);
        assert.equal(from.length, 10, 'ten frames from each other member');
        assert.deepEqual(
          from.map((r) => r.seq).sort((p, q) => p - q),
          [...Array(10).keys()],
          'relay seq numbers 0..9 per sender',
        );
      }
    }
    assert.ok(
      c.received.every((r) => r.via === 'dc'),
      'the data-channel member receives over its data channel',
    );
    const fromC = a.received.filter((r) => r.slot === c.slot);
    assert.deepEqual(
      fromC.map((r) => r.frame).sort((p, q) => p[0]! - q[0]!),
      [...Array(10).keys()].map((i) => frame(200 + i)),
      'frames sent over the (unordered) data channel arrive unchanged',
    );
    const other = await join('elsewhere');
    a.sendFrame(frame(1));
    await b.until(() => b.received.length === 21, 2000, 'b to get one more');
    assert.equal(other.received.length, 0, 'another channel hears nothing');
    c.close();
    await a.until(() => a.peers.size === 1, 2000, 'a to see c gone');
  });

  it('refuses frames from a listen-only ticket (NOT_ALLOWED) and still forwards to it', async () => {
    const speaker = await join('quiet');
    const user = generateIdentity();
    const listener = await RelayTestClient.connect(
      relay.url,
      mintRelayTicket(serverKey.secretKey, {
        user: user.publicKey,
        channel: 'quiet',
        expiresAt: nowS() + 60,
        canSpeak: false,
      }),
    );
    clients.push(listener);
    listener.sendFrame(frame(1));
    await listener.until(
      () => listener.errors.includes('NOT_ALLOWED'),
      2000,
      'NOT_ALLOWED for a listener frame',
    );
    speaker.sendFrame(frame(2));
    await listener.until(() => listener.received.length === 1, 2000, 'the listener still hears');
    assert.equal(speaker.received.length, 0, 'nothing from the listen-only member reached the speaker');
  });

  it('takes a signed silence notice mid-call: the member is refused at once, on every connection and the next, until a newer notice lifts it', async () => {
    const muted = generateIdentity();
    const speaker = await RelayTestClient.connect(relay.url, ticketFor(muted, 'notices'));
    clients.push(speaker);
    const listener = await join('notices');
    const notice = (silenced: boolean, issuedAt: number, key = serverKey) =>
      encodeRelay.notice(mintSilenceNotice(key.secretKey, { user: muted.publicKey, silenced, issuedAt }));
    const heard = () => listener.received.filter((r) => r.slot === speaker.slot).length;
    /** Waits until the relay holds the newest notice (verified off the message path, so no reply says when). */
    const relayHolds = (silenced: boolean) =>
      eventually(() =>
        assert.equal(
          relay.relay.noticeSilences(muted.publicKey),
          silenced,
          `the relay took the notice: silenced ${silenced}`,
        ),
      );
    speaker.sendFrame(frame(1));
    await listener.until(() => heard() === 1, 2000, 'the speaker heard before the mute');
    const t0 = Date.now();
    listener.send(notice(true, t0)); // a listener hands it over; the muted member need not
    await relayHolds(true);
    speaker.sendFrame(frame(2));
    await speaker.until(() => speaker.errors.includes('NOT_ALLOWED'), 2000, 'NOT_ALLOWED once noticed');
    const again = await RelayTestClient.connect(relay.url, ticketFor(muted, 'notices')); // a may-speak ticket from before
    clients.push(again);
    again.sendFrame(frame(3));
    await again.until(() => again.errors.includes('NOT_ALLOWED'), 2000, 'a new connection is silenced too');
    assert.equal(heard(), 1, 'nothing after the notice reached the listener');

    listener.send(notice(false, t0 + 1));
    await relayHolds(false);
    listener.send(notice(true, t0)); // the old mute replayed after the unmute
    listener.send(notice(true, t0 + 2, generateIdentity())); // a forged one
    await listener.until(
      () => listener.errors.includes('AUTH_FAILED'),
      2000,
      'AUTH_FAILED for a forged notice',
    );
    speaker.sendFrame(frame(4));
    await listener.until(() => heard() === 2, 2000, 'the speaker is heard again after the unmute');
  });

  it('refuses forged, expired and malformed tickets with AUTH_FAILED and close 4401', async () => {
    const before = relay.relay.rejectionCount('AUTH_FAILED', 'BAD_SIGNATURE');
    const forged = await RelayTestClient.raw(
      relay.url,
      encodeRelay.hello(ticketFor(undefined, 'lounge', nowS() + 60, generateIdentity())),
    );
    const expired = await RelayTestClient.raw(
      relay.url,
      encodeRelay.hello(ticketFor(undefined, 'lounge', nowS() - 1)),
    );
    const junk = await RelayTestClient.raw(relay.url, new Uint8Array([RELAY_TYPE.HELLO, 1, 2, 3]));
    const frameFirst = await RelayTestClient.raw(relay.url, encodeRelay.frame(frame(1)));
    const garbage = await RelayTestClient.raw(relay.url, new Uint8Array([0xee, 0xee]));
    const text = await RelayTestClient.raw(relay.url, 'hello');
    for (const [c, name, code] of [
      [forged, 'forged', 4401],
      [expired, 'expired', 4401],
      [junk, 'malformed ticket', 4401],
      [frameFirst, 'frame before hello', 4401],
      [garbage, 'garbage before hello', 4400],
      [text, 'text frame', 4400],
    ] as const) {
      await c.until(() => c.closeCode !== undefined, 3000, `${name} to be closed`);
      assert.equal(c.closeCode, code, `${name}: close code`);
      if (code === 4401) assert.deepEqual(c.errors, ['AUTH_FAILED'], `${name}: typed ERROR before the close`);
    }
    assert.equal(relay.relay.rejectionCount('AUTH_FAILED', 'BAD_SIGNATURE'), before + 1, 'counted by reason');
    assert.equal(relay.relay.rejectionCount('AUTH_FAILED', 'EXPIRED'), 1);
    assert.equal(relay.relay.rejectionCount('AUTH_FAILED', 'BAD_TICKET'), 1);
  });

  it('answers garbage, oversized frames and a flood with typed errors while a good stream keeps flowing', async () => {
    const speaker = await join('abuse');
    const listener = await join('abuse');
    const abuser = await join('abuse');
    let good = 0;
    const timer = setInterval(() => speaker.sendFrame(frame(good++)), 20);
    try {
      abuser.send(new Uint8Array([0xee, 1, 2]));
      await abuser.until(() => abuser.errors.includes('BAD_MESSAGE'), 2000, 'BAD_MESSAGE for garbage');
      await new Promise((r) => setTimeout(r, 120));
      abuser.send(encodeRelay.frame(new Uint8Array(MAX_FRAME_BYTES + 1)));
      await abuser.until(() => abuser.errors.includes('TOO_LARGE'), 2000, 'TOO_LARGE for an oversized frame');
      assert.equal(abuser.closeCode, undefined, 'single bad messages do not end the connection');
      await new Promise((r) => setTimeout(r, 120));
      for (let i = 0; i < 2000; i++) abuser.sendFrame(frame(7));
      await abuser.until(() => abuser.closeCode !== undefined, 5000, 'the flooder to be closed');
      assert.ok(
        abuser.errors.includes('RATE_LIMITED'),
        `RATE_LIMITED before the close, got ${abuser.errors}`,
      );
      assert.equal(abuser.closeCode, 4429, 'close 4429 RATE_LIMITED');
      const fromAbuser = listener.received.filter((r) => r.slot === abuser.slot).length;
      assert.ok(fromAbuser <= 260, `about the burst got through (${fromAbuser})`);
      const sentByClose = good;
      await listener.until(
        () => listener.received.filter((r) => r.slot === speaker.slot).length >= sentByClose + 10,
        5000,
        'ten more good frames, sent after the flooder was closed',
      );
    } finally {
      clearInterval(timer);
    }
    await listener.until(
      () => listener.received.filter((r) => r.slot === speaker.slot).length === good,
      2000,
      'every good frame to arrive',
    );
    assert.ok(good > 10, 'the good stream ran through the abuse');
  });

  it('answers PING with PONG on the transport the ping took, and refuses a ping flood', async () => {
    const onSocket = await join('pings');
    onSocket.ping(0xfffffff0);
    await onSocket.until(() => onSocket.pongs.length === 1, 2000, 'a pong over the socket');
    assert.deepEqual(
      onSocket.pongs,
      [{ nonce: 0xfffffff0, via: 'ws' }],
      'the nonce comes back on the socket',
    );
    const onChannel = await join('pings');
    await onChannel.openDataChannel();
    onChannel.ping(7);
    await onChannel.until(() => onChannel.pongs.length === 1, 2000, 'a pong over the data channel');
    assert.deepEqual(
      onChannel.pongs,
      [{ nonce: 7, via: 'dc' }],
      'a ping on the data channel is answered there',
    );
    onSocket.send(new Uint8Array([RELAY_TYPE.PING, 1, 2]));
    await onSocket.until(() => onSocket.errors.includes('BAD_MESSAGE'), 2000, 'BAD_MESSAGE for a short ping');
    await new Promise((r) => setTimeout(r, 120)); // errors are sent at most every 100 ms
    for (let i = 0; i < 50; i++) onSocket.ping(i);
    await onSocket.until(
      () => onSocket.errors.includes('RATE_LIMITED'),
      2000,
      'RATE_LIMITED for a ping flood',
    );
    const answered = onSocket.pongs.length - 1;
    assert.ok(answered <= 6, `about the burst of pings is answered, not all 50 (${answered})`);
    assert.equal(
      onSocket.closeCode,
      undefined,
      'a ping flood costs strikes, it does not by itself end the call',
    );
  });

  it('refuses a socket past the per-IP cap with TOO_MANY_CONNECTIONS and close 4430, counted, until one leaves', async () => {
    const capped = await startRelay({
      host: '127.0.0.1',
      port: 0,
      serverKey: serverKey.publicKey,
      maxConnectionsPerIp: 2,
    });
    try {
      const a = await RelayTestClient.connect(capped.url, ticketFor());
      const b = await RelayTestClient.connect(capped.url, ticketFor());
      clients.push(a, b);
      const refused = await RelayTestClient.raw(capped.url, encodeRelay.hello(ticketFor()));
      clients.push(refused);
      await refused.until(() => refused.closeCode !== undefined, 3000, 'the third socket to be closed');
      assert.equal(refused.closeCode, 4430, 'close 4430 TOO_MANY_CONNECTIONS');
      assert.deepEqual(refused.errors, ['TOO_MANY_CONNECTIONS'], 'a typed ERROR before the close');
      assert.equal(refused.slot, -1, 'never joined, though its ticket was good');
      assert.equal(capped.relay.rejectionCount('TOO_MANY_CONNECTIONS', 'per-ip'), 1, 'counted by reason');
      assert.equal(capped.relay.clientCount, 2, 'the refused socket never became a connection');
      a.close();
      const deadline = Date.now() + 3000;
      while (capped.relay.clientCount > 1 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(capped.relay.clientCount, 1, 'the relay saw the first leave');
      const c = await RelayTestClient.connect(capped.url, ticketFor());
      clients.push(c);
      assert.ok(c.slot >= 0, 'a freed place takes a new socket');
      assert.equal(capped.relay.rejectionCount('TOO_MANY_CONNECTIONS', 'per-ip'), 1, 'and refuses no more');
    } finally {
      await capped.close();
    }
  });

  it('counts a loopback proxy’s clients by their X-Forwarded-For address, and no one else’s', async () => {
    const start = (trustedProxies?: string[]) =>
      startRelay({
        host: '127.0.0.1',
        port: 0,
        serverKey: serverKey.publicKey,
        maxConnectionsPerIp: 1,
        ...(trustedProxies ? { trustedProxies } : {}),
      });
    const via = (address: string) => ({ 'x-forwarded-for': address });
    const behindProxy = await start(); // default: loopback is a trusted proxy
    try {
      const a = await RelayTestClient.connect(behindProxy.url, ticketFor(), 5000, via('203.0.113.1'));
      const b = await RelayTestClient.connect(behindProxy.url, ticketFor(), 5000, via('203.0.113.2'));
      clients.push(a, b);
      assert.ok(a.slot >= 0 && b.slot >= 0, 'two clients behind one proxy each have their own place');
      await assert.rejects(
        RelayTestClient.connect(behindProxy.url, ticketFor(), 5000, via('203.0.113.1')),
        /TOO_MANY_CONNECTIONS/,
        'a second socket from 203.0.113.1 is past its cap',
      );
    } finally {
      await behindProxy.close();
    }
    const noProxy = await start([]);
    try {
      const a = await RelayTestClient.connect(noProxy.url, ticketFor(), 5000, via('203.0.113.1'));
      clients.push(a);
      await assert.rejects(
        RelayTestClient.connect(noProxy.url, ticketFor(), 5000, via('203.0.113.2')),
        /TOO_MANY_CONNECTIONS/,
        'trusting no proxy, the header changes nothing: both are 127.0.0.1',
      );
    } finally {
      await noProxy.close();
    }
  });

  it('caps 16 sockets per IP by default', async () => {
    const own = await startRelay({ host: '127.0.0.1', port: 0, serverKey: serverKey.publicKey });
    try {
      const held = await Promise.all(
        Array.from({ length: 16 }, () => RelayTestClient.raw(own.url, encodeRelay.hello(ticketFor()))),
      );
      clients.push(...held);
      for (const h of held) await h.until(() => h.slot >= 0, 3000, 'each of 16 to join');
      const one = await RelayTestClient.raw(own.url, encodeRelay.hello(ticketFor()));
      clients.push(one);
      await one.until(() => one.closeCode !== undefined, 3000, 'the 17th to be closed');
      assert.equal(one.closeCode, 4430, 'the 17th is refused');
    } finally {
      await own.close();
    }
  });

  it('sheds a receiver that stops reading without holding back the others', async () => {
    const fast = await startRelay({
      host: '127.0.0.1',
      port: 0,
      serverKey: serverKey.publicKey,
      frameRate: { perSecond: 1e6, burst: 1e6 },
      strikeRate: { perSecond: 1e6, burst: 1e6 },
      routes: { shedAfterMs: 300 },
    });
    try {
      const speaker = await RelayTestClient.connect(fast.url, ticketFor(undefined, 'big'));
      const reader = await RelayTestClient.connect(fast.url, ticketFor(undefined, 'big'));
      const stalled = await RelayTestClient.connect(fast.url, ticketFor(undefined, 'big'));
      clients.push(speaker, reader, stalled);
      let readerCount = 0;
      let worstGap = 0;
      let last = performance.now();
      reader.onForward = () => {
        readerCount++;
        const t = performance.now();
        worstGap = Math.max(worstGap, t - last);
        last = t;
      };
      (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      // ~14 MB/s for ~3 s: far past what the stalled socket's kernel buffers hold, and a
      // rate a reading client keeps up with even on a loaded 2-core CI machine.
      const total = 30_000;
      for (let sent = 0; sent < total; ) {
        for (let i = 0; i < 500; i++, sent++) speaker.sendFrame(frame(sent, MAX_FRAME_BYTES));
        await new Promise((r) => setTimeout(r, 50));
      }
      await reader.until(() => readerCount === total, 30_000, `the reader to get all ${total} frames`);
      const deadline = Date.now() + 3000;
      while (fast.relay.rejectionCount('SLOW_CONSUMER', 'shed') === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(fast.relay.rejectionCount('SLOW_CONSUMER', 'shed'), 1, 'the stalled receiver was shed');
      assert.ok(fast.relay.routes.totals.dropped > 0, 'its copies were dropped, counted');
      assert.equal(fast.relay.routes.members('big').length, 2, 'speaker and reader remain');
      assert.ok(
        worstGap < 1000,
        `the reader was never held up for long (worst gap ${worstGap.toFixed(0)} ms)`,
      );
    } finally {
      await fast.close();
    }
  });
});
