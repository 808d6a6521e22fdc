import { p256 } from '@noble/curves/nist.js';
import { deepEqual, equal, ok, rejectsCode, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES } from '../test/helpers/tamper.ts';
import rfc5903 from '../test/vectors/rfc5903-ecdh-p256.json' with { type: 'json' };
import wycheproof from '../test/vectors/wycheproof-ecdh-secp256r1-ecpoint.json' with { type: 'json' };
import { fromHex, toHex } from './bytes.ts';
import {
  importAgreementKey,
  rawAgreement,
  SHARED_SECRET_LENGTH,
  sharedSecret,
  webCryptoAgreement,
} from './ecdh.ts';
import { generateIdentity } from './identity.ts';

const N_HEX = 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551';

/** Wycheproof private keys are ASN.1 integers: strip a sign byte, left-pad to 32 bytes. */
function scalar(hex: string): Uint8Array {
  return fromHex(hex.replace(/^00(?=.{64}$)/, '').padStart(64, '0'));
}

function compress(hex: string): Uint8Array {
  return p256.Point.fromBytes(fromHex(hex)).toBytes(true);
}

describe('sharedSecret', () => {
  it('agrees from both sides and is the 32-byte x-coordinate', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const ab = sharedSecret(a.secretKey, b.publicKey);
    equal(ab.length, SHARED_SECRET_LENGTH);
    deepEqual(ab, sharedSecret(b.secretKey, a.publicKey));
    const point = p256.Point.fromBytes(b.publicKey).multiply(p256.Point.Fn.fromBytes(a.secretKey));
    deepEqual(ab, point.toBytes(true).subarray(1), 'x-coordinate of a·B');
  });

  it('matches RFC 5903 §8.1 (256-bit ECP group)', () => {
    const gi = p256.Point.fromAffine({ x: BigInt(`0x${rfc5903.giX}`), y: BigInt(`0x${rfc5903.giY}`) });
    const gr = p256.Point.fromAffine({ x: BigInt(`0x${rfc5903.grX}`), y: BigInt(`0x${rfc5903.grY}`) });
    deepEqual(p256.getPublicKey(fromHex(rfc5903.i), true), gi.toBytes(true), 'g^i');
    equal(toHex(sharedSecret(fromHex(rfc5903.i), gr.toBytes(true))), rfc5903.girX);
    equal(toHex(sharedSecret(fromHex(rfc5903.r), gi.toBytes(true))), rfc5903.girX);
  });

  it(`matches Wycheproof ecdh_secp256r1_ecpoint (${wycheproof.tests.length} cases)`, async () => {
    for (const t of wycheproof.tests) {
      const label = `tcId ${t.tcId} (${t.comment || 'no comment'})`;
      const secretKey = scalar(t.private);
      if (t.result === 'invalid') {
        const bytes = fromHex(t.public);
        // Our keys are 33-byte compressed points: off-curve uncompressed points cannot
        // even be expressed, and compressed ones with no square root must be refused.
        if (bytes.length !== 33) ok(!p256.utils.isValidPublicKey(bytes, false), `${label}: noble refuses it`);
        throwsCode(() => sharedSecret(secretKey, bytes), 'BAD_INPUT', label);
        continue;
      }
      const peer = compress(t.public);
      equal(toHex(sharedSecret(secretKey, peer)), t.shared, label);
      const agreement = webCryptoAgreement(
        await importAgreementKey(secretKey),
        p256.getPublicKey(secretKey, true),
      );
      equal(toHex(await agreement.deriveSharedSecret(peer)), t.shared, `${label} via WebCrypto`);
    }
  });

  it('rejects bad secret keys with BAD_INPUT', () => {
    const { publicKey } = generateIdentity();
    for (const bad of NOT_BYTES) throwsCode(() => sharedSecret(bad as Uint8Array, publicKey), 'BAD_INPUT');
    for (const bad of [
      new Uint8Array(31),
      new Uint8Array(33),
      new Uint8Array(32),
      fromHex(N_HEX),
      fromHex('ff'.repeat(32)),
    ])
      throwsCode(() => sharedSecret(bad, publicKey), 'BAD_INPUT', `secretKey ${toHex(bad)}`);
  });

  it('rejects bad peer keys with BAD_INPUT', () => {
    const { secretKey } = generateIdentity();
    const other = generateIdentity();
    for (const bad of NOT_BYTES) throwsCode(() => sharedSecret(secretKey, bad as Uint8Array), 'BAD_INPUT');
    const uncompressed = p256.getPublicKey(other.secretKey, false);
    const wrongPrefix = other.publicKey.slice();
    wrongPrefix[0] = 0x04;
    for (const bad of [new Uint8Array(33), uncompressed, other.publicKey.subarray(1), wrongPrefix])
      throwsCode(() => sharedSecret(secretKey, bad), 'BAD_INPUT', `peer ${toHex(bad)}`);
  });
});

describe('Agreement', () => {
  it('rawAgreement derives the same secret as sharedSecret', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const agreement = rawAgreement(a.secretKey);
    deepEqual(agreement.publicKey, a.publicKey);
    deepEqual(await agreement.deriveSharedSecret(b.publicKey), sharedSecret(b.secretKey, a.publicKey));
  });

  it('webCryptoAgreement with a non-extractable key matches the raw one', async () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const key = await importAgreementKey(a.secretKey);
    equal(key.extractable, false, 'extractable');
    const agreement = webCryptoAgreement(key, a.publicKey);
    for (let i = 0; i < 4; i++) {
      const peer = i === 0 ? b : generateIdentity();
      deepEqual(
        await agreement.deriveSharedSecret(peer.publicKey),
        sharedSecret(peer.secretKey, a.publicKey),
      );
    }
  });

  it('agrees with a key WebCrypto generated itself', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, [
      'deriveBits',
    ]);
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    const publicKey = p256.Point.fromBytes(raw).toBytes(true);
    const b = generateIdentity();
    const agreement = webCryptoAgreement(pair.privateKey, publicKey);
    deepEqual(await agreement.deriveSharedSecret(b.publicKey), sharedSecret(b.secretKey, publicKey));
  });

  it('rejects bad inputs with BAD_INPUT', async () => {
    const a = generateIdentity();
    for (const bad of NOT_BYTES) throwsCode(() => rawAgreement(bad as Uint8Array), 'BAD_INPUT');
    throwsCode(() => rawAgreement(new Uint8Array(32)), 'BAD_INPUT', 'zero scalar');
    await rejectsCode(() => importAgreementKey(new Uint8Array(31)), 'BAD_INPUT');
    const key = await importAgreementKey(a.secretKey);
    for (const bad of [undefined, null, {}, a.secretKey])
      throwsCode(() => webCryptoAgreement(bad as CryptoKey, a.publicKey), 'BAD_INPUT');
    const ecdsa = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    throwsCode(() => webCryptoAgreement(ecdsa.privateKey, a.publicKey), 'BAD_INPUT', 'ECDSA key');
    const ecdh = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
    throwsCode(() => webCryptoAgreement(ecdh.publicKey, a.publicKey), 'BAD_INPUT', 'public CryptoKey');
    throwsCode(() => webCryptoAgreement(key, new Uint8Array(33)), 'BAD_INPUT', 'bad own public key');
    const agreement = webCryptoAgreement(key, a.publicKey);
    for (const bad of [...NOT_BYTES, new Uint8Array(33), p256.getPublicKey(a.secretKey, false)])
      await rejectsCode(() => agreement.deriveSharedSecret(bad as Uint8Array), 'BAD_INPUT');
  });
});
