/**
 * In-browser test fixtures for the view model (web/core/model.ts): plain objects
 * holding observable values, plus a record of the actions components called. They
 * stand in for the client core in component tests; they are not mocks of the
 * network and nothing here talks to a server.
 */
import type {
  AppView,
  ChannelInfo,
  ChatMessage,
  ConversationView,
  InviteOptions,
  MemberInfo,
  ServerView,
  Settings,
} from '../../core/model.ts';
import { Value } from '../../core/observable.ts';
import type { ConnectionState } from '../../net/connection.ts';

export { Value };

export type Call = [method: string, ...args: unknown[]];

/** A 44-character base64url-looking user id made from a name (display only). */
export function keyOf(name: string): string {
  return `${name}${'A'.repeat(44)}`.slice(0, 44).replace(/[^A-Za-z0-9_-]/g, 'x');
}

export function member(name: string, patch: Partial<MemberInfo> = {}): MemberInfo {
  return {
    key: keyOf(name),
    name,
    roles: ['member'],
    online: true,
    serverMuted: false,
    voice: [],
    tags: [],
    keyChanged: false,
    ...patch,
  };
}

export function channel(id: string, patch: Partial<ChannelInfo> = {}): ChannelInfo {
  return {
    id,
    name: id,
    kind: 'text',
    parent: null,
    order: 0,
    topic: '',
    locked: false,
    userLimit: 0,
    bitrate: 64000,
    ephemeral: 0,
    ...patch,
  };
}

let nextId = 1;
export function message(author: string, text: string, patch: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: `m${nextId++}`,
    author: keyOf(author),
    at: Date.UTC(2026, 10, 21, 12, 0, 0) + nextId * 1000,
    text,
    editedAt: undefined,
    deleted: false,
    replyTo: undefined,
    reactions: {},
    attachments: [],
    mentions: [],
    pending: false,
    ...patch,
  };
}

/** A 1×1 transparent PNG. */
export const PNG_1x1 = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='),
  (c) => c.charCodeAt(0),
);

export class FixtureConversation implements ConversationView {
  readonly calls: Call[] = [];
  readonly messages: Value<ChatMessage[]>;
  readonly typing = new Value<string[]>([]);
  readonly hasOlder = new Value(false);
  /** Messages `loadOlder` prepends (in order), emptied as it goes. */
  older: ChatMessage[] = [];
  /** Bytes `attachment()` returns, by attachment id. */
  readonly blobs = new Map<string, Blob>();
  /** When set, `send` rejects with it. */
  failSend: Error | undefined;
  constructor(
    readonly id: string,
    messages: ChatMessage[] = [],
    private readonly me = keyOf('me'),
  ) {
    this.messages = new Value(messages);
  }
  async send(text: string, options?: { replyTo?: string; files?: File[] | Blob[] }) {
    this.calls.push(['send', text, options]);
    if (this.failSend) throw this.failSend;
    this.messages.set([
      ...this.messages.value,
      message('me', text, { author: this.me, replyTo: options?.replyTo, pending: true }),
    ]);
  }
  async edit(id: string, text: string) {
    this.calls.push(['edit', id, text]);
    this.messages.set(
      this.messages.value.map((m) => (m.id === id ? { ...m, text, editedAt: Date.now() } : m)),
    );
  }
  async remove(id: string) {
    this.calls.push(['remove', id]);
    this.messages.set(this.messages.value.map((m) => (m.id === id ? { ...m, deleted: true, text: '' } : m)));
  }
  async react(id: string, emoji: string) {
    this.calls.push(['react', id, emoji]);
  }
  async loadOlder() {
    this.calls.push(['loadOlder']);
    const batch = this.older.splice(-50);
    this.messages.set([...batch, ...this.messages.value]);
    this.hasOlder.set(this.older.length > 0);
  }
  setTyping() {
    this.calls.push(['setTyping']);
  }
  async attachment(messageId: string, attachmentId: string) {
    this.calls.push(['attachment', messageId, attachmentId]);
    const blob = this.blobs.get(attachmentId);
    if (!blob) throw new Error('no such attachment');
    return blob;
  }
  markRead() {
    this.calls.push(['markRead']);
  }
  close() {
    this.calls.push(['close']);
  }
  count(method: string): number {
    return this.calls.filter((c) => c[0] === method).length;
  }
}

export const ALL_PERMISSIONS = [
  'manage_channels',
  'invite',
  'kick',
  'ban',
  'mute',
  'move',
  'rename',
  'send',
  'upload',
];

export function onlineState(name = 'Test server'): ConnectionState {
  return {
    status: 'online',
    welcome: {
      session: 's1',
      user: { key: keyOf('me'), name: 'me', roles: ['member'], permissions: [] },
      server: { id: 'srv', name, fingerprint: '12345 67890', open: false, fixedChannels: false },
      channels: '',
      members: [],
      epoch: 1,
    },
  };
}

type Me = { key: string; name: string; roles: string[]; permissions: string[] };

export class FixtureServer implements ServerView {
  readonly calls: Call[] = [];
  readonly url: string;
  readonly name: Value<string>;
  readonly fingerprint = '01234 56789 01234 56789 01234 56789';
  readonly connection = new Value<ConnectionState>(onlineState());
  readonly me: Value<Me | undefined>;
  readonly channels: Value<ChannelInfo[]>;
  readonly members: Value<MemberInfo[]>;
  readonly unread = new Value<Record<string, number>>({});
  readonly dms = new Value<string[]>([]);
  readonly formerNames = new Value<Record<string, string>>({});
  readonly conversations = new Map<string, FixtureConversation>();
  constructor(
    readonly id: string,
    name: string,
    options: { permissions?: string[]; channels?: ChannelInfo[]; members?: MemberInfo[] } = {},
  ) {
    this.url = `https://${id}.example/`;
    this.name = new Value(name);
    this.me = new Value<Me | undefined>({
      key: keyOf('me'),
      name: 'me',
      roles: ['member'],
      permissions: options.permissions ?? [],
    });
    this.channels = new Value(
      options.channels ?? [channel('general'), channel('voice', { kind: 'voice', order: 1 })],
    );
    this.members = new Value(options.members ?? [member('me')]);
  }
  conversation(id: string): FixtureConversation {
    let c = this.conversations.get(id);
    if (!c) this.conversations.set(id, (c = new FixtureConversation(id, [], keyOf('me'))));
    return c;
  }
  open(id: string): ConversationView {
    this.calls.push(['open', id]);
    return this.conversation(id);
  }
  dmWith(key: string) {
    return `dm:${key}`;
  }
  safetyNumber(key: string) {
    const digits = Array.from({ length: 60 }, (_, i) => (key.charCodeAt(i % key.length) + i) % 10).join('');
    return digits.match(/.{5}/g)!.join(' ');
  }
  can(permission: string) {
    return this.me.value?.permissions.includes(permission) ?? false;
  }
  retryNow() {
    this.calls.push(['retryNow']);
  }
  private async record(...call: Call): Promise<void> {
    this.calls.push(call);
  }
  rename = (key: string, name: string) => this.record('rename', key, name);
  kick = (key: string, reason?: string) => this.record('kick', key, reason);
  ban = (key: string, reason?: string) => this.record('ban', key, reason);
  mute = (key: string, muted: boolean) => this.record('mute', key, muted);
  moveMember = (key: string, channel: string) => this.record('moveMember', key, channel);
  async createChannel(name: string, kind: 'text' | 'voice', parent?: string) {
    this.calls.push(['createChannel', name, kind, parent]);
    const order = this.channels.value.length;
    this.channels.set([...this.channels.value, channel(name, { kind, parent: parent ?? null, order })]);
    return name;
  }
  updateChannel = (id: string, settings: Partial<ChannelInfo>) => this.record('updateChannel', id, settings);
  deleteChannel = (id: string) => this.record('deleteChannel', id);
  moveChannel = (id: string, parent: string | null, index: number) =>
    this.record('moveChannel', id, parent, index);
  async createInvite(options: InviteOptions) {
    this.calls.push(['createInvite', options]);
    return `${this.url}#invite=TOKEN.SECRET`;
  }
  setTags(key: string, tags: string[]) {
    this.calls.push(['setTags', key, tags]);
    this.members.set(this.members.value.map((m) => (m.key === key ? { ...m, tags } : m)));
  }
  count(method: string): number {
    return this.calls.filter((c) => c[0] === method).length;
  }
}

export const DEFAULT_SETTINGS: Settings = {
  displayName: 'me',
  theme: 'light',
  accent: '#3b5bdb',
  fontScale: 1,
  messageColor: undefined,
  notificationSounds: true,
  identityPerServer: false,
  hideIp: false,
  pushToTalkKey: 'Backquote',
};

export class FixtureApp implements AppView {
  readonly calls: Call[] = [];
  readonly servers: Value<ServerView[]>;
  readonly settings = new Value<Settings>({ ...DEFAULT_SETTINGS });
  /** What `join` does: resolve with a server or throw. */
  joinResult: () => Promise<ServerView> = async () => new FixtureServer('joined', 'Joined server');
  constructor(servers: ServerView[] = []) {
    this.servers = new Value(servers);
  }
  async join(link: string, name: string) {
    this.calls.push(['join', link, name]);
    const server = await this.joinResult();
    this.servers.set([...this.servers.value, server]);
    return server;
  }
  async leave(serverId: string) {
    this.calls.push(['leave', serverId]);
    this.servers.set(this.servers.value.filter((s) => s.id !== serverId));
  }
  reorder(serverIds: string[]) {
    this.calls.push(['reorder', serverIds]);
    const byId = new Map(this.servers.value.map((s) => [s.id, s]));
    this.servers.set(serverIds.map((id) => byId.get(id)!).filter(Boolean));
  }
  updateSettings(patch: Partial<Settings>) {
    this.calls.push(['updateSettings', patch]);
    this.settings.set({ ...this.settings.value, ...patch });
  }
  async exportBackup(passphrase: string) {
    this.calls.push(['exportBackup', passphrase]);
    return 'tincan-backup-v1:AAAA';
  }
  async importBackup(text: string, passphrase: string) {
    this.calls.push(['importBackup', text, passphrase]);
    if (!text.startsWith('tincan-backup-v1:'))
      throw Object.assign(new Error('not a tincan backup'), { code: 'BAD_FORMAT' });
  }
}

/** A protocol-style error with a code, as the core rejects with. */
export function codeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}
