/**
 * P-256 ECDH (SEC 1 v2 §3.3.1, as profiled by RFC 5903 §9 and WebCrypto): the shared
 * secret is the 32-byte x-coordinate of d·Q. Peer keys are 33-byte compressed points
 * and are checked to be on the curve (no invalid-curve attacks).
 *
 * `Agreement` mirrors `Signer` (sign.ts): the same async interface over a raw secret
 * key (Node, tests) or a WebCrypto ECDH CryptoKey, which may be non-extractable.
 * WebCrypto gives a key one algorithm, so a browser that keeps its identity in
 * CryptoKeys holds two of them: ECDSA for signing and ECDH for agreement, both
 * imported from the same secret (`importAgreementKey` here).
 */
import { p256 } from '@noble/curves/nist.js';
import { abytes, toBase64url } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey, SECRET_KEY_LENGTH } from './identity.ts';

export const SHARED_SECRET_LENGTH = 32;

/** Something that performs ECDH with an identity key: raw bytes in Node, a CryptoKey in a browser. */
export interface Agreement {
  /** The 33-byte compressed public key of the secret this agreement holds. */
  readonly publicKey: Uint8Array;
  /** The 32-byte x-coordinate of the shared point with `peerPublicKey`. */
  deriveSharedSecret(peerPublicKey: Uint8Array): Promise<Uint8Array>;
}

function assertSecretKey(secretKey: unknown): asserts secretKey is Uint8Array {
  abytes(secretKey, SECRET_KEY_LENGTH, 'secretKey');
  if (!p256.utils.isValidSecretKey(secretKey))
    throw new CryptoError('BAD_INPUT', 'secretKey is not a valid P-256 scalar');
}

/** ECDH with a raw 32-byte secret key; returns the 32-byte x-coordinate (SEC 1 §3.3.1). */
export function sharedSecret(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  assertSecretKey(secretKey);
  assertPublicKey(peerPublicKey, 'peerPublicKey');
  // noble returns the compressed shared point; drop the 0x02/0x03 prefix byte.
  return p256.getSharedSecret(secretKey, peerPublicKey, true).slice(1);
}

/** Agreement over a raw 32-byte secret key. */
export function rawAgreement(secretKey: Uint8Array): Agreement {
  assertSecretKey(secretKey);
  const publicKey = p256.getPublicKey(secretKey, true);
  return { publicKey, deriveSharedSecret: async (peer) => sharedSecret(secretKey, peer) };
}

/** Agreement over a WebCrypto ECDH P-256 private key (non-extractable is fine). */
export function webCryptoAgreement(privateKey: CryptoKey, publicKey: Uint8Array): Agreement {
  if (typeof CryptoKey === 'undefined' || !(privateKey instanceof CryptoKey))
    throw new CryptoError('BAD_INPUT', 'privateKey must be a CryptoKey');
  if (privateKey.type !== 'private' || privateKey.algorithm.name !== 'ECDH')
    throw new CryptoError('BAD_INPUT', 'privateKey must be an ECDH private key');
  assertPublicKey(publicKey);
  return {
    publicKey,
    deriveSharedSecret: async (peer) => {
      assertPublicKey(peer, 'peerPublicKey');
      // WebCrypto imports only uncompressed points (0x04 ‖ x ‖ y); decompress with noble.
      const uncompressed = p256.Point.fromBytes(peer).toBytes(false);
      const peerKey = await crypto.subtle.importKey(
        'raw',
        uncompressed as BufferSource,
        { name: 'ECDH', namedCurve: 'P-256' },
        false,
        [],
      );
      const bits = await crypto.subtle.deriveBits(
        { name: 'ECDH', public: peerKey },
        privateKey,
        SHARED_SECRET_LENGTH * 8,
      );
      return new Uint8Array(bits);
    },
  };
}

/**
 * Imports a raw secret key as a WebCrypto ECDH private key (via JWK, RFC 7518 §6.2),
 * non-extractable unless asked, for `webCryptoAgreement`.
 */
export function importAgreementKey(secretKey: Uint8Array, extractable = false): Promise<CryptoKey> {
  assertSecretKey(secretKey);
  const point = p256.getPublicKey(secretKey, false);
  const jwk: JsonWebKey = {
    kty: 'EC',
    crv: 'P-256',
    d: toBase64url(secretKey),
    x: toBase64url(point.subarray(1, 33)),
    y: toBase64url(point.subarray(33, 65)),
  };
  return crypto.subtle.importKey('jwk', jwk, { name: 'ECDH', namedCurve: 'P-256' }, extractable, [
    'deriveBits',
  ]);
}
