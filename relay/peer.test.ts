/**
 * The relay's data channels as a self-hoster's network needs them (real
 * node-datachannel on loopback): every client's channel on a port of a given range, so
 * a firewall needs one rule; and, behind a 1:1 NAT, the announced address offered once
 * beside the relay's own (relay/announce.ts). Reaching it through a real 1:1 NAT is
 * not tested here: see the announce test's comment.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as pathJoin } from 'node:path';
import { toBase64url } from '../crypto/bytes.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { mintRelayTicket } from '../protocol/relay.ts';
import { startServer } from '../signal/server.ts';
import { freePort } from '../test/helpers/coturn.ts';
import { announcedTwin, announceInSdp } from './announce.ts';
import { relayCommand } from './cli.ts';
import { type StandaloneRelay, startRelay } from './server.ts';
import { RelayTestClient } from './test-client.ts';

const serverKey = generateIdentity();
const ticket = () =>
  mintRelayTicket(serverKey.secretKey, {
    user: generateIdentity().publicKey,
    channel: 'lounge',
    expiresAt: Math.floor(Date.now() / 1000) + 60,
  });
const frame = (n: number) => new Uint8Array(80).fill(n);
const parts = (candidate: string) => {
  const [, , , , address, port, , type] = candidate.replace(/^a=/, '').split(' ');
  return { address: address!, port: Number(port), type: type! };
};

describe('relay data channels for a self-hoster’s network', () => {
  const relays: StandaloneRelay[] = [];
  const clients: RelayTestClient[] = [];
  const start = async (peer: NonNullable<Parameters<typeof startRelay>[0]['peer']>) => {
    const relay = await startRelay({ host: '127.0.0.1', port: 0, serverKey: serverKey.publicKey, peer });
    relays.push(relay);
    return relay;
  };
  /**
   * A client with its data channel open. On a machine loaded past its cores a channel
   * sometimes never opens (seen with a port range, with ICE UDP mux, and in the relay
   * bench; the app then stays on the WebSocket): a fresh client tries once more, since
   * these tests are about the ports and addresses offered, not about ICE under load.
   */
  const joinOnChannel = async (relay: StandaloneRelay) => {
    for (let attempt = 1; ; attempt++) {
      const c = await RelayTestClient.connect(relay.url, ticket());
      clients.push(c);
      try {
        await c.openDataChannel();
        return c;
      } catch (error) {
        c.close();
        if (attempt === 2) throw error;
        console.error(
          `peer.test: a data channel did not open, trying a fresh client: ${(error as Error).message}`,
        );
      }
    }
  };
  after(async () => {
    for (const c of clients) c.close();
    for (const r of relays) await r.close();
    (await import('node-datachannel')).cleanup();
  });

  it('puts every client’s data channel on a port of the range it is given, and frames flow over them', async () => {
    const low = await freePort();
    const [begin, end] = [low, Math.min(65535, low + 49)];
    const relay = await start({ bindAddress: '127.0.0.1', portRangeBegin: begin, portRangeEnd: end });
    const [a, b, c] = [await joinOnChannel(relay), await joinOnChannel(relay), await joinOnChannel(relay)];
    const portOf = (x: RelayTestClient) => {
      const hosts = x.relayCandidates.map(parts).filter((p) => p.type === 'host');
      assert.ok(hosts.length > 0, `the relay offered host candidates: ${x.relayCandidates.join(' | ')}`);
      for (const h of hosts)
        assert.ok(
          h.port >= begin && h.port <= end,
          `every host candidate of the relay is in UDP ${begin}-${end}: ${x.relayCandidates.join(' | ')}`,
        );
      return hosts[0]!.port;
    };
    assert.equal(new Set([a, b, c].map(portOf)).size, 3, 'a port of its own for each client');
    a.sendFrame(frame(1));
    for (const x of [b, c])
      await x.until(() => x.received.length === 1, 5000, 'the frame over their data channels');
    assert.deepEqual(
      [b, c].map((x) => x.received[0]!.via),
      ['dc', 'dc'],
      'forwarded over the data channels, not the sockets',
    );
    assert.equal(relay.relay.transportTotals.framesIn.dc, 1, 'and it came in over one');
  });

  it('announces the address behind a 1:1 NAT once per port, beside its own', async () => {
    // Offered, not dialled: a loopback stand-in for the NAT cannot be. The relay's wildcard
    // socket answers a check sent to 127.0.0.2 from 127.0.0.1 (the kernel's pick), which a
    // real NAT would rewrite to the public address, so only a peer-reflexive race connected.
    const announcedIp = '203.0.113.10';
    const relay = await start({ bindAddress: '127.0.0.1', announcedIp });
    const a = await joinOnChannel(relay);
    const b = await joinOnChannel(relay);
    for (const x of [a, b]) {
      const own = x.relayCandidates.map(parts).filter((p) => p.address === '127.0.0.1');
      const announced = x.relayCandidates.map(parts).filter((p) => p.address === announcedIp);
      assert.deepEqual(
        announced,
        own.map((p) => ({ ...p, address: announcedIp })),
        `the relay announced ${announcedIp} once per port of its own: ${x.relayCandidates.join(' | ')}`,
      );
      assert.ok(
        x.relayCandidates.some((c) => parts(c).address !== announcedIp),
        'and kept its own addresses for clients on its network',
      );
    }
    a.sendFrame(frame(2));
    await b.until(() => b.received.length === 1, 5000, 'a frame, the announced address beside the others');
    assert.equal(b.received[0]!.via, 'dc', 'over the data channel');
    assert.equal(relay.relay.transportTotals.framesIn.dc, 1, 'in over the data channel too');
  });

  it('takes [relay] udp_ports and announced_ip from the server’s tincan.toml for its in-process relay', async () => {
    const dir = await mkdtemp(pathJoin(tmpdir(), 'tincan-relay-udp-'));
    try {
      await writeFile(
        pathJoin(dir, 'tincan.toml'),
        '[relay]\nudp_ports = [10000, 10099]\nannounced_ip = "203.0.113.10"\n',
      );
      const server = await startServer({
        host: '127.0.0.1',
        port: 0,
        dataDir: dir,
        webDir: dir,
        log: { info: () => {}, warn: () => {} },
      });
      try {
        assert.deepEqual(server.relay?.options.peer, {
          portRangeBegin: 10000,
          portRangeEnd: 10099,
          announcedIp: '203.0.113.10',
        });
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tincan relay refuses bad --udp-ports or --announced-ip with a usage error', async () => {
    const usage = (message: string) => new Error(`usage: ${message}`);
    const key = toBase64url(serverKey.publicKey);
    await assert.rejects(
      relayCommand(['--server-key', key, '--udp-ports', '10000-70000'], usage),
      /usage: invalid --udp-ports: 10000-70000/,
    );
    await assert.rejects(
      relayCommand(['--server-key', key, '--udp-ports', '10099-10000'], usage),
      /usage: invalid --udp-ports: 10099-10000/,
    );
    await assert.rejects(
      relayCommand(['--server-key', key, '--udp-ports', '10000'], usage),
      /usage: invalid --udp-ports: 10000 \(LOW-HIGH\)/,
    );
    await assert.rejects(
      relayCommand(['--server-key', key, '--announced-ip', 'relay.example.org'], usage),
      /usage: --announced-ip relay.example.org: not an IP address/,
    );
  });

  it('gives each UDP host candidate one twin on the announced address, and nothing else', () => {
    const host = 'candidate:1 1 UDP 2122317823 10.0.0.5 3479 typ host';
    assert.deepEqual(announcedTwin(host, '203.0.113.10'), {
      line: 'candidate:1a 1 UDP 2122317822 203.0.113.10 3479 typ host',
      key: '1 3479',
    });
    assert.equal(
      announcedTwin('candidate:2 1 TCP 1 10.0.0.5 9 typ host tcptype active', '203.0.113.10'),
      undefined,
      'not TCP',
    );
    assert.equal(
      announcedTwin('candidate:3 1 UDP 1 10.0.0.5 3479 typ srflx raddr 0.0.0.0 rport 0', '203.0.113.10'),
      undefined,
      'not srflx',
    );
    assert.equal(
      announcedTwin('candidate:4 1 UDP 1 fd00::5 3479 typ host', '203.0.113.10'),
      undefined,
      'not another family',
    );
    assert.equal(
      announcedTwin('candidate:5 1 UDP 1 203.0.113.10 3479 typ host', '203.0.113.10'),
      undefined,
      'not itself',
    );
    assert.equal(announcedTwin('garbage', '203.0.113.10'), undefined, 'not garbage');
    const sdp = [
      'v=0',
      'a=candidate:1 1 UDP 9 10.0.0.5 3479 typ host',
      'a=candidate:2 1 UDP 8 172.17.0.2 3479 typ host',
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    const seen = new Set<string>();
    const out = announceInSdp(sdp, '203.0.113.10', seen);
    assert.equal(
      out,
      [
        'v=0',
        'a=candidate:1 1 UDP 9 10.0.0.5 3479 typ host',
        'a=candidate:1a 1 UDP 8 203.0.113.10 3479 typ host',
        'a=candidate:2 1 UDP 8 172.17.0.2 3479 typ host',
        'a=end-of-candidates',
        '',
      ].join('\r\n'),
      'one twin for the shared port, after its first original, line ends kept',
    );
    assert.deepEqual([...seen], ['1 3479'], 'the twin is remembered, so a trickled copy is not sent again');
  });
});
