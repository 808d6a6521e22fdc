/**
 * A lean simulated member, for server loads the full client core cannot be run at
 * in one process (see README.md here): the real reconnecting connection
 * (web/net/connection.ts: authentication with a WebCrypto key, reconnect, the
 * exactly-once outbox) without ServerSession. It appends opaque blobs to its
 * channel's log and reads pushes and catch-up pages itself, like History does; it
 * does not seal, open, verify or keep a document, ignores presence, and decodes only
 * the head of each blob it receives (where the soak's text carries the message's id
 * and send time). The server cannot tell its blobs from sealed ones: they are the
 * text padded to a sealed update's size.
 */
import { fromBase64url, randomBytes, toBase64url, utf8 } from '../../crypto/bytes.ts';
import type { IdentityKeyPair } from '../../crypto/identity.ts';
import { ServerConnection } from '../../web/net/connection.ts';
import {
  type MemberEvents,
  Presence,
  type ReceiveTrouble,
  type SoakMember,
  webCryptoIdentity,
} from './member.ts';

/** Bytes a sealed one-post update adds to its text (Yjs structs, header, nonce, tag, signature). */
export const SEALED_OVERHEAD = 260;
const PAGE = 100;
/** Base64url characters of a blob decoded on receipt (a multiple of 4: 72 bytes). */
const HEAD_CHARS = 96;
const decoder = new TextDecoder();

export class LeanMember implements SoakMember {
  conn: ServerConnection | undefined;
  readonly presence: Presence;
  private channel = '';
  /** Every seq up to this one has been seen (or predates the first page). */
  private contiguous = 0;
  private readonly seen = new Set<number>();
  private catchingUp: Promise<void> | undefined;

  constructor(
    readonly index: number,
    readonly pair: IdentityKeyPair,
    private readonly events: MemberEvents,
  ) {
    this.presence = new Presence(events);
  }

  get isOnline(): boolean {
    return this.presence.present;
  }

  async connect(wsUrl: string): Promise<void> {
    const identity = await webCryptoIdentity(this.pair);
    const conn = new ServerConnection(
      { url: wsUrl, signer: identity.signer, socket: this.presence.socketFactory },
      this.presence.policy,
    );
    this.conn = conn;
    await new Promise<void>((resolve, reject) => {
      const off = conn.onState((s) => {
        if (s.status === 'online') {
          off();
          resolve();
        } else if (s.status === 'offline') {
          off();
          reject(new Error(`refused: ${s.code} ${s.reason}`));
        }
      });
      conn.start();
    });
    this.presence.set(true, '');
    this.presence.watch(conn);
    conn.on('welcome', () => {
      if (this.channel) this.catchUp().catch((e: Error) => this.events.onLog(`catch-up: ${e.message}`));
    });
    conn.on('log', (m) => {
      if (m.log !== this.channel || typeof m.seq !== 'number') return;
      this.entry(m);
      if (m.seq > this.contiguous + 1)
        this.catchUp().catch((e: Error) => this.events.onLog(`catch-up: ${e.message}`));
    });
  }

  async open(channel: string): Promise<void> {
    if (!this.conn) throw new Error(`member ${this.index} is not connected`);
    this.channel = channel;
    const reply = await this.conn.request('log.fetch', {
      log: channel,
      before: Number.MAX_SAFE_INTEGER,
      limit: PAGE,
    });
    this.entries(reply.entries);
    // Older entries are history a member only sees by scrolling back: not owed.
    this.contiguous = Math.max(this.contiguous, ...this.seen);
    this.advance();
  }

  send(text: string): Promise<void> {
    if (!this.conn) return Promise.reject(new Error(`member ${this.index} is not connected`));
    const head = utf8(text);
    const bytes = new Uint8Array(head.length + SEALED_OVERHEAD);
    bytes.set(head);
    return this.conn
      .enqueue('log.append', {
        log: this.channel,
        kind: 'update',
        blob: toBase64url(bytes),
        id: toBase64url(randomBytes(16)),
      })
      .then(() => undefined);
  }

  leave(ms: number): boolean {
    return this.presence.leave(ms);
  }

  trouble(): ReceiveTrouble {
    return { forged: 0, rejected: 0, undecryptable: 0, overflowed: 0, pendingKeys: 0 };
  }

  close(): void {
    this.conn?.close();
    this.presence.online = false;
  }

  /** Fetches what follows the contiguous prefix until a page comes back short. */
  private catchUp(): Promise<void> {
    this.catchingUp ??= (async () => {
      try {
        for (let full = true; full && this.conn; ) {
          const reply = await this.conn.request('log.fetch', {
            log: this.channel,
            after: this.contiguous,
            limit: PAGE,
          });
          full = this.entries(reply.entries) === PAGE;
        }
      } finally {
        this.catchingUp = undefined;
      }
    })();
    return this.catchingUp;
  }

  private advance(): void {
    while (this.seen.has(this.contiguous + 1)) this.contiguous++;
  }

  /** A page of entries; returns how many there were. */
  private entries(list: unknown): number {
    if (!Array.isArray(list)) return 0;
    for (const e of list as Record<string, unknown>[]) this.entry(e);
    return list.length;
  }

  private entry(e: Record<string, unknown>): void {
    if (typeof e.seq !== 'number' || typeof e.blob !== 'string' || this.seen.has(e.seq)) return;
    this.seen.add(e.seq);
    this.advance();
    if (e.kind !== 'update') return;
    // Only the head: the soak's text starts with the message's id and send time.
    const bytes = fromBase64url(e.blob.slice(0, HEAD_CHARS));
    const end = bytes.indexOf(0);
    this.events.onPost(decoder.decode(end === -1 ? bytes : bytes.subarray(0, end)), performance.now());
  }
}
