/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) with random 24-byte nonces: the
 * AEAD for everything but voice frames. A random 192-bit nonce never repeats in
 * practice, so callers need no nonce state.
 *
 *   sealed = nonce (24) ‖ ciphertext ‖ tag (16)
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { abytes, concat, randomBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const KEY_LENGTH = 32;
export const NONCE_LENGTH = 24;
export const TAG_LENGTH = 16;

export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  abytes(key, KEY_LENGTH, 'key');
  abytes(plaintext, undefined, 'plaintext');
  abytes(aad, undefined, 'aad');
  return _sealWithNonce(key, randomBytes(NONCE_LENGTH), plaintext, aad);
}

/**
 * `seal` with a caller-chosen nonce: for golden vectors only (file.ts injects one).
 * A repeated nonce under one key breaks the AEAD; production code calls `seal`.
 */
export function _sealWithNonce(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  abytes(key, KEY_LENGTH, 'key');
  abytes(nonce, NONCE_LENGTH, 'nonce');
  abytes(plaintext, undefined, 'plaintext');
  abytes(aad, undefined, 'aad');
  return concat(nonce, xchacha20poly1305(key, nonce, aad).encrypt(plaintext));
}

/** Throws `DECRYPT_FAILED` on any mismatch of key, nonce, ciphertext, tag or aad. */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  abytes(key, KEY_LENGTH, 'key');
  abytes(sealed, undefined, 'sealed');
  abytes(aad, undefined, 'aad');
  if (sealed.length < NONCE_LENGTH + TAG_LENGTH) throw new CryptoError('BAD_FORMAT', 'sealed data too short');
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_LENGTH), aad).decrypt(
      sealed.subarray(NONCE_LENGTH),
    );
  } catch (cause) {
    throw new CryptoError('DECRYPT_FAILED', 'authentication failed', { cause });
  }
}
