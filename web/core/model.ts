/**
 * The view model the UI renders: plain data and the actions a person can take.
 * The client core (web/core/*) implements it; Lit components (web/components/*)
 * only read these shapes, listen for changes and call these methods. Nothing here
 * touches the DOM.
 */

import type { ConnectionState } from '../net/connection.ts';
import type { VoiceCall } from './voice-call.ts';

export type Unsubscribe = () => void;

/** Something that changes: read `value`, listen with `subscribe`. */
export interface Observable<T> {
  readonly value: T;
  subscribe(listener: (value: T) => void): Unsubscribe;
}

export interface ChannelInfo {
  id: string;
  name: string;
  kind: 'text' | 'voice';
  parent: string | null;
  order: number;
  topic: string;
  locked: boolean;
  userLimit: number;
  bitrate: number;
  ephemeral: number;
}

export interface MemberInfo {
  /** User id (base64url public key). */
  key: string;
  name: string;
  roles: string[];
  online: boolean;
  serverMuted: boolean;
  /** Each session's voice channel; `relay`: its voice goes through the relay. */
  voice: { channel: string; muted: boolean; deafened: boolean; relay: boolean }[];
  /** Local-only tags this user gave the member (lemon-chat style groups). */
  tags: string[];
  /** The member's key differs from the one pinned earlier for this name/identity. */
  keyChanged: boolean;
}

export interface Attachment {
  id: string;
  name: string;
  mime: string;
  size: number;
  /** Image width/height when known, for layout before the bytes arrive. */
  width?: number;
  height?: number;
}

export interface ChatMessage {
  /** Stable id (the sealed message id of the post, base64url). */
  id: string;
  author: string;
  /** Unix ms, as claimed by the author's device (signed). */
  at: number;
  text: string;
  editedAt: number | undefined;
  deleted: boolean;
  replyTo: string | undefined;
  /** emoji → user ids who reacted. */
  reactions: Record<string, string[]>;
  attachments: Attachment[];
  /** Mentions of user ids found in the text. */
  mentions: string[];
  /** Still in the outbox (written offline, not yet stored by the server). */
  pending: boolean;
}

export interface ConversationView {
  /** A channel id or a DM log name (`dm:<a>:<b>`). */
  readonly id: string;
  readonly messages: Observable<ChatMessage[]>;
  /** User ids typing right now. */
  readonly typing: Observable<string[]>;
  /** True while older history exists on the server that is not loaded. */
  readonly hasOlder: Observable<boolean>;
  send(text: string, options?: { replyTo?: string; files?: File[] | Blob[] }): Promise<void>;
  edit(id: string, text: string): Promise<void>;
  remove(id: string): Promise<void>;
  react(id: string, emoji: string): Promise<void>;
  loadOlder(): Promise<void>;
  setTyping(): void;
  /** Fetches and decrypts an attachment's bytes. */
  attachment(message: string, attachment: string): Promise<Blob>;
  markRead(): void;
  close(): void;
}

export interface InviteOptions {
  role: string;
  expiresIn: number;
  maxUses: number;
  channel?: string;
}

export interface ServerView {
  /** The server's key id (base64url). */
  readonly id: string;
  readonly url: string;
  readonly name: Observable<string>;
  readonly fingerprint: string;
  readonly connection: Observable<ConnectionState>;
  /** While `reconnecting`: connect now instead of waiting for `nextAt` (the UI's "Retry now"). */
  retryNow(): void;
  readonly me: Observable<{ key: string; name: string; roles: string[]; permissions: string[] } | undefined>;
  readonly channels: Observable<ChannelInfo[]>;
  readonly members: Observable<MemberInfo[]>;
  /** Names of people who are no longer members, by key (their old messages keep a name). */
  readonly formerNames?: Observable<Record<string, string>>;
  /** Unread counts by conversation id. */
  readonly unread: Observable<Record<string, number>>;
  /** The members I have DM conversations with (keys), in the order they began. */
  readonly dms?: Observable<string[]>;
  open(conversation: string): ConversationView;
  /** The DM conversation id with a member. */
  dmWith(key: string): string;
  safetyNumber(key: string): string;
  can(permission: string): boolean;
  // moderation and management (reject with ProtocolError when not allowed)
  rename(key: string, name: string): Promise<void>;
  kick(key: string, reason?: string): Promise<void>;
  ban(key: string, reason?: string): Promise<void>;
  mute(key: string, muted: boolean): Promise<void>;
  /** Moves a member who is in voice to another voice channel (their call follows). */
  moveMember(key: string, channel: string): Promise<void>;
  createChannel(name: string, kind: 'text' | 'voice', parent?: string): Promise<string>;
  updateChannel(
    id: string,
    settings: Partial<Omit<ChannelInfo, 'id' | 'kind' | 'parent' | 'order'>>,
  ): Promise<void>;
  deleteChannel(id: string): Promise<void>;
  moveChannel(id: string, parent: string | null, index: number): Promise<void>;
  /** Returns the full link to share. */
  createInvite(options: InviteOptions): Promise<string>;
  setTags(key: string, tags: string[]): void;
  /** My voice call on this server (absent where the browser has no voice engine). */
  readonly voice?: VoiceCall;
}

export interface AppView {
  readonly servers: Observable<ServerView[]>;
  /** Joins by an invite link (`https://host/#invite=…`); resolves with the server. */
  join(link: string, name: string): Promise<ServerView>;
  leave(serverId: string): Promise<void>;
  reorder(serverIds: string[]): void;
  readonly settings: Observable<Settings>;
  updateSettings(patch: Partial<Settings>): void;
  exportBackup(passphrase: string): Promise<string>;
  importBackup(text: string, passphrase: string): Promise<void>;
}

export interface Settings {
  displayName: string;
  theme: 'light' | 'dark' | 'system';
  accent: string;
  fontScale: number;
  messageColor: string | undefined;
  notificationSounds: boolean;
  /** A separate identity per server (privacy) instead of one for all. */
  identityPerServer: boolean;
  /** Peers never learn my IP address: links to them go through TURN (and, for voice, the relay) only. */
  hideIp: boolean;
  /** KeyboardEvent.code of the push-to-talk key. */
  pushToTalkKey: string;
}
