/** `relay.ticket` against a real server, and the in-process relay at `/relay` admitting what it mints. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { fromBase64url } from '../crypto/bytes.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { verifyRelayTicket, verifySilenceNotice } from '../protocol/relay.ts';
import { startRelay } from '../relay/server.ts';
import { RelayTestClient } from '../relay/test-client.ts';
import { connect, member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import { eventually } from '../web/core/testing.ts';
import { type BinarySocket, RelayClient } from '../web/net/relay-client.ts';
import type { SignalClient } from '../web/net/signal-client.ts';
import { relayUrl } from './requests/relay.ts';

const admin = member(['admin'], 'admin');
const bob = member(['member'], 'bob');
const carol = member(['member'], 'carol');
const codeOf = (e: unknown) => (e as ProtocolError).code;

describe('relay.ticket and the in-process relay', () => {
  let t: TestServer;
  const clients: SignalClient[] = [];
  const relayClients: RelayTestClient[] = [];
  let voice: string;
  let text: string;

  before(async () => {
    t = await startTestServer({ authorizedKeys: [admin, bob, carol].map((m) => m.line).join('') });
    voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!.id;
    text = t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
  });
  after(async () => {
    for (const c of relayClients) c.close();
    for (const c of clients) c.close();
    await t.close();
  });

  const open = async (m: typeof bob) => {
    const c = await connect(t, m.identity);
    clients.push(c);
    return c;
  };

  it('mints a ticket for the member and channel, signed by the server key, and a relay URL', async () => {
    const b = await open(bob);
    await b.request('voice.join', { channel: voice });
    const reply = await b.request('relay.ticket', { channel: voice });
    assert.equal(reply.url, '/relay', 'same origin by default');
    const r = verifyRelayTicket(fromBase64url(String(reply.ticket)), t.server.identity.publicKey, Date.now());
    assert.ok(r.ok, `the ticket verifies under the server key: ${JSON.stringify(r)}`);
    assert.deepEqual(r.ticket.user, bob.identity.publicKey);
    assert.equal(r.ticket.channel, voice);
    assert.equal(r.ticket.canSpeak, true, 'a member with speak gets a speaking ticket');
    assert.ok(r.ticket.expiresAt > Date.now() / 1000 && r.ticket.expiresAt === reply.expiresAt, 'expiry');
  });

  it('refuses unknown channels, text channels and locked channels the member is not in', async () => {
    const c = await open(carol);
    await assert.rejects(c.request('relay.ticket', { channel: 'nosuch' }), (e) => codeOf(e) === 'NOT_FOUND');
    await assert.rejects(c.request('relay.ticket', { channel: text }), (e) => codeOf(e) === 'CONFLICT');
    const a = await open(admin);
    const locked = await a.request('channel.create', {
      name: 'vip',
      kind: 'voice',
      settings: { locked: true },
    });
    await assert.rejects(
      c.request('relay.ticket', { channel: String(locked.channel) }),
      (e) => codeOf(e) === 'NOT_ALLOWED',
    );
    await assert.rejects(c.request('relay.ticket', {}), (e) => codeOf(e) === 'BAD_MESSAGE');
  });

  it('admits ticket holders at /relay on the signal port, forwards between them, and counts in /metrics', async () => {
    const url = `${t.wsUrl.replace(/\/ws$/, '')}/relay`;
    const tickets = await Promise.all(
      [bob, carol].map(async (m) => {
        const c = await open(m);
        const reply = await c.request('relay.ticket', { channel: voice });
        return fromBase64url(String(reply.ticket));
      }),
    );
    const [b, c] = await Promise.all(tickets.map((tk) => RelayTestClient.connect(url, tk)));
    relayClients.push(b!, c!);
    await b!.until(() => b!.peers.size === 1, 2000, 'b to see c');
    assert.deepEqual(b!.peers.get(c!.slot), carol.identity.publicKey, 'the slot maps to the ticket holder');
    b!.sendFrame(new Uint8Array([1, 2, 3]));
    await c!.until(() => c!.received.length === 1, 2000, 'c to get the frame');
    assert.deepEqual(c!.received[0]!.frame, new Uint8Array([1, 2, 3]));
    const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
    assert.match(metrics, /tincan_relay_frames\{result="forwarded"\} 1/, 'relay counters in /metrics');
    assert.match(metrics, /tincan_relay_clients 2/);
  });

  it('a server mute given mid-call stops the relay forwarding the member at once; lifting it lets them speak again', async () => {
    const url = `${t.wsUrl.replace(/\/ws$/, '')}/relay`;
    const channel = await (await open(admin)).request('channel.create', { name: 'mute-room', kind: 'voice' });
    const id = String(channel.channel);
    const [b, c] = await Promise.all(
      [bob, carol].map(async (m) => {
        const conn = await open(m);
        const reply = await conn.request('relay.ticket', { channel: id });
        const rc = await RelayTestClient.connect(url, fromBase64url(String(reply.ticket)));
        relayClients.push(rc);
        return rc;
      }),
    );
    await b!.until(() => b!.peers.size === 1, 2000, 'bob to see carol');
    b!.sendFrame(new Uint8Array([1]));
    await c!.until(() => c!.received.length === 1, 2000, 'carol hears bob before the mute');
    const a = await open(admin);
    await a.request('member.mute', { member: bob.key, muted: true });
    b!.sendFrame(new Uint8Array([2]));
    await b!.until(() => b!.errors.includes('NOT_ALLOWED'), 2000, 'bob told NOT_ALLOWED on the same ticket');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c!.received.length, 1, 'nothing from the muted bob reached carol');
    await a.request('member.mute', { member: bob.key, muted: false });
    b!.sendFrame(new Uint8Array([3]));
    await c!.until(() => c!.received.length === 2, 2000, 'carol hears bob again once unmuted');
    assert.deepEqual(c!.received[1]!.frame, new Uint8Array([3]), 'the frame after the unmute');
  });

  it('builds the relay URL from the public URL', () => {
    assert.equal(relayUrl('https://chat.example.org/x?y'), 'wss://chat.example.org/relay');
    assert.equal(relayUrl('http://10.0.0.1:8080'), 'ws://10.0.0.1:8080/relay');
  });
});

describe('a standalone relay and mid-call mutes', () => {
  it('hears of a mute through a member’s client (a signed notice) and refuses the member at once; the unmute lets them speak', async () => {
    const members = [admin, bob, carol];
    // The relay's port must be known before the server that points at it: a first
    // server lends its identity's public key, then the one under test shares its data.
    const dataDir = await mkdtemp(join(tmpdir(), 'tincan-notice-'));
    const authorizedKeys = members.map((m) => m.line).join('');
    const probe = await startTestServer({ authorizedKeys, dataDir });
    const serverKey = probe.server.identity.publicKey;
    await probe.close();
    const relay = await startRelay({
      host: '127.0.0.1',
      port: 0,
      serverKey,
      peer: { bindAddress: '127.0.0.1' },
    });
    const t = await startTestServer({
      authorizedKeys,
      dataDir,
      overrides: { relay: relay.url.replace(/^ws/, 'http').replace(/\/relay$/, '') },
    });
    const sockets: RelayClient[] = [];
    try {
      assert.equal(
        t.server.relay,
        undefined,
        'no in-process relay: only notices can reach the standalone one',
      );
      const voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!.id;
      const join = async (m: typeof bob) => {
        const conn = await connect(t, m.identity);
        await conn.request('voice.join', { channel: voice });
        const client = await RelayClient.connect({
          admission: async () => {
            const reply = await conn.request('relay.ticket', { channel: voice });
            return { ticket: String(reply.ticket), url: String(reply.url) };
          },
          socket: (url) => new WebSocket(url) as unknown as BinarySocket, // ws fits at runtime
        });
        sockets.push(client);
        // What the app does (server-view.ts → voice-call.ts relayNotice): every notice to the relay.
        conn.on('relay.notice', (m) => client.notice(fromBase64url(String(m.notice))));
        return { conn, client };
      };
      const b = await join(bob);
      const c = await join(carol);
      const heard: number[] = [];
      c.client.onFrame((frame) => heard.push(frame[0]!));
      await eventually(() => assert.equal(b.client.peers.value.size, 1, 'bob sees carol at the relay'));
      b.client.send(new Uint8Array([1]));
      await eventually(() => assert.deepEqual(heard, [1], 'carol hears bob before the mute'));
      const notices: string[] = [];
      c.conn.on('relay.notice', (m) => notices.push(String(m.notice)));
      /** Waits until a client has handed the relay the newest notice about Bob and it took it. */
      const relayHolds = (silenced: boolean) =>
        eventually(() =>
          assert.equal(
            relay.relay.noticeSilences(bob.identity.publicKey),
            silenced,
            `the relay took the notice: Bob silenced ${silenced}`,
          ),
        );
      const a = await connect(t, admin.identity);
      await a.request('member.mute', { member: bob.key, muted: true });
      await eventually(() => assert.equal(notices.length, 1, 'carol, in the voice channel, got the notice'));
      const checked = await verifySilenceNotice(fromBase64url(notices[0]!), serverKey, Date.now());
      assert.ok(checked.ok && checked.notice.silenced, 'it is signed by the server and says silenced');
      await relayHolds(true);
      b.client.send(new Uint8Array([2]));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(heard, [1], 'the relay refused the muted bob on the ticket he already had');
      await a.request('member.mute', { member: bob.key, muted: false });
      await eventually(() => assert.equal(notices.length, 2, 'the unmute is a notice too'));
      await relayHolds(false);
      b.client.send(new Uint8Array([3]));
      await eventually(() => assert.deepEqual(heard, [1, 3], 'carol hears bob again once unmuted'));
      a.close();
      b.conn.close();
      c.conn.close();
    } finally {
      for (const s of sockets) s.close();
      await t.close();
      await relay.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('where the relay is: standalone, or none', () => {
  for (const [relay, expect] of [
    ['https://relay.example.org', { relay: true, url: 'wss://relay.example.org/relay' }],
    ['off', { relay: false, url: undefined }],
  ] as const) {
    it(`relay = "${relay}": no relay in this process; voice.join and relay.ticket say where (or that there is none)`, async () => {
      const t = await startTestServer({ authorizedKeys: bob.line, overrides: { relay } });
      try {
        assert.equal(t.server.relay, undefined, 'no in-process relay');
        const voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!.id;
        const b = await connect(t, bob.identity);
        const joined = await b.request('voice.join', { channel: voice });
        assert.equal(joined.relay, expect.relay, 'voice.join says whether members have a relay');
        if (expect.url) {
          const reply = await b.request('relay.ticket', { channel: voice });
          assert.equal(reply.url, expect.url, 'tickets point at the standalone relay');
        } else {
          await assert.rejects(
            b.request('relay.ticket', { channel: voice }),
            (e) => codeOf(e) === 'NOT_FOUND',
          );
        }
        b.close();
      } finally {
        await t.close();
      }
    });
  }
});
