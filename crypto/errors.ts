/**
 * The one error type of crypto/: a stable SCREAMING_SNAKE `code` plus a message.
 * Callers branch on `code`, never on the message text.
 */

export type CryptoErrorCode =
  | 'BAD_INPUT' // wrong type or length of an argument
  | 'BAD_FORMAT' // bytes that do not parse as the expected format
  | 'BAD_VERSION' // a format version byte we do not speak
  | 'BAD_SIGNATURE' // a signature that does not verify
  | 'DECRYPT_FAILED' // AEAD tag mismatch: tampered, wrong key or wrong associated data
  | 'REPLAY' // an id or counter seen before
  | 'TOO_OLD' // outside the accepted window (counter or epoch)
  | 'EXPIRED' // a token past its expiry
  | 'UNKNOWN_KEY' // no key for this key id / epoch / sender
  | 'MISMATCH' // authentic, but bound to another sender, recipient, context or server than expected
  | 'KEY_REJECTED' // a key refused by policy: a removed sender, a conflicting copy, an epoch too far ahead
  | 'NONCE_REUSE'; // an attempt to encrypt twice under one key and nonce

export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}
