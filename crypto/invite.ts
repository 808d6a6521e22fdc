/**
 * Invite tokens: what an invite link carries, signed by the server key or by a
 * member allowed to invite.
 *
 *   token = 0x01 ‖ flags (u8) ‖ server id (16) ‖ issuer pub (33) ‖ invite id (16)
 *           ‖ expires (u32, unix s) ‖ max uses (u16, 0 = unlimited) ‖ role len (u8) ‖ role
 *           ‖ [channel len (u8) ‖ channel] ‖ signature (64)
 *   flags = 0x01 channel present | 0x02 the link carries a bundle secret
 *   link fragment = base64url(token) [ "." base64url(bundle secret, 32) ]
 *
 * The signature is ECDSA over `encodeStatement('tincan/invite/v1', [every byte before it])`.
 *
 * The bundle secret sits outside the token on purpose: the client sends only the
 * token to the server (which checks the signature and counts uses) and keeps the
 * secret, which opens the key bundle the inviter left on the server (DESIGN: "the
 * server stores the bundle but never sees the secret"). The signed flag only says a
 * secret exists, so a client can tell a truncated link from a link without one.
 *
 * The server appears as a 16-byte id (a hash of its public key): enough to pin it
 * like `known_hosts` (2^128 second-preimage work) for half the bytes of the key.
 * The issuer key travels in full so the token verifies on its own. With a 64-byte
 * P-256 signature and a 33-byte key, no token fits in 130 characters; a typical one
 * is ~144 bytes (192 characters), plus 44 for the secret.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  abytes,
  aint,
  astring,
  concat,
  equalBytes,
  fromBase64url,
  randomBytes,
  readU32,
  toBase64url,
  u32,
  utf8,
} from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from './identity.ts';
import { assertStatement, SIGNATURE_LENGTH, type Signer, signStatement } from './sign.ts';
import { encodeStatement } from './statement.ts';

export const INVITE_VERSION = 1;
export const SERVER_ID_LENGTH = 16;
export const INVITE_ID_LENGTH = 16;
export const BUNDLE_SECRET_LENGTH = 32;
const SIGNATURE_CONTEXT = 'tincan/invite/v1';
const SERVER_ID_CONTEXT = 'tincan/server-id/v1';
const FLAG_CHANNEL = 0x01;
const FLAG_BUNDLE = 0x02;
const ROLE_PATTERN = /^[a-z0-9_-]{1,32}$/;
const CHANNEL_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** version, flags, server id, issuer, invite id, expires, max uses, role length. */
const FIXED_LENGTH = 2 + SERVER_ID_LENGTH + PUBLIC_KEY_LENGTH + INVITE_ID_LENGTH + 4 + 2 + 1;
const MAX_TOKEN_TEXT = 512;

export interface InviteFields {
  /** The server's public key; the token carries its 16-byte id. */
  readonly serverPublicKey: Uint8Array;
  /** Role granted on joining, e.g. `member` (1–32 of [a-z0-9_-]). */
  readonly role: string;
  /** Unix seconds after which the invite is refused. */
  readonly expiresAt: number;
  /** How many people may join with it (1–65535), or 0 for no limit. */
  readonly maxUses: number;
  /** A channel to open on joining (1–64 of [A-Za-z0-9_-]). */
  readonly channelId?: string;
  /** Mint a bundle secret for the link's fragment. */
  readonly withBundleSecret?: boolean;
}

export interface Invite {
  readonly version: number;
  readonly serverId: Uint8Array;
  readonly issuer: Uint8Array;
  /** 16 random bytes: the server's key for counting uses and revoking. */
  readonly id: Uint8Array;
  readonly role: string;
  readonly expiresAt: number;
  readonly maxUses: number;
  readonly channelId: string | undefined;
  /** The link carries a bundle secret (never sent to the server). */
  readonly hasBundleSecret: boolean;
  /** The signed bytes and the signature, for `verifyInvite`. */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

export interface CreatedInvite {
  readonly invite: Invite;
  /** base64url token: what the client sends to the server. */
  readonly token: string;
  /** The bundle secret, when asked for. */
  readonly secret: Uint8Array | undefined;
  /** The URL fragment: token, and `.secret` when there is one. */
  readonly fragment: string;
}

/** A server's 16-byte id: SHA-256 over a domain-separated statement of its key, truncated. */
export function serverIdOf(serverPublicKey: Uint8Array): Uint8Array {
  assertPublicKey(serverPublicKey, 'serverPublicKey');
  return sha256(encodeStatement(SERVER_ID_CONTEXT, [serverPublicKey])).slice(0, SERVER_ID_LENGTH);
}

function assertRole(role: unknown): asserts role is string {
  astring(role, 'role', 32);
  if (!ROLE_PATTERN.test(role)) throw new CryptoError('BAD_INPUT', 'role must be 1–32 of [a-z0-9_-]');
}

function assertChannel(channelId: unknown): asserts channelId is string {
  astring(channelId, 'channelId', 64);
  if (!CHANNEL_PATTERN.test(channelId))
    throw new CryptoError('BAD_INPUT', 'channelId must be 1–64 of [A-Za-z0-9_-]');
}

function u16(value: number): Uint8Array {
  return new Uint8Array([value >>> 8, value & 0xff]);
}

/**
 * Creates and signs an invite. `random` is for reproducible test vectors only.
 */
export async function createInvite(
  signer: Signer,
  fields: InviteFields,
  random: (length: number) => Uint8Array = randomBytes,
): Promise<CreatedInvite> {
  assertPublicKey(signer?.publicKey, 'signer.publicKey');
  const serverId = serverIdOf(fields?.serverPublicKey);
  assertRole(fields.role);
  aint(fields.expiresAt, 1, 0xffffffff, 'expiresAt');
  aint(fields.maxUses, 0, 0xffff, 'maxUses');
  if (fields.channelId !== undefined) assertChannel(fields.channelId);
  const withSecret = fields.withBundleSecret === true;
  const id = random(INVITE_ID_LENGTH);
  abytes(id, INVITE_ID_LENGTH, 'random invite id');
  const secret = withSecret ? random(BUNDLE_SECRET_LENGTH) : undefined;
  if (secret !== undefined) abytes(secret, BUNDLE_SECRET_LENGTH, 'random bundle secret');
  const flags = (fields.channelId !== undefined ? FLAG_CHANNEL : 0) | (withSecret ? FLAG_BUNDLE : 0);
  const role = utf8(fields.role);
  const parts = [
    new Uint8Array([INVITE_VERSION, flags]),
    serverId,
    signer.publicKey,
    id,
    u32(fields.expiresAt),
    u16(fields.maxUses),
    new Uint8Array([role.length]),
    role,
  ];
  if (fields.channelId !== undefined) {
    const channel = utf8(fields.channelId);
    parts.push(new Uint8Array([channel.length]), channel);
  }
  const signed = concat(...parts);
  const signature = await signStatement(signer, SIGNATURE_CONTEXT, [signed]);
  abytes(signature, SIGNATURE_LENGTH, 'signature from signer');
  const token = toBase64url(concat(signed, signature));
  return {
    invite: parseInvite(token),
    token,
    secret,
    fragment: secret === undefined ? token : `${token}.${toBase64url(secret)}`,
  };
}

function readString(bytes: Uint8Array, offset: number, pattern: RegExp, label: string): [string, number] {
  const length = bytes[offset];
  if (length === undefined || offset + 1 + length > bytes.length)
    throw new CryptoError('BAD_FORMAT', `invite ${label} is truncated`);
  // Both patterns are ASCII, so a byte-per-character decode is exact.
  const text = String.fromCharCode(...bytes.subarray(offset + 1, offset + 1 + length));
  if (!pattern.test(text)) throw new CryptoError('BAD_FORMAT', `invite ${label} is malformed`);
  return [text, offset + 1 + length];
}

/** Parses a base64url token (no secret). Throws `BAD_FORMAT`/`BAD_VERSION`; verifies nothing. */
export function parseInvite(token: string): Invite {
  astring(token, 'token', MAX_TOKEN_TEXT);
  const bytes = fromBase64url(token);
  if (bytes.length < 1) throw new CryptoError('BAD_FORMAT', 'empty invite');
  if (bytes[0] !== INVITE_VERSION)
    throw new CryptoError('BAD_VERSION', `invite version ${bytes[0]} is not ${INVITE_VERSION}`);
  if (bytes.length < FIXED_LENGTH + SIGNATURE_LENGTH) throw new CryptoError('BAD_FORMAT', 'invite too short');
  const flags = bytes[1]!;
  if ((flags & ~(FLAG_CHANNEL | FLAG_BUNDLE)) !== 0)
    throw new CryptoError('BAD_FORMAT', 'unknown invite flags');
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  const body = bytes.subarray(0, signedEnd);
  let offset = 2;
  const take = (n: number) => body.slice(offset, (offset += n));
  const serverId = take(SERVER_ID_LENGTH);
  const issuer = take(PUBLIC_KEY_LENGTH);
  try {
    assertPublicKey(issuer, 'issuer');
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', 'invite issuer is not a P-256 point', { cause });
  }
  const id = take(INVITE_ID_LENGTH);
  const expiresAt = readU32(body, offset);
  const maxUses = (body[offset + 4]! << 8) | body[offset + 5]!;
  const [role, afterRole] = readString(body, offset + 6, ROLE_PATTERN, 'role');
  offset = afterRole;
  let channelId: string | undefined;
  if (flags & FLAG_CHANNEL) [channelId, offset] = readString(body, offset, CHANNEL_PATTERN, 'channel');
  if (offset !== signedEnd) throw new CryptoError('BAD_FORMAT', 'invite has trailing bytes');
  if (expiresAt === 0) throw new CryptoError('BAD_FORMAT', 'invite expiry is zero');
  return {
    version: INVITE_VERSION,
    serverId,
    issuer,
    id,
    role,
    expiresAt,
    maxUses,
    channelId,
    hasBundleSecret: (flags & FLAG_BUNDLE) !== 0,
    signed: bytes.slice(0, signedEnd),
    signature: bytes.slice(signedEnd),
  };
}

/**
 * Parses a link fragment (`token` or `token.secret`, a leading `#` allowed). The
 * secret must be present exactly when the token's flag says so (`BAD_FORMAT`).
 */
export function parseInviteLink(fragment: string): {
  invite: Invite;
  token: string;
  secret: Uint8Array | undefined;
} {
  astring(fragment, 'fragment', MAX_TOKEN_TEXT + 64);
  const parts = fragment.replace(/^#/, '').split('.');
  if (parts.length > 2) throw new CryptoError('BAD_FORMAT', 'invite link has more than one "."');
  const token = parts[0]!;
  const invite = parseInvite(token);
  const secret = parts[1] === undefined ? undefined : fromBase64url(parts[1]);
  if (secret !== undefined && secret.length !== BUNDLE_SECRET_LENGTH)
    throw new CryptoError('BAD_FORMAT', `bundle secret must be ${BUNDLE_SECRET_LENGTH} bytes`);
  if (invite.hasBundleSecret !== (secret !== undefined))
    throw new CryptoError(
      'BAD_FORMAT',
      invite.hasBundleSecret ? 'invite link lost its bundle secret' : 'invite link has an unexpected secret',
    );
  return { invite, token, secret };
}

export interface VerifyInviteOptions {
  /** Unix seconds. */
  readonly now: number;
  /** When given, only these issuers are accepted (`UNKNOWN_KEY`). */
  readonly trustedIssuers?: readonly Uint8Array[];
  /** When given, the invite must name this server (`MISMATCH`). */
  readonly serverPublicKey?: Uint8Array;
}

/**
 * Checks, in order: the issuer's signature (`BAD_SIGNATURE`), that the issuer is
 * trusted (`UNKNOWN_KEY`), that the invite names this server (`MISMATCH`), and
 * that it has not expired (`EXPIRED`, from `expiresAt` on). Counting uses is the
 * server's job. Takes the token text or a parsed invite, and returns the invite as
 * re-read from its signed bytes: use the return value, not the argument.
 */
export function verifyInvite(token: string | Invite, options: VerifyInviteOptions): Invite {
  let parsed: Invite;
  if (typeof token === 'string') parsed = parseInvite(token);
  else {
    abytes(token?.signed, undefined, 'invite.signed');
    abytes(token.signature, SIGNATURE_LENGTH, 'invite.signature');
    // Re-parse the signed bytes, so fields edited on the object cannot pass.
    parsed = parseInvite(toBase64url(concat(token.signed, token.signature)));
  }
  aint(options?.now, 0, Number.MAX_SAFE_INTEGER, 'now');
  if (options.trustedIssuers !== undefined && !Array.isArray(options.trustedIssuers))
    throw new CryptoError('BAD_INPUT', 'trustedIssuers must be an array of public keys');
  if (options.serverPublicKey !== undefined) assertPublicKey(options.serverPublicKey, 'serverPublicKey');
  assertStatement(parsed.issuer, parsed.signature, SIGNATURE_CONTEXT, [parsed.signed]);
  if (options.trustedIssuers !== undefined) {
    options.trustedIssuers.forEach((key, i) => {
      assertPublicKey(key, `trustedIssuers[${i}]`);
    });
    if (!options.trustedIssuers.some((key) => equalBytes(key, parsed.issuer)))
      throw new CryptoError('UNKNOWN_KEY', 'invite issuer is not trusted');
  }
  if (
    options.serverPublicKey !== undefined &&
    !equalBytes(serverIdOf(options.serverPublicKey), parsed.serverId)
  )
    throw new CryptoError('MISMATCH', 'invite is for another server');
  if (options.now >= parsed.expiresAt) throw new CryptoError('EXPIRED', 'invite has expired');
  return parsed;
}
