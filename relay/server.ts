/**
 * The relay over WebSocket (`/relay`, binary messages of protocol/relay.ts), with
 * WebRTC data channels (relay/peer.ts) negotiated over the same socket after
 * admission. Attach it to the signal server's HTTP server (`handleUpgrade`, the
 * in-process default) or run it alone (`startRelay`).
 *
 * Per connection: HELLO with a ticket signed by the signal server (checked with its
 * public key, nothing else kept about users) → JOINED, PEER/GONE as members come and
 * go → FRAMEs in over either transport, FORWARDs out over the data channel while the
 * client's own voice traffic (FRAME, PING) comes that way, else the WebSocket: a
 * client that gave up a channel whose path died silently pings over its socket, and
 * its voice follows it there at once instead of going into the dead channel until
 * SCTP notices. Every bad input gets a typed ERROR and is counted;
 * a bad HELLO, and a sender that keeps sending what is refused or more than its
 * token bucket allows, is closed with the error's 4xxx code. One address may hold at
 * most `maxConnectionsPerIp` sockets at once; more are refused TOO_MANY_CONNECTIONS.
 * PING is answered with PONG on the transport it came by (the client's RTT figure).
 * NOTICE carries a server-signed silence notice (a mute given or lifted mid-call):
 * the only user state kept beyond tickets is the newest notice per user, until it
 * expires.
 */

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { CLOSE_CODES, type ErrorCode } from '../protocol/errors.ts';
import { TokenBucket } from '../protocol/rate-limit.ts';
import {
  type ClientRelayMessage,
  encodeRelay,
  MAX_RELAY_MESSAGE,
  NOTICE_TTL_MS,
  parseClientRelayMessage,
  type RelaySignal,
  verifyRelayTicketAsync,
  verifySilenceNotice,
} from '../protocol/relay.ts';
import { clientIp, DEFAULT_TRUSTED_PROXIES, makeProxyCheck } from './client-ip.ts';
import { listen } from './listen.ts';
import { type PeerOptions, RelayPeer } from './peer.ts';
import { type Member, type RouteOptions, Routes, type Sink } from './routes.ts';

const PING_RATE = { perSecond: 2, burst: 5 };
const NOTICE_RATE = { perSecond: 5, burst: 20 };

/** The part of signal/metrics.ts the relay uses (kept structural: relay/ does not import signal/). */
export interface RelayMetrics {
  counter(name: string, help: string): (labels?: Record<string, string>, by?: number) => void;
  gauge(name: string, help: string, read: () => number | [Record<string, string>, number][]): void;
}

export interface RelayOptions {
  /** The signal server's public key (33 bytes): tickets must verify under it. */
  readonly serverKey: Uint8Array;
  readonly routes?: Partial<RouteOptions>;
  /** Frames per second per sender (Opus at 20 ms is 50) and the burst allowed. */
  readonly frameRate?: { perSecond: number; burst: number };
  /** Refused messages per second per connection before it is closed RATE_LIMITED. */
  readonly strikeRate?: { perSecond: number; burst: number };
  readonly helloTimeoutMs?: number;
  readonly peer?: PeerOptions;
  /** Offer data channels at all (default true). */
  readonly dataChannels?: boolean;
  /**
   * Open `/relay` sockets one IP address may hold (default 16); one more is refused
   * TOO_MANY_CONNECTIONS (close 4430).
   */
  readonly maxConnectionsPerIp?: number;
  /** Peers whose X-Forwarded-For names the client (client-ip.ts); default `loopback`. */
  readonly trustedProxies?: readonly string[];
  readonly metrics?: RelayMetrics;
  readonly now?: () => number;
}

const FLUSH_MS = 5;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 16;

/** Which way a relay message went: the WebSocket or the data channel. */
export type RelayVia = 'ws' | 'dc';

/** Frames the relay took in (FRAME) and wrote out (FORWARD) since start, by transport. */
export interface TransportTotals {
  readonly framesIn: Readonly<Record<RelayVia, number>>;
  readonly forwardsOut: Readonly<Record<RelayVia, number>>;
}

export class RelayServer {
  readonly routes: Routes;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<RelayConnection>();
  private readonly flusher: NodeJS.Timeout;
  readonly now: () => number;
  readonly rejected: (code: string, reason?: string) => void;
  private readonly rejections = new Map<string, number>();
  private readonly perIp = new Map<string, number>();
  private readonly isProxy: (address: string) => boolean;
  /** Users the signal server muted after their tickets were minted (hex of the public key). */
  private readonly silenced = new Set<string>();
  /** The newest silence notice per user (hex key), dropped once it expires. */
  private readonly notices = new Map<string, { silenced: boolean; issuedAt: number }>();
  private readonly transports = { framesIn: { ws: 0, dc: 0 }, forwardsOut: { ws: 0, dc: 0 } };

  constructor(readonly options: RelayOptions) {
    this.now = options.now ?? Date.now;
    this.isProxy = makeProxyCheck(options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES);
    this.routes = new Routes(options.routes, (member) => this.byMember.get(member)?.shed());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_RELAY_MESSAGE * 2,
      perMessageDeflate: false,
    });
    this.flusher = setInterval(() => this.routes.flush(this.now()), FLUSH_MS);
    this.flusher.unref();
    const m = options.metrics;
    const counted = m?.counter(
      'tincan_relay_rejections_total',
      'Relay inputs refused, by error code and reason',
    );
    this.rejected = (code, reason) => {
      const key = `${code}:${reason ?? ''}`;
      this.rejections.set(key, (this.rejections.get(key) ?? 0) + 1);
      counted?.(reason ? { code, reason } : { code });
    };
    if (m) {
      m.gauge('tincan_relay_clients', 'Open relay connections', () => this.connections.size);
      m.gauge('tincan_relay_channels', 'Voice channels with relay members', () => this.routes.channelCount);
      m.gauge('tincan_relay_frames', 'Relay frames since start (cumulative), by result', () =>
        Object.entries(this.routes.totals).map(([result, n]) => [{ result }, n]),
      );
      m.gauge(
        'tincan_relay_transport_frames',
        'Relay frames since start (cumulative): FRAMEs in and FORWARDs out, by transport',
        () => {
          const { framesIn, forwardsOut } = this.transports;
          return [
            [{ direction: 'in', via: 'ws' }, framesIn.ws],
            [{ direction: 'in', via: 'dc' }, framesIn.dc],
            [{ direction: 'out', via: 'ws' }, forwardsOut.ws],
            [{ direction: 'out', via: 'dc' }, forwardsOut.dc],
          ];
        },
      );
      m.gauge(
        'tincan_relay_stream_frames',
        'Per live stream (channel, sender slot): frames by result',
        () => {
          const out: [Record<string, string>, number][] = [];
          for (const { channel, slot, stats } of this.routes.streams())
            for (const [result, n] of Object.entries(stats))
              out.push([{ channel, slot: String(slot), result }, n]);
          return out;
        },
      );
    }
  }

  /** @internal */ readonly byMember = new Map<Member, RelayConnection>();

  /** Refusals so far by `code:reason` (tests, benchmarks). */
  rejectionCount(code: string, reason = ''): number {
    return this.rejections.get(`${code}:${reason}`) ?? 0;
  }

  get clientCount(): number {
    return this.connections.size;
  }

  /** A copy of the per-transport frame counts (tests; `/metrics` has them too). */
  get transportTotals(): TransportTotals {
    return { framesIn: { ...this.transports.framesIn }, forwardsOut: { ...this.transports.forwardsOut } };
  }

  /** @internal */ countFrame(direction: keyof TransportTotals, via: RelayVia): void {
    this.transports[direction][via]++;
  }

  /** Takes over an HTTP upgrade for `/relay`. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, clientIp(req, this.isProxy)));
  }

  private accept(ws: WebSocket, ip: string): void {
    const held = this.perIp.get(ip) ?? 0;
    if (held >= (this.options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP)) {
      this.refuseSocket(ws, 'TOO_MANY_CONNECTIONS', 'per-ip');
      return;
    }
    this.perIp.set(ip, held + 1);
    const conn = new RelayConnection(this, ws);
    this.connections.add(conn);
    ws.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
      this.connections.delete(conn);
      conn.closed();
    });
  }

  /** Refuses a socket before it becomes a connection: counted, ERROR, closed with the code's status. */
  private refuseSocket(ws: WebSocket, code: ErrorCode, reason: string): void {
    this.rejected(code, reason);
    ws.on('error', () => ws.terminate());
    ws.send(encodeRelay.error(code));
    ws.close((CLOSE_CODES as Partial<Record<ErrorCode, number>>)[code] ?? CLOSE_CODES.BAD_MESSAGE, code);
    // A peer that never reads may never finish the closing handshake.
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  /** @internal */ join(conn: RelayConnection, channel: string, user: Uint8Array, sink: Sink): Member {
    const { member, others } = this.routes.join(channel, user, sink);
    this.byMember.set(member, conn);
    conn.sendControl(encodeRelay.joined(member.slot));
    const announce = encodeRelay.peer(member.slot, user);
    for (const o of others) {
      conn.sendControl(encodeRelay.peer(o.slot, o.user));
      this.byMember.get(o)?.sendControl(announce);
    }
    return member;
  }

  /** @internal */ leave(member: Member): void {
    if (!this.byMember.delete(member)) return;
    this.routes.leave(member);
    const gone = encodeRelay.gone(member.slot);
    for (const o of this.routes.members(member.channel)) this.byMember.get(o)?.sendControl(gone);
  }

  /**
   * A server mute given (or lifted) mid-call: the user's frames are refused from now on,
   * whatever their ticket says (a lifted mute lets a may-speak ticket speak again; a
   * ticket minted while muted stays listen-only). The in-process relay is told by its
   * signal server; the one piece of user state the relay keeps, dropped on unmute.
   */
  setSilenced(user: Uint8Array, silenced: boolean): void {
    const key = Buffer.from(user).toString('hex');
    if (silenced) this.silenced.add(key);
    else this.silenced.delete(key);
  }

  /**
   * A silence notice a client handed over (protocol/relay.ts): a standalone relay's
   * way to hear of a mute given mid-call. Checked against the server key; one newer
   * than any seen for the user is applied to the user's live connections at once
   * and kept for admissions until it expires. Resolves with the refusal, or undefined.
   */
  /** @internal */ async notice(bytes: Uint8Array): Promise<ErrorCode | undefined> {
    const result = await verifySilenceNotice(bytes.slice(), this.options.serverKey, this.now());
    if (!result.ok) return result.code === 'EXPIRED' ? 'BAD_MESSAGE' : 'AUTH_FAILED';
    const { user, silenced, issuedAt } = result.notice;
    const key = Buffer.from(user).toString('hex');
    this.pruneNotices();
    const known = this.notices.get(key);
    if (known && known.issuedAt >= issuedAt) return undefined; // old news (or a replay)
    this.notices.set(key, { silenced, issuedAt });
    for (const conn of this.byMember.values()) conn.applyNotice(user, silenced);
    return undefined;
  }

  /** @internal */ noticeSilences(user: Uint8Array): boolean {
    this.pruneNotices();
    return this.notices.get(Buffer.from(user).toString('hex'))?.silenced === true;
  }

  private pruneNotices(): void {
    const now = this.now();
    for (const [key, n] of this.notices) if (now >= n.issuedAt + NOTICE_TTL_MS) this.notices.delete(key);
  }

  /** @internal */ isSilenced(user: Uint8Array): boolean {
    return this.silenced.size > 0 && this.silenced.has(Buffer.from(user).toString('hex'));
  }

  /** Cuts every connection at once, as a crash and restart would: clients must reconnect with fresh tickets. */
  dropAll(): void {
    for (const conn of [...this.connections]) conn.cut();
  }

  async close(): Promise<void> {
    clearInterval(this.flusher);
    for (const c of this.connections) c.fail('SHUTTING_DOWN');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

class RelayConnection {
  private state: 'hello' | 'admitting' | 'joined' | 'closed' = 'hello';
  private canSpeak = false;
  /** A silence notice for this connection's user is in force (until a newer one lifts it). */
  private noticed = false;
  private member: Member | undefined;
  private peer: RelayPeer | undefined;
  /** The client's latest FRAME or PING came over the data channel: its forwards go that way. */
  private clientOnDc = false;
  private readonly frames: TokenBucket;
  private readonly strikes: TokenBucket;
  /** Silence notices: one per mute or unmute in the channel; a flood is refused. */
  private readonly notices: TokenBucket;
  /** Round-trip probes: a client pings every couple of seconds; more is refused. */
  private readonly pings: TokenBucket;
  private readonly helloTimer: NodeJS.Timeout;
  private lastErrorAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly relay: RelayServer,
    private readonly ws: WebSocket,
  ) {
    const now = relay.now();
    const { frameRate = { perSecond: 100, burst: 100 }, strikeRate = { perSecond: 20, burst: 100 } } =
      relay.options;
    this.frames = new TokenBucket(frameRate.perSecond, frameRate.burst, now);
    this.strikes = new TokenBucket(strikeRate.perSecond, strikeRate.burst, now);
    this.pings = new TokenBucket(PING_RATE.perSecond, PING_RATE.burst, now);
    this.notices = new TokenBucket(NOTICE_RATE.perSecond, NOTICE_RATE.burst, now);
    this.helloTimer = setTimeout(() => this.fail('TIMEOUT'), relay.options.helloTimeoutMs ?? 10_000);
    this.helloTimer.unref();
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (!isBinary || !(data instanceof Uint8Array)) {
        if (this.state === 'hello') {
          this.fail('BAD_MESSAGE', 'before hello');
          return;
        }
        this.refuse('BAD_MESSAGE', 'text');
        return;
      }
      this.onMessage(data, 'ws');
    });
  }

  /** A notice about `user` came in: applies to this connection if it is theirs. */
  applyNotice(user: Uint8Array, silenced: boolean): void {
    if (this.member && Buffer.from(this.member.user).equals(user)) this.noticed = silenced;
  }

  /** Control messages always take the WebSocket (reliable, ordered). */
  sendControl(bytes: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes);
  }

  private onMessage(data: Uint8Array, via: RelayVia): void {
    if (this.state === 'closed') return;
    const msg = parseClientRelayMessage(data);
    if (msg.type === 'invalid') {
      if (this.state === 'hello') {
        this.fail(msg.code, 'before hello');
        return;
      }
      this.refuse(msg.code, msg.message.startsWith('frame of') ? 'frame' : undefined);
      return;
    }
    if (this.state === 'hello') {
      if (msg.type !== 'hello' || via !== 'ws') {
        this.fail('AUTH_FAILED', 'no hello');
        return;
      }
      this.admit(msg.ticket).catch(() => this.fail('INTERNAL', 'admit'));
      return;
    }
    if (this.state === 'admitting') {
      this.refuse('CONFLICT', 'before joined');
      return;
    }
    this.dispatch(msg, via);
  }

  private async admit(ticketBytes: Uint8Array): Promise<void> {
    clearTimeout(this.helloTimer);
    this.state = 'admitting';
    const ticket = ticketBytes.slice(); // ws may reuse the buffer while we await
    const result = await verifyRelayTicketAsync(ticket, this.relay.options.serverKey, this.relay.now());
    if (this.state !== 'admitting') return; // closed meanwhile
    if (!result.ok) {
      this.fail('AUTH_FAILED', result.code);
      return;
    }
    this.state = 'joined';
    this.canSpeak = result.ticket.canSpeak;
    this.noticed = this.relay.noticeSilences(result.ticket.user);
    const sink: Sink = {
      send: (bytes) => {
        if (this.clientOnDc && this.peer?.send(bytes)) {
          this.relay.countFrame('forwardsOut', 'dc');
          return;
        }
        if (this.ws.readyState !== this.ws.OPEN) return;
        this.ws.send(bytes);
        this.relay.countFrame('forwardsOut', 'ws');
      },
      buffered: () => (this.clientOnDc && this.peer?.isOpen ? this.peer.buffered() : this.ws.bufferedAmount),
    };
    this.member = this.relay.join(this, result.ticket.channel, result.ticket.user, sink);
  }

  private dispatch(msg: ClientRelayMessage, via: RelayVia): void {
    const member = this.member!;
    switch (msg.type) {
      case 'frame':
        this.clientOnDc = via === 'dc';
        if (!this.canSpeak || this.noticed || this.relay.isSilenced(member.user)) {
          this.refuse('NOT_ALLOWED', 'listen-only');
          return;
        }
        if (!this.frames.take(this.relay.now())) {
          this.refuse('RATE_LIMITED', 'frames');
          return;
        }
        this.relay.countFrame('framesIn', via);
        this.relay.routes.forward(member, msg.frame, this.relay.now());
        return;
      case 'listen':
        member.listening = msg.listening;
        return;
      case 'leave':
        this.ws.close(1000, 'left');
        return;
      case 'notice':
        if (!this.notices.take(this.relay.now())) {
          this.refuse('RATE_LIMITED', 'notices');
          return;
        }
        this.relay
          .notice(msg.notice)
          .then((refusal) => refusal && this.refuse(refusal, 'notice'))
          .catch(() => this.refuse('INTERNAL', 'notice'));
        return;
      case 'ping':
        this.clientOnDc = via === 'dc';
        if (!this.pings.take(this.relay.now())) {
          this.refuse('RATE_LIMITED', 'pings');
          return;
        }
        // Back on the transport the ping took, so the client times the path its voice takes.
        if (via === 'dc' && this.peer?.send(encodeRelay.pong(msg.nonce))) return;
        this.sendControl(encodeRelay.pong(msg.nonce));
        return;
      case 'signal':
        if (via !== 'ws') {
          this.refuse('BAD_MESSAGE', 'signal over dc');
          return;
        }
        if (this.relay.options.dataChannels === false) {
          this.refuse('NOT_ALLOWED', 'no data channels');
          return;
        }
        this.signal(msg.signal);
        return;
      case 'hello':
        this.refuse('CONFLICT', 'second hello');
        return;
      default: {
        const unreachable: never = msg;
        throw new Error(`unhandled ${(unreachable as { type: string }).type}`);
      }
    }
  }

  private signal(signal: RelaySignal): void {
    if (signal.kind === 'answer') {
      this.refuse('BAD_MESSAGE', 'answer');
      return;
    }
    this.peer ??= new RelayPeer(
      `relay-${this.member!.channel}-${this.member!.slot}`,
      this.relay.options.peer ?? {},
      {
        signal: (s) => this.sendControl(encodeRelay.signal(s)),
        message: (bytes) => this.onMessage(bytes, 'dc'),
        open: () => {},
        close: () => {},
      },
    );
    this.peer.signal(signal).catch(() => this.refuse('INTERNAL', 'peer'));
  }

  /** A refused message: counted, answered with ERROR at most every 100 ms, closed once the strikes run out. */
  private refuse(code: ErrorCode, reason?: string): void {
    this.relay.rejected(code, reason);
    const now = this.relay.now();
    if (!this.strikes.take(now)) {
      this.fail('RATE_LIMITED', 'strikes');
      return;
    }
    if (now - this.lastErrorAt >= 100) {
      this.lastErrorAt = now;
      this.sendControl(encodeRelay.error(code));
    }
  }

  /** Sends ERROR and closes with the code's close status. */
  fail(code: ErrorCode, reason?: string): void {
    if (this.state === 'closed') return;
    this.relay.rejected(code, reason);
    this.sendControl(encodeRelay.error(code));
    const status = (CLOSE_CODES as Partial<Record<ErrorCode, number>>)[code] ?? CLOSE_CODES.BAD_MESSAGE;
    this.ws.close(status, code);
    // A peer that stopped reading may never finish the closing handshake.
    setTimeout(() => this.ws.terminate(), 1000).unref();
    this.closed();
  }

  /** Cut without a goodbye, as a crash would (RelayServer.dropAll). */
  cut(): void {
    this.ws.terminate();
    this.closed();
  }

  /** Shed by the routes for not reading: the member is already out of the table. */
  shed(): void {
    this.fail('SLOW_CONSUMER', 'shed');
  }

  closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    this.peer?.close();
    if (this.member) this.relay.leave(this.member);
    this.member = undefined;
  }
}

export interface StandaloneRelay {
  readonly url: string;
  readonly port: number;
  readonly http: Server;
  readonly relay: RelayServer;
  close(): Promise<void>;
}

/** Runs the relay on its own HTTP server: `/relay` (WebSocket) and `/healthz`. */
export async function startRelay(
  options: RelayOptions & { host: string; port: number },
): Promise<StandaloneRelay> {
  const relay = new RelayServer(options);
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true }));
      return;
    }
    res.writeHead(404).end();
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/relay') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    relay.handleUpgrade(req, socket, head);
  });
  const { port, urlHost: host } = await listen(http, options.port, options.host);
  return {
    url: `ws://${host}:${port}/relay`,
    port,
    http,
    relay,
    close: async () => {
      await relay.close();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };
}
