/**
 * The client end of the voice relay (relay/server.ts): HELLO over its WebSocket with a
 * ticket the signal server signed (`relay.ticket`), then sealed voice frames out and
 * FORWARDs in, each tagged with the sender's slot, which PEER messages map to user
 * ids. The relay sees only ciphertext (frames are sealed by web/voice/relay/).
 *
 * Given a `peerConnection` factory, the client also negotiates a WebRTC data channel
 * to the relay once joined (relay-data-channel.ts, signalled over the socket): while
 * it is open, frames go out and FORWARDs come in over it (UDP, no head-of-line
 * blocking). The socket stays open throughout as the control channel (LISTEN, LEAVE,
 * PEER, GONE) and carries the voice whenever the channel is not open: not yet, not
 * within `dataChannelTimeoutMs`, closed or failed later, or silent (open, but
 * `SILENT_CHANNEL_PINGS` pings in a row unanswered). `transport` shows which.
 *
 * Voice is real time: a frame is sent only while the transport's send buffer is short
 * (`MAX_BUFFERED_BYTES`), otherwise dropped and counted, never queued. An unexpected
 * close reconnects with backoff and jitter (reconnect.ts), a fresh ticket and a new
 * data channel; a terminal refusal (a forged or expired ticket, a ban) ends the
 * client with its code. While joined, the client pings the relay every `PING_MS` on
 * the transport its voice takes and shows the smoothed round trip (`rttMs`). Works in browsers and, through `ws` and node-datachannel's
 * polyfill, in Node.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { type ErrorCode, isTerminalClose, ProtocolError } from '../../protocol/errors.ts';
import { encodeRelay, parseServerRelayMessage } from '../../protocol/relay.ts';
import { Value } from '../core/observable.ts';
import { ReconnectPolicy } from './reconnect.ts';
import { type PeerConnectionFactory, RelayDataChannel } from './relay-data-channel.ts';

/** What the client needs of a WebSocket (the browser's, or `ws`'s, fit). */
export interface BinarySocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: never) => void): void;
}

/** A ticket and the relay's URL, as `relay.ticket` answers (the URL may be relative to the signal server). */
export interface RelayAdmission {
  ticket: string;
  url: string;
}

export interface RelayClientOptions {
  /** Fetches a fresh admission (a ticket lives minutes; every connect asks again). */
  admission(): Promise<RelayAdmission>;
  socket(url: string): BinarySocket;
  /**
   * Makes the RTCPeerConnection for a data channel to the relay: `(c) => new
   * RTCPeerConnection(c)` in browsers, node-datachannel's polyfill in Node. Absent,
   * the WebSocket carries everything.
   */
  peerConnection?: PeerConnectionFactory;
  /** STUN/TURN servers for the data channel's connection (default none: the relay is reachable directly). */
  iceServers?: RTCIceServer[];
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** How long the data channel may take to open before the voice stays on the WebSocket (default 3000). */
  dataChannelTimeoutMs?: number;
  policy?: ReconnectPolicy;
  /** How long HELLO may wait for JOINED. */
  joinTimeoutMs?: number;
}

export type RelayStatus = 'connecting' | 'joined' | 'reconnecting' | 'closed';

/** What carries the voice frames right now (control messages always take the WebSocket). */
export type RelayTransport = 'websocket' | 'datachannel';

export interface RelayStats {
  sent: number;
  /** Not sent: no open transport, or its buffer was over the bound. */
  dropped: number;
  received: number;
  reconnects: number;
}

/** Bytes waiting in the socket or data channel past which a voice frame is dropped (about 0.4 s of one speaker). */
export const MAX_BUFFERED_BYTES = 8 * 1024;
const OPEN = 1;
/** Refusals worth another try, from `relay.ticket` or from the relay before JOINED; any other ends the client. */
const RETRY_REFUSAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TIMEOUT',
  'INTERNAL',
  'RATE_LIMITED',
  'TOO_MANY_CONNECTIONS',
  'SHUTTING_DOWN',
]);

type FrameListener = (
  frame: Uint8Array,
  from: { slot: number; userId: string | undefined; seq: number },
) => void;

/** One socket from open to close, and the data channel negotiated over it. */
interface Session {
  readonly socket: BinarySocket;
  readonly openedAt: number;
  readonly joinTimer: ReturnType<typeof setTimeout>;
  readonly settle: (error?: ProtocolError) => void;
  joinedAt: number;
  /** An ERROR the relay sent before JOINED: why it is about to close this socket. */
  refusal: ProtocolError | undefined;
  channel: RelayDataChannel | undefined;
  pingTimer: ReturnType<typeof setInterval> | undefined;
  /** The ping in flight: its nonce, when it left (performance.now()), and whether on the data channel. */
  ping: { nonce: number; sentAt: number; onChannel: boolean } | undefined;
  /** Pings in a row the open data channel did not answer. */
  unanswered: number;
}

/** How often a joined client times the round trip to the relay. */
export const PING_MS = 2_000;
/**
 * Pings in a row an open data channel may leave unanswered before it is given up for
 * the socket: its path died without a close reaching either end (UDP blocked mid-call),
 * which SCTP would take much longer to notice. The relay follows (relay/server.ts).
 */
export const SILENT_CHANNEL_PINGS = 3;
/** Weight of a new round-trip sample in the shown figure. */
const RTT_SMOOTHING = 0.3;

export class RelayClient {
  readonly status = new Value<RelayStatus>('connecting');
  /** What carries the voice: 'datachannel' only while the data channel is open. */
  readonly transport = new Value<RelayTransport>('websocket');
  /** My slot in the channel (-1 until joined). */
  readonly slot = new Value(-1);
  /** Slots of the others in the channel → their user ids. */
  readonly peers = new Value<ReadonlyMap<number, string>>(new Map());
  /** The refusal that ended the client, if one did. */
  readonly error = new Value<ProtocolError | undefined>(undefined);
  /** Round trip to the relay on the voice's transport, smoothed (null until measured, and while not joined). */
  readonly rttMs = new Value<number | null>(null);
  readonly stats: RelayStats = { sent: 0, dropped: 0, received: 0, reconnects: 0 };
  private readonly listeners = new Set<FrameListener>();
  private readonly policy: ReconnectPolicy;
  private session: Session | undefined;
  private listening = true;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  private constructor(private readonly options: RelayClientOptions) {
    this.policy = options.policy ?? new ReconnectPolicy();
  }

  /** Connects and resolves once joined; rejects with the relay's refusal (a ProtocolError). */
  static async connect(options: RelayClientOptions): Promise<RelayClient> {
    const client = new RelayClient(options);
    await client.open();
    return client;
  }

  /**
   * `connect`, given up (the client closed, TIMEOUT) when the first join takes longer
   * than `ms`: a relay that is down makes the client retry for ever, which a caller
   * deciding a route cannot wait for.
   */
  static async connectWithin(options: RelayClientOptions, ms: number): Promise<RelayClient> {
    const client = new RelayClient(options);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        client.open(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new ProtocolError('TIMEOUT', `the relay did not admit me in ${ms} ms`)),
            ms,
          );
        }),
      ]);
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends one sealed frame; returns whether it went out (false: dropped, counted). */
  send(frame: Uint8Array): boolean {
    const session = this.session;
    const channel = session?.channel;
    const via = channel?.isOpen ? channel : session?.socket.readyState === OPEN ? session.socket : undefined;
    if (this.status.value !== 'joined' || !via || via.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.dropped++;
      return false;
    }
    try {
      via.send(encodeRelay.frame(frame));
    } catch {
      // A data channel that closed or filled up under us: this frame is lost (its end moves us to the socket).
      this.stats.dropped++;
      return false;
    }
    this.stats.sent++;
    return true;
  }

  /** Deafened (false): the relay stops forwarding to me. Kept across reconnects. */
  listen(on: boolean): void {
    this.listening = on;
    if (this.status.value === 'joined') this.session?.socket.send(encodeRelay.listen(on));
  }

  /** Hands the relay a silence notice the server signed (control: over the socket). */
  notice(notice: Uint8Array): void {
    const socket = this.session?.socket;
    if (this.status.value === 'joined' && socket?.readyState === OPEN)
      socket.send(encodeRelay.notice(notice));
  }

  /** Leaves the channel for good. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const session = this.session;
    this.session = undefined;
    if (session) {
      clearTimeout(session.joinTimer);
      this.stopPings(session);
      session.channel?.close();
      const s = session.socket;
      if (s.readyState === OPEN) s.send(encodeRelay.leave());
      s.close(1000, 'left');
    }
    this.transport.set('websocket');
    this.status.set('closed');
  }

  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: ProtocolError) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve();
      };
      void this.attempt(settle);
    });
  }

  private async attempt(settle: (error?: ProtocolError) => void): Promise<void> {
    if (this.stopped) return;
    let admission: RelayAdmission;
    try {
      admission = await this.options.admission();
    } catch (error) {
      // Offline or busy: try again later. Refused (not in the channel, locked, banned): stop.
      if (error instanceof ProtocolError && !RETRY_REFUSAL.has(error.code)) return this.end(error, settle);
      return this.retry(1006, 0, settle);
    }
    if (this.stopped) return;
    const socket = this.options.socket(admission.url);
    socket.binaryType = 'arraybuffer';
    const session: Session = {
      socket,
      openedAt: Date.now(),
      joinTimer: setTimeout(
        () => socket.close(4408, 'no JOINED in time'),
        this.options.joinTimeoutMs ?? 10_000,
      ),
      settle,
      joinedAt: 0,
      refusal: undefined,
      channel: undefined,
      pingTimer: undefined,
      ping: undefined,
      unanswered: 0,
    };
    this.session = session;
    socket.addEventListener('open', () => {
      if (this.session === session) socket.send(encodeRelay.hello(fromBase64url(admission.ticket)));
    });
    socket.addEventListener('message', (event: { data: unknown }) => {
      const data = event.data;
      const bytes =
        data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
      if (bytes) this.receive(session, bytes);
    });
    socket.addEventListener('close', (event: { code: number }) => this.closed(session, event.code));
    socket.addEventListener('error', () => {
      // The close event follows.
    });
  }

  /** One message from the relay, off the socket or the data channel alike. */
  private receive(session: Session, bytes: Uint8Array): void {
    if (this.session !== session) return;
    const m = parseServerRelayMessage(bytes);
    switch (m.type) {
      case 'joined':
        if (session.joinedAt) break; // a second JOINED changes nothing
        clearTimeout(session.joinTimer);
        session.joinedAt = Date.now();
        this.slot.set(m.slot);
        this.status.set('joined');
        if (!this.listening) session.socket.send(encodeRelay.listen(false));
        this.negotiate(session);
        this.startPings(session);
        session.settle();
        break;
      case 'peer':
        this.peers.set(new Map([...this.peers.value, [m.slot, toBase64url(m.user)]]));
        break;
      case 'gone': {
        const next = new Map(this.peers.value);
        next.delete(m.slot);
        this.peers.set(next);
        break;
      }
      case 'forward': {
        this.stats.received++;
        const from = { slot: m.slot, userId: this.peers.value.get(m.slot), seq: m.seq };
        for (const listener of [...this.listeners]) listener(m.frame, from);
        break;
      }
      case 'error':
        if (!session.joinedAt) session.refusal = new ProtocolError(m.code, `the relay refused: ${m.code}`);
        break;
      case 'signal':
        session.channel?.signal(m.signal);
        break;
      case 'pong':
        this.ponged(session, m.nonce);
        break;
      case 'invalid':
        break; // junk is ignored
      default: {
        const unreachable: never = m;
        throw new Error(`unhandled ${(unreachable as { type: string }).type}`);
      }
    }
  }

  /** Starts the data channel of a joined session, if this client makes peer connections. */
  private negotiate(session: Session): void {
    const make = this.options.peerConnection;
    if (!make || session.channel) return;
    // Copies: a connection may rewrite what it is given (node-datachannel's polyfill does).
    const config: RTCConfiguration = { iceServers: (this.options.iceServers ?? []).map((s) => ({ ...s })) };
    if (this.options.iceTransportPolicy) config.iceTransportPolicy = this.options.iceTransportPolicy;
    try {
      session.channel = new RelayDataChannel(
        { peerConnection: make, config, timeoutMs: this.options.dataChannelTimeoutMs ?? 3000 },
        {
          signal: (signal) => {
            if (this.session === session && session.socket.readyState === OPEN)
              session.socket.send(encodeRelay.signal(signal));
          },
          message: (bytes) => this.receive(session, bytes),
          open: () => {
            if (this.session !== session) return;
            this.transport.set('datachannel');
            this.sendPing(session); // the voice's path changed: time the new one now
          },
          end: () => {
            if (this.session === session) this.transport.set('websocket');
          },
        },
      );
    } catch {
      // No WebRTC here (the factory or createDataChannel threw): the socket carries the voice.
    }
  }

  private startPings(session: Session): void {
    this.sendPing(session);
    session.pingTimer = setInterval(() => this.sendPing(session), PING_MS);
    (session.pingTimer as { unref?: () => void }).unref?.(); // never what keeps a Node process alive
  }

  private stopPings(session: Session): void {
    clearInterval(session.pingTimer);
    session.pingTimer = undefined;
    session.ping = undefined;
    if (this.session === session || !this.session) this.rttMs.set(null);
  }

  /** One ping on the voice's transport; a ping unanswered by the next one is given up. */
  private sendPing(session: Session): void {
    if (this.session !== session) return;
    const channel = session.channel;
    if (session.ping?.onChannel && channel?.isOpen && ++session.unanswered >= SILENT_CHANNEL_PINGS) {
      channel.close(); // spent, as one that ended: a new socket negotiates the next
      session.unanswered = 0;
      this.transport.set('websocket');
    }
    const via = channel?.isOpen ? channel : session.socket.readyState === OPEN ? session.socket : undefined;
    if (!via) return;
    const nonce = Math.floor(Math.random() * 0x1_0000_0000);
    try {
      via.send(encodeRelay.ping(nonce));
      session.ping = { nonce, sentAt: performance.now(), onChannel: via === channel };
    } catch {
      // The transport closed under us; the next tick tries what carries the voice then.
    }
  }

  private ponged(session: Session, nonce: number): void {
    const ping = session.ping;
    if (!ping || ping.nonce !== nonce) return; // late, or not ours
    session.ping = undefined;
    session.unanswered = 0;
    const sample = performance.now() - ping.sentAt;
    const before = this.rttMs.value;
    this.rttMs.set(before === null ? sample : before + RTT_SMOOTHING * (sample - before));
  }

  private closed(session: Session, code: number): void {
    clearTimeout(session.joinTimer);
    this.stopPings(session);
    if (this.session !== session) return;
    this.session = undefined;
    session.channel?.close();
    this.transport.set('websocket');
    this.peers.set(new Map());
    this.slot.set(-1);
    if (this.stopped) return;
    const refusal = session.refusal;
    if (isTerminalClose(code) || (refusal && !RETRY_REFUSAL.has(refusal.code))) {
      this.end(refusal ?? new ProtocolError('AUTH_FAILED', `the relay closed with ${code}`), session.settle);
      return;
    }
    this.retry(code, Date.now() - (session.joinedAt || session.openedAt), session.settle);
  }

  private retry(code: number, upMs: number, settle: (error?: ProtocolError) => void): void {
    const delay = this.policy.next(code, upMs);
    if (delay === null) {
      this.end(new ProtocolError('AUTH_FAILED', `the relay closed with ${code}`), settle);
      return;
    }
    this.status.set('reconnecting');
    this.stats.reconnects++;
    this.timer = setTimeout(() => void this.attempt(settle), delay);
  }

  private end(error: ProtocolError, settle: (error?: ProtocolError) => void): void {
    this.stopped = true;
    this.error.set(error);
    this.status.set('closed');
    settle(error);
  }
}
