/**
 * The hub: every live session, and the one place that turns an inbound frame into
 * an effect. Per frame: size check → JSON.parse in a try → validator → rate limit →
 * dispatch (`switch` with a `never` default). Request handlers live in
 * `requests/*.ts`; state lives in pure modules (rooms, channels) and the store.
 */
import type { WebSocket } from 'ws';
import { randomBytes, toBase64url } from '../crypto/bytes.ts';
import { publicKeyOf } from '../crypto/identity.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { parseFrame } from '../protocol/frame.ts';
import { authMessage, type ClientMessage, clientMessage, type RequestMessage } from '../protocol/messages.ts';
import { KeyedBuckets, TokenBucket } from '../protocol/rate-limit.ts';
import { mintSilenceNotice } from '../protocol/relay.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { authenticate } from './authenticate.ts';
import type { ChannelTree } from './channels.ts';
import type { InviteContext } from './invites.ts';
import type { Members } from './members.ts';
import type { Counter, Metrics } from './metrics.ts';
import { type HubOptions, resolveRoles } from './options.ts';
import { storeRefusal } from './requests/common.ts';
import { handleRequest } from './requests/index.ts';
import { Rooms } from './rooms.ts';
import type { ServerIdentity } from './server-identity.ts';
import { Session, type SessionUser, textFrame } from './session.ts';
import type { Store } from './store/store.ts';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface HubDeps {
  options: HubOptions;
  identity: ServerIdentity;
  store: Store;
  members: Members;
  channels: ChannelTree;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
}

/** Rate-limited frames a session may send before it is disconnected (4429, retry later). */
const MAX_STRIKES = 500;

/** Tickets let a stock y-webrtc client (which cannot run our handshake) pub/sub in one room. */
interface Ticket {
  key: string;
  room: string;
  expiresAt: number;
}

export class Hub {
  readonly options: HubOptions;
  readonly identity: ServerIdentity;
  readonly store: Store;
  readonly members: Members;
  readonly channels: ChannelTree;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
  readonly rooms = new Rooms<Session>();
  readonly sessions = new Set<Session>();
  /** Whether a voice relay serves this server's channels (the in-process one unless turned off). */
  voiceRelay = true;
  /** Told of every server mute given or lifted (the in-process relay stops forwarding the member at once). */
  onServerMute: ((userId: string, muted: boolean) => void) | undefined;
  /** user key → that user's authenticated sessions. */
  readonly byUser = new Map<string, Set<Session>>();
  readonly serverMuted = new Set<string>();
  /** The last silence notice's time: each is later than the one before, so the relay orders them. */
  private lastNoticeAt = 0;
  readonly tickets = new Map<string, Ticket>();
  private readonly perIp = new Map<string, number>();
  private readonly identityBuckets: KeyedBuckets;
  readonly authBuckets: KeyedBuckets;
  private heartbeat: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  shuttingDown = false;

  readonly count: Record<'messagesIn' | 'messagesOut' | 'rejected' | 'auth', Counter>;

  constructor(deps: HubDeps) {
    this.options = deps.options;
    this.identity = deps.identity;
    this.store = deps.store;
    this.members = deps.members;
    this.channels = deps.channels;
    this.metrics = deps.metrics;
    this.log = deps.log;
    this.now = deps.now ?? Date.now;
    const { identityRate, authAttemptsPerIp } = this.options;
    this.identityBuckets = new KeyedBuckets(identityRate.perSecond, identityRate.burst);
    this.authBuckets = new KeyedBuckets(authAttemptsPerIp.perSecond, authAttemptsPerIp.burst);
    const m = this.metrics;
    this.count = {
      messagesIn: m.counter('tincan_messages_in_total', 'Frames received from clients'),
      messagesOut: m.counter('tincan_messages_out_total', 'Frames sent to clients'),
      rejected: m.counter('tincan_rejections_total', 'Rejected frames and connections by error code'),
      auth: m.counter('tincan_auth_total', 'Authentication attempts by result'),
    };
    m.gauge('tincan_connections', 'Open WebSocket connections', () => this.sessions.size);
    m.gauge('tincan_sessions_authenticated', 'Authenticated sessions', () => {
      let n = 0;
      for (const s of this.sessions) if (s.state === 'authed') n++;
      return n;
    });
    m.gauge('tincan_members_online', 'Distinct members online', () => this.byUser.size);
    m.gauge('tincan_rooms', 'Signaling rooms with subscribers', () => this.rooms.roomCount);
    m.gauge('tincan_topics', 'Signaling topics with subscribers', () => this.rooms.topicCount);
    m.gauge('tincan_channels', 'Channels in the tree', () => this.channels.size);
    m.gauge('tincan_store_bytes', 'Size of the store on disk', () => this.store.storeBytes());
    this.channels.onUpdate((update) => {
      this.store.saveChannelState(this.channels.encodeState());
      this.broadcast({ type: 'channels', update: toBase64url(update) });
    });
  }

  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.channels.resumeEphemeral(this.now());
    this.sweeper = setInterval(() => this.sweep(), 5_000);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
  }

  /** Whether a new connection from `ip` is within the per-IP cap. */
  admitIp(ip: string): boolean {
    return (this.perIp.get(ip) ?? 0) < this.options.maxConnectionsPerIp;
  }

  /** Validates a y-webrtc ticket from the upgrade URL; undefined when unknown or expired. */
  ticket(token: string | null): Ticket | undefined {
    if (!token) return undefined;
    const t = this.tickets.get(token);
    if (!t || t.expiresAt < this.now() || this.members.isBanned(t.key)) return undefined;
    return t;
  }

  accept(ws: WebSocket, ip: string, ticket?: Ticket): Session {
    const session = new Session(ws, ip, this.options.maxSendQueueBytes, () =>
      this.count.rejected({ code: 'SLOW_CONSUMER' }),
    );
    this.sessions.add(session);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    ws.on('message', (data, isBinary) => this.onFrame(session, data as Buffer, isBinary));
    ws.on('pong', () => {
      session.alive = true;
    });
    ws.on('close', () => this.onClose(session));
    ws.on('error', (error) => this.log.warn(`ws ${session.id}: ${error.message}`));
    if (this.shuttingDown) {
      session.close('SHUTTING_DOWN', 'the server is stopping');
      return session;
    }
    if (ticket) {
      this.admitTicket(session, ticket);
      return session;
    }
    session.nonce = toBase64url(randomBytes(32));
    const hello: Record<string, unknown> = {
      type: 'hello',
      v: PROTOCOL_VERSION,
      server: this.identity.id,
      name: this.options.serverName,
      nonce: session.nonce,
      open: this.options.open,
    };
    if (this.options.powDifficulty > 0) {
      session.powChallenge = randomBytes(16);
      hello.pow = { challenge: toBase64url(session.powChallenge), difficulty: this.options.powDifficulty };
    }
    session.send(hello);
    setTimeout(() => {
      if (session.state === 'hello') {
        this.count.rejected({ code: 'TIMEOUT' });
        session.close('TIMEOUT', 'no auth answer in time');
      }
    }, this.options.authTimeoutMs).unref();
    return session;
  }

  private admitTicket(session: Session, ticket: Ticket): void {
    const member = this.members.find(ticket.key);
    if (!member) {
      session.close('AUTH_FAILED', 'authentication failed');
      return;
    }
    session.ticketRoom = ticket.room;
    this.bindUser(session, member.key, member.name, member.roles);
  }

  /** Marks a session authenticated as `key`, with its roles' permissions and rate limit. */
  bindUser(session: Session, key: string, name: string, roles: string[]): SessionUser {
    const resolved = resolveRoles(roles, this.options.roles);
    const user: SessionUser = {
      key,
      name,
      roles,
      permissions: resolved.permissions,
      priority: resolved.priority,
    };
    session.user = user;
    session.state = 'authed';
    session.nonce = undefined;
    session.bucket = new TokenBucket(resolved.rate.perSecond, resolved.rate.burst, this.now());
    let set = this.byUser.get(key);
    if (!set) this.byUser.set(key, (set = new Set()));
    set.add(session);
    return user;
  }

  private onFrame(session: Session, data: Buffer, isBinary: boolean): void {
    if (session.state === 'closed') return;
    this.count.messagesIn();
    if (isBinary) {
      this.reject(session, ProtocolError.badMessage('binary frames are not part of this protocol'));
      return;
    }
    if (data.length > this.options.maxFrameBytes) {
      // ws already enforces maxPayload; this covers a configured limit below it.
      this.reject(
        session,
        new ProtocolError('TOO_LARGE', `frame of ${data.length} bytes exceeds ${this.options.maxFrameBytes}`),
      );
      return;
    }
    const text = data.toString('utf8');
    if (session.state === 'hello') {
      const msg = parseFrame(text, this.options.maxFrameBytes, authMessage);
      if (msg instanceof ProtocolError) {
        // Anything but a well-formed auth answer before authentication ends the connection.
        this.count.rejected({ code: msg.code });
        this.count.auth({ result: 'malformed' });
        session.close('AUTH_FAILED', 'authentication failed');
        return;
      }
      authenticate(this, session, msg).catch((error: unknown) => this.internalError(session, error));
      return;
    }
    const msg = parseFrame(text, this.options.maxFrameBytes, clientMessage);
    if (msg instanceof ProtocolError) {
      this.reject(session, msg);
      return;
    }
    const now = this.now();
    const user = session.user!;
    if (!session.bucket!.take(now) || !this.identityBuckets.take(user.key, now)) {
      if (++session.strikes > MAX_STRIKES) {
        this.count.rejected({ code: 'RATE_LIMITED' });
        session.close('RATE_LIMITED', 'flooding');
        return;
      }
      this.reject(session, ProtocolError.rateLimited('ref' in msg ? msg.ref : undefined));
      return;
    }
    try {
      this.dispatch(session, msg, text, data);
    } catch (error) {
      if (error instanceof ProtocolError) this.reject(session, error);
      else this.internalError(session, error);
    }
  }

  private dispatch(session: Session, msg: ClientMessage, text: string, raw: Buffer): void {
    switch (msg.type) {
      case 'ping':
        session.send({ type: 'pong' });
        return;
      case 'subscribe': {
        const room = this.roomFor(session, msg.room);
        if (!this.rooms.subscribe(session, room, msg.topics, this.options.maxTopicsPerConnection)) {
          throw new ProtocolError(
            'CONFLICT',
            `at most ${this.options.maxTopicsPerConnection} topics per connection`,
          );
        }
        return;
      }
      case 'unsubscribe':
        this.rooms.unsubscribe(session, this.roomFor(session, msg.room), msg.topics);
        return;
      case 'publish': {
        const room = this.roomFor(session, msg.room);
        const subscribers = this.rooms.subscribers(room, msg.topic);
        if (!subscribers) return;
        // Forward the client's message verbatim: framed once, the same bytes written to
        // every subscriber's socket (see Session.sendFrame).
        const payload = raw.length === Buffer.byteLength(text) ? raw : Buffer.from(text);
        const frame = textFrame(payload);
        let sent = 0;
        for (const s of subscribers) if (s !== session && s.sendFrame(frame, payload)) sent++;
        this.count.messagesOut(undefined, sent);
        return;
      }
      default: {
        if (session.ticketRoom !== undefined)
          throw ProtocolError.notAllowed('ticket sessions may only pub/sub', msg.ref);
        handleRequest(this, session, msg as RequestMessage).then(
          (reply) => {
            if (reply !== undefined) session.send({ type: 'ok', ref: msg.ref, ...reply });
          },
          (error: unknown) => {
            const refused = error instanceof ProtocolError ? error : storeRefusal(error);
            if (refused) {
              this.reject(
                session,
                refused.ref === undefined
                  ? new ProtocolError(refused.code, refused.message, msg.ref)
                  : refused,
              );
            } else this.internalError(session, error, msg.ref);
          },
        );
      }
    }
  }

  /**
   * Maps a pub/sub `room` to its internal name after checking access: no room is the
   * server-wide lobby; a channel id needs the channel to exist (and `join_locked` if
   * locked); `dm:<a>:<b>` is for a and b only. Ticket sessions are pinned to theirs.
   */
  roomFor(session: Session, room: string | undefined): string {
    if (session.ticketRoom !== undefined) {
      if (room !== undefined && room !== session.ticketRoom)
        throw ProtocolError.notAllowed('room outside the ticket');
      return session.ticketRoom;
    }
    return this.checkRoomAccess(session, room ?? '');
  }

  checkRoomAccess(session: Session, room: string): string {
    if (room === '') return room;
    if (room.startsWith('dm:')) {
      const [, a, b] = room.split(':');
      if (!a || !b || a >= b) throw ProtocolError.badMessage('dm rooms are dm:<lower key>:<higher key>');
      if (session.user!.key !== a && session.user!.key !== b) throw ProtocolError.notAllowed('not your DM');
      return room;
    }
    const channel = this.channels.get(room);
    if (!channel) throw new ProtocolError('NOT_FOUND', 'no such channel');
    if (channel.locked && !session.can('join_locked') && session.voice?.channel !== channel.id) {
      throw ProtocolError.notAllowed('the channel is locked');
    }
    return room;
  }

  private onClose(session: Session): void {
    const wasAuthed = session.user !== undefined && session.state !== 'hello';
    session.state = 'closed';
    this.sessions.delete(session);
    const n = (this.perIp.get(session.ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(session.ip);
    else this.perIp.set(session.ip, n);
    this.rooms.leaveAll(session);
    if (!session.user || !wasAuthed) return;
    const set = this.byUser.get(session.user.key);
    set?.delete(session);
    if (set?.size === 0) this.byUser.delete(session.user.key);
    if (session.ticketRoom === undefined) this.pushPresence(session.user.key);
  }

  reject(session: Session, error: ProtocolError): void {
    this.count.rejected({ code: error.code });
    session.fail(error);
  }

  private internalError(session: Session, error: unknown, ref?: number): void {
    this.log.warn(`session ${session.id}: internal error: ${(error as Error)?.stack ?? String(error)}`);
    this.reject(session, new ProtocolError('INTERNAL', 'internal error', ref));
  }

  /**
   * A server mute given or lifted, as a signed silence notice (protocol/relay.ts) for
   * every member in a voice channel: their clients hand it to the relay, so that a
   * standalone relay, which hears nothing else from this server, refuses the member's
   * frames at once rather than at their next ticket.
   */
  noticeSilence(userId: string, silenced: boolean): void {
    if (!this.voiceRelay) return;
    const issuedAt = Math.max(this.now(), this.lastNoticeAt + 1);
    this.lastNoticeAt = issuedAt;
    const notice = mintSilenceNotice(this.identity.secretKey, {
      user: publicKeyOf(userId),
      silenced,
      issuedAt,
    });
    this.broadcast({ type: 'relay.notice', notice: toBase64url(notice) }, (s) => s.voice !== undefined);
  }

  /** Sends one message to every authenticated full session (optionally filtered), serialising it once. */
  broadcast(message: object, filter?: (s: Session) => boolean): void {
    const payload = Buffer.from(JSON.stringify(message));
    const frame = textFrame(payload);
    let sent = 0;
    for (const s of this.sessions) {
      if (
        s.state === 'authed' &&
        s.ticketRoom === undefined &&
        (!filter || filter(s)) &&
        s.sendFrame(frame, payload)
      )
        sent++;
    }
    this.count.messagesOut(undefined, sent);
  }

  sendToUser(key: string, message: object): void {
    const payload = Buffer.from(JSON.stringify(message));
    const frame = textFrame(payload);
    for (const s of this.byUser.get(key) ?? []) if (s.ticketRoom === undefined) s.sendFrame(frame, payload);
  }

  /**
   * The public view of a member: name, roles, online, voice states. Never message
   * content. `known`: the member as just listed (a welcome lists everyone; looking each
   * up again in SQLite was ~14 % of the server's CPU in a 1,000-member soak).
   */
  presenceOf(key: string, known?: { name: string; roles: string[] }): Record<string, unknown> | undefined {
    const member = known ?? this.members.find(key);
    if (!member) return undefined;
    const sessions = [...(this.byUser.get(key) ?? [])].filter((s) => s.ticketRoom === undefined);
    return {
      key,
      name: member.name,
      roles: member.roles,
      online: sessions.length > 0,
      serverMuted: this.serverMuted.has(key),
      voice: sessions
        .filter((s) => s.voice)
        .map((s) => {
          const { call: _call, ...shown } = s.voice!;
          return { session: s.id, ...shown };
        }),
    };
  }

  pushPresence(key: string): void {
    const member = this.presenceOf(key);
    this.broadcast(member ? { type: 'presence', member } : { type: 'presence', removed: key });
  }

  /** Ends every session of a member with a terminal code (kick, ban). */
  disconnectUser(key: string, code: 'KICKED' | 'BANNED', reason: string): void {
    for (const s of [...(this.byUser.get(key) ?? [])]) s.close(code, reason);
    for (const [token, t] of this.tickets) if (t.key === key) this.tickets.delete(token);
  }

  /** The context invites are issued in (see invites.ts). */
  get inviteContext(): InviteContext {
    return {
      identity: this.identity,
      store: this.store,
      roleExists: (role) => this.options.roles.has(role),
      channelExists: (id) => this.channels.get(id) !== undefined,
      now: this.now,
    };
  }

  channelsState(): string {
    return toBase64url(this.channels.encodeState());
  }

  /**
   * The membership epoch: a server-wide counter raised whenever a member is removed.
   * Clients start a new group-key epoch when it rises, so removed members cannot
   * read what follows (crypto/group-keys.ts). It is metadata, not content.
   */
  get epoch(): number {
    return Number(this.store.getSetting('epoch') ?? '0');
  }

  /** Raises the epoch and tells everyone who left and the new epoch. */
  memberRemoved(key: string, reason: 'kick' | 'ban' | 'leave'): void {
    const epoch = this.epoch + 1;
    this.store.setSetting('epoch', String(epoch));
    this.broadcast({ type: 'member.removed', key, reason, epoch });
  }

  voiceOccupancy(channel: string): number {
    let n = 0;
    for (const s of this.sessions) if (s.voice?.channel === channel) n++;
    return n;
  }

  private beat(): void {
    for (const s of this.sessions) {
      if (!s.alive) {
        this.count.rejected({ code: 'TIMEOUT' });
        s.ws.terminate();
        continue;
      }
      s.alive = false;
      s.ws.ping();
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, t] of this.tickets) if (t.expiresAt < now) this.tickets.delete(token);
    this.authBuckets.sweep(now);
    this.identityBuckets.sweep(now);
    // A removed channel's log goes with it: its entries and its blobs.
    for (const id of this.channels.sweepEphemeral(now, (id) => this.voiceOccupancy(id) > 0))
      this.store.deleteLog(id);
    for (const key of this.members.newlyBanned()) {
      this.disconnectUser(key, 'BANNED', 'banned');
      this.memberRemoved(key, 'ban');
    }
  }

  /** Tells every client the server is stopping and closes them (retryable). */
  shutdown(): void {
    this.shuttingDown = true;
    this.stop();
    for (const s of [...this.sessions]) s.close('SHUTTING_DOWN', 'the server is restarting');
  }
}
