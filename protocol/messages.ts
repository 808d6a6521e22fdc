/**
 * The tincan signal protocol: JSON text frames over `/ws`.
 *
 * 1. Server → `hello` (protocol version, server key, fresh nonce, optional PoW challenge).
 * 2. Client → `auth` (its key, time, signature over the `tincan/auth/v1` statement,
 *    PoW solution if asked, optionally an invite token + display name to join).
 * 3. Server → `welcome` or `error` AUTH_FAILED + close 4401.
 * 4. Then requests (each with a numeric `ref`, answered by `ok`/`error` with the same
 *    `ref`), pub/sub frames (`subscribe`/`unsubscribe`/`publish`/`ping`, the y-webrtc
 *    signaling protocol, partitioned by an optional `room`), and server pushes.
 *
 * Everything users say travels inside `data` / `blob` fields the server cannot read:
 * signaling payloads are opaque JSON it forwards verbatim; stored entries are
 * base64url ciphertext.
 */
import {
  array,
  base64url,
  boolean,
  type Check,
  type Infer,
  int,
  literal,
  object,
  oneOf,
  opaque,
  optional,
  string,
  tagged,
} from './validate.ts';

/** Request ids: positive safe integers chosen by the client. */
const ref = int({ min: 0, max: Number.MAX_SAFE_INTEGER });
export const userId = base64url({ min: 33, max: 33 });
/** Channel ids are server-made: short lowercase base32/alnum. */
export const channelId = string({ min: 1, max: 32, pattern: /^[a-z0-9_-]+$/ });
const topic = string({ min: 1, max: 128 });
const room = string({ min: 1, max: 128 });
const callId = string({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/ });
const displayName = string({ min: 1, max: 64, pattern: /^[^\p{Cc}\p{Cf}]+$/u });
const role = string({ min: 1, max: 32, pattern: /^[a-z][a-z0-9_-]*$/ });
const blob = base64url({ max: 1 << 20 });
/** A channel id, or `dm:<a>:<b>` for a DM between two members. */
const logName = string({ min: 1, max: 128, pattern: /^[A-Za-z0-9:_-]+$/ });
/** A file's id in the blob store: 16 random bytes chosen by the uploader. */
const fileId = base64url({ min: 16, max: 16 });
/**
 * Chunks per file: at most 2^17 (4 GiB of 32 KiB chunks, crypto/file.ts). The server
 * bounds them further by its upload limit.
 */
export const MAX_BLOB_CHUNKS = 1 << 17;
const chunkIndex = int({ min: 0, max: MAX_BLOB_CHUNKS - 1 });
/** One sealed chunk (32 KiB + 41 bytes today); the server checks the exact sizes. */
const chunkData = base64url({ min: 1, max: 48 * 1024 });
const channelKind = oneOf(['text', 'voice']);

export const channelSettings = object({
  name: optional(string({ min: 1, max: 64 })),
  topic: optional(string({ max: 512 })),
  bitrate: optional(int({ min: 8000, max: 510000 })),
  userLimit: optional(int({ min: 0, max: 1000 })),
  locked: optional(boolean),
  /** Seconds of idle time after which an ephemeral channel is removed; 0 = permanent. */
  ephemeral: optional(int({ min: 0, max: 30 * 86400 })),
  /** Voice channels only: allow the mesh up to this many speakers before the relay. */
  meshLimit: optional(int({ min: 2, max: 32 })),
});
export type ChannelSettings = Infer<typeof channelSettings>;

// ---- before authentication -------------------------------------------------

export const authMessage = object({
  type: literal('auth'),
  v: int({ min: 1, max: 1000 }),
  key: userId,
  /** Client clock, unix milliseconds; must be within the server's skew window. */
  time: int({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  sig: base64url({ min: 64, max: 64 }),
  /** PoW solution (base64url of a nonce) when the hello asked for one. */
  pow: optional(base64url({ max: 32 })),
  /** An invite token (the signed part of the link, never its secret) to join with. */
  invite: optional(string({ min: 1, max: 512, pattern: /^[A-Za-z0-9_-]+$/ })),
  /** Display name to register under when joining by invite or in open mode. */
  name: optional(displayName),
});
export type AuthMessage = Infer<typeof authMessage>;

// ---- after authentication ----------------------------------------------------

const subscribe = object({
  type: literal('subscribe'),
  topics: array(topic, { max: 32 }),
  room: optional(room),
});
const unsubscribe = object({
  type: literal('unsubscribe'),
  topics: array(topic, { max: 32 }),
  room: optional(room),
});
const publish = object({ type: literal('publish'), topic, room: optional(room), data: opaque(24) });
const ping = object({ type: literal('ping') });

const request = <S extends Record<string, Check<unknown>>, T extends string>(type: T, shape: S) =>
  object({ type: literal(type), ref, ...shape });

export const clientMessages = {
  subscribe,
  unsubscribe,
  publish,
  ping,
  'channel.create': request('channel.create', {
    name: string({ min: 1, max: 64 }),
    kind: channelKind,
    parent: optional(channelId),
    settings: optional(channelSettings),
  }),
  'channel.update': request('channel.update', { channel: channelId, settings: channelSettings }),
  'channel.delete': request('channel.delete', { channel: channelId }),
  'channel.move': request('channel.move', {
    channel: channelId,
    parent: optional(channelId),
    index: int({ min: 0, max: 10000 }),
  }),
  /**
   * `call`: the joining call's random id (the page's). `resume`: a reconnected session
   * takes up that call again; refused (CONFLICT) when another call of the identity
   * joined voice meanwhile, instead of ending it. A plain join ends the identity's
   * other sessions in voice (one device in voice at a time).
   */
  'voice.join': request('voice.join', {
    channel: channelId,
    call: optional(callId),
    resume: optional(boolean),
  }),
  'voice.leave': request('voice.leave', {}),
  /** `relay`: my voice goes through the relay (peers in the channel should send theirs there too). */
  'voice.state': request('voice.state', { muted: boolean, deafened: boolean, relay: optional(boolean) }),
  'member.rename': request('member.rename', { member: userId, name: displayName }),
  'member.kick': request('member.kick', { member: userId, reason: optional(string({ max: 256 })) }),
  'member.ban': request('member.ban', { member: userId, reason: optional(string({ max: 256 })) }),
  'member.unban': request('member.unban', { member: userId }),
  'member.mute': request('member.mute', { member: userId, muted: boolean }),
  'member.move': request('member.move', { member: userId, channel: channelId }),
  'member.roles': request('member.roles', { member: userId, roles: array(role, { min: 1, max: 8 }) }),
  'member.list': request('member.list', {}),
  /** Leave the server for good: the key stops being a member (a file-listed key stays listed). */
  'server.leave': request('server.leave', {}),
  'invite.create': request('invite.create', {
    role,
    /** Lifetime in seconds. */
    expiresIn: int({ min: 60, max: 365 * 86400 }),
    maxUses: int({ min: 1, max: 10000 }),
    channel: optional(channelId),
    /** A key bundle sealed with the link's secret, stored for the newcomer (opaque). */
    bundle: optional(base64url({ max: 64 * 1024 })),
  }),
  'invite.list': request('invite.list', {}),
  'invite.revoke': request('invite.revoke', { id: base64url({ min: 16, max: 16 }) }),
  'invite.bundle': request('invite.bundle', {}),
  'turn.credentials': request('turn.credentials', {}),
  /** A relay admission ticket for a voice channel the member is in or may join (protocol/relay.ts). */
  'relay.ticket': request('relay.ticket', { channel: channelId }),
  /** A ticket for a stock y-webrtc client, pinned to `room` (omitted: the server lobby). */
  'ticket.create': request('ticket.create', { room: optional(room) }),
  'log.append': request('log.append', {
    log: logName,
    kind: oneOf(['update', 'key']),
    blob,
    /** Client-chosen idempotency key, so a retried append is stored once. */
    id: base64url({ min: 16, max: 16 }),
  }),
  'log.fetch': request('log.fetch', {
    log: logName,
    /** Return entries with seq > after (catch-up), oldest first … */
    after: optional(int({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    /** … or entries with seq < before (scroll back), newest first. */
    before: optional(int({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    limit: int({ min: 1, max: 500 }),
  }),
  'log.compact': request('log.compact', {
    log: logName,
    /** The snapshot replaces every update with seq ≤ upTo. */
    upTo: int({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    blob,
  }),
  /**
   * Stores chunk `index` of `count` of a file sealed on the uploader's device, for
   * the readers of `log`. Needs `upload`. A chunk is immutable: the same bytes again
   * answer `{duplicate: true}`, other bytes CONFLICT. Only the file's first uploader
   * adds chunks to it; its count is fixed by the first chunk stored.
   */
  'blob.put': request('blob.put', {
    log: logName,
    file: fileId,
    index: chunkIndex,
    count: int({ min: 1, max: MAX_BLOB_CHUNKS }),
    data: chunkData,
  }),
  /** Fetches one stored chunk (`{data}`) of a file of `log`; needs read access to the log. */
  'blob.get': request('blob.get', { log: logName, file: fileId, index: chunkIndex }),
} as const;

export const clientMessage = tagged('type', clientMessages);
export type ClientMessage = Infer<typeof clientMessage>;
export type ClientMessageType = keyof typeof clientMessages;
export type RequestMessage = Extract<ClientMessage, { ref: number }>;
export type MessageOf<T extends ClientMessageType> = Infer<(typeof clientMessages)[T]>;

/** Roles' permissions: what each request needs (undefined = any authenticated member). */
export const PERMISSIONS = [
  'manage_channels',
  'invite',
  'kick',
  'ban',
  'mute',
  'move',
  'rename',
  'manage_roles',
  'speak',
  'send',
  'upload',
  'join_locked',
] as const;
export type Permission = (typeof PERMISSIONS)[number];
