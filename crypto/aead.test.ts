import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { deepEqual, equal, notEqual, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte, NOT_BYTES, truncations } from '../test/helpers/tamper.ts';
import draft from '../test/vectors/xchacha20poly1305-draft03.json' with { type: 'json' };
import { NONCE_LENGTH, open, seal, TAG_LENGTH } from './aead.ts';
import { concat, fromHex, randomBytes, toHex, utf8 } from './bytes.ts';

describe('aead (XChaCha20-Poly1305)', () => {
  it('matches draft-irtf-cfrg-xchacha-03 §A.3.1', () => {
    for (const c of draft.cases) {
      const key = fromHex(c.key);
      const aad = fromHex(c.aad);
      const plaintext = utf8(c.plaintextUtf8);
      const sealed = concat(fromHex(c.nonce), fromHex(c.ciphertext), fromHex(c.tag));
      deepEqual(open(key, sealed, aad), plaintext, c.name);
      equal(toHex(xchacha20poly1305(key, fromHex(c.nonce), aad).encrypt(plaintext)), c.ciphertext + c.tag);
    }
  });

  it('round-trips with a fresh nonce each time', () => {
    const key = randomBytes(32);
    const aad = utf8('aad');
    for (const size of [0, 1, 64, 1000]) {
      const plaintext = randomBytes(size);
      const a = seal(key, plaintext, aad);
      equal(a.length, NONCE_LENGTH + size + TAG_LENGTH);
      deepEqual(open(key, a, aad), plaintext);
      notEqual(
        toHex(seal(key, plaintext, aad).subarray(0, NONCE_LENGTH)),
        toHex(a.subarray(0, NONCE_LENGTH)),
      );
    }
  });

  it('rejects any change of key, aad, nonce, ciphertext or tag (DECRYPT_FAILED)', () => {
    const key = randomBytes(32);
    const aad = utf8('aad');
    const sealed = seal(key, utf8('secret'), aad);
    for (const [i, tampered] of flipEachByte(sealed))
      throwsCode(() => open(key, tampered, aad), 'DECRYPT_FAILED', `byte ${i}`);
    throwsCode(() => open(randomBytes(32), sealed, aad), 'DECRYPT_FAILED', 'other key');
    throwsCode(() => open(key, sealed, utf8('aae')), 'DECRYPT_FAILED', 'other aad');
    for (const short of truncations(sealed))
      throwsCode(
        () => open(key, short, aad),
        short.length < NONCE_LENGTH + TAG_LENGTH ? 'BAD_FORMAT' : 'DECRYPT_FAILED',
      );
  });

  it('rejects bad inputs with BAD_INPUT', () => {
    const key = randomBytes(32);
    const sealed = seal(key, new Uint8Array(1), new Uint8Array());
    for (const bad of [...NOT_BYTES, new Uint8Array(31), new Uint8Array(33)]) {
      throwsCode(() => seal(bad as Uint8Array, new Uint8Array(1), new Uint8Array()), 'BAD_INPUT');
      throwsCode(() => open(bad as Uint8Array, sealed, new Uint8Array()), 'BAD_INPUT');
    }
    for (const bad of NOT_BYTES) {
      throwsCode(() => seal(key, bad as Uint8Array, new Uint8Array()), 'BAD_INPUT');
      throwsCode(() => seal(key, new Uint8Array(1), bad as Uint8Array), 'BAD_INPUT');
      throwsCode(() => open(key, bad as Uint8Array, new Uint8Array()), 'BAD_INPUT');
      throwsCode(() => open(key, sealed, bad as Uint8Array), 'BAD_INPUT');
    }
  });
});
