import { p256 } from '@noble/curves/nist.js';
import { deepEqual, equal, notEqual, ok, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES, NOT_STRINGS } from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/fingerprint.json' with { type: 'json' };
import { fromHex, toBase64url, toHex } from './bytes.ts';
import {
  assertPublicKey,
  fingerprint,
  generateIdentity,
  identityFromSecretKey,
  publicKeyOf,
  safetyNumber,
  userIdOf,
} from './identity.ts';

const N = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';
const P = 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff';
const FINGERPRINT = /^\d{5}( \d{5}){5}$/;

/** Compressed keys that are not points on P-256 (the last three from Wycheproof ecdh tcId 349–351). */
const NOT_POINTS = [
  `02${P}`, // x = p, outside the field
  `03${'ff'.repeat(32)}`, // x > p
  '02fd4bf61763b46581fd9174d623516cf3c81edd40e29ffa2777fb6cb0ae3ce535', // no square root
  '03efdde3b32872a9effcf3b94cbf73aa7b39f9683ece9121b9852167f4e3da609b', // on the twist
  '02efdde3b32872a9effcf3b94cbf73aa7b39f9683ece9121b9852167f4e3da609b', // on the twist
];

describe('identity', () => {
  it('generates a 32-byte secret and a 33-byte compressed public key', () => {
    const { secretKey, publicKey } = generateIdentity();
    equal(secretKey.length, 32);
    equal(publicKey.length, 33);
    ok(publicKey[0] === 2 || publicKey[0] === 3, 'compressed prefix');
    deepEqual(identityFromSecretKey(secretKey).publicKey, publicKey);
    notEqual(toHex(generateIdentity().secretKey), toHex(secretKey));
  });

  it('rebuilds the golden key pairs', () => {
    for (const k of vectors.keys)
      equal(toHex(identityFromSecretKey(fromHex(k.secretKey)).publicKey), k.publicKey);
  });

  it('refuses secret keys outside [1, n) with BAD_INPUT', () => {
    for (const bad of NOT_BYTES) throwsCode(() => identityFromSecretKey(bad as Uint8Array), 'BAD_INPUT');
    for (const hex of [
      '00'.repeat(32),
      N,
      `${N.slice(0, -2)}52`,
      'ff'.repeat(32),
      '01'.repeat(31),
      '01'.repeat(33),
    ])
      throwsCode(() => identityFromSecretKey(fromHex(hex)), 'BAD_INPUT', hex);
    identityFromSecretKey(fromHex(`${N.slice(0, -2)}50`)); // n − 1 is the largest valid scalar
    identityFromSecretKey(fromHex(`${'00'.repeat(31)}01`));
  });

  it('assertPublicKey accepts compressed points only', () => {
    const { secretKey, publicKey } = generateIdentity();
    assertPublicKey(publicKey);
    for (const bad of NOT_BYTES) throwsCode(() => assertPublicKey(bad), 'BAD_INPUT');
    const uncompressed = p256.getPublicKey(secretKey, false);
    const flipped = publicKey.slice();
    flipped[0] = 0x04;
    const zeroPrefix = publicKey.slice();
    zeroPrefix[0] = 0x00;
    for (const bad of [
      uncompressed,
      flipped,
      zeroPrefix,
      publicKey.subarray(1),
      new Uint8Array(33),
      new Uint8Array(34),
    ])
      throwsCode(() => assertPublicKey(bad), 'BAD_INPUT', toHex(bad));
    for (const hex of NOT_POINTS) throwsCode(() => assertPublicKey(fromHex(hex)), 'BAD_INPUT', hex);
    const err = throwsCode(() => assertPublicKey(new Uint8Array(33), 'peerKey'), 'BAD_INPUT');
    ok(err.message.includes('peerKey'), `labelled: ${err.message}`);
  });

  it('round-trips user ids (44 base64url characters)', () => {
    for (const k of vectors.keys) {
      const publicKey = fromHex(k.publicKey);
      equal(userIdOf(publicKey), k.userId);
      equal(k.userId.length, 44);
      deepEqual(publicKeyOf(k.userId), publicKey);
    }
    const { publicKey } = generateIdentity();
    deepEqual(publicKeyOf(userIdOf(publicKey)), publicKey);
  });

  it('refuses bad user ids', () => {
    const id = vectors.keys[0]!.userId;
    for (const bad of NOT_STRINGS) throwsCode(() => publicKeyOf(bad as string), 'BAD_INPUT');
    throwsCode(() => publicKeyOf(`${id}=`), 'BAD_FORMAT', 'padding');
    throwsCode(() => publicKeyOf(id.replace(/-/g, '+')), 'BAD_FORMAT', 'base64, not base64url');
    throwsCode(() => publicKeyOf(id.slice(0, -4)), 'BAD_INPUT', 'too short');
    for (const hex of NOT_POINTS) throwsCode(() => publicKeyOf(toBase64url(fromHex(hex))), 'BAD_INPUT', hex);
    for (const bad of NOT_BYTES) throwsCode(() => userIdOf(bad as Uint8Array), 'BAD_INPUT');
  });

  it('computes stable fingerprints (golden)', () => {
    for (const k of vectors.keys) {
      const f = fingerprint(fromHex(k.publicKey));
      equal(f, k.fingerprint);
      ok(FINGERPRINT.test(f), f);
      equal(fingerprint(fromHex(k.publicKey)), f, 'same key, same fingerprint');
    }
    const all = new Set(vectors.keys.map((k) => k.fingerprint));
    equal(all.size, vectors.keys.length, 'distinct keys, distinct fingerprints');
    for (const bad of [...NOT_BYTES, new Uint8Array(33)])
      throwsCode(() => fingerprint(bad as Uint8Array), 'BAD_INPUT');
  });

  it('computes symmetric safety numbers (golden)', () => {
    for (const s of vectors.safetyNumbers) {
      const a = fromHex(s.a);
      const b = fromHex(s.b);
      equal(safetyNumber(a, b), s.safetyNumber);
      equal(safetyNumber(b, a), s.safetyNumber, 'symmetric');
      ok(/^\d{5}( \d{5}){11}$/.test(s.safetyNumber), s.safetyNumber);
      const parts = [fingerprint(a), fingerprint(b)];
      ok(
        s.safetyNumber === parts.join(' ') || s.safetyNumber === parts.reverse().join(' '),
        'both fingerprints',
      );
    }
    const x = generateIdentity().publicKey;
    const y = generateIdentity().publicKey;
    equal(safetyNumber(x, y), safetyNumber(y, x));
    for (const bad of [...NOT_BYTES, new Uint8Array(33)]) {
      throwsCode(() => safetyNumber(bad as Uint8Array, y), 'BAD_INPUT');
      throwsCode(() => safetyNumber(x, bad as Uint8Array), 'BAD_INPUT');
    }
  });
});
