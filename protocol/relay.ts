/**
 * The relay's admission ticket and its binary wire format. Pure and isomorphic.
 *
 * Ticket (minted by the signal server with its identity key, checked by the relay
 * with the server's public key; the relay keeps no other state about users):
 *
 *   ticket = 0x01 (version) ‖ flags (u8: 0x01 may speak) ‖ user (33, compressed P-256) ‖ channel len (u8)
 *            ‖ channel (1–32 of [a-z0-9_-]) ‖ expiresAt (u32 BE, unix s)
 *            ‖ ticket id (16 random) ‖ signature (64)
 *   signature = ECDSA P-256 over encodeStatement('tincan/relay-ticket/v1', [bytes before it])
 *
 * Silence notice (a server mute given or lifted mid-call, signed by the signal server;
 * any member's client hands it to the relay, which applies it to the user's live
 * connections at once, and to admissions while the notice lasts):
 *
 *   notice = 0x01 (version) ‖ flags (u8: 0x01 silenced) ‖ user (33) ‖ issuedAt (u64 BE, unix ms)
 *            ‖ signature (64)
 *   signature = ECDSA P-256 over encodeStatement('tincan/relay-notice/v1', [bytes before it])
 *
 * A notice is good for `NOTICE_TTL_MS` from `issuedAt` (longer than a ticket lives, so
 * every ticket minted before the mute has expired by then); a newer notice for the
 * same user supersedes an older one, so an old notice replayed changes nothing.
 *
 * Wire (each WebSocket binary message or data-channel message is one of these):
 *
 *   HELLO     0x01 ‖ ticket                                  client → relay
 *   JOINED    0x02 ‖ own slot (u16)                          relay → client
 *   FRAME     0x03 ‖ sealed frame (1–MAX_FRAME_BYTES)        client → relay
 *   FORWARD   0x04 ‖ sender slot (u16) ‖ seq (u32) ‖ frame   relay → client
 *   LEAVE     0x05                                           client → relay
 *   PEER      0x06 ‖ slot (u16) ‖ user (33)                  relay → client (a member is in)
 *   GONE      0x07 ‖ slot (u16)                              relay → client (a member left)
 *   ERROR     0x08 ‖ code (ASCII, an ErrorCode)              relay → client
 *   SIGNAL    0x09 ‖ UTF-8 JSON {kind:'offer'|'answer', sdp} | {kind:'candidate', candidate, mid}
 *                                                            both ways, after JOINED
 *   LISTEN    0x0a ‖ listening (u8: 0 or 1)                  client → relay (deafen)
 *   NOTICE    0x0d ‖ silence notice                          client → relay
 *   PING      0x0b ‖ nonce (u32)                             client → relay, on the voice transport
 *   PONG      0x0c ‖ nonce (u32)                             relay → client, on the transport the ping took
 *
 * The frame is opaque to the relay (crypto/frame.ts seals it on the sender's
 * device); `seq` is the relay's per-sender counter, so receivers see loss as gaps.
 */
import { concat, equalBytes, fromUtf8, randomBytes, readU32, u32, utf8 } from '../crypto/bytes.ts';
import { CryptoError } from '../crypto/errors.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from '../crypto/identity.ts';
import {
  SIGNATURE_LENGTH,
  signStatementSync,
  verifyStatement,
  verifyStatementAsync,
} from '../crypto/sign.ts';
import { type ErrorCode, isErrorCode } from './errors.ts';
import { type Infer, literal, object, string, tagged, validate } from './validate.ts';

export const RELAY_TICKET_VERSION = 1;
export const RELAY_TICKET_ID_LENGTH = 16;
const TICKET_CONTEXT = 'tincan/relay-ticket/v1';
const CHANNEL_PATTERN = /^[a-z0-9_-]{1,32}$/;
const TICKET_FIXED = 2 + PUBLIC_KEY_LENGTH + 1 + 4 + RELAY_TICKET_ID_LENGTH + SIGNATURE_LENGTH;
const FLAG_SPEAK = 0x01;
/** The longest ticket (a 32-character channel id). */
export const MAX_TICKET_BYTES = TICKET_FIXED + 32;

/** A sealed voice frame's upper bound: one Opus packet plus crypto/frame.ts overhead fits easily. */
export const MAX_FRAME_BYTES = 1400;
/** The longest SIGNAL payload (an SDP with a few candidates). */
export const MAX_SIGNAL_BYTES = 8192;
/** The longest message either side accepts. */
export const MAX_RELAY_MESSAGE = 1 + MAX_SIGNAL_BYTES;
export const FORWARD_HEADER = 1 + 2 + 4;

export const RELAY_TYPE = {
  HELLO: 0x01,
  JOINED: 0x02,
  FRAME: 0x03,
  FORWARD: 0x04,
  LEAVE: 0x05,
  PEER: 0x06,
  GONE: 0x07,
  ERROR: 0x08,
  SIGNAL: 0x09,
  LISTEN: 0x0a,
  PING: 0x0b,
  PONG: 0x0c,
  NOTICE: 0x0d,
} as const;

// ---- tickets -------------------------------------------------------------------

export interface RelayTicket {
  readonly user: Uint8Array;
  readonly channel: string;
  /** Unix seconds. */
  readonly expiresAt: number;
  readonly id: Uint8Array;
  /** The holder may send frames (the `speak` permission, not server-muted); else listen only. */
  readonly canSpeak: boolean;
}

export type TicketErrorCode = 'BAD_TICKET' | 'EXPIRED' | 'BAD_SIGNATURE';
export type TicketResult =
  | { readonly ok: true; readonly ticket: RelayTicket }
  | { readonly ok: false; readonly code: TicketErrorCode; readonly message: string };

/**
 * Mints a ticket with the server's raw secret key. `random` is for golden vectors only.
 * Throws `BAD_INPUT` (CryptoError) on a bad user key, channel or expiry.
 */
export function mintRelayTicket(
  serverSecretKey: Uint8Array,
  fields: { user: Uint8Array; channel: string; expiresAt: number; canSpeak?: boolean },
  random: (length: number) => Uint8Array = randomBytes,
): Uint8Array {
  assertPublicKey(fields.user, 'user');
  if (typeof fields.channel !== 'string' || !CHANNEL_PATTERN.test(fields.channel))
    throw new CryptoError('BAD_INPUT', 'channel must be 1–32 of [a-z0-9_-]');
  const id = random(RELAY_TICKET_ID_LENGTH);
  if (id.length !== RELAY_TICKET_ID_LENGTH)
    throw new CryptoError('BAD_INPUT', 'random ticket id has the wrong length');
  const signed = concat(
    new Uint8Array([RELAY_TICKET_VERSION, fields.canSpeak === false ? 0 : FLAG_SPEAK]),
    fields.user,
    new Uint8Array([fields.channel.length]),
    utf8(fields.channel),
    u32(fields.expiresAt),
    id,
  );
  return concat(signed, signStatementSync(serverSecretKey, TICKET_CONTEXT, [signed]));
}

/** A plain Uint8Array copy (a Node Buffer's own `slice` would return a Buffer view). */
function copy(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

/** Parses a ticket's fields without checking its signature or expiry. */
export function parseRelayTicket(bytes: Uint8Array): TicketResult {
  const bad = (message: string): TicketResult => ({ ok: false, code: 'BAD_TICKET', message });
  if (!(bytes instanceof Uint8Array)) return bad('ticket must be bytes');
  if (bytes.length < TICKET_FIXED + 1 || bytes.length > MAX_TICKET_BYTES) return bad('ticket length');
  if (bytes[0] !== RELAY_TICKET_VERSION) return bad(`ticket version ${bytes[0]}`);
  const flags = bytes[1]!;
  if ((flags & ~FLAG_SPEAK) !== 0) return bad('unknown ticket flags');
  const user = copy(bytes, 2, 2 + PUBLIC_KEY_LENGTH);
  try {
    assertPublicKey(user, 'user');
  } catch {
    return bad('ticket user is not a P-256 key');
  }
  const channelLength = bytes[2 + PUBLIC_KEY_LENGTH]!;
  if (bytes.length !== TICKET_FIXED + channelLength) return bad('ticket length does not match its channel');
  let offset = 3 + PUBLIC_KEY_LENGTH;
  const channel = String.fromCharCode(...bytes.subarray(offset, offset + channelLength));
  if (!CHANNEL_PATTERN.test(channel)) return bad('ticket channel is malformed');
  offset += channelLength;
  const expiresAt = readU32(bytes, offset);
  offset += 4;
  const id = copy(bytes, offset, offset + RELAY_TICKET_ID_LENGTH);
  return { ok: true, ticket: { user, channel, expiresAt, id, canSpeak: (flags & FLAG_SPEAK) !== 0 } };
}

/**
 * Checks a ticket, in order: its format (`BAD_TICKET`), the server's signature
 * (`BAD_SIGNATURE`), then its expiry (`EXPIRED`, from `expiresAt` on). Never throws
 * on input bytes.
 */
export function verifyRelayTicket(
  bytes: Uint8Array,
  serverPublicKey: Uint8Array,
  nowMs: number,
): TicketResult {
  const parsed = parseRelayTicket(bytes);
  if (!parsed.ok) return parsed;
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  const valid = verifyStatement(serverPublicKey, bytes.subarray(signedEnd), TICKET_CONTEXT, [
    bytes.subarray(0, signedEnd),
  ]);
  return checked(parsed, valid, nowMs);
}

function checked(parsed: TicketResult & { ok: true }, valid: boolean, nowMs: number): TicketResult {
  if (!valid) return { ok: false, code: 'BAD_SIGNATURE', message: 'ticket is not signed by this server' };
  if (Math.floor(nowMs / 1000) >= parsed.ticket.expiresAt)
    return { ok: false, code: 'EXPIRED', message: 'ticket has expired' };
  return parsed;
}

/**
 * `verifyRelayTicket` through WebCrypto where it exists (crypto/sign.ts
 * `verifyStatementAsync`, far cheaper than pure-JS verification): what the relay
 * runs at admission, so a flood of forged HELLOs costs it little.
 */
export async function verifyRelayTicketAsync(
  bytes: Uint8Array,
  serverPublicKey: Uint8Array,
  nowMs: number,
): Promise<TicketResult> {
  const parsed = parseRelayTicket(bytes);
  if (!parsed.ok) return parsed;
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  const valid = await verifyStatementAsync(serverPublicKey, bytes.subarray(signedEnd), TICKET_CONTEXT, [
    bytes.subarray(0, signedEnd),
  ]);
  return checked(parsed, valid, nowMs);
}

/** Whether two tickets are the same ticket (by id). */
export function sameTicket(a: RelayTicket, b: RelayTicket): boolean {
  return equalBytes(a.id, b.id);
}

// ---- silence notices -------------------------------------------------------------

const NOTICE_CONTEXT = 'tincan/relay-notice/v1';
const NOTICE_VERSION = 1;
const FLAG_SILENCED = 0x01;
export const NOTICE_LENGTH = 2 + PUBLIC_KEY_LENGTH + 8 + SIGNATURE_LENGTH;
/** How long a notice counts: past any ticket minted before it (RELAY_TICKET_TTL_SECONDS is 300). */
export const NOTICE_TTL_MS = 600_000;

export interface SilenceNotice {
  readonly user: Uint8Array;
  readonly silenced: boolean;
  /** Unix ms; orders the notices of one user. */
  readonly issuedAt: number;
}

export type NoticeResult =
  | { readonly ok: true; readonly notice: SilenceNotice }
  | { readonly ok: false; readonly code: TicketErrorCode; readonly message: string };

const u64 = (n: number) => concat(u32(Math.floor(n / 0x1_0000_0000)), u32(n >>> 0));

/** Signs a silence notice with the server's raw secret key. Throws BAD_INPUT on a bad user or time. */
export function mintSilenceNotice(serverSecretKey: Uint8Array, notice: SilenceNotice): Uint8Array {
  assertPublicKey(notice.user, 'user');
  if (!Number.isSafeInteger(notice.issuedAt) || notice.issuedAt < 0)
    throw new CryptoError('BAD_INPUT', 'issuedAt must be unix ms');
  const signed = concat(
    new Uint8Array([NOTICE_VERSION, notice.silenced ? FLAG_SILENCED : 0]),
    notice.user,
    u64(notice.issuedAt),
  );
  return concat(signed, signStatementSync(serverSecretKey, NOTICE_CONTEXT, [signed]));
}

/**
 * Checks a notice: its format (`BAD_TICKET`), the server's signature
 * (`BAD_SIGNATURE`), then its age (`EXPIRED` from `NOTICE_TTL_MS` after issue; one
 * from further than a minute ahead is refused as `BAD_TICKET`). Never throws on input.
 */
export async function verifySilenceNotice(
  bytes: Uint8Array,
  serverPublicKey: Uint8Array,
  nowMs: number,
): Promise<NoticeResult> {
  const bad = (message: string): NoticeResult => ({ ok: false, code: 'BAD_TICKET', message });
  if (!(bytes instanceof Uint8Array) || bytes.length !== NOTICE_LENGTH) return bad('notice length');
  if (bytes[0] !== NOTICE_VERSION) return bad(`notice version ${bytes[0]}`);
  if ((bytes[1]! & ~FLAG_SILENCED) !== 0) return bad('unknown notice flags');
  const user = copy(bytes, 2, 2 + PUBLIC_KEY_LENGTH);
  try {
    assertPublicKey(user, 'user');
  } catch {
    return bad('notice user is not a P-256 key');
  }
  const at = 2 + PUBLIC_KEY_LENGTH;
  const issuedAt = readU32(bytes, at) * 0x1_0000_0000 + readU32(bytes, at + 4);
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  const valid = await verifyStatementAsync(serverPublicKey, bytes.subarray(signedEnd), NOTICE_CONTEXT, [
    bytes.subarray(0, signedEnd),
  ]);
  if (!valid) return { ok: false, code: 'BAD_SIGNATURE', message: 'notice is not signed by this server' };
  if (nowMs >= issuedAt + NOTICE_TTL_MS) return { ok: false, code: 'EXPIRED', message: 'notice has expired' };
  if (issuedAt > nowMs + 60_000) return bad('notice issued in the future');
  return { ok: true, notice: { user, silenced: (bytes[1]! & FLAG_SILENCED) !== 0, issuedAt } };
}

// ---- wire messages ---------------------------------------------------------------

const signalPayload = tagged('kind', {
  offer: object({ kind: literal('offer'), sdp: string({ min: 1, max: MAX_SIGNAL_BYTES }) }),
  answer: object({ kind: literal('answer'), sdp: string({ min: 1, max: MAX_SIGNAL_BYTES }) }),
  candidate: object({
    kind: literal('candidate'),
    candidate: string({ min: 1, max: 1024 }),
    mid: string({ min: 0, max: 64 }),
  }),
});
export type RelaySignal = Infer<typeof signalPayload>;

export type ClientRelayMessage =
  | { readonly type: 'hello'; readonly ticket: Uint8Array }
  | { readonly type: 'frame'; readonly frame: Uint8Array }
  | { readonly type: 'leave' }
  | { readonly type: 'signal'; readonly signal: RelaySignal }
  | { readonly type: 'listen'; readonly listening: boolean }
  | { readonly type: 'ping'; readonly nonce: number }
  | { readonly type: 'notice'; readonly notice: Uint8Array };

export type ServerRelayMessage =
  | { readonly type: 'joined'; readonly slot: number }
  | { readonly type: 'forward'; readonly slot: number; readonly seq: number; readonly frame: Uint8Array }
  | { readonly type: 'peer'; readonly slot: number; readonly user: Uint8Array }
  | { readonly type: 'gone'; readonly slot: number }
  | { readonly type: 'error'; readonly code: ErrorCode }
  | { readonly type: 'signal'; readonly signal: RelaySignal }
  | { readonly type: 'pong'; readonly nonce: number };

export interface RelayWireError {
  readonly type: 'invalid';
  readonly code: 'BAD_MESSAGE' | 'TOO_LARGE';
  readonly message: string;
}

const invalid = (message: string, code: RelayWireError['code'] = 'BAD_MESSAGE'): RelayWireError => ({
  type: 'invalid',
  code,
  message,
});

function u16At(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

function parseSignal(body: Uint8Array): RelaySignal | RelayWireError {
  if (body.length === 0 || body.length > MAX_SIGNAL_BYTES) return invalid('signal length');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8(body));
  } catch {
    return invalid('signal is not UTF-8 JSON');
  }
  const result = validate(signalPayload, parsed);
  return result.ok ? result.value : invalid(result.error.message);
}

/** What a client sent, or `invalid` (BAD_MESSAGE / TOO_LARGE). Never throws. */
export function parseClientRelayMessage(bytes: Uint8Array): ClientRelayMessage | RelayWireError {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return invalid('empty message');
  if (bytes.length > MAX_RELAY_MESSAGE) return invalid(`message of ${bytes.length} bytes`, 'TOO_LARGE');
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case RELAY_TYPE.HELLO:
      if (body.length === 0 || body.length > MAX_TICKET_BYTES) return invalid('hello ticket length');
      return { type: 'hello', ticket: body };
    case RELAY_TYPE.FRAME:
      if (body.length === 0) return invalid('empty frame');
      if (body.length > MAX_FRAME_BYTES)
        return invalid(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`, 'TOO_LARGE');
      return { type: 'frame', frame: body };
    case RELAY_TYPE.LEAVE:
      return body.length === 0 ? { type: 'leave' } : invalid('leave has a body');
    case RELAY_TYPE.SIGNAL: {
      const signal = parseSignal(body);
      return 'type' in signal ? signal : { type: 'signal', signal };
    }
    case RELAY_TYPE.LISTEN:
      if (body.length !== 1 || body[0]! > 1) return invalid('listen takes one byte, 0 or 1');
      return { type: 'listen', listening: body[0] === 1 };
    case RELAY_TYPE.NOTICE:
      return body.length === NOTICE_LENGTH ? { type: 'notice', notice: body } : invalid('notice length');
    case RELAY_TYPE.PING:
      return body.length === 4
        ? { type: 'ping', nonce: readU32(body, 0) }
        : invalid('ping takes a u32 nonce');
    default:
      return invalid(`unknown client message type ${bytes[0]}`);
  }
}

/** What the relay sent, or `invalid`. Never throws. */
export function parseServerRelayMessage(bytes: Uint8Array): ServerRelayMessage | RelayWireError {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return invalid('empty message');
  if (bytes.length > MAX_RELAY_MESSAGE) return invalid(`message of ${bytes.length} bytes`, 'TOO_LARGE');
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case RELAY_TYPE.JOINED:
      return body.length === 2 ? { type: 'joined', slot: u16At(body, 0) } : invalid('joined length');
    case RELAY_TYPE.FORWARD:
      if (body.length < 7 || body.length > 6 + MAX_FRAME_BYTES) return invalid('forward length');
      return { type: 'forward', slot: u16At(body, 0), seq: readU32(body, 2), frame: body.subarray(6) };
    case RELAY_TYPE.PEER: {
      if (body.length !== 2 + PUBLIC_KEY_LENGTH) return invalid('peer length');
      const user = copy(body, 2, body.length);
      try {
        assertPublicKey(user, 'user');
      } catch {
        return invalid('peer user is not a P-256 key');
      }
      return { type: 'peer', slot: u16At(body, 0), user };
    }
    case RELAY_TYPE.GONE:
      return body.length === 2 ? { type: 'gone', slot: u16At(body, 0) } : invalid('gone length');
    case RELAY_TYPE.ERROR: {
      const code = String.fromCharCode(...body.subarray(0, 32));
      return body.length <= 32 && isErrorCode(code) ? { type: 'error', code } : invalid('unknown error code');
    }
    case RELAY_TYPE.SIGNAL: {
      const signal = parseSignal(body);
      return 'type' in signal ? signal : { type: 'signal', signal };
    }
    case RELAY_TYPE.PONG:
      return body.length === 4
        ? { type: 'pong', nonce: readU32(body, 0) }
        : invalid('pong takes a u32 nonce');
    default:
      return invalid(`unknown relay message type ${bytes[0]}`);
  }
}

// ---- encoders --------------------------------------------------------------------

const u16 = (n: number) => new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);

export const encodeRelay = {
  hello: (ticket: Uint8Array) => concat(new Uint8Array([RELAY_TYPE.HELLO]), ticket),
  joined: (slot: number) => concat(new Uint8Array([RELAY_TYPE.JOINED]), u16(slot)),
  frame: (frame: Uint8Array) => concat(new Uint8Array([RELAY_TYPE.FRAME]), frame),
  /** One buffer per sender frame, written unchanged to every receiver. */
  forward: (slot: number, seq: number, frame: Uint8Array) => {
    const out = new Uint8Array(FORWARD_HEADER + frame.length);
    out[0] = RELAY_TYPE.FORWARD;
    out[1] = (slot >>> 8) & 0xff;
    out[2] = slot & 0xff;
    new DataView(out.buffer).setUint32(3, seq >>> 0);
    out.set(frame, FORWARD_HEADER);
    return out;
  },
  leave: () => new Uint8Array([RELAY_TYPE.LEAVE]),
  peer: (slot: number, user: Uint8Array) => concat(new Uint8Array([RELAY_TYPE.PEER]), u16(slot), user),
  gone: (slot: number) => concat(new Uint8Array([RELAY_TYPE.GONE]), u16(slot)),
  error: (code: ErrorCode) => concat(new Uint8Array([RELAY_TYPE.ERROR]), utf8(code)),
  signal: (signal: RelaySignal) => concat(new Uint8Array([RELAY_TYPE.SIGNAL]), utf8(JSON.stringify(signal))),
  listen: (listening: boolean) => new Uint8Array([RELAY_TYPE.LISTEN, listening ? 1 : 0]),
  notice: (notice: Uint8Array) => concat(new Uint8Array([RELAY_TYPE.NOTICE]), notice),
  ping: (nonce: number) => concat(new Uint8Array([RELAY_TYPE.PING]), u32(nonce >>> 0)),
  pong: (nonce: number) => concat(new Uint8Array([RELAY_TYPE.PONG]), u32(nonce >>> 0)),
};
