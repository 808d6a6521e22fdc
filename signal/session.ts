/**
 * One WebSocket connection: its authentication state, its limits, and how bytes
 * leave it. Knows nothing of channels or permissions (the hub does); it only
 * frames, queues, and closes with the right code.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CLOSE_CODES, type ErrorCode, isFatal, ProtocolError } from '../protocol/errors.ts';
import type { TokenBucket } from '../protocol/rate-limit.ts';

/**
 * A final, unmasked text frame around `payload` (RFC 6455 §5.2: server frames are
 * never masked), so a fan-out frames a message once and writes the same bytes to
 * every subscriber's socket.
 */
export function textFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81; // FIN + opcode 0x1 (text)
  if (n < 126) frame[1] = n;
  else if (n < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  frame.set(payload, head);
  return frame;
}

const OPEN = 1; // WebSocket.OPEN

/**
 * Write coalescing: the first frame a socket gets in a tick is written at once (no
 * added latency); further frames in the same tick (a burst read from one publisher)
 * are corked and leave in one write when the tick ends.
 */
let tick = 0;
let tickScheduled = false;
const corked: Socket[] = [];

function endTick(): void {
  tick++;
  tickScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

export type SessionState = 'hello' | 'authed' | 'closed';

export interface SessionUser {
  readonly key: string;
  name: string;
  roles: string[];
  permissions: ReadonlySet<string>;
  priority: number;
}

export interface VoiceState {
  channel: string;
  muted: boolean;
  deafened: boolean;
  /** The session's voice goes through the relay. */
  relay: boolean;
  /** The page's id for this call (`voice.join`'s `call`): a resume finds its own old session by it. Not shown to others. */
  call?: string;
}

let nextId = 1;

export class Session {
  readonly id = (nextId++).toString(36);
  state: SessionState = 'hello';
  user: SessionUser | undefined;
  /** base64url nonce the client must sign; single-use (cleared once answered). */
  nonce: string | undefined;
  powChallenge: Uint8Array | undefined;
  /** Ticket sessions (stock y-webrtc clients) may only pub/sub inside this room. */
  ticketRoom: string | undefined;
  voice: VoiceState | undefined;
  bucket: TokenBucket | undefined;
  alive = true;
  /** Rate-limited frames so far; a client that keeps flooding is disconnected. */
  strikes = 0;
  readonly connectedAt = Date.now();
  /**
   * The socket under `ws`, when frames may be written to it directly: only with no
   * extension negotiated (the server turns permessage-deflate off), so ws's sender
   * never queues a frame of its own that a direct write could overtake.
   */
  private readonly socket: Socket | undefined;
  /** The tick this session's socket was last written in (see `endTick`). */
  private lastTick = -1;

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly maxQueueBytes: number,
    private readonly onSlow: (session: Session) => void,
  ) {
    // `_socket` is ws's own field (not in its types); without it, frames go through ws.send.
    const socket = (ws as unknown as { _socket?: Socket })._socket;
    this.socket = ws.extensions === '' && socket?.writable ? socket : undefined;
  }

  /** Sends a message object. */
  send(message: object): void {
    this.sendRaw(JSON.stringify(message));
  }

  /**
   * Sends already-serialised bytes (the fan-out path writes one Buffer to many
   * sessions). A consumer whose queue passes the bound is disconnected with
   * SLOW_CONSUMER (retryable) rather than allowed to grow the server's memory.
   */
  sendRaw(data: string | Buffer): boolean {
    if (this.state === 'closed') return false;
    if (this.ws.bufferedAmount > this.maxQueueBytes) {
      this.onSlow(this);
      this.close('SLOW_CONSUMER', 'send queue over its bound');
      return false;
    }
    this.ws.send(data, { binary: false });
    return true;
  }

  /**
   * Sends a frame made by `textFrame` (the fan-out path: one frame, many sessions),
   * with the same queue bound as `sendRaw`. `payload` is the frame's payload, for
   * when the socket cannot be written directly.
   */
  sendFrame(frame: Buffer, payload: Buffer): boolean {
    if (this.state === 'closed') return false;
    const socket = this.socket;
    if (socket === undefined) return this.sendRaw(payload);
    if (this.ws.readyState !== OPEN) return false;
    if (socket.writableLength > this.maxQueueBytes) {
      this.onSlow(this);
      this.close('SLOW_CONSUMER', 'send queue over its bound');
      return false;
    }
    if (this.lastTick !== tick) {
      this.lastTick = tick;
      if (!tickScheduled) {
        tickScheduled = true;
        process.nextTick(endTick);
      }
    } else if (socket.writableCorked === 0) {
      socket.cork();
      corked.push(socket);
    }
    socket.write(frame);
    return true;
  }

  /** Answers a request or reports an error; fatal codes also close (see protocol/errors.ts). */
  fail(error: ProtocolError): void {
    this.send({ type: 'error', code: error.code, message: error.message, ref: error.ref });
    if (isFatal(error.code)) this.close(error.code, error.message, false);
  }

  /** Closes with the code's 4xxx close status; sends an error frame first unless told not to. */
  close(code: ErrorCode, reason: string, sendError = true): void {
    if (this.state === 'closed') return;
    if (sendError && this.ws.readyState === this.ws.OPEN) {
      this.ws.send(JSON.stringify({ type: 'error', code, message: reason }));
    }
    this.state = 'closed';
    const status = (CLOSE_CODES as Partial<Record<ErrorCode, number>>)[code] ?? 4000;
    // The close reason is at most 123 bytes (RFC 6455 §5.5); the code is enough.
    this.ws.close(status, code);
    // A peer that never answers the close handshake is cut after a grace period.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  can(permission: string): boolean {
    return this.user?.permissions.has(permission) ?? false;
  }
}

export function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof ProtocolError ? error.code : 'INTERNAL';
}
