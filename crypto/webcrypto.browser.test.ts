/**
 * In Chromium: a non-extractable WebCrypto ECDSA P-256 key and a raw noble key are
 * interchangeable identities. WebCrypto signatures (which may be high-S) pass
 * `verifyStatement`, and noble's signatures pass `crypto.subtle.verify`; a tampered
 * statement fails either way.
 */
import { p256 } from '@noble/curves/nist.js';
import { equal, ok } from '../test/helpers/assert.ts';
import { generateIdentity } from './identity.ts';
import { rawSigner, signStatement, verifyStatement, webCryptoSigner } from './sign.ts';
import { encodeStatement, type Field } from './statement.ts';

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CONTEXT = 'tincan/test/v1';
/** With 64 signatures, missing a high-S one by chance has probability 2^-64. */
const ROUNDS = 64;

function fieldsFor(round: number): Field[] {
  return ['server-id', new Uint8Array([round, 0xaa, 0x55]), round];
}

function hasHighS(signature: Uint8Array): boolean {
  return p256.Signature.fromBytes(signature, 'compact').hasHighS();
}

describe('WebCrypto ECDSA P-256 interop (Chromium)', () => {
  it('a non-extractable WebCrypto key signs statements that verifyStatement accepts', async () => {
    const { privateKey, publicKey } = await crypto.subtle.generateKey(ECDSA_P256, false, ['sign', 'verify']);
    equal(privateKey.extractable, false, 'private key extractable');
    let exported = false;
    try {
      await crypto.subtle.exportKey('pkcs8', privateKey);
      exported = true;
    } catch {
      // expected: a non-extractable key refuses export
    }
    equal(exported, false, 'exporting the non-extractable private key');

    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
    equal(raw.length, 65, 'raw WebCrypto public key length (uncompressed SEC1)');
    const compressed = p256.Point.fromBytes(raw).toBytes(true);
    const signer = webCryptoSigner(privateKey, compressed);

    let highS = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const fields = fieldsFor(round);
      const signature = await signStatement(signer, CONTEXT, fields);
      equal(signature.length, 64, `round ${round}: WebCrypto signature length`);
      if (hasHighS(signature)) highS++;
      ok(verifyStatement(compressed, signature, CONTEXT, fields), `round ${round}: valid signature rejected`);
      equal(
        verifyStatement(compressed, signature, CONTEXT, fieldsFor(round + 1)),
        false,
        `round ${round}: signature accepted for a tampered statement`,
      );
      equal(
        verifyStatement(compressed, signature, 'tincan/other/v1', fields),
        false,
        `round ${round}: signature accepted under another context`,
      );
      const flipped = signature.slice();
      flipped[round % 64]! ^= 1;
      equal(
        verifyStatement(compressed, flipped, CONTEXT, fields),
        false,
        `round ${round}: signature with byte ${round % 64} flipped accepted`,
      );
    }
    ok(highS > 0, `expected some of ${ROUNDS} WebCrypto signatures to be high-S, saw none`);
    ok(highS < ROUNDS, `expected some of ${ROUNDS} WebCrypto signatures to be low-S, saw none`);
  });

  it('noble signatures (rawSigner) verify with crypto.subtle.verify', async () => {
    const { secretKey, publicKey } = generateIdentity();
    const signer = rawSigner(secretKey);
    const uncompressed = p256.Point.fromBytes(publicKey).toBytes(false);
    const key = await crypto.subtle.importKey('raw', uncompressed as BufferSource, ECDSA_P256, false, [
      'verify',
    ]);

    for (let round = 0; round < ROUNDS; round++) {
      const fields = fieldsFor(round);
      const signature = await signStatement(signer, CONTEXT, fields);
      const message = encodeStatement(CONTEXT, fields);
      ok(
        await crypto.subtle.verify(ECDSA_SHA256, key, signature as BufferSource, message as BufferSource),
        `round ${round}: WebCrypto rejected a noble signature`,
      );
      const tampered = message.slice();
      tampered[round % tampered.length]! ^= 0x80;
      equal(
        await crypto.subtle.verify(ECDSA_SHA256, key, signature as BufferSource, tampered as BufferSource),
        false,
        `round ${round}: WebCrypto accepted a noble signature over a tampered statement`,
      );
      const other = encodeStatement(CONTEXT, fieldsFor(round + 1));
      equal(
        await crypto.subtle.verify(ECDSA_SHA256, key, signature as BufferSource, other as BufferSource),
        false,
        `round ${round}: WebCrypto accepted a noble signature for another statement`,
      );
    }
  });
});
