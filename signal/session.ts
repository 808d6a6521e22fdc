/**
 * One WebSocket connection: its authentication state, its limits, and how bytes
 * leave it. Knows nothing of channels or permissions (the hub does); it only
 * frames, queues, and closes with the right code.
 */
import type { WebSocket } from 'ws';
import { CLOSE_CODES, type ErrorCode, isFatal, ProtocolError } from '../protocol/errors.ts';
import type { TokenBucket } from './rate-limit.ts';

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

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    private readonly maxQueueBytes: number,
    private readonly onSlow: (session: Session) => void,
  ) {}

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
