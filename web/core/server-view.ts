/**
 * One server as the UI sees it: wraps a ServerConnection and keeps the channel tree
 * (read-only Yjs mirror), the members and presence, the membership epoch that group
 * keys follow, every conversation of this server (made on first use), unread counts,
 * and the requests behind moderation and management.
 *
 * Pushes handled: `welcome` (again after every reconnect), `log`, `presence`,
 * `member.removed`, `channels`, `roles`, and `publish` (typing notes in a
 * conversation's room; key requests on the lobby topic `keys`).
 */
import { fromBase64url, randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { publicKeyOf, safetyNumber } from '../../crypto/identity.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { type ConnectionState, ServerConnection } from '../net/connection.ts';
import type { Mesh, MeshOptions } from '../net/mesh.ts';
import type { ReconnectPolicy } from '../net/reconnect.ts';
import { type BinarySocket, RelayClient } from '../net/relay-client.ts';
import type { ConnectOptions, SocketFactory, Welcome } from '../net/signal-client.ts';
import type { VoiceSession } from '../voice/voice-session.ts';
import { callRoster } from './call-roster.ts';
import { ChannelTree } from './channel-tree.ts';
import { Conversation } from './conversation.ts';
import { ConversationMeshes, type JoinMesh } from './conversation-mesh.ts';
import { FileTransfer } from './file-transfer.ts';
import { parseEntry } from './history.ts';
import { IceServers, parseIceCredentials } from './ice-credentials.ts';
import { type IdentityProvider, idOf } from './identity-provider.ts';
import { openBundle, sealBundle } from './key-bundle.ts';
import { KEYS_TOPIC, KeyDistributor } from './key-distributor.ts';
import { MAX_KEY_ENTRY_BYTES } from './key-entry.ts';
import { KeyManager, type SavedKeys } from './key-manager.ts';
import type { LocalCache } from './local-cache.ts';
import { Members } from './members.ts';
import type { ChannelInfo, InviteOptions, ServerView } from './model.ts';
import { Value } from './observable.ts';
import { MeshRooms } from './shared-mesh.ts';
import { TYPING_TOPIC } from './typing.ts';
import { type CallRelay, VoiceCall } from './voice-call.ts';

export interface ServerViewOptions {
  /** The WebSocket URL (`wss://host/ws`). */
  url: string;
  identity: IdentityProvider;
  socket: SocketFactory;
  cache: LocalCache;
  /** Joining: the invite token, the link's bundle secret, and a display name. */
  invite?: { token: string; secret?: Uint8Array; name: string };
  /** Refuses any server whose key fails this check (invite links name the server by a hash). */
  acceptServer?: (serverKey: string) => boolean;
  /** The server key pinned on an earlier visit. */
  expectServer?: string;
  policy?: ReconnectPolicy;
  pageSize?: number;
  /** Joins a peer mesh (web/net/mesh.ts); without it (Node) conversations use the server alone. */
  mesh?: JoinMesh;
  /** Voice channels: the mesh with media and the voice engine (web/voice); absent in Node. */
  voice?: { join: (options: MeshOptions) => Mesh; engine: () => VoiceSession };
  /**
   * The voice relay's WebSocket (the browser's `WebSocket`, or `ws` in Node), and a
   * data-channel connection to it when UDP gets through; without `relaySocket` voice
   * stays on the mesh.
   */
  relay?: {
    socket: (url: string) => BinarySocket;
    peerConnection?: (config: RTCConfiguration) => RTCPeerConnection;
  };
  /** True when the user hides their IP: mesh links then go through TURN only. */
  hideIp?: () => boolean;
  log?: (message: string) => void;
}

type Me = { key: string; name: string; roles: string[]; permissions: string[] };
const KEYS_SETTING = 'keys';
/** How long a call waits for the relay to admit it before choosing the mesh. */
const RELAY_CONNECT_MS = 5_000;
const MEMBERS_SETTING = 'members';
const FORMER_SETTING = 'former-members';
const DMS_SETTING = 'dms';

/** The http(s) base of a server from its WebSocket URL. */
export function httpBaseOf(wsUrl: string): string {
  return wsUrl.replace(/^ws/, 'http').replace(/\/ws\/?$/, '');
}

export class ServerSession implements ServerView {
  readonly url: string;
  readonly conn: ServerConnection;
  readonly name = new Value('');
  readonly connection: Value<ConnectionState>;
  readonly me = new Value<Me | undefined>(undefined);
  readonly tree = new ChannelTree();
  readonly members$ = new Members();
  readonly unread = new Value<Record<string, number>>({});
  readonly dms = new Value<string[]>([]);
  readonly keys: KeyManager;
  readonly distributor: KeyDistributor;
  readonly files: FileTransfer;
  /** The server's STUN/TURN servers with fresh credentials, for every mesh. */
  readonly ice: IceServers;
  /** The conversations' peer meshes, when the options give a way to join one. */
  readonly meshes: ConversationMeshes | undefined;
  /** My voice call on this server, when the options bring a voice engine. */
  readonly voice: VoiceCall | undefined;
  private readonly conversations = new Map<string, Conversation>();
  private welcome: Welcome | undefined;
  private joining: ServerViewOptions['invite'];
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private restored: Promise<void>;

  constructor(private readonly options: ServerViewOptions) {
    this.url = options.url;
    this.joining = options.invite;
    const connect: ConnectOptions = {
      url: options.url,
      signer: options.identity.signer,
      socket: options.socket,
      ...(options.invite ? { invite: options.invite.token, name: options.invite.name } : {}),
      ...(options.expectServer ? { expectServer: options.expectServer } : {}),
      ...(options.acceptServer ? { acceptServer: options.acceptServer } : {}),
    };
    this.conn = new ServerConnection(connect, options.policy);
    this.connection = new Value<ConnectionState>(this.conn.state);
    this.keys = new KeyManager(options.identity.publicKey);
    this.distributor = new KeyDistributor({
      identity: options.identity,
      keys: this.keys,
      enqueue: (type, fields) => this.conn.enqueue(type, fields),
      publish: (topic, data) => this.conn.publish(topic, data),
      readersOf: (c) => this.readersOf(c),
      isMember: (u) => this.members$.has(u),
      maxEntryBytes: MAX_KEY_ENTRY_BYTES,
      log: options.log,
    });
    this.files = new FileTransfer({
      request: (type, fields) => this.conn.request(type, fields),
      enqueue: (type, fields) => this.conn.enqueue(type, fields),
    });
    this.ice = new IceServers(
      async () => parseIceCredentials(await this.conn.request('turn.credentials', {})),
      options.log,
    );
    const rooms = new MeshRooms();
    this.meshes = options.mesh && this.makeMeshes(rooms.share(options.mesh));
    this.voice = options.voice && this.makeVoice(rooms.share(options.voice.join), options.voice.engine);
    this.keys.onChange(() => this.scheduleSave());
    this.restored = this.restore();
    this.conn.onState((s) => this.connection.set(s));
    this.conn.on('welcome', (m) => void this.onWelcome(m as unknown as Welcome));
    this.conn.on('log', (m) => this.onLog(m));
    this.conn.on('presence', (m) => this.onPresence(m));
    this.conn.on('relay.notice', (m) => {
      if (typeof m.notice !== 'string') return;
      try {
        this.voice?.relayNotice(fromBase64url(m.notice));
      } catch {
        this.options.log?.('relay.notice: not base64url; ignored');
      }
    });
    this.conn.on('voice.ended', (m) => {
      if (typeof m.channel === 'string') void this.voice?.ended(m.channel, String(m.reason ?? ''));
    });
    this.conn.on('voice.moved', (m) => {
      if (typeof m.channel === 'string') void this.voice?.moved(m.channel);
    });
    this.conn.on('member.removed', (m) => this.onRemoved(m));
    this.conn.on('channels', (m) => {
      if (typeof m.update === 'string') this.tree.apply(m.update);
    });
    this.conn.on('roles', (m) => this.onRoles(m));
    this.conn.on('publish', (m) => this.onPublish(m));
    this.conn.subscribe([KEYS_TOPIC]);
  }

  /** Connects and resolves after the first welcome (rejects if the server refuses us). */
  static async connect(options: ServerViewOptions): Promise<ServerSession> {
    const view = new ServerSession(options);
    const ready = new Promise<void>((resolve, reject) => {
      const off = view.conn.onState((s) => {
        if (s.status === 'offline') {
          off();
          reject(new ProtocolError(s.code as ProtocolError['code'], s.reason));
        }
      });
      view.firstWelcome = () => {
        off();
        resolve();
      };
    });
    view.conn.start();
    try {
      await ready;
    } catch (error) {
      view.close();
      throw error;
    }
    return view;
  }

  private firstWelcome: (() => void) | undefined;

  get id(): string {
    return this.welcome?.server.id ?? '';
  }

  get fingerprint(): string {
    return this.welcome?.server.fingerprint ?? '';
  }

  get channels(): Value<ChannelInfo[]> {
    return this.tree.list;
  }

  get members() {
    return this.members$.list;
  }

  get formerNames() {
    return this.members$.former;
  }

  get meId(): string {
    return idOf(this.options.identity);
  }

  open(conversation: string): Conversation {
    const c = this.conversation(conversation);
    c.open().catch((error: Error) => this.options.log?.(`history of ${conversation}: ${error.message}`));
    return c;
  }

  /** The conversation object, made on first use (a push for a log not open yet makes one too). */
  conversation(id: string): Conversation {
    let c = this.conversations.get(id);
    if (!c) {
      c = new Conversation(id, {
        identity: this.options.identity,
        meId: this.meId,
        keys: this.keys,
        distributor: this.distributor,
        cache: this.options.cache,
        pageSize: this.options.pageSize,
        online: () => this.conn.state.status === 'online',
        request: (type, fields) => this.conn.request(type, fields),
        enqueue: (type, fields) => this.conn.enqueue(type, fields),
        files: this.files,
        maxUploadBytes: () => this.limit('maxUploadBytes') ?? 0,
        publish: (topic, data, room) => this.conn.publish(topic, data, room),
        subscribe: (topics, room) => this.conn.subscribe(topics, room),
        unsubscribe: (topics, room) => this.conn.unsubscribe(topics, room),
        members: () => this.members$.list.value,
        isModerator: (u) => this.members$.isModerator(u),
        mayRead: (u) => this.readersOf(id).includes(u),
        onUnread: () => this.publishUnread(),
        ...(this.meshes ? { peers: this.peerPath(this.meshes, id) } : {}),
        log: this.options.log,
      });
      this.conversations.set(id, c);
      if (id.startsWith('dm:')) this.addDm(id);
    }
    return c;
  }

  /** Waits until every conversation has processed what it was given (tests, shutdown). */
  async settled(): Promise<void> {
    await this.restored;
    await Promise.all([...this.conversations.values()].map((c) => c.inbox.push([], false)));
  }

  retryNow(): void {
    this.conn.retryNow();
  }

  dmWith(key: string): string {
    const me = this.meId;
    return me < key ? `dm:${me}:${key}` : `dm:${key}:${me}`;
  }

  safetyNumber(key: string): string {
    return safetyNumber(this.options.identity.publicKey, publicKeyOf(key));
  }

  can(permission: string): boolean {
    return this.me.value?.permissions.includes(permission) ?? false;
  }

  async rename(key: string, name: string): Promise<void> {
    await this.conn.request('member.rename', { member: key, name });
  }

  async kick(key: string, reason?: string): Promise<void> {
    await this.conn.request('member.kick', { member: key, ...(reason ? { reason } : {}) });
  }

  async ban(key: string, reason?: string): Promise<void> {
    await this.conn.request('member.ban', { member: key, ...(reason ? { reason } : {}) });
  }

  async mute(key: string, muted: boolean): Promise<void> {
    await this.conn.request('member.mute', { member: key, muted });
  }

  async moveMember(key: string, channel: string): Promise<void> {
    await this.conn.request('member.move', { member: key, channel });
  }

  async createChannel(name: string, kind: 'text' | 'voice', parent?: string): Promise<string> {
    const reply = await this.conn.request('channel.create', { name, kind, ...(parent ? { parent } : {}) });
    if (typeof reply.channel !== 'string') throw new ProtocolError('INTERNAL', 'no channel id in the reply');
    return reply.channel;
  }

  async updateChannel(
    id: string,
    settings: Partial<Omit<ChannelInfo, 'id' | 'kind' | 'parent' | 'order'>>,
  ): Promise<void> {
    await this.conn.request('channel.update', { channel: id, settings });
  }

  async deleteChannel(id: string): Promise<void> {
    await this.conn.request('channel.delete', { channel: id });
  }

  async moveChannel(id: string, parent: string | null, index: number): Promise<void> {
    await this.conn.request('channel.move', { channel: id, ...(parent ? { parent } : {}), index });
  }

  /**
   * Creates an invite. Unless `shareHistory` is false, the link carries a fresh
   * secret and the server keeps a bundle of the channel keys of the current epoch
   * sealed with it (key-bundle.ts), so the newcomer reads this epoch's history.
   */
  async createInvite(options: InviteOptions & { shareHistory?: boolean }): Promise<string> {
    const fields: Record<string, unknown> = {
      role: options.role,
      expiresIn: options.expiresIn,
      maxUses: options.maxUses,
      ...(options.channel ? { channel: options.channel } : {}),
    };
    let secret: Uint8Array | undefined;
    if (options.shareHistory !== false) {
      secret = randomBytes(32);
      const epoch = this.keys.epoch;
      const keys = this.keys
        .conversations()
        .filter((c) => !c.startsWith('dm:'))
        .flatMap((c) => this.keys.keysAt(c, epoch));
      const { bundle } = await sealBundle(
        this.options.identity.signer,
        secret,
        publicKeyOf(this.id),
        keys,
        this.maxBundleBytes(),
      );
      fields.bundle = toBase64url(bundle);
    }
    const reply = await this.conn.request('invite.create', fields);
    if (typeof reply.token !== 'string') throw new ProtocolError('INTERNAL', 'no token in the reply');
    const link = `${httpBaseOf(this.url)}/#invite=${reply.token}`;
    return secret ? `${link}.${toBase64url(secret)}` : link;
  }

  setTags(key: string, tags: string[]): void {
    this.members$.setTags(key, tags);
  }

  /** Leaves the server for good. */
  async leave(): Promise<void> {
    await this.conn.request('server.leave', {});
    this.close();
  }

  close(): void {
    clearTimeout(this.saveTimer);
    for (const c of this.conversations.values()) c.close();
    void this.meshes?.closeAll();
    void this.voice?.leave();
    this.conn.close();
  }

  /** Who may read a conversation: every member for a channel (me included), the two parties for a DM. */
  readersOf(conversation: string): string[] {
    if (conversation.startsWith('dm:')) {
      const [, a, b] = conversation.split(':');
      return [a, b].filter((k): k is string => k !== undefined && this.members$.has(k));
    }
    const ids = this.members$.keys().filter((k) => !this.keys.isRemoved(k));
    return ids.includes(this.meId) ? ids : [...ids, this.meId];
  }

  private makeMeshes(join: JoinMesh): ConversationMeshes {
    const { identity } = this.options;
    return new ConversationMeshes({
      join,
      connection: this.conn,
      identity: { signer: identity.signer, publicKey: identity.publicKey },
      iceServers: () => this.ice.get(),
      iceTransportPolicy: () => (this.options.hideIp?.() ? 'relay' : 'all'),
      mayRead: (c, u) => u !== this.meId && this.readersOf(c).includes(u),
      maySend: (u) => this.mayPost(u),
      deliver: (c, sealed, u) => {
        this.conversation(c)
          .inbox.fromPeer(sealed, u)
          .catch((error: Error) => this.options.log?.(`mesh ${c}: ${error.message}`));
      },
      log: this.options.log,
    });
  }

  private makeVoice(join: (options: MeshOptions) => Mesh, engine: () => VoiceSession): VoiceCall {
    const { identity } = this.options;
    return new VoiceCall({
      join: (o) =>
        callRoster(
          join({
            ...o,
            connection: this.conn,
            identity: { signer: identity.signer, publicKey: identity.publicKey },
          }),
          { log: this.options.log },
        ),
      engine: engine(),
      request: (type, fields) => this.conn.request(type, fields),
      ice: this.ice,
      hideIp: () => this.options.hideIp?.() ?? false,
      isMember: (u) => u !== this.meId && this.members$.has(u),
      inChannel: (channel) =>
        this.members$.list.value
          .filter((m) => m.key !== this.meId)
          .flatMap((m) =>
            m.voice.filter((v) => v.channel === channel).map((v) => ({ userId: m.key, relay: v.relay })),
          ),
      me: this.meId,
      ...(this.options.relay ? { relay: this.callRelay(this.options.relay) } : {}),
      serverMuted: () => this.members$.get(this.meId)?.serverMuted === true,
      serverMutedMembers: () =>
        this.members$.list.value.filter((m) => m.serverMuted && m.key !== this.meId).map((m) => m.key),
      log: this.options.log,
    });
  }

  /** The relay as a call uses it: tickets from this server, frame keys from my KeyManager. */
  private callRelay(transport: NonNullable<ServerViewOptions['relay']>): CallRelay {
    return {
      connect: async (channel) => {
        const iceServers = transport.peerConnection ? await this.ice.get().catch(() => []) : [];
        return RelayClient.connectWithin(
          {
            admission: async () => {
              const reply = await this.conn.request('relay.ticket', { channel });
              const url = new URL(String(reply.url), httpBaseOf(this.url)).toString().replace(/^http/, 'ws');
              return { ticket: String(reply.ticket), url };
            },
            socket: transport.socket,
            ...(transport.peerConnection
              ? {
                  peerConnection: transport.peerConnection,
                  iceServers,
                  iceTransportPolicy: this.options.hideIp?.() ? 'relay' : 'all',
                }
              : {}),
          },
          RELAY_CONNECT_MS,
        );
      },
      secrets: (channel) => ({
        epoch: () => this.keys.epoch,
        secret: (userId, epoch) => this.keys.frameSecret(channel, userId, epoch),
        missing: (userId, epoch) =>
          void this.distributor.request(channel, epoch, [userId]).catch(() => undefined),
      }),
      prepare: async (channel) => {
        this.keys.frameSecret(channel, this.meId); // makes my key of the channel if there is none
        await this.distributor.ensure(channel);
      },
    };
  }

  private peerPath(meshes: ConversationMeshes, id: string) {
    return {
      open: () => meshes.open(id),
      close: () => meshes.close(id),
      send: (sealed: Uint8Array) => meshes.send(id, sealed),
    };
  }

  private maxBundleBytes(): number {
    const frame = this.limit('maxFrameBytes') ?? 64 * 1024;
    return Math.min(48 * 1024, Math.floor(((frame - 1024) * 3) / 4));
  }

  /**
   * Whether a member's roles let them post (`send`), by the role table of the welcome;
   * a server that sent none is taken at its word later (its log refuses what it must).
   */
  private mayPost(key: string): boolean {
    const member = this.members$.get(key);
    if (!member) return false;
    const server: object | undefined = this.welcome?.server;
    const table: unknown = server && 'roles' in server ? server.roles : undefined;
    if (typeof table !== 'object' || table === null) return true;
    return member.roles.some((role) => {
      const permissions: unknown = Object.hasOwn(table, role) ? Reflect.get(table, role) : undefined;
      return Array.isArray(permissions) && permissions.includes('send');
    });
  }

  /** A limit the server announced in its welcome (`server.limits`), if it did. */
  private limit(name: 'maxFrameBytes' | 'maxUploadBytes'): number | undefined {
    const server: object | undefined = this.welcome?.server;
    const limits = server && 'limits' in server ? server.limits : undefined;
    const value: unknown =
      typeof limits === 'object' && limits !== null && name in limits ? Reflect.get(limits, name) : undefined;
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }

  private async onWelcome(welcome: Welcome): Promise<void> {
    await this.restored;
    const first = this.welcome === undefined;
    this.welcome = welcome;
    this.name.set(welcome.server.name);
    this.me.set({ ...welcome.user });
    this.tree.reset(welcome.channels);
    const known = (await this.options.cache.getSetting(MEMBERS_SETTING)) as string[] | undefined;
    const before = new Set(known ?? this.members$.keys());
    const fresh = this.members$.reset(Array.isArray(welcome.members) ? welcome.members : []);
    this.members$.setPermissions(welcome.user.key, welcome.user.permissions);
    const epoch = typeof welcome.epoch === 'number' ? welcome.epoch : 0;
    if (epoch > this.keys.epoch) {
      // Members gone while I was away left at this epoch or earlier: refuse their newer keys.
      for (const k of before) if (!this.members$.has(k)) this.keys.memberRemoved(k, epoch);
    }
    this.keys.setEpoch(epoch);
    for (const k of fresh) this.keys.memberReturned(k);
    await this.options.cache.putSetting(MEMBERS_SETTING, this.members$.keys());
    if (first && this.joining?.secret) await this.loadBundle(this.joining.secret);
    this.joining = undefined;
    if (known) for (const k of fresh) if (!before.has(k)) this.handOver(k);
    this.firstWelcome?.();
    this.firstWelcome = undefined;
    if (!first) {
      for (const c of this.conversations.values()) c.reconnected().catch(() => undefined);
      void this.voice?.reconnected();
    }
  }

  /** The invite's key bundle, opened with the link's secret; its keys are installed one by one. */
  private async loadBundle(secret: Uint8Array): Promise<void> {
    try {
      const reply = await this.conn.request('invite.bundle', {});
      if (typeof reply.bundle !== 'string') return;
      const { inviter, keys } = openBundle(secret, publicKeyOf(this.id), fromBase64url(reply.bundle));
      if (!this.members$.has(toBase64url(inviter))) return;
      for (const key of keys) {
        try {
          this.keys.install(key);
        } catch (error) {
          if (!(error instanceof CryptoError)) throw error;
        }
      }
    } catch (error) {
      this.options.log?.(`invite bundle: ${(error as Error).message}`);
    }
  }

  private onLog(m: Record<string, unknown>): void {
    const entry = parseEntry(m);
    if (!entry || typeof m.log !== 'string') return;
    this.conversation(m.log)
      .receive(entry)
      .catch((error: Error) => this.options.log?.(`log ${m.log}: ${error.message}`));
  }

  private onPresence(m: Record<string, unknown>): void {
    const fresh = this.members$.presence(m);
    this.voice?.presenceChanged();
    if (fresh === undefined) return;
    this.keys.memberReturned(fresh);
    void this.options.cache.putSetting(MEMBERS_SETTING, this.members$.keys());
    this.handOver(fresh);
  }

  private handOver(newcomer: string): void {
    if (newcomer === this.meId) return;
    this.distributor
      .welcome(newcomer)
      .catch((error: Error) => this.options.log?.(`hand-over: ${error.message}`));
  }

  private onRemoved(m: Record<string, unknown>): void {
    if (typeof m.key !== 'string' || typeof m.epoch !== 'number') return;
    this.keys.memberRemoved(m.key, m.epoch);
    this.members$.remove(m.key);
    void this.options.cache.putSetting(MEMBERS_SETTING, this.members$.keys());
  }

  private onRoles(m: Record<string, unknown>): void {
    const me = this.me.value;
    const isStrings = (v: unknown): v is string[] =>
      Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!me || !isStrings(m.roles) || !isStrings(m.permissions)) return;
    this.me.set({ ...me, roles: m.roles, permissions: m.permissions });
    this.members$.setPermissions(me.key, m.permissions);
  }

  private onPublish(m: Record<string, unknown>): void {
    if (m.topic === KEYS_TOPIC && m.room === undefined) {
      this.distributor.onNote(m.data).catch(() => undefined);
    } else if (m.topic === TYPING_TOPIC && typeof m.room === 'string') {
      this.conversations.get(m.room)?.typingNote(m.data);
    }
  }

  private publishUnread(): void {
    const out: Record<string, number> = {};
    for (const [id, c] of this.conversations) if (c.unread.value > 0) out[id] = c.unread.value;
    this.unread.set(out, (a, b) => JSON.stringify(a) === JSON.stringify(b));
  }

  /** Records the peer of a DM conversation (kept across visits). */
  private addDm(id: string): void {
    const parties = id.split(':').slice(1);
    const peer = parties.find((k) => k !== this.meId);
    if (!parties.includes(this.meId) || !peer || this.dms.value.includes(peer)) return; // not mine
    this.dms.set([...this.dms.value, peer]);
    void this.options.cache.putSetting(DMS_SETTING, this.dms.value);
  }

  private async restore(): Promise<void> {
    const dms = await this.options.cache.getSetting(DMS_SETTING);
    if (Array.isArray(dms)) this.dms.set(dms.filter((k): k is string => typeof k === 'string'));
    this.members$.restoreFormer(await this.options.cache.getSetting(FORMER_SETTING));
    this.members$.former.subscribe((former) => void this.options.cache.putSetting(FORMER_SETTING, former));
    const saved = await this.options.cache.getSetting(KEYS_SETTING);
    if (saved && typeof saved === 'object') {
      try {
        this.keys.restore(saved as SavedKeys);
      } catch (error) {
        this.options.log?.(`saved keys unreadable: ${(error as Error).message}`);
      }
    }
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.options.cache.putSetting(KEYS_SETTING, this.keys.save());
    }, 50);
  }
}
