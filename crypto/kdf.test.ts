import { extract, hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { equal, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES } from '../test/helpers/tamper.ts';
import rfc5869 from '../test/vectors/rfc5869-hkdf-sha256.json' with { type: 'json' };
import { fromHex, toHex } from './bytes.ts';
import { deriveKey } from './kdf.ts';

describe('deriveKey (HKDF-SHA256)', () => {
  it(`matches RFC 5869 Appendix A.1–A.3 (${rfc5869.cases.length} cases)`, () => {
    for (const c of rfc5869.cases) {
      const ikm = fromHex(c.ikm);
      const salt = fromHex(c.salt);
      equal(toHex(extract(sha256, ikm, salt)), c.prk, `${c.name}: PRK`);
      equal(toHex(hkdf(sha256, ikm, salt, fromHex(c.info), c.length)), c.okm, `${c.name}: OKM`);
    }
  });

  it('is HKDF-SHA256 with a UTF-8 info (RFC 5869 A.3 through deriveKey)', () => {
    // deriveKey takes info as text, so only A.3 (empty info) goes through it verbatim.
    const a3 = rfc5869.cases[2]!;
    equal(toHex(deriveKey(fromHex(a3.ikm), fromHex(a3.salt), '', a3.length)), a3.okm);
    equal(toHex(deriveKey(fromHex(a3.ikm), undefined, '', a3.length)), a3.okm, 'no salt = zero salt');
    const ikm = fromHex(a3.ikm);
    const info = 'tincan/test/v1 é';
    equal(
      toHex(deriveKey(ikm, undefined, info)),
      toHex(hkdf(sha256, ikm, undefined, new TextEncoder().encode(info), 32)),
    );
  });

  it('rejects bad inputs with BAD_INPUT', () => {
    for (const bad of NOT_BYTES) throwsCode(() => deriveKey(bad as Uint8Array, undefined, 'x'), 'BAD_INPUT');
    for (const bad of NOT_BYTES.filter((v) => v !== undefined))
      throwsCode(() => deriveKey(new Uint8Array(32), bad as Uint8Array, 'x'), 'BAD_INPUT');
    for (const bad of [0, -1, 1.5, 255 * 32 + 1])
      throwsCode(() => deriveKey(new Uint8Array(32), undefined, 'x', bad), 'BAD_INPUT', `length ${bad}`);
    equal(deriveKey(new Uint8Array(32), undefined, 'x', 255 * 32).length, 255 * 32);
  });
});
