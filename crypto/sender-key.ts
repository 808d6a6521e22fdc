/**
 * Sender keys, as Signal's group messaging has them: each member sending in a
 * channel owns a hash ratchet for the current epoch and hands its state to the other
 * members once (sealed in an envelope, envelope.ts); every message then costs the
 * sender one ratchet step and no per-recipient work.
 *
 * Ratchet (Signal's SenderChainKey): from chain key CK_i,
 *
 *   messageKey_i = HMAC-SHA256(CK_i, 0x01)      the XChaCha20-Poly1305 key of message i
 *   CK_{i+1}     = HMAC-SHA256(CK_i, 0x02)
 *
 * and CK_i is wiped once stepped past, so a device captured later cannot read what it
 * sent or received earlier (forward secrecy within an epoch). A newcomer given the
 * state at iteration n reads from message n on, never before.
 *
 * Distribution format (the plaintext sealed to each member; version 1):
 *
 *   0x01 ‖ epoch (u32 BE) ‖ iteration (u32 BE) ‖ chain key (32)
 *        ‖ sender public key (33, compressed P-256) ‖ channel id (1–128 bytes, printable ASCII)
 *
 * The channel id runs to the end, so it needs no length. Nothing here is signed:
 * the envelope carrying it is, and the message layer signs every message.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, aint, astring, concat, randomBytes, readU32, u32, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, PUBLIC_KEY_LENGTH } from './identity.ts';
import { deriveKey } from './kdf.ts';

export const SENDER_KEY_VERSION = 1;
export const CHAIN_KEY_LENGTH = 32;
export const MESSAGE_KEY_LENGTH = 32;
export const MAX_EPOCH = 0xffffffff;
/** The last iteration that has a message key; the chain ends there. */
export const MAX_ITERATION = 0xfffffffe;
export const MAX_CHANNEL_ID_LENGTH = 128;
const FIXED_LENGTH = 1 + 4 + 4 + CHAIN_KEY_LENGTH + PUBLIC_KEY_LENGTH;
const CHANNEL_ID = /^[\x21-\x7e]+$/;
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);
const FRAME_SECRET_INFO = 'tincan/sender-key/v1 frame secret';

/**
 * One sender's ratchet state for one channel and epoch. Mutable and owned: the
 * functions here replace and wipe `chainKey`, so never share one between two users.
 */
export interface SenderKey {
  readonly channelId: string;
  readonly epoch: number;
  /** Compressed P-256 identity key of the member who sends with this chain. */
  readonly senderPublicKey: Uint8Array;
  /** CK at `iteration`: the next message uses messageKey_iteration. */
  chainKey: Uint8Array;
  iteration: number;
}

export interface MessageKey {
  readonly iteration: number;
  readonly key: Uint8Array;
}

/** Throws `BAD_INPUT` unless `value` is 1–128 printable ASCII characters (no space). */
export function assertChannelId(value: unknown, label = 'channelId'): asserts value is string {
  astring(value, label, MAX_CHANNEL_ID_LENGTH);
  if (!CHANNEL_ID.test(value)) {
    throw new CryptoError(
      'BAD_INPUT',
      `${label} must be 1–${MAX_CHANNEL_ID_LENGTH} printable ASCII characters`,
    );
  }
}

/** A fresh sender key at iteration 0 with a random chain key. */
export function createSenderKey(channelId: string, epoch: number, senderPublicKey: Uint8Array): SenderKey {
  assertChannelId(channelId);
  aint(epoch, 0, MAX_EPOCH, 'epoch');
  assertPublicKey(senderPublicKey, 'senderPublicKey');
  return {
    channelId,
    epoch,
    senderPublicKey: senderPublicKey.slice(),
    chainKey: randomBytes(CHAIN_KEY_LENGTH),
    iteration: 0,
  };
}

/** A deep copy, for a second owner (e.g. the sender's own receiving chain). */
export function copySenderKey(key: SenderKey): SenderKey {
  assertSenderKey(key);
  return { ...key, senderPublicKey: key.senderPublicKey.slice(), chainKey: key.chainKey.slice() };
}

/** One ratchet step from `chainKey`: its message key and the next chain key (both fresh arrays). */
export function ratchetStep(chainKey: Uint8Array): { messageKey: Uint8Array; nextChainKey: Uint8Array } {
  abytes(chainKey, CHAIN_KEY_LENGTH, 'chainKey');
  return {
    messageKey: hmac(sha256, chainKey, MESSAGE_KEY_SEED),
    nextChainKey: hmac(sha256, chainKey, CHAIN_KEY_SEED),
  };
}

/**
 * The message key for `key.iteration`; advances the state by one and wipes the
 * chain key it stepped past. Throws `EXPIRED` at the end of the chain (2^32 − 1
 * messages): start a new epoch long before.
 */
export function nextMessageKey(key: SenderKey): MessageKey {
  assertSenderKey(key);
  if (key.iteration > MAX_ITERATION) throw new CryptoError('EXPIRED', 'sender key chain is exhausted');
  const { messageKey, nextChainKey } = ratchetStep(key.chainKey);
  const iteration = key.iteration;
  key.chainKey.fill(0);
  key.chainKey = nextChainKey;
  key.iteration = iteration + 1;
  return { iteration, key: messageKey };
}

/**
 * Moves `key` forward to `iteration` (≥ its own) without making the message keys in
 * between: one HMAC a step instead of two, each chain key wiped once stepped past.
 * For catching up through history (the message key of `iteration` itself is then
 * `nextMessageKey`). Throws `BAD_INPUT` for an iteration behind the key or past the chain's end.
 */
export function advanceSenderKey(key: SenderKey, iteration: number): void {
  assertSenderKey(key);
  aint(iteration, key.iteration, MAX_ITERATION, 'iteration');
  let chainKey = key.chainKey;
  for (let i = key.iteration; i < iteration; i++) {
    const next = hmac(sha256, chainKey, CHAIN_KEY_SEED);
    chainKey.fill(0);
    chainKey = next;
  }
  key.chainKey = chainKey;
  key.iteration = iteration;
}

/**
 * The voice-frame secret of a sender key: HKDF-SHA256 of the chain key at iteration
 * 0 (frame.ts derives the frame key and salt from it). Voice does not ratchet per
 * frame, frames carry a counter instead (as SFrame does), so a voice channel's sender
 * keys stay at iteration 0 and every member derives the same secret. It is one-way
 * from the chain key, so holding it reveals no message key. `BAD_INPUT` past iteration 0.
 */
export function frameSecretOf(key: SenderKey): Uint8Array {
  assertSenderKey(key);
  if (key.iteration !== 0) {
    throw new CryptoError('BAD_INPUT', `frame secret needs the key at iteration 0, got ${key.iteration}`);
  }
  return deriveKey(key.chainKey, undefined, FRAME_SECRET_INFO, 32);
}

/** The distribution bytes of `key` (see the header). */
export function serializeSenderKey(key: SenderKey): Uint8Array {
  assertSenderKey(key);
  return concat(
    Uint8Array.of(SENDER_KEY_VERSION),
    u32(key.epoch),
    u32(key.iteration),
    key.chainKey,
    key.senderPublicKey,
    utf8(key.channelId),
  );
}

/** Parses distribution bytes; throws `BAD_VERSION` or `BAD_FORMAT`. The result owns fresh arrays. */
export function deserializeSenderKey(bytes: Uint8Array): SenderKey {
  abytes(bytes, undefined, 'bytes');
  if (bytes.length < 1) throw new CryptoError('BAD_FORMAT', 'sender key is empty');
  if (bytes[0] !== SENDER_KEY_VERSION) {
    throw new CryptoError('BAD_VERSION', `sender key version ${bytes[0]} is not ${SENDER_KEY_VERSION}`);
  }
  if (bytes.length < FIXED_LENGTH + 1 || bytes.length > FIXED_LENGTH + MAX_CHANNEL_ID_LENGTH) {
    throw new CryptoError('BAD_FORMAT', `sender key of ${bytes.length} bytes has no valid length`);
  }
  const epoch = readU32(bytes, 1);
  const iteration = readU32(bytes, 5); // 2^32 − 1 is a spent chain: it parses, but has no key left
  const chainKey = bytes.slice(9, 9 + CHAIN_KEY_LENGTH);
  const senderPublicKey = bytes.slice(9 + CHAIN_KEY_LENGTH, FIXED_LENGTH);
  let channelId = '';
  for (let i = FIXED_LENGTH; i < bytes.length; i++) channelId += String.fromCharCode(bytes[i]!);
  try {
    assertPublicKey(senderPublicKey, 'sender public key');
    assertChannelId(channelId, 'channel id');
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', (cause as Error).message, { cause });
  }
  return { channelId, epoch, senderPublicKey, chainKey, iteration };
}

/** Throws `BAD_INPUT` unless `key` has the shape of a SenderKey (the point check is left to creation and parsing). */
export function assertSenderKey(key: unknown, label = 'senderKey'): asserts key is SenderKey {
  if (typeof key !== 'object' || key === null)
    throw new CryptoError('BAD_INPUT', `${label} must be a SenderKey`);
  const k = key as Partial<SenderKey>;
  assertChannelId(k.channelId, `${label}.channelId`);
  aint(k.epoch, 0, MAX_EPOCH, `${label}.epoch`);
  abytes(k.senderPublicKey, PUBLIC_KEY_LENGTH, `${label}.senderPublicKey`);
  abytes(k.chainKey, CHAIN_KEY_LENGTH, `${label}.chainKey`);
  aint(k.iteration, 0, MAX_ITERATION + 1, `${label}.iteration`);
}
