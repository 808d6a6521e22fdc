/**
 * A bot in a voice channel, on the relay path, in Node: the same client core as the
 * web app (web/core/server-view.ts) for the signal side, the same relay client
 * (web/net/relay-client.ts) and the same frame keys (web/voice/relay/frame-keys.ts),
 * with Opus from bot/opus.ts in place of WebCodecs. What it sends a browser opens,
 * and the other way round:
 *
 *   join:    connect as an allowlisted identity → `voice.join` → open the channel's
 *            log (members' sender keys for it arrive there) → hand my sender key for
 *            the channel to every member (KeyDistributor.ensure) → `relay.ticket` →
 *            RelayClient (HELLO, JOINED)
 *   send:    960 samples → Opus (20 ms, 48 kHz mono) → FrameSealer (my frame secret
 *            `KeyManager.frameSecret(channel, me)`, my public key, a fresh random
 *            key id, the Opus TOC in clear) → relay
 *   receive: FORWARD (slot, user id) → SenderFrames per slot (learns each key id on
 *            its first frame by the sender's secret of this or the previous epoch,
 *            asks for the key when none opens it) → Opus decoder per sender → onAudio
 *
 * Counters: one sealer per key id, the counter rising by one for every frame sealed,
 * burnt even when the relay drops the frame. Nothing is sealed while the bot is
 * muted or may not speak (as in the browser, the receiver's jitter buffer sees a
 * pause). A new key epoch (a member kicked or banned) gets my key of it handed out
 * and a new sealer under a new key id; a counter running out does too.
 *
 * May speak: the relay forwards frames only under a ticket that says so (`speak`
 * and not server-muted, decided when the ticket is minted). A server mute seen in
 * presence gates sending at once; when it is lifted the relay connection is made
 * again with a fresh ticket. Frames from members the server muted are not decoded,
 * as the browser does not play them.
 *
 * Keys across restarts: a session's sender key for the channel is what others open
 * its frames with, and members refuse a second, different key of the same sender and
 * epoch, so an owned session must keep its keys between runs: give it a cache that
 * persists (bot/state-file.ts). The fresh key id per join keeps nonces unique under
 * the same key.
 */
import { WebSocket } from 'ws';
import { fromBase64url } from '../crypto/bytes.ts';
import { CryptoError } from '../crypto/errors.ts';
import { type FrameSealer, MAX_FRAME_OVERHEAD } from '../crypto/frame.ts';
import type { IdentityKeyPair } from '../crypto/identity.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { parseRelayTicket } from '../protocol/relay.ts';
import { rawIdentity } from '../web/core/identity-provider.ts';
import { type LocalCache, MemoryCache } from '../web/core/local-cache.ts';
import type { ChannelInfo } from '../web/core/model.ts';
import { Value } from '../web/core/observable.ts';
import { ServerSession } from '../web/core/server-view.ts';
import type { ReconnectPolicy } from '../web/net/reconnect.ts';
import { type BinarySocket, RelayClient } from '../web/net/relay-client.ts';
import type { SocketLike } from '../web/net/signal-client.ts';
import {
  type FrameSecrets,
  frameSealerFor,
  SenderFrames,
  slotSender,
} from '../web/voice/relay/frame-keys.ts';
import { BotError } from './errors.ts';
import { findChannel } from './find-channel.ts';
import {
  DEFAULT_BITRATE,
  FRAME_SAMPLES,
  MAX_OPUS_PACKET,
  type OpusApplication,
  OpusDecoder,
  OpusEncoder,
} from './opus.ts';
import { signalUrl } from './server-url.ts';

/** How long an owned session is given to write its keys (the core saves them 50 ms after a change). */
const KEY_SAVE_MS = 100;

export interface VoiceBotOptions {
  /** A connected session of the bot's identity; the bot leaves it open. Or else: */
  readonly session?: ServerSession;
  /** The server (`https://host`, `wss://host/ws`, an invite link's origin); the bot connects and owns the session. */
  readonly serverUrl?: string;
  /** The bot's identity: a key on the server's allowlist. */
  readonly identity?: IdentityKeyPair;
  /** What an owned session keeps between runs (its keys above all): bot/state-file.ts. Default memory. */
  readonly cache?: LocalCache;
  /** The voice channel, by id or by name. */
  readonly channel: string;
  /** Opus bit/s. Default the channel's bitrate. */
  readonly bitrate?: number;
  /** Default `audio` (music); `voip` for speech. */
  readonly application?: OpusApplication;
  /** Opens a WebSocket, to the signal server and to the relay. Default `ws`. */
  readonly socket?: (url: string) => WebSocket;
  readonly policy?: ReconnectPolicy;
  readonly log?: (message: string) => void;
}

/** Where a decoded frame came from. */
export interface HeardFrame {
  readonly userId: string;
  /** The sender's relay slot. */
  readonly slot: number;
  readonly keyId: number;
  readonly counter: number;
  /** Counters skipped since this sender's previous frame under the same key id (lost on the way). */
  readonly lost: number;
}

export type AudioListener = (userId: string, pcm: Int16Array, frame: HeardFrame) => void;
/** A frame as it left: the plaintext Opus packet and the sealed frame (valid during the call only). */
export type SentListener = (packet: Uint8Array, frame: Uint8Array) => void;

export interface VoiceBotStats {
  /** Frames handed to the relay. */
  readonly framesSent: number;
  readonly bytesSent: number;
  /** Frames not sealed: muted, or not allowed to speak. */
  readonly gated: number;
  /** Frames sealed but dropped by the relay client (not joined, buffer full). */
  readonly dropped: number;
  /** Frames opened. */
  readonly framesReceived: number;
  readonly decoded: number;
  /** Frames not opened or played, by reason: crypto codes (UNKNOWN_KEY, DECRYPT_FAILED, REPLAY, …), NO_SENDER, SERVER_MUTED, CODEC. */
  readonly refused: Readonly<Record<string, number>>;
  /** Mean Opus encode time per frame, ms. */
  readonly encodeMeanMs: number;
  /** Relay connections made after the first (reconnects and fresh tickets). */
  readonly relayReconnects: number;
}

interface Sender {
  readonly userId: string;
  readonly frames: SenderFrames;
  decoder: OpusDecoder | undefined;
  last: { keyId: number; counter: number } | undefined;
}

export class VoiceBot {
  /** False while the server does not let the bot speak (no `speak`, server-muted, or a listen-only ticket). */
  readonly canSpeak = new Value(false);
  readonly muted = new Value(false);
  readonly deafened = new Value(false);
  /** Set by start(), which join() awaits before it hands the bot out. */
  private relayClient!: RelayClient;
  private relayOffs: (() => void)[] = [];
  private readonly offs: (() => void)[] = [];
  private readonly secrets: FrameSecrets;
  private sealer: FrameSealer;
  private sealerEpoch: number;
  private rekeying: Promise<void> | undefined;
  private readonly encoder: OpusEncoder;
  private readonly sealed = new Uint8Array(MAX_OPUS_PACKET + MAX_FRAME_OVERHEAD);
  private readonly senders = new Map<number, Sender>();
  private readonly audioListeners = new Set<AudioListener>();
  private readonly sentListeners = new Set<SentListener>();
  private readonly refused: Record<string, number> = {};
  private counts = { framesSent: 0, bytesSent: 0, gated: 0, dropped: 0, framesReceived: 0, decoded: 0 };
  private relayReconnects = 0;
  /** What the ticket of the connection in use allows; a connection still being opened changes nothing. */
  private ticketCanSpeak = false;
  private presenceMuted = false;
  private refreshing: Promise<void> | undefined;
  private left = false;

  private constructor(
    readonly session: ServerSession,
    readonly channel: ChannelInfo,
    private readonly owned: boolean,
    private readonly socket: (url: string) => WebSocket,
    private readonly options: VoiceBotOptions,
    bitrate: number,
  ) {
    const { keys, distributor } = session;
    this.secrets = {
      epoch: () => keys.epoch,
      secret: (userId, epoch) => keys.frameSecret(channel.id, userId, epoch),
      missing: (userId, epoch) => {
        distributor
          .request(channel.id, epoch, [userId])
          .catch(() => undefined /* offline: asked again later */);
      },
    };
    this.sealerEpoch = keys.epoch;
    this.sealer = this.newSealer();
    this.encoder = new OpusEncoder({ bitrate, application: options.application ?? 'audio' });
  }

  /** Joins the voice channel. Rejects with the server's or relay's ProtocolError (AUTH_FAILED, NOT_ALLOWED, …) or a BotError. */
  static async join(options: VoiceBotOptions): Promise<VoiceBot> {
    const socket = options.socket ?? ((url: string) => new WebSocket(url, { perMessageDeflate: false }));
    let session = options.session;
    const owned = session === undefined;
    if (!session) {
      if (!options.serverUrl || !options.identity)
        throw new BotError('BAD_ARGUMENT', 'join needs a session, or a serverUrl and an identity');
      session = await ServerSession.connect({
        url: signalUrl(options.serverUrl),
        identity: rawIdentity(options.identity),
        socket: (url) => socket(url) as unknown as SocketLike, // ws's EventTarget methods fit at runtime
        cache: options.cache ?? new MemoryCache(),
        ...(options.policy ? { policy: options.policy } : {}),
        ...(options.log ? { log: options.log } : {}),
      });
    }
    let joined = false;
    try {
      const channel = findChannel(session, options.channel, 'voice');
      const reply = await session.conn.request('voice.join', { channel: channel.id });
      joined = true;
      // The channel's log carries every member's sender key for it; mine goes out to all of them.
      await session.conversation(channel.id).open();
      await handOutMyKey(session, channel);
      const channelBitrate = typeof reply.bitrate === 'number' ? reply.bitrate : undefined;
      const bitrate = options.bitrate ?? clampBitrate(channelBitrate);
      const bot = new VoiceBot(session, channel, owned, socket, options, bitrate);
      try {
        await bot.start();
      } catch (error) {
        bot.encoder.close();
        throw error;
      }
      return bot;
    } catch (error) {
      if (joined) await session.conn.request('voice.leave', {}).catch(() => undefined);
      if (owned) session.close();
      throw error;
    }
  }

  /** The relay connection (status, slot, peers). */
  get relay(): RelayClient {
    return this.relayClient;
  }

  /** The key id my frames are sealed under now (fresh for every join and every new epoch). */
  get keyId(): number {
    return this.sealer.keyId;
  }

  /** Whether `send` puts frames on the wire now (not muted, allowed to speak, still joined). */
  get transmitting(): boolean {
    return !this.left && !this.muted.value && this.canSpeak.value;
  }

  /**
   * Encodes and sends one 20 ms frame: exactly 960 samples of 48 kHz mono. Returns
   * whether it went to the relay (false: gated, or dropped by the relay client).
   */
  send(pcm: Int16Array): boolean {
    this.requireJoined('send');
    if (!(pcm instanceof Int16Array) || pcm.length !== FRAME_SAMPLES)
      throw new BotError('BAD_ARGUMENT', `pcm must be an Int16Array of ${FRAME_SAMPLES} samples (20 ms)`);
    if (!this.transmitting) {
      this.counts.gated++;
      return false;
    }
    return this.sendOpus(this.encoder.encode(pcm));
  }

  /** Seals and sends one Opus packet (20 ms, 48 kHz mono, as the browser's decoder expects). */
  sendOpus(packet: Uint8Array): boolean {
    this.requireJoined('sendOpus');
    if (!(packet instanceof Uint8Array) || packet.length === 0 || packet.length > MAX_OPUS_PACKET)
      throw new BotError('BAD_ARGUMENT', `an Opus packet is 1–${MAX_OPUS_PACKET} bytes`);
    if (!this.transmitting) {
      this.counts.gated++;
      return false;
    }
    let frame: Uint8Array;
    try {
      frame = this.sealer.sealInto(packet, this.sealed);
    } catch (error) {
      if (!(error instanceof CryptoError && error.code === 'NONCE_REUSE')) throw error;
      this.sealer = this.newSealer(); // the counter ran out (2^32 frames): a new key id
      frame = this.sealer.sealInto(packet, this.sealed);
    }
    for (const listener of [...this.sentListeners]) this.call(() => listener(packet, frame));
    if (!this.relayClient.send(frame)) {
      this.counts.dropped++;
      return false;
    }
    this.counts.framesSent++;
    this.counts.bytesSent += frame.length;
    return true;
  }

  /** Decoded audio of the others (48 kHz mono, 960 samples a frame); decoding runs only while someone listens. */
  onAudio(listener: AudioListener): () => void {
    this.audioListeners.add(listener);
    return () => this.audioListeners.delete(listener);
  }

  /** Every frame as it leaves (metering, tests). */
  onSent(listener: SentListener): () => void {
    this.sentListeners.add(listener);
    return () => this.sentListeners.delete(listener);
  }

  /** Muted: nothing is encoded or sent. The server is told, so the member list shows it. */
  mute(muted = true): void {
    if (this.left || this.muted.value === muted) return;
    this.muted.set(muted);
    this.reportState();
  }

  /** Deafened: the relay stops forwarding to the bot. */
  deafen(deafened = true): void {
    if (this.left || this.deafened.value === deafened) return;
    this.deafened.set(deafened);
    this.relayClient.listen(!deafened);
    this.reportState();
  }

  setBitrate(bitrate: number): void {
    this.encoder.setBitrate(bitrate);
  }

  stats(): VoiceBotStats {
    return {
      ...this.counts,
      refused: { ...this.refused },
      encodeMeanMs: this.encoder.stats().meanMs,
      relayReconnects: this.relayReconnects + this.relayClient.stats.reconnects,
    };
  }

  /** Leaves the channel (relay and `voice.leave`); an owned session is closed too. */
  async leave(): Promise<void> {
    if (this.left) return;
    this.left = true;
    this.canSpeak.set(false);
    for (const off of this.offs.splice(0)) off();
    this.detachRelay();
    this.relayClient.close();
    for (const slot of [...this.senders.keys()]) this.drop(slot);
    this.encoder.close();
    this.session.conversation(this.channel.id).close();
    await this.rekeying?.catch(() => undefined);
    await this.session.conn
      .request('voice.leave', {})
      .catch(() => undefined /* offline: the server drops it */);
    if (this.owned) {
      await new Promise((resolve) => setTimeout(resolve, KEY_SAVE_MS));
      this.session.close();
    }
  }

  private async start(): Promise<void> {
    const route = await this.connectRelay();
    this.relayClient = route.client;
    route.use();
    this.attachRelay(this.relayClient);
    const { keys, members$ } = this.session;
    this.offs.push(
      keys.onChange(() => this.keysChanged()),
      members$.list.subscribe(() => this.presenceChanged()),
      // My identity joined voice from elsewhere (one device in voice per identity): this bot leaves.
      this.session.conn.on('voice.ended', (m) => {
        if (m.channel === this.channel.id) void this.leave();
      }),
    );
    this.presenceChanged();
  }

  /**
   * A relay connection and what its ticket allows. Its tickets (the first and each reconnect's)
   * decide `canSpeak` only once `use()` says the connection is the one frames go out on: until
   * then, frames still go out on the old, listen-only connection, and the relay refuses them.
   */
  private async connectRelay(): Promise<{ client: RelayClient; use: () => void }> {
    const { conn, url } = this.session;
    let inUse = false;
    let ticketCanSpeak = false;
    const apply = () => {
      this.ticketCanSpeak = ticketCanSpeak;
      this.updateCanSpeak();
    };
    const client = await RelayClient.connect({
      admission: async () => {
        const reply = await conn.request('relay.ticket', { channel: this.channel.id });
        if (typeof reply.ticket !== 'string' || typeof reply.url !== 'string')
          throw new ProtocolError('INTERNAL', 'relay.ticket answered without a ticket');
        const parsed = parseRelayTicket(fromBase64url(reply.ticket));
        ticketCanSpeak = parsed.ok && parsed.ticket.canSpeak;
        if (inUse) apply();
        return { ticket: reply.ticket, url: new URL(reply.url, url).toString() };
      },
      socket: (relayUrl) => this.socket(relayUrl) as unknown as BinarySocket, // ws fits at runtime
      ...(this.options.policy ? { policy: this.options.policy } : {}),
    });
    if (this.deafened.value) client.listen(false);
    return {
      client,
      use: () => {
        inUse = true;
        apply();
      },
    };
  }

  private attachRelay(client: RelayClient): void {
    this.relayOffs.push(
      client.onFrame((frame, from) => this.receive(frame, from.slot, from.userId)),
      client.peers.subscribe((peers) => {
        for (const slot of [...this.senders.keys()]) if (!peers.has(slot)) this.drop(slot);
      }),
    );
  }

  private detachRelay(): void {
    for (const off of this.relayOffs.splice(0)) off();
  }

  /** A fresh ticket (the server lifted a mute): a new relay connection, then the old one closes. The sealer goes on. */
  private refreshRelay(): void {
    this.refreshing ??= (async () => {
      try {
        const route = await this.connectRelay();
        const next = route.client;
        if (this.left) {
          next.close();
          return;
        }
        const old = this.relayClient;
        this.detachRelay();
        for (const slot of [...this.senders.keys()]) this.drop(slot); // slots belong to one connection
        this.relayReconnects += old.stats.reconnects + 1;
        this.relayClient = next;
        this.attachRelay(next);
        route.use();
        old.close();
      } catch (error) {
        this.options.log?.(`relay with a fresh ticket: ${(error as Error).message}`);
      } finally {
        this.refreshing = undefined;
      }
    })();
  }

  private presenceChanged(): void {
    if (this.left) return;
    const me = this.session.members$.get(this.session.meId);
    this.presenceMuted = me?.serverMuted === true;
    this.updateCanSpeak();
    // The ticket in use was minted while muted: only a new one lets the relay forward again.
    if (!this.presenceMuted && !this.ticketCanSpeak && this.session.can('speak')) this.refreshRelay();
  }

  private updateCanSpeak(): void {
    this.canSpeak.set(!this.left && this.ticketCanSpeak && !this.presenceMuted);
  }

  /** A new key epoch: my key of it goes to the members first, then frames are sealed with it under a new key id. */
  private keysChanged(): void {
    const epoch = this.session.keys.epoch;
    if (this.left || epoch === this.sealerEpoch || this.rekeying) return;
    this.rekeying = (async () => {
      try {
        await handOutMyKey(this.session, this.channel);
        this.sealerEpoch = epoch;
        this.sealer = this.newSealer();
      } finally {
        this.rekeying = undefined;
      }
      this.keysChanged(); // the epoch may have risen again meanwhile
    })();
    this.rekeying.catch((error: Error) => this.options.log?.(`new voice key: ${error.message}`));
  }

  private newSealer(): FrameSealer {
    const sealer = frameSealerFor(this.secrets, this.session.meId);
    if (!sealer)
      throw new BotError('NOT_JOINED', `no key of mine for ${this.channel.name} to seal voice with`);
    return sealer;
  }

  private receive(frame: Uint8Array, slot: number, userId: string | undefined): void {
    if (this.left) return;
    if (userId === undefined || !this.session.members$.has(userId)) {
      this.refuse('NO_SENDER');
      return;
    }
    if (this.session.members$.get(userId)?.serverMuted) {
      this.refuse('SERVER_MUTED');
      return;
    }
    const sender = slotSender(
      this.senders,
      slot,
      userId,
      () => ({ userId, frames: new SenderFrames(userId, this.secrets), decoder: undefined, last: undefined }),
      (s) => this.drop(s),
    );
    let opened: { keyId: number; counter: number; payload: Uint8Array };
    try {
      opened = sender.frames.open(frame);
    } catch (error) {
      this.refuse((error as { code?: string }).code ?? 'BAD_INPUT');
      return;
    }
    this.counts.framesReceived++;
    const { keyId, counter, payload } = opened;
    const last = sender.last;
    const lost = last && last.keyId === keyId ? Math.max(0, counter - last.counter - 1) : 0;
    if (!last || last.keyId !== keyId || counter > last.counter) sender.last = { keyId, counter };
    if (this.audioListeners.size === 0) return;
    sender.decoder ??= new OpusDecoder();
    let pcm: Int16Array;
    try {
      pcm = sender.decoder.decode(payload);
    } catch {
      this.refuse('CODEC');
      return;
    }
    this.counts.decoded++;
    const heard: HeardFrame = { userId, slot, keyId, counter, lost };
    for (const listener of [...this.audioListeners]) this.call(() => listener(userId, pcm, heard));
  }

  private refuse(code: string): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
  }

  private drop(slot: number): void {
    const sender = this.senders.get(slot);
    if (!sender) return;
    this.senders.delete(slot);
    sender.decoder?.close();
  }

  private reportState(): void {
    this.session.conn
      .request('voice.state', { muted: this.muted.value, deafened: this.deafened.value })
      .catch((error: Error) => this.options.log?.(`voice.state: ${error.message}`));
  }

  /** Runs a listener; one that throws is logged, never breaks the relay's message loop. */
  private call(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.options.log?.(`a voice bot listener threw: ${(error as Error).message}`);
    }
  }

  private requireJoined(what: string): void {
    if (this.left) throw new BotError('NOT_JOINED', `${what} after leave()`);
  }
}

/**
 * Makes and hands out my sender key for the channel. Another device's chain of my
 * identity (or my own from a lost state file) sits beside mine (one chain per device,
 * web/core/key-manager.ts); a key members would still refuse is `KEY_CONFLICT`.
 */
async function handOutMyKey(session: ServerSession, channel: ChannelInfo): Promise<void> {
  try {
    await session.distributor.ensure(channel.id);
  } catch (error) {
    if (!(error instanceof CryptoError && error.code === 'KEY_REJECTED')) throw error;
    throw new BotError(
      'KEY_CONFLICT',
      `this identity already has a voice key for ${channel.name} at epoch ${session.keys.epoch} that ` +
        'this bot does not hold (another device, or a lost state file): members would refuse a second one. ' +
        'Run with the state file it had, or wait for the next key epoch.',
      { cause: error },
    );
  }
}

/** The channel's bitrate when it is one Opus takes (6–510 kbit/s), else the relay default. */
function clampBitrate(bitrate: number | undefined): number {
  if (bitrate === undefined || !Number.isInteger(bitrate)) return DEFAULT_BITRATE;
  return Math.max(6_000, Math.min(510_000, bitrate));
}
