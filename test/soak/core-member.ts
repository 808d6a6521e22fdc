/**
 * A simulated member running the real client core: `ServerSession` (the code the
 * browser runs) over a `ws` socket, with the browser's kind of identity (WebCrypto
 * ECDSA and ECDH keys, as web/browser/identity-store.ts makes them; noble's pure-JS
 * P-256 is ~13× slower to sign and ~7× slower for ECDH, measured here, which would
 * make the simulation the bottleneck rather than the server).
 *
 * It authenticates, gets the welcome, opens its text channel (history, typing
 * topic), sends messages sealed by the client core, and reports every post its
 * channel's document gains, pushed live or fetched on catch-up. Its LocalCache may
 * start with saved keys (keys.ts), as a returning browser's would.
 */
import type * as Y from 'yjs';
import type { IdentityKeyPair } from '../../crypto/identity.ts';
import type { Conversation } from '../../web/core/conversation.ts';
import type { InboxStats } from '../../web/core/inbox.ts';
import { MemoryCache } from '../../web/core/local-cache.ts';
import { ServerSession } from '../../web/core/server-view.ts';
import {
  type MemberEvents,
  Presence,
  type ReceiveTrouble,
  type SoakMember,
  webCryptoIdentity,
} from './member.ts';

export class CoreMember implements SoakMember {
  session: ServerSession | undefined;
  conversation: Conversation | undefined;
  readonly presence: Presence;

  constructor(
    readonly index: number,
    readonly pair: IdentityKeyPair,
    private readonly events: MemberEvents,
    private readonly cache = new MemoryCache(),
  ) {
    this.presence = new Presence(events);
  }

  get isOnline(): boolean {
    return this.presence.present;
  }

  async connect(wsUrl: string): Promise<void> {
    const session = await ServerSession.connect({
      url: wsUrl,
      identity: await webCryptoIdentity(this.pair),
      socket: this.presence.socketFactory,
      cache: this.cache,
      policy: this.presence.policy,
      log: (m) => this.events.onLog(m),
    });
    this.session = session;
    this.presence.set(true, '');
    this.presence.watch(session.conn);
  }

  async open(channel: string): Promise<void> {
    if (!this.session) throw new Error(`member ${this.index} is not connected`);
    const conversation = this.session.conversation(channel);
    this.conversation = conversation;
    // Yjs reports the keys a transaction added to the posts map (channel-doc.ts keeps
    // posts in the map 'messages'): one event per post, however it arrived.
    const posts = conversation.doc.doc.getMap<Y.Map<unknown>>('messages');
    const report = (key: string, at: number) => {
      const text = posts.get(key)?.get('text');
      if (typeof text === 'string') this.events.onPost(text, at);
    };
    posts.observe((event) => {
      const at = performance.now();
      for (const [key, change] of event.changes.keys) if (change.action === 'add') report(key, at);
    });
    // Pushes handled before this point (right after the welcome) are in the document already.
    for (const key of posts.keys()) report(key, performance.now());
    await conversation.open();
  }

  send(text: string): Promise<void> {
    if (!this.conversation) return Promise.reject(new Error(`member ${this.index} has no channel open`));
    return this.conversation.send(text);
  }

  leave(ms: number): boolean {
    return this.presence.leave(ms);
  }

  /** Inbox counters over every conversation this member holds. */
  trouble(channels: readonly string[]): ReceiveTrouble {
    const total = { forged: 0, rejected: 0, undecryptable: 0, overflowed: 0, pendingKeys: 0 };
    if (!this.session) return total;
    for (const id of channels) {
      const inbox = this.session.conversation(id).inbox;
      const stats: InboxStats = inbox.stats;
      total.forged += stats.forged;
      total.rejected += stats.rejected;
      total.undecryptable += stats.undecryptable;
      total.overflowed += stats.overflowed;
      total.pendingKeys += inbox.pendingKeys;
    }
    return total;
  }

  close(): void {
    this.session?.close();
    this.presence.online = false;
  }
}
