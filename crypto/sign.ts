/**
 * ECDSA P-256 / SHA-256 signatures over domain-separated statements.
 *
 * Signatures are the 64-byte compact form (r ‖ s), exactly what WebCrypto's
 * `sign({name:'ECDSA', hash:'SHA-256'})` produces, so a non-extractable browser key
 * and a raw noble key are interchangeable. Noble hashes the message with SHA-256
 * first (its default `prehash: true`), as WebCrypto does. Verification accepts
 * high-S signatures because WebCrypto emits them; nothing here keys on signature
 * bytes (replay protection keys on ids and counters), so malleability is harmless.
 */
import { p256 } from '@noble/curves/nist.js';
import { abytes, toHex } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, SECRET_KEY_LENGTH } from './identity.ts';
import { encodeStatement, type Field } from './statement.ts';

export const SIGNATURE_LENGTH = 64;

/** Something that signs with an identity key: raw bytes in Node, a CryptoKey in a browser. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Signer over a raw 32-byte secret key (Node, tests, bots). */
export function rawSigner(secretKey: Uint8Array): Signer {
  abytes(secretKey, SECRET_KEY_LENGTH, 'secretKey');
  const publicKey = p256.getPublicKey(secretKey, true);
  return { publicKey, sign: async (message) => p256.sign(message, secretKey) };
}

/** Signer over a WebCrypto ECDSA P-256 private key, which may be non-extractable. */
export function webCryptoSigner(privateKey: CryptoKey, publicKey: Uint8Array): Signer {
  assertPublicKey(publicKey);
  return {
    publicKey,
    sign: async (message) =>
      new Uint8Array(
        await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, message as BufferSource),
      ),
  };
}

/** Synchronous signing with a raw key, for servers signing tickets and invites. */
export function signStatementSync(
  secretKey: Uint8Array,
  context: string,
  fields: readonly Field[],
): Uint8Array {
  abytes(secretKey, SECRET_KEY_LENGTH, 'secretKey');
  return p256.sign(encodeStatement(context, fields), secretKey);
}

export function signStatement(
  signer: Signer,
  context: string,
  fields: readonly Field[],
): Promise<Uint8Array> {
  return signer.sign(encodeStatement(context, fields));
}

/** True when `signature` is `publicKey`'s signature over the statement. Never throws on a bad signature. */
export function verifyStatement(
  publicKey: Uint8Array,
  signature: Uint8Array,
  context: string,
  fields: readonly Field[],
): boolean {
  assertPublicKey(publicKey);
  abytes(signature, SIGNATURE_LENGTH, 'signature');
  const message = encodeStatement(context, fields);
  try {
    return p256.verify(signature, message, publicKey, { lowS: false });
  } catch {
    // A malformed signature (r or s out of range) is simply not valid.
    return false;
  }
}

const importedKeys = new Map<string, Promise<CryptoKey>>();
const MAX_IMPORTED_KEYS = 1024;

/** The WebCrypto key for a compressed P-256 public key, imported once (bounded cache). */
function webCryptoKey(publicKey: Uint8Array): Promise<CryptoKey> {
  const id = toHex(publicKey);
  let key = importedKeys.get(id);
  if (!key) {
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value!);
    const raw = p256.Point.fromBytes(publicKey).toBytes(false);
    key = crypto.subtle.importKey('raw', raw as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'verify',
    ]);
    importedKeys.set(id, key);
  }
  return key;
}

/**
 * `verifyStatement` through WebCrypto where it exists (Node 20 and browsers): the
 * same ECDSA P-256/SHA-256 check over the same bytes (both accept high-S), measured
 * ~30× cheaper than noble's pure-JS verify on the server's hot path (authentication).
 * Falls back to noble when `crypto.subtle` is absent.
 */
export async function verifyStatementAsync(
  publicKey: Uint8Array,
  signature: Uint8Array,
  context: string,
  fields: readonly Field[],
): Promise<boolean> {
  assertPublicKey(publicKey);
  abytes(signature, SIGNATURE_LENGTH, 'signature');
  if (typeof crypto === 'undefined' || crypto.subtle === undefined) {
    return verifyStatement(publicKey, signature, context, fields);
  }
  const message = encodeStatement(context, fields);
  try {
    const key = await webCryptoKey(publicKey);
    return await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      signature as BufferSource,
      message as BufferSource,
    );
  } catch {
    // WebCrypto refuses malformed signatures by throwing in some engines: not valid.
    return false;
  }
}

/** Like verifyStatement, but throws `BAD_SIGNATURE`. */
export function assertStatement(
  publicKey: Uint8Array,
  signature: Uint8Array,
  context: string,
  fields: readonly Field[],
): void {
  if (!verifyStatement(publicKey, signature, context, fields)) {
    throw new CryptoError('BAD_SIGNATURE', `signature does not verify for ${context}`);
  }
}
