/**
 * The client end of the voice relay (relay/server.ts) over its WebSocket: HELLO with a
 * ticket the signal server signed (`relay.ticket`), then sealed voice frames out and
 * FORWARDs in, each tagged with the sender's slot, which PEER messages map to user
 * ids. The relay sees only ciphertext (frames are sealed by web/voice/relay/).
 *
 * Voice is real time: a frame is sent only while the socket's send buffer is short
 * (`MAX_BUFFERED_BYTES`), otherwise dropped and counted, never queued. An unexpected
 * close reconnects with backoff and jitter (reconnect.ts) and a fresh ticket; a
 * terminal refusal (a forged or expired ticket, a ban) ends the client with its code.
 * Works in browsers and, through `ws`, in Node.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { isTerminalClose, ProtocolError } from '../../protocol/errors.ts';
import { encodeRelay, parseServerRelayMessage } from '../../protocol/relay.ts';
import { Value } from '../core/observable.ts';
import { ReconnectPolicy } from './reconnect.ts';

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
  policy?: ReconnectPolicy;
  /** How long HELLO may wait for JOINED. */
  joinTimeoutMs?: number;
}

export type RelayStatus = 'connecting' | 'joined' | 'reconnecting' | 'closed';

export interface RelayStats {
  sent: number;
  /** Not sent: the socket was not open, or its buffer was over the bound. */
  dropped: number;
  received: number;
  reconnects: number;
}

/** Bytes waiting in the socket past which a voice frame is dropped (about 0.4 s of one speaker). */
export const MAX_BUFFERED_BYTES = 8 * 1024;
const OPEN = 1;
/** Failures of `relay.ticket` worth another try. */
const RETRY_ADMISSION: ReadonlySet<string> = new Set([
  'TIMEOUT',
  'INTERNAL',
  'RATE_LIMITED',
  'SHUTTING_DOWN',
]);

type FrameListener = (
  frame: Uint8Array,
  from: { slot: number; userId: string | undefined; seq: number },
) => void;

export class RelayClient {
  readonly status = new Value<RelayStatus>('connecting');
  /** My slot in the channel (-1 until joined). */
  readonly slot = new Value(-1);
  /** Slots of the others in the channel → their user ids. */
  readonly peers = new Value<ReadonlyMap<number, string>>(new Map());
  /** The refusal that ended the client, if one did. */
  readonly error = new Value<ProtocolError | undefined>(undefined);
  readonly stats: RelayStats = { sent: 0, dropped: 0, received: 0, reconnects: 0 };
  private readonly listeners = new Set<FrameListener>();
  private readonly policy: ReconnectPolicy;
  private socket: BinarySocket | undefined;
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

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends one sealed frame; returns whether it went out (false: dropped, counted). */
  send(frame: Uint8Array): boolean {
    const s = this.socket;
    if (
      this.status.value !== 'joined' ||
      !s ||
      s.readyState !== OPEN ||
      s.bufferedAmount > MAX_BUFFERED_BYTES
    ) {
      this.stats.dropped++;
      return false;
    }
    s.send(encodeRelay.frame(frame));
    this.stats.sent++;
    return true;
  }

  /** Deafened (false): the relay stops forwarding to me. Kept across reconnects. */
  listen(on: boolean): void {
    this.listening = on;
    if (this.status.value === 'joined') this.socket?.send(encodeRelay.listen(on));
  }

  /** Leaves the channel for good. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = undefined;
    if (s && s.readyState === OPEN) {
      s.send(encodeRelay.leave());
      s.close(1000, 'left');
    }
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
      if (error instanceof ProtocolError && !RETRY_ADMISSION.has(error.code)) return this.end(error, settle);
      return this.retry(1006, 0, settle);
    }
    const socket = this.options.socket(admission.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    const openedAt = Date.now();
    let joinedAt = 0;
    const joinTimer = setTimeout(
      () => socket.close(4408, 'no JOINED in time'),
      this.options.joinTimeoutMs ?? 10_000,
    );
    socket.addEventListener('open', () => socket.send(encodeRelay.hello(fromBase64url(admission.ticket))));
    socket.addEventListener('message', (event: { data: unknown }) => {
      if (this.socket !== socket) return;
      const data = event.data;
      const bytes =
        data instanceof ArrayBuffer ? new Uint8Array(data) : data instanceof Uint8Array ? data : undefined;
      if (!bytes) return;
      const m = parseServerRelayMessage(bytes);
      switch (m.type) {
        case 'joined':
          clearTimeout(joinTimer);
          joinedAt = Date.now();
          this.slot.set(m.slot);
          this.status.set('joined');
          if (!this.listening) socket.send(encodeRelay.listen(false));
          settle();
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
          if (!joinedAt) this.error.set(new ProtocolError(m.code, `the relay refused: ${m.code}`));
          break;
        case 'signal':
        case 'invalid':
          break; // data channels are negotiated by whoever asks for them; junk is ignored
        default: {
          const unreachable: never = m;
          return unreachable;
        }
      }
    });
    socket.addEventListener('close', (event: { code: number }) => {
      clearTimeout(joinTimer);
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.peers.set(new Map());
      this.slot.set(-1);
      if (this.stopped) return;
      if (isTerminalClose(event.code) || (!joinedAt && this.error.value)) {
        const refusal =
          this.error.value ?? new ProtocolError('AUTH_FAILED', `the relay closed with ${event.code}`);
        return this.end(refusal, settle);
      }
      this.retry(event.code, joinedAt ? Date.now() - joinedAt : Date.now() - openedAt, settle);
    });
    socket.addEventListener('error', () => {
      // The close event follows.
    });
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
