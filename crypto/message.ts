/**
 * Channel messages: encrypted with the author's sender-key ratchet for the channel's
 * epoch (group-keys.ts), then signed by the author's identity.
 *
 *   sealed    = header ‖ box ‖ signature (64)
 *   header    = 0x01 ‖ id (16, random) ‖ channel id length (u8) ‖ channel id (ASCII)
 *               ‖ epoch (u32 BE) ‖ iteration (u32 BE) ‖ sender public key (33)
 *   box       = nonce (24) ‖ ciphertext ‖ tag (16): XChaCha20-Poly1305 (aead.ts) under
 *               the ratchet's message key for (sender, epoch, iteration),
 *               AAD = encodeStatement('tincan/message-aad/v1', [header])
 *   signature = ECDSA P-256 (sign.ts) over encodeStatement('tincan/message/v1', [header ‖ box])
 *
 * Encrypt, then sign the sealed bytes — rather than sign, then encrypt:
 * - Members share message keys (each holds the author's chain), so the AEAD tag only
 *   says "some member wrote this". The author's signature is what stops member B
 *   forging a message from A; members share no signing key.
 * - A signature on the outside is checked without keys: the server can refuse
 *   forged or unsigned blobs and rate-limit per author before storing them, and a
 *   client drops forgeries before they touch a ratchet (no chain advanced, no cached
 *   key burnt, no replay slot taken by junk).
 * - The known flaw of encrypt-then-sign — someone strips the signature and re-signs
 *   the ciphertext as theirs (Davis, "Defective Sign & Encrypt", 2001) — fails here:
 *   the sender key is in the AAD and selects the chain, so a re-signed box names
 *   another chain and does not decrypt.
 * - Sign-then-encrypt would hide authorship from the server, but every reader must
 *   decrypt before knowing who wrote a message, and the signed plaintext would have
 *   to name channel and epoch so a member cannot re-encrypt it elsewhere
 *   (surreptitious forwarding).
 * - The price: the author's signature is on the ciphertext, publicly verifiable and
 *   not deniable. Anyone holding the blob can prove its author sent those bytes; anyone
 *   who also gets the message key (a member, a seized device) can prove what was said.
 *   Signal's groups choose deniability instead; tincan wants attributable messages for
 *   moderation.
 *
 * Replays: the id is random and signed; `ReplayGuard` refuses an id seen before, and
 * the ratchet's message keys are single-use, so a replay past the guard's memory is
 * `TOO_OLD`.
 *
 * Verifying apart from opening: `verifyMessageAsync` checks a message's format and
 * signature through WebCrypto (off the main thread, many at once) and returns a
 * `VerifiedMessage`; `openMessage` given one skips only the signature, and still
 * checks channel, replay, key and decryption. A VerifiedMessage holds its own copy of
 * the bytes that were verified, and only this module makes one, so a caller cannot
 * swap the bytes afterwards or pass off unverified ones.
 */
import { NONCE_LENGTH, open, seal, TAG_LENGTH } from './aead.ts';
import { abytes, concat, equalBytes, randomBytes, readU32, u32, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { GroupKeyRing, type SendKey } from './group-keys.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from './identity.ts';
import type { ReplayGuard } from './replay-guard.ts';
import { assertSenderKey, MAX_CHANNEL_ID_LENGTH, nextMessageKey, type SenderKey } from './sender-key.ts';
import {
  SIGNATURE_LENGTH,
  type Signer,
  signStatement,
  verifyStatement,
  verifyStatementAsync,
} from './sign.ts';
import { encodeStatement } from './statement.ts';

export const MESSAGE_VERSION = 1;
export const MESSAGE_ID_LENGTH = 16;
export const MAX_MESSAGE_PLAINTEXT = 1 << 24;
const SIGNATURE_CONTEXT = 'tincan/message/v1';
const AAD_CONTEXT = 'tincan/message-aad/v1';
/** Header bytes besides the channel id. */
const HEADER_FIXED = 1 + MESSAGE_ID_LENGTH + 1 + 4 + 4 + PUBLIC_KEY_LENGTH;
/** Bytes a sealed message adds to its plaintext, besides the channel id. */
export const MESSAGE_OVERHEAD = HEADER_FIXED + NONCE_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH;

export interface MessageHeader {
  readonly version: number;
  readonly id: Uint8Array;
  readonly channelId: string;
  readonly epoch: number;
  readonly iteration: number;
  readonly sender: Uint8Array;
}

export interface OpenedMessage extends MessageHeader {
  readonly plaintext: Uint8Array;
}

declare const verifiedBrand: unique symbol;

/**
 * A sealed message whose author's signature held (made by `verifyMessage` or
 * `verifyMessageAsync` only): its header, authenticated, but not yet its key,
 * channel or freshness — `openMessage` checks those.
 */
export interface VerifiedMessage extends MessageHeader {
  readonly [verifiedBrand]: true;
}

/** Every VerifiedMessage this module made → its parse, over a private copy of the verified bytes. */
const verifiedParts = new WeakMap<VerifiedMessage, ParsedMessage>();

interface ParsedMessage extends MessageHeader {
  readonly header: Uint8Array;
  /** header ‖ box: what the signature covers. */
  readonly signed: Uint8Array;
  readonly box: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * Seals `plaintext` as the next message of my chain: from a ring (its current epoch)
 * or a bare SenderKey (advanced in place). The signer must own the sender key.
 */
export async function sealMessage(
  signer: Signer,
  from: GroupKeyRing | SenderKey,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  if (typeof signer !== 'object' || signer === null || typeof signer.sign !== 'function') {
    throw new CryptoError('BAD_INPUT', 'signer must be a Signer');
  }
  abytes(signer.publicKey, PUBLIC_KEY_LENGTH, 'signer.publicKey'); // compared with the (checked) sender key below
  abytes(plaintext, undefined, 'plaintext');
  if (plaintext.length > MAX_MESSAGE_PLAINTEXT) {
    throw new CryptoError('BAD_INPUT', `plaintext is longer than ${MAX_MESSAGE_PLAINTEXT} bytes`);
  }
  const senderPublicKey = from instanceof GroupKeyRing ? from.me : senderKeyOf(from).senderPublicKey;
  if (!equalBytes(senderPublicKey, signer.publicKey)) {
    throw new CryptoError('BAD_INPUT', 'signer does not own the sender key');
  }
  const send: SendKey = from instanceof GroupKeyRing ? from.nextSendKey() : nextSendKeyOf(from);
  const channel = utf8(send.channelId);
  const header = concat(
    Uint8Array.of(MESSAGE_VERSION),
    randomBytes(MESSAGE_ID_LENGTH),
    Uint8Array.of(channel.length),
    channel,
    u32(send.epoch),
    u32(send.iteration),
    send.senderPublicKey,
  );
  const box = seal(send.key, plaintext, encodeStatement(AAD_CONTEXT, [header]));
  send.key.fill(0);
  const signed = concat(header, box);
  const signature = await signStatement(signer, SIGNATURE_CONTEXT, [signed]);
  abytes(signature, SIGNATURE_LENGTH, 'signature from signer');
  return concat(signed, signature);
}

/**
 * Checks a message's format (`BAD_VERSION`, `BAD_FORMAT`) and its author's signature
 * (`BAD_SIGNATURE`) with noble, synchronously. See `verifyMessageAsync` for many at once.
 */
export function verifyMessage(sealed: Uint8Array): VerifiedMessage {
  const m = parse(copyOf(sealed));
  if (!verifyStatement(m.sender, m.signature, SIGNATURE_CONTEXT, [m.signed])) throw badSignature();
  return verified(m);
}

/**
 * `verifyMessage` through WebCrypto where it exists (browsers, Node 20): ~30× cheaper
 * than noble's verify and off the main thread, so a page of history verifies in
 * parallel (`Promise.all`). Falls back to noble without `crypto.subtle`.
 */
export async function verifyMessageAsync(sealed: Uint8Array): Promise<VerifiedMessage> {
  const m = parse(copyOf(sealed));
  if (!(await verifyStatementAsync(m.sender, m.signature, SIGNATURE_CONTEXT, [m.signed])))
    throw badSignature();
  return verified(m);
}

/**
 * Opens a message of the ring's channel. Checks, in order: format (`BAD_VERSION`,
 * `BAD_FORMAT`), channel (`MISMATCH`), replay (`REPLAY`), the author's signature
 * (`BAD_SIGNATURE`; already done for a VerifiedMessage), the key (`UNKNOWN_KEY`,
 * `TOO_OLD`), decryption (`DECRYPT_FAILED`). Only a message that passes all of them
 * advances the ratchet and is remembered by the guard.
 */
export function openMessage(
  ring: GroupKeyRing,
  sealed: Uint8Array | VerifiedMessage,
  guard: ReplayGuard,
): OpenedMessage {
  if (!(ring instanceof GroupKeyRing)) throw new CryptoError('BAD_INPUT', 'ring must be a GroupKeyRing');
  if (typeof guard !== 'object' || guard === null || typeof guard.check !== 'function') {
    throw new CryptoError('BAD_INPUT', 'guard must be a ReplayGuard');
  }
  const signatureChecked = !(sealed instanceof Uint8Array);
  const m = signatureChecked ? verifiedParts.get(sealed) : parse(sealed);
  if (m === undefined) {
    throw new CryptoError('BAD_INPUT', 'sealed must be a Uint8Array or a VerifiedMessage from verifyMessage');
  }
  if (m.channelId !== ring.channelId) {
    throw new CryptoError('MISMATCH', `message is for channel ${m.channelId}, not ${ring.channelId}`);
  }
  guard.check(m.id);
  if (!signatureChecked && !verifyStatement(m.sender, m.signature, SIGNATURE_CONTEXT, [m.signed]))
    throw badSignature();
  const pending = ring.receivingKey(m.sender, m.epoch, m.iteration);
  const plaintext = open(pending.key, m.box, encodeStatement(AAD_CONTEXT, [m.header]));
  pending.commit();
  pending.key.fill(0);
  guard.add(m.id);
  const { version, id, channelId, epoch, iteration, sender } = m;
  return { version, id: id.slice(), channelId, epoch, iteration, sender: sender.slice(), plaintext };
}

/** Reads the header without keys: only its format is checked, nothing is authenticated (for routing and key requests). */
export function peekMessageHeader(sealed: Uint8Array): MessageHeader {
  const { version, id, channelId, epoch, iteration, sender } = parse(sealed);
  return { version, id, channelId, epoch, iteration, sender };
}

function parse(sealed: Uint8Array): ParsedMessage {
  abytes(sealed, undefined, 'sealed');
  if (sealed.length < 1) throw new CryptoError('BAD_FORMAT', 'message is empty');
  if (sealed[0] !== MESSAGE_VERSION) {
    throw new CryptoError('BAD_VERSION', `message version ${sealed[0]} is not ${MESSAGE_VERSION}`);
  }
  if (sealed.length < MESSAGE_OVERHEAD + 1) throw new CryptoError('BAD_FORMAT', 'message is too short');
  const channelLength = sealed[1 + MESSAGE_ID_LENGTH]!;
  const headerLength = HEADER_FIXED + channelLength;
  if (channelLength === 0 || channelLength > MAX_CHANNEL_ID_LENGTH) {
    throw new CryptoError(
      'BAD_FORMAT',
      `channel id length ${channelLength} is not 1–${MAX_CHANNEL_ID_LENGTH}`,
    );
  }
  if (sealed.length < headerLength + NONCE_LENGTH + TAG_LENGTH + SIGNATURE_LENGTH) {
    throw new CryptoError('BAD_FORMAT', 'message is too short for its channel id');
  }
  let channelId = '';
  let at = 2 + MESSAGE_ID_LENGTH;
  for (const end = at + channelLength; at < end; at++) {
    const c = sealed[at]!;
    if (c < 0x21 || c > 0x7e) throw new CryptoError('BAD_FORMAT', 'channel id is not printable ASCII');
    channelId += String.fromCharCode(c);
  }
  const epoch = readU32(sealed, at);
  const iteration = readU32(sealed, at + 4);
  const sender = sealed.slice(at + 8, at + 8 + PUBLIC_KEY_LENGTH);
  try {
    assertPublicKey(sender, 'sender');
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', 'sender is not a P-256 public key', { cause });
  }
  const signedLength = sealed.length - SIGNATURE_LENGTH;
  return {
    version: MESSAGE_VERSION,
    id: sealed.slice(1, 1 + MESSAGE_ID_LENGTH),
    channelId,
    epoch,
    iteration,
    sender,
    header: sealed.subarray(0, headerLength),
    signed: sealed.subarray(0, signedLength),
    box: sealed.subarray(headerLength, signedLength),
    signature: sealed.slice(signedLength),
  };
}

/** A private copy, so the bytes verified are the bytes later opened. */
function copyOf(sealed: Uint8Array): Uint8Array {
  abytes(sealed, undefined, 'sealed');
  return sealed.slice();
}

function badSignature(): CryptoError {
  return new CryptoError('BAD_SIGNATURE', 'message signature does not verify for its sender');
}

function verified(m: ParsedMessage): VerifiedMessage {
  const { version, id, channelId, epoch, iteration, sender } = m;
  const token = Object.freeze({
    version,
    id: id.slice(),
    channelId,
    epoch,
    iteration,
    sender: sender.slice(),
  }) as VerifiedMessage;
  verifiedParts.set(token, m);
  return token;
}

function senderKeyOf(key: unknown): SenderKey {
  assertSenderKey(key, 'from');
  return key;
}

function nextSendKeyOf(key: SenderKey): SendKey {
  const { iteration, key: messageKey } = nextMessageKey(key);
  return {
    channelId: key.channelId,
    epoch: key.epoch,
    senderPublicKey: key.senderPublicKey,
    iteration,
    key: messageKey,
  };
}
