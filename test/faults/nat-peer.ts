/**
 * One user inside a home network namespace, for nat.test.ts: run with
 * `ip netns exec <home> node --import tsx test/faults/nat-peer.ts`, configured by
 * `TINCAN_NAT_PEER` (JSON: the signal server's ws URL, the member's secret key in
 * base64url, a name). It signs in to the signal server across the NAT, then obeys
 * one JSON command per line on stdin and reports one JSON event per line on stdout
 * (`{"ev": …}`; a failed command reports `{"ev":"error","cmd":…,"message":…}`):
 *
 * - `probe-mapping {targets}`: one UDP socket sends to each target (an address
 *   reflector in the test) and reports the public address:port each one saw.
 * - `ice {mode, offer}`: a node-datachannel PeerConnection with the ICE servers the
 *   signal server minted (`turn.credentials`): `direct` keeps only the STUN URLs,
 *   `turn` adds the TURN server. Reports descriptions, candidates and states as they
 *   come, and the selected candidate pair once connected. `remote-description` and
 *   `remote-candidate` feed it the other side's; `ping {count}` times data-channel
 *   round trips (the answerer echoes); `ice-close` ends it.
 * - `relay-join {channel}`: voice.join, then a RelayClient (web/net/relay-client.ts)
 *   over WebSocket to the server's /relay with tickets from `relay.ticket`. It echoes
 *   relay pings; `relay-send {count}` sends data frames and reports their digests;
 *   `relay-ping {count}` times relay round trips.
 * - `exit`.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { cleanup, type DataChannel, PeerConnection } from 'node-datachannel';
import { WebSocket } from 'ws';
import { fromBase64url, randomBytes } from '../../crypto/bytes.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { type BinarySocket, RelayClient } from '../../web/net/relay-client.ts';
import { SignalClient, type SocketLike } from '../../web/net/signal-client.ts';

interface PeerConfig {
  signalUrl: string;
  secretKey: string;
  name: string;
}

const config = JSON.parse(process.env.TINCAN_NAT_PEER ?? 'null') as PeerConfig | null;
if (!config || typeof config.signalUrl !== 'string' || typeof config.secretKey !== 'string') {
  console.error('nat-peer: TINCAN_NAT_PEER must hold {signalUrl, secretKey, name}');
  process.exit(2);
}

const emit = (ev: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ ev, ...fields })}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** Relay frame kinds (first byte); the relay forwards them as opaque bytes. */
const PING = 1;
const PONG = 2;
const DATA = 3;

const signal = await SignalClient.connect({
  url: config.signalUrl,
  signer: rawSigner(fromBase64url(config.secretKey)),
  socket: (url) => new WebSocket(url) as unknown as SocketLike,
  timeoutMs: 10_000,
});

let pc: PeerConnection | undefined;
let dc: DataChannel | undefined;
let remoteSet = false;
let pendingCandidates: { candidate: string; mid: string }[] = [];
const pongs = new Map<string, () => void>();
let relay: RelayClient | undefined;
const relayPongs = new Map<number, () => void>();

/** `turn:host:port?transport=udp` → node-datachannel's IceServer object (REST usernames hold a colon). */
function turnServer(url: string, username: string, password: string) {
  const m = /^turn:([^:?]+):(\d+)(?:\?transport=(udp|tcp))?$/.exec(url);
  if (!m) throw new Error(`cannot read TURN URL ${url}`);
  return {
    hostname: m[1]!,
    port: Number(m[2]),
    username,
    password,
    relayType: m[3] === 'tcp' ? ('TurnTcp' as const) : ('TurnUdp' as const),
  };
}

async function iceServers(mode: 'direct' | 'turn') {
  const reply = await signal.request('turn.credentials');
  const list = reply.iceServers;
  if (!Array.isArray(list)) throw new Error(`turn.credentials: iceServers is ${JSON.stringify(list)}`);
  const out: (string | ReturnType<typeof turnServer>)[] = [];
  for (const entry of list as { urls?: unknown; username?: unknown; credential?: unknown }[]) {
    const urls = Array.isArray(entry.urls)
      ? entry.urls.filter((u): u is string => typeof u === 'string')
      : [];
    for (const url of urls) {
      if (url.startsWith('stun:')) out.push(url);
      else if (mode === 'turn' && typeof entry.username === 'string' && typeof entry.credential === 'string')
        out.push(turnServer(url, entry.username, entry.credential));
    }
  }
  return out;
}

function wireChannel(channel: DataChannel, echo: boolean): void {
  dc = channel;
  channel.onOpen(() => emit('open'));
  if (channel.isOpen()) emit('open');
  channel.onMessage((msg) => {
    const text = typeof msg === 'string' ? msg : Buffer.from(msg as ArrayBuffer).toString('utf8');
    if (echo) channel.sendMessage(text);
    else pongs.get(text)?.();
  });
}

async function startIce(mode: 'direct' | 'turn', offer: boolean): Promise<void> {
  const servers = await iceServers(mode);
  emit('ice-servers', {
    servers: servers.map((s) =>
      typeof s === 'string' ? s : `turn:${s.hostname}:${s.port} ${s.relayType} user ${s.username}`,
    ),
  });
  pc?.close();
  remoteSet = false;
  pendingCandidates = [];
  const started = performance.now();
  const since = () => Math.round(performance.now() - started);
  const peer = new PeerConnection(config!.name, { iceServers: servers, iceTransportPolicy: 'all' });
  pc = peer;
  peer.onLocalDescription((sdp, type) => emit('local-description', { sdp, type }));
  peer.onLocalCandidate((candidate, mid) => emit('local-candidate', { candidate, mid, t: since() }));
  peer.onGatheringStateChange((state) => emit('gathering', { state, t: since() }));
  peer.onIceStateChange((state) => emit('ice-state', { state, t: since() }));
  peer.onStateChange((state) => {
    emit('state', { state, t: since() });
    if (state === 'connected') emit('selected', { pair: peer.getSelectedCandidatePair(), t: since() });
  });
  if (offer) wireChannel(peer.createDataChannel('probe'), false);
  else peer.onDataChannel((channel) => wireChannel(channel, true));
}

async function ping(count: number): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const channel = dc;
    if (!channel?.isOpen()) throw new Error('ping: the data channel is not open');
    const token = `ping:${i}:${randomBytes(4).join('.')}`;
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        pongs.delete(token);
        reject(new Error(`ping ${i}: no echo within 2000 ms`));
      }, 2000);
      pongs.set(token, () => {
        clearTimeout(timer);
        pongs.delete(token);
        resolve();
      });
      channel.sendMessage(token);
    });
    rtts.push(performance.now() - t0);
  }
  return rtts;
}

async function probeMapping(targets: { host: string; port: number }[]) {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, () => resolve()));
  try {
    const seen: { target: string; address: string; port: number }[] = [];
    for (const target of targets) {
      const answer = new Promise<{ address: string; port: number }>((resolve, reject) => {
        const onMessage = (msg: Buffer) => {
          const reply = JSON.parse(msg.toString('utf8')) as {
            reflector: number;
            address: string;
            port: number;
          };
          if (reply.reflector !== target.port) return; // a late answer to a retry sent to the last target
          clearTimeout(timer);
          clearInterval(retry);
          socket.off('message', onMessage);
          resolve({ address: reply.address, port: reply.port });
        };
        const timer = setTimeout(() => {
          clearInterval(retry);
          socket.off('message', onMessage);
          reject(new Error(`no answer from ${target.host}:${target.port} in 2 s`));
        }, 2000);
        const retry = setInterval(() => socket.send('probe', target.port, target.host), 200);
        socket.on('message', onMessage);
        socket.send('probe', target.port, target.host);
      });
      seen.push({ target: `${target.host}:${target.port}`, ...(await answer) });
    }
    return { localPort: socket.address().port, seen };
  } finally {
    socket.close();
  }
}

async function relayJoin(channel: string): Promise<RelayClient> {
  await signal.request('voice.join', { channel });
  const base = config!.signalUrl.replace(/\/ws$/, '');
  const client = await RelayClient.connect({
    admission: async () => {
      const reply = await signal.request('relay.ticket', { channel });
      return { ticket: reply.ticket as string, url: reply.url as string };
    },
    socket: (url) =>
      new WebSocket(new URL(url, base).toString(), { perMessageDeflate: false }) as unknown as BinarySocket,
    joinTimeoutMs: 5000,
  });
  client.onFrame((frame, from) => {
    const kind = frame[0];
    if (kind === PING) {
      const pong = frame.slice();
      pong[0] = PONG;
      client.send(pong);
    } else if (kind === PONG) {
      relayPongs.get(new DataView(frame.buffer, frame.byteOffset).getUint32(1))?.();
    } else if (kind === DATA) {
      emit('relay-frame', { from: from.userId, seq: from.seq, digest: digest(frame), bytes: frame.length });
    }
  });
  return client;
}

async function relayPing(client: RelayClient, count: number): Promise<number[]> {
  const rtts: number[] = [];
  for (let i = 0; i < count; i++) {
    const frame = new Uint8Array(120);
    frame[0] = PING;
    new DataView(frame.buffer).setUint32(1, i);
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        relayPongs.delete(i);
        reject(new Error(`relay ping ${i}: no pong within 2000 ms`));
      }, 2000);
      relayPongs.set(i, () => {
        clearTimeout(timer);
        relayPongs.delete(i);
        resolve();
      });
      if (!client.send(frame)) reject(new Error(`relay ping ${i}: the client dropped the frame`));
    });
    rtts.push(performance.now() - t0);
    await sleep(20); // one voice frame's spacing: stays far under the relay's frame rate
  }
  return rtts;
}

function shutdown(code: number): never {
  relay?.close();
  pc?.close();
  signal.close();
  cleanup();
  process.exit(code);
}

type Command = Record<string, unknown> & { cmd?: unknown };

async function handle(command: Command): Promise<void> {
  switch (command.cmd) {
    case 'probe-mapping':
      emit('mapping', await probeMapping(command.targets as { host: string; port: number }[]));
      return;
    case 'ice':
      await startIce(command.mode === 'turn' ? 'turn' : 'direct', command.offer === true);
      return;
    case 'remote-description':
      if (!pc) throw new Error('no peer connection');
      pc.setRemoteDescription(String(command.sdp), command.type as 'offer' | 'answer');
      remoteSet = true;
      for (const c of pendingCandidates) pc.addRemoteCandidate(c.candidate, c.mid);
      pendingCandidates = [];
      return;
    case 'remote-candidate': {
      const c = { candidate: String(command.candidate), mid: String(command.mid) };
      if (!pc) throw new Error('no peer connection');
      if (remoteSet) pc.addRemoteCandidate(c.candidate, c.mid);
      else pendingCandidates.push(c);
      return;
    }
    case 'ping':
      emit('rtt', { rtts: await ping(Number(command.count)) });
      return;
    case 'ice-close':
      pc?.close();
      pc = undefined;
      dc = undefined;
      emit('ice-closed');
      return;
    case 'relay-join':
      relay = await relayJoin(String(command.channel));
      emit('relay-joined', { slot: relay.slot.value });
      return;
    case 'relay-peers': {
      const deadline = Date.now() + Number(command.ms ?? 5000);
      while ((relay?.peers.value.size ?? 0) < Number(command.count) && Date.now() < deadline) await sleep(20);
      emit('relay-peers', { peers: [...(relay?.peers.value.values() ?? [])] });
      return;
    }
    case 'relay-send': {
      if (!relay) throw new Error('not joined to the relay');
      const digests: string[] = [];
      for (let i = 0; i < Number(command.count); i++) {
        const frame = randomBytes(160);
        frame[0] = DATA;
        if (relay.send(frame)) digests.push(digest(frame));
        await sleep(20);
      }
      emit('relay-sent', { digests, dropped: relay.stats.dropped });
      return;
    }
    case 'relay-ping':
      if (!relay) throw new Error('not joined to the relay');
      emit('relay-rtt', { rtts: await relayPing(relay, Number(command.count)) });
      return;
    case 'exit':
      shutdown(0);
      break;
    default:
      throw new Error(`unknown command ${JSON.stringify(command.cmd)}`);
  }
}

process.on('SIGTERM', () => shutdown(0));
// Commands run one at a time, in order: a candidate never overtakes its description.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  let command: Command;
  try {
    command = JSON.parse(line) as Command;
  } catch {
    emit('error', { cmd: null, message: `not JSON: ${line}` });
    return;
  }
  queue = queue.then(async () => {
    try {
      await handle(command);
    } catch (error) {
      emit('error', { cmd: command.cmd, message: error instanceof Error ? error.message : String(error) });
    }
  });
});
process.stdin.on('end', () => shutdown(0));
emit('ready', { name: config.name });
