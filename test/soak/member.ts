/**
 * What the soak asks of a simulated member, whichever client drives it: the real
 * client core (core-member.ts) or the bare reconnecting connection (lean-member.ts).
 * Leaving and rejoining is the connection going away and coming back: `leave(ms)`
 * closes the socket from the client side and the connection's own reconnect logic
 * returns after `ms` (a new socket, full authentication, welcome, re-subscribe,
 * catch-up of what was missed): the path a browser takes after a network drop.
 */
import { WebSocket } from 'ws';
import { importAgreementKey, webCryptoAgreement } from '../../crypto/ecdh.ts';
import type { IdentityKeyPair } from '../../crypto/identity.ts';
import { webCryptoSigner } from '../../crypto/sign.ts';
import { importSigningKey } from '../../web/browser/identity-store.ts';
import type { IdentityProvider } from '../../web/core/identity-provider.ts';
import type { ConnectionState, ServerConnection } from '../../web/net/connection.ts';
import { ReconnectPolicy } from '../../web/net/reconnect.ts';
import type { SocketLike } from '../../web/net/signal-client.ts';

export interface MemberEvents {
  /** A post was added to the member's channel (its text as shown), at `performance.now()`. */
  onPost(text: string, at: number): void;
  /** The member came online (true) or dropped (false); `planned` when it was `leave`. */
  onState(online: boolean, planned: boolean, detail: string): void;
  /** Something the client logged (a refused write, a failed hand-over): an error here. */
  onLog(message: string): void;
}

/** Counters of trouble in what a member received (all zero for a member that does not check). */
export interface ReceiveTrouble {
  forged: number;
  rejected: number;
  undecryptable: number;
  overflowed: number;
  pendingKeys: number;
}

export interface SoakMember {
  readonly index: number;
  readonly isOnline: boolean;
  /** Authenticates and waits for the welcome. */
  connect(wsUrl: string): Promise<void>;
  /** Opens the member's channel: its history, then every post it gains. */
  open(channel: string): Promise<void>;
  send(text: string): Promise<void>;
  /** Goes offline now and comes back by itself after `ms`; false when it was not online. */
  leave(ms: number): boolean;
  trouble(channels: readonly string[]): ReceiveTrouble;
  close(): void;
}

/** The browser's identity provider shape over WebCrypto keys imported from a raw pair. */
export async function webCryptoIdentity(pair: IdentityKeyPair): Promise<IdentityProvider> {
  return {
    signer: webCryptoSigner(await importSigningKey(pair.secretKey), pair.publicKey),
    agreement: webCryptoAgreement(await importAgreementKey(pair.secretKey), pair.publicKey),
    publicKey: pair.publicKey.slice(),
  };
}

/** Backoff like the tests' fast policy, except that a planned absence returns after exactly its length. */
export class AwayPolicy extends ReconnectPolicy {
  private hold: number | undefined;

  constructor() {
    super({ baseMs: 30, maxMs: 500 });
  }

  /** The next reconnect waits `ms` (once). */
  away(ms: number): void {
    this.hold = ms;
  }

  override next(closeCode: number, upMs: number): number | null {
    const held = this.hold;
    this.hold = undefined;
    return held ?? super.next(closeCode, upMs);
  }
}

/**
 * The online/offline bookkeeping and the planned leave, shared by both kinds of
 * member: watches a ServerConnection's state and owns the socket factory.
 */
export class Presence {
  /** The socket of the current connection (the newest the client made). */
  socket: WebSocket | undefined;
  readonly policy = new AwayPolicy();
  online = false;
  private leaving = false;

  constructor(private readonly events: MemberEvents) {}

  readonly socketFactory = (url: string): SocketLike => {
    const ws = new WebSocket(url);
    this.socket = ws;
    return ws as unknown as SocketLike;
  };

  watch(conn: ServerConnection): void {
    conn.onState((s: ConnectionState) => {
      if (s.status === 'online') this.set(true, '');
      else if (this.online) {
        const detail = s.status === 'reconnecting' ? s.lastError : s.status === 'offline' ? s.code : s.status;
        this.set(false, detail);
      }
    });
  }

  /** Online and not on the way out. */
  get present(): boolean {
    return this.online && !this.leaving;
  }

  leave(ms: number): boolean {
    if (!this.present || !this.socket) return false;
    this.policy.away(ms);
    this.leaving = true;
    this.socket.close(1000);
    return true;
  }

  set(online: boolean, detail: string): void {
    if (online === this.online) return;
    this.online = online;
    const planned = !online && this.leaving;
    if (!online) this.leaving = false;
    this.events.onState(online, planned, detail);
  }
}
