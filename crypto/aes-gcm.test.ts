import { gcm } from '@noble/ciphers/aes.js';
import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { deepEqual, equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte, NOT_BYTES } from '../test/helpers/tamper.ts';
import nist from '../test/vectors/mcgrew-viega-aes-gcm.json' with { type: 'json' };
import { AesGcmKey, GCM_TAG_LENGTH } from './aes-gcm.ts';
import { concat, fromHex, toHex, utf8 } from './bytes.ts';

/** Reproducible pseudo-random bytes: ChaCha20 keystream under SHA-256(label). */
function seeded(label: string, length: number): Uint8Array {
  return chacha20(sha256(utf8(label)), new Uint8Array(12), new Uint8Array(length));
}

describe('AesGcmKey', () => {
  it('matches the published GCM test cases', () => {
    for (const c of nist.cases) {
      const key = new AesGcmKey(fromHex(c.key));
      const sealed = key.seal(fromHex(c.iv), fromHex(c.aad), fromHex(c.plaintext));
      equal(toHex(sealed), c.ciphertext + c.tag, c.name);
      equal(toHex(key.open(fromHex(c.iv), fromHex(c.aad), sealed)), c.plaintext, c.name);
    }
  });

  it('agrees with noble gcm for every length of text and aad up to 80 bytes', () => {
    for (const keyLength of [16, 32]) {
      const raw = seeded(`gcm key ${keyLength}`, keyLength);
      const key = new AesGcmKey(raw);
      for (let length = 0; length <= 80; length++) {
        for (const aadLength of [0, 1, 3, 15, 16, 17, 33]) {
          const nonce = seeded(`nonce ${keyLength} ${length} ${aadLength}`, 12);
          const text = seeded(`text ${length}`, length);
          const aad = seeded(`aad ${aadLength}`, aadLength);
          const expected = gcm(raw, nonce, aad).encrypt(text);
          const sealed = key.seal(nonce, aad, text);
          equal(toHex(sealed), toHex(expected), `key ${keyLength}, text ${length}, aad ${aadLength}`);
          equal(toHex(key.open(nonce, aad, sealed)), toHex(text));
        }
      }
    }
  });

  it('seals in place and opens into a buffer with the same bytes as seal/open', () => {
    const raw = seeded('in place', 16);
    const key = new AesGcmKey(raw);
    const nonce = seeded('in place nonce', 12);
    const aad = seeded('in place aad', 5);
    const text = seeded('in place text', 110);
    const buffer = concat(aad, text, new Uint8Array(GCM_TAG_LENGTH));
    key.sealInPlace(nonce, buffer, aad.length);
    equal(toHex(buffer), toHex(concat(aad, gcm(raw, nonce, aad).encrypt(text))));
    const out = new Uint8Array(3 + text.length);
    key.openTo(nonce, buffer, aad.length, out, 3);
    equal(toHex(out.subarray(3)), toHex(text));
    equal(toHex(out.subarray(0, 3)), '000000', 'writes nothing before offset');
  });

  it('refuses every one-byte change of aad, ciphertext or tag, and a wrong nonce or key', () => {
    const key = new AesGcmKey(seeded('tamper', 16));
    const nonce = seeded('tamper nonce', 12);
    const aad = seeded('tamper aad', 4);
    const sealed = key.seal(nonce, aad, seeded('tamper text', 40));
    for (const [i, bad] of flipEachByte(sealed)) {
      throwsCode(() => key.open(nonce, aad, bad), 'DECRYPT_FAILED', `byte ${i}`);
    }
    for (const [i, bad] of flipEachByte(aad, 0x80)) {
      throwsCode(() => key.open(nonce, bad, sealed), 'DECRYPT_FAILED', `aad byte ${i}`);
    }
    for (const [i, bad] of flipEachByte(nonce)) {
      throwsCode(() => key.open(bad, aad, sealed), 'DECRYPT_FAILED', `nonce byte ${i}`);
    }
    throwsCode(() => new AesGcmKey(seeded('other', 16)).open(nonce, aad, sealed), 'DECRYPT_FAILED');
    throwsCode(() => key.open(nonce, aad, sealed.subarray(0, 15)), 'DECRYPT_FAILED');
  });

  it('leaves out untouched when the tag does not verify', () => {
    const key = new AesGcmKey(seeded('untouched', 16));
    const nonce = seeded('untouched nonce', 12);
    const buffer = concat(new Uint8Array(2), seeded('untouched text', 20), new Uint8Array(16));
    key.sealInPlace(nonce, buffer, 2);
    buffer[buffer.length - 1]! ^= 1;
    const out = new Uint8Array(20);
    throwsCode(() => key.openTo(nonce, buffer, 2, out, 0), 'DECRYPT_FAILED');
    deepEqual(out, new Uint8Array(20));
  });

  it('rejects wrong input types and lengths with labelled BAD_INPUT', () => {
    for (const bad of NOT_BYTES) {
      ok(throwsCode(() => new AesGcmKey(bad as Uint8Array), 'BAD_INPUT').message.includes('key'));
    }
    for (const length of [0, 15, 24, 31, 33]) {
      ok(throwsCode(() => new AesGcmKey(new Uint8Array(length)), 'BAD_INPUT').message.includes('key'));
    }
    const key = new AesGcmKey(new Uint8Array(16));
    for (const length of [0, 8, 11, 13, 16]) {
      const e = throwsCode(
        () => key.seal(new Uint8Array(length), new Uint8Array(0), new Uint8Array(1)),
        'BAD_INPUT',
      );
      ok(e.message.includes('nonce'), e.message);
    }
    for (const bad of NOT_BYTES) {
      const nonce = new Uint8Array(12);
      ok(
        throwsCode(() => key.seal(nonce, bad as Uint8Array, new Uint8Array(1)), 'BAD_INPUT').message.includes(
          'aad',
        ),
      );
      ok(
        throwsCode(() => key.seal(nonce, new Uint8Array(0), bad as Uint8Array), 'BAD_INPUT').message.includes(
          'plaintext',
        ),
      );
      ok(
        throwsCode(() => key.open(nonce, new Uint8Array(0), bad as Uint8Array), 'BAD_INPUT').message.includes(
          'sealed',
        ),
      );
    }
    const nonce = new Uint8Array(12);
    throwsCode(() => key.sealInPlace(nonce, new Uint8Array(15), 0), 'BAD_INPUT');
    throwsCode(() => key.sealInPlace(nonce, new Uint8Array(20), 5), 'BAD_INPUT');
    throwsCode(() => key.sealInPlace(nonce, new Uint8Array(20), -1), 'BAD_INPUT');
    throwsCode(() => key.openTo(nonce, new Uint8Array(40), 4, new Uint8Array(19), 0), 'BAD_INPUT');
  });
});
