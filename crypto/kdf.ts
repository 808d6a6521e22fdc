/** HKDF-SHA256 (RFC 5869) with a UTF-8 info label; the only key derivation of crypto/. */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { abytes, aint, utf8 } from './bytes.ts';

export function deriveKey(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: string,
  length = 32,
): Uint8Array {
  abytes(ikm, undefined, 'ikm');
  if (salt !== undefined) abytes(salt, undefined, 'salt');
  aint(length, 1, 255 * 32, 'length');
  return hkdf(sha256, ikm, salt, utf8(info), length);
}
