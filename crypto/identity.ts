/**
 * Identities: ECDSA P-256 key pairs. The compressed SEC1 public key (33 bytes),
 * base64url-encoded, is the user id. Fingerprints and two-party safety numbers
 * are digit groups a person can read aloud, in the manner of Signal's safety numbers.
 *
 * One key pair serves both ECDSA (signatures) and ECDH (envelopes, see envelope.ts);
 * every use is domain-separated by its context string and HKDF info.
 */
import { p256 } from '@noble/curves/nist.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { abytes, compareBytes, concat, fromBase64url, toBase64url, toHex, utf8 } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const PUBLIC_KEY_LENGTH = 33;
export const SECRET_KEY_LENGTH = 32;

export interface IdentityKeyPair {
  /** 32-byte P-256 scalar. Never leaves the device except in an encrypted backup. */
  readonly secretKey: Uint8Array;
  /** 33-byte compressed SEC1 point. */
  readonly publicKey: Uint8Array;
}

export function generateIdentity(): IdentityKeyPair {
  const secretKey = p256.utils.randomSecretKey();
  return { secretKey, publicKey: p256.getPublicKey(secretKey, true) };
}

/** Rebuilds the key pair from its secret key (checks the scalar is in range). */
export function identityFromSecretKey(secretKey: Uint8Array): IdentityKeyPair {
  abytes(secretKey, SECRET_KEY_LENGTH, 'secretKey');
  if (!p256.utils.isValidSecretKey(secretKey))
    throw new CryptoError('BAD_INPUT', 'secretKey is not a valid P-256 scalar');
  return { secretKey, publicKey: p256.getPublicKey(secretKey, true) };
}

/**
 * Keys already found on the curve (hex), so the ~50 µs point decompression runs once
 * per key rather than at every header parsed: the answer depends on the bytes alone.
 * Bounded; the oldest fall out first.
 */
const validKeys = new Set<string>();
const MAX_VALID_KEYS = 4096;

/** Throws `BAD_INPUT` unless `publicKey` is a 33-byte compressed point on P-256. */
export function assertPublicKey(publicKey: unknown, label = 'publicKey'): asserts publicKey is Uint8Array {
  abytes(publicKey, PUBLIC_KEY_LENGTH, label);
  const hex = toHex(publicKey);
  if (validKeys.has(hex)) return;
  try {
    p256.Point.fromBytes(publicKey).assertValidity();
  } catch (cause) {
    throw new CryptoError('BAD_INPUT', `${label} is not a point on P-256`, { cause });
  }
  if (validKeys.size >= MAX_VALID_KEYS) validKeys.delete(validKeys.values().next().value!);
  validKeys.add(hex);
}

/** The user id: base64url of the compressed public key (44 characters). */
export function userIdOf(publicKey: Uint8Array): string {
  assertPublicKey(publicKey);
  return toBase64url(publicKey);
}

/** Parses a user id back to a validated public key (throws `BAD_INPUT`/`BAD_FORMAT`). */
export function publicKeyOf(userId: string): Uint8Array {
  const bytes = fromBase64url(userId);
  assertPublicKey(bytes, 'userId');
  return bytes;
}

const FINGERPRINT_CONTEXT = utf8('tincan/fingerprint/v1');
const FINGERPRINT_ITERATIONS = 1024;

/** 30 digits from the key: iterated SHA-512, six 5-byte chunks, each mod 100000. */
function fingerprintDigits(publicKey: Uint8Array): string {
  assertPublicKey(publicKey);
  let hash = sha512(concat(FINGERPRINT_CONTEXT, publicKey));
  for (let i = 1; i < FINGERPRINT_ITERATIONS; i++) hash = sha512(concat(hash, publicKey));
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = n * 256 + hash[chunk * 5 + j]!;
    digits += String(n % 100000).padStart(5, '0');
  }
  return digits;
}

function group(digits: string): string {
  return digits.match(/.{5}/g)!.join(' ');
}

/** A key's fingerprint: six groups of five digits, e.g. `01234 56789 …`. Stable per key. */
export function fingerprint(publicKey: Uint8Array): string {
  return group(fingerprintDigits(publicKey));
}

/**
 * The safety number two people compare to verify each other: both fingerprints,
 * in a canonical order (by public key bytes), so both sides see the same 60 digits.
 */
export function safetyNumber(a: Uint8Array, b: Uint8Array): string {
  assertPublicKey(a, 'a');
  assertPublicKey(b, 'b');
  const [first, second] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
  return group(fingerprintDigits(first) + fingerprintDigits(second));
}
