import { p256 } from '@noble/curves/nist.js';
import { deepEqual, equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte, NOT_BYTES } from '../test/helpers/tamper.ts';
import rfc6979 from '../test/vectors/rfc6979-p256-sha256.json' with { type: 'json' };
import vectors from '../test/vectors/signature.json' with { type: 'json' };
import wycheproof from '../test/vectors/wycheproof-ecdsa-secp256r1-sha256-p1363.json' with { type: 'json' };
import { concat, fromHex, toBase64url, toHex, utf8 } from './bytes.ts';
import { generateIdentity } from './identity.ts';
import {
  assertStatement,
  rawSigner,
  SIGNATURE_LENGTH,
  signStatement,
  signStatementSync,
  verifyStatement,
  verifyStatementAsync,
  webCryptoSigner,
} from './sign.ts';
import { encodeStatement, type Field } from './statement.ts';

const CONTEXT = 'tincan/test/v1';
const FIELDS: Field[] = ['server-id', new Uint8Array([1, 2, 3]), 42];
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const N = p256.Point.Fn.ORDER;

function fieldOf(f: { bytes?: string; string?: string; uint?: number }): Field {
  if (f.bytes !== undefined) return fromHex(f.bytes);
  if (f.string !== undefined) return f.string;
  if (f.uint !== undefined) return f.uint;
  throw new Error('empty field in vector');
}

/** The same signature with s replaced by n − s (valid, and high-S when the input was low-S). */
function flipS(signature: Uint8Array): Uint8Array {
  const s = BigInt(`0x${toHex(signature.subarray(32))}`);
  return concat(signature.subarray(0, 32), fromHex((N - s).toString(16).padStart(64, '0')));
}

function isHighS(signature: Uint8Array): boolean {
  return BigInt(`0x${toHex(signature.subarray(32))}`) > N >> 1n;
}

/** A raw secret as a WebCrypto ECDSA key (JWK, RFC 7518 §6.2), for cross-checks. */
async function importEcdsa(secretKey: Uint8Array): Promise<CryptoKey> {
  const point = p256.getPublicKey(secretKey, false);
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    d: toBase64url(secretKey),
    x: toBase64url(point.subarray(1, 33)),
    y: toBase64url(point.subarray(33)),
  };
  return crypto.subtle.importKey('jwk', jwk, ECDSA, false, ['sign']);
}

async function webVerify(uncompressed: Uint8Array, signature: Uint8Array, message: Uint8Array) {
  const key = await crypto.subtle.importKey('raw', uncompressed as BufferSource, ECDSA, false, ['verify']);
  return crypto.subtle.verify(SHA256, key, signature as BufferSource, message as BufferSource);
}

describe('signatures', () => {
  it('round-trip over statements', async () => {
    const { secretKey, publicKey } = generateIdentity();
    const signature = await signStatement(rawSigner(secretKey), CONTEXT, FIELDS);
    equal(signature.length, SIGNATURE_LENGTH);
    ok(verifyStatement(publicKey, signature, CONTEXT, FIELDS));
    assertStatement(publicKey, signature, CONTEXT, FIELDS);
    deepEqual(signStatementSync(secretKey, CONTEXT, FIELDS), signature, 'deterministic (RFC 6979)');
    deepEqual(rawSigner(secretKey).publicKey, publicKey);
  });

  it(`match the golden signatures (${vectors.cases.length})`, async () => {
    for (const v of vectors.cases) {
      const fields = v.fields.map(fieldOf);
      const secretKey = fromHex(v.secretKey);
      equal(toHex(signStatementSync(secretKey, v.context, fields)), v.signature);
      equal(toHex(await signStatement(rawSigner(secretKey), v.context, fields)), v.signature);
      ok(verifyStatement(fromHex(v.publicKey), fromHex(v.signature), v.context, fields));
    }
  });

  it('reject a changed statement, key or signature', async () => {
    const { secretKey, publicKey } = generateIdentity();
    const signature = signStatementSync(secretKey, CONTEXT, FIELDS);
    const variants: [string, Field[]][] = [
      ['tincan/test/v2', FIELDS],
      [CONTEXT, FIELDS.slice(0, 2)],
      [CONTEXT, [...FIELDS, 0]],
      [CONTEXT, [FIELDS[1]!, FIELDS[0]!, FIELDS[2]!]],
      [CONTEXT, [utf8('server-id'), FIELDS[1]!, FIELDS[2]!]], // same bytes, other type
      [CONTEXT, ['server-id', new Uint8Array([1, 2, 4]), 42]],
      [CONTEXT, ['server-id', new Uint8Array([1, 2, 3]), 43]],
    ];
    for (const [context, fields] of variants)
      equal(verifyStatement(publicKey, signature, context, fields), false, `${context} ${fields.length}`);
    equal(verifyStatement(generateIdentity().publicKey, signature, CONTEXT, FIELDS), false, 'other key');
    for (const [i, tampered] of flipEachByte(signature))
      equal(verifyStatement(publicKey, tampered, CONTEXT, FIELDS), false, `signature byte ${i}`);
    throwsCode(() => assertStatement(publicKey, signature, 'tincan/test/v2', FIELDS), 'BAD_SIGNATURE');
  });

  it('accept high-S signatures (WebCrypto emits them) and never throw on r or s out of range', () => {
    const { secretKey, publicKey } = generateIdentity();
    const low = signStatementSync(secretKey, CONTEXT, FIELDS);
    equal(isHighS(low), false, 'noble signs low-S');
    const high = flipS(low);
    ok(isHighS(high), 'flipped to high-S');
    ok(verifyStatement(publicKey, high, CONTEXT, FIELDS), 'high-S verifies');
    const n = fromHex(N.toString(16));
    for (const bad of [new Uint8Array(64), concat(n, n), new Uint8Array(64).fill(0xff)])
      equal(verifyStatement(publicKey, bad, CONTEXT, FIELDS), false, toHex(bad));
  });

  it('interoperate with WebCrypto both ways', async () => {
    const { secretKey, publicKey } = generateIdentity();
    const uncompressed = p256.getPublicKey(secretKey, false);
    const signer = webCryptoSigner(await importEcdsa(secretKey), publicKey);
    for (let i = 0; i < 8; i++) {
      const fields: Field[] = [...FIELDS, i];
      ok(
        verifyStatement(publicKey, await signStatement(signer, CONTEXT, fields), CONTEXT, fields),
        `WebCrypto ${i}`,
      );
      const signature = signStatementSync(secretKey, CONTEXT, fields);
      ok(
        await webVerify(uncompressed, signature, encodeStatement(CONTEXT, fields)),
        `noble ${i} in WebCrypto`,
      );
      ok(
        await webVerify(uncompressed, flipS(signature), encodeStatement(CONTEXT, fields)),
        `high-S ${i} in WebCrypto`,
      );
    }
  });

  it('match RFC 6979 §A.2.5 (P-256, SHA-256, deterministic k)', async () => {
    const secretKey = fromHex(rfc6979.secretKey);
    deepEqual(p256.getPublicKey(secretKey, false), fromHex(`04${rfc6979.publicKeyX}${rfc6979.publicKeyY}`));
    for (const c of rfc6979.cases) {
      const message = utf8(c.message);
      const expected = fromHex(c.r + c.s);
      // noble signs low-S by default; the RFC's s may be high, so compare both forms.
      equal(toHex(p256.sign(message, secretKey, { lowS: false })), c.r + c.s, c.message);
      const ours = await rawSigner(secretKey).sign(message);
      equal(toHex(ours), toHex(isHighS(expected) ? flipS(expected) : expected), `${c.message} via rawSigner`);
      ok(
        await webVerify(p256.getPublicKey(secretKey, false), expected, message),
        `${c.message} in WebCrypto`,
      );
    }
  });

  const wycheproofCount = wycheproof.testGroups.reduce((n, g) => n + g.tests.length, 0);
  it(`match Wycheproof ecdsa_secp256r1_sha256_p1363 (${wycheproofCount} cases)`, async () => {
    for (const group of wycheproof.testGroups) {
      const uncompressed = fromHex(group.publicKey);
      const compressed = p256.Point.fromBytes(uncompressed).toBytes(true);
      for (const t of group.tests) {
        const label = `tcId ${t.tcId} (${t.comment})`;
        const message = fromHex(t.msg);
        const signature = fromHex(t.sig);
        let accepted: boolean;
        try {
          // Exactly how verifyStatement calls noble.
          accepted = p256.verify(signature, message, compressed, { lowS: false });
        } catch {
          accepted = false;
        }
        equal(accepted, t.result === 'valid', label);
        equal(
          await webVerify(uncompressed, signature, message),
          t.result === 'valid',
          `${label} in WebCrypto`,
        );
        if (signature.length !== SIGNATURE_LENGTH)
          throwsCode(() => verifyStatement(compressed, signature, CONTEXT, []), 'BAD_INPUT', label);
      }
    }
  });

  it('reject bad inputs with BAD_INPUT', async () => {
    const { secretKey, publicKey } = generateIdentity();
    const signature = signStatementSync(secretKey, CONTEXT, FIELDS);
    for (const bad of [...NOT_BYTES, new Uint8Array(31), new Uint8Array(33)]) {
      throwsCode(() => rawSigner(bad as Uint8Array), 'BAD_INPUT');
      throwsCode(() => signStatementSync(bad as Uint8Array, CONTEXT, FIELDS), 'BAD_INPUT');
    }
    const key = await importEcdsa(secretKey);
    for (const bad of [...NOT_BYTES, new Uint8Array(33), secretKey]) {
      throwsCode(() => verifyStatement(bad as Uint8Array, signature, CONTEXT, FIELDS), 'BAD_INPUT');
      throwsCode(() => webCryptoSigner(key, bad as Uint8Array), 'BAD_INPUT');
    }
    for (const bad of [...NOT_BYTES, new Uint8Array(63), new Uint8Array(65)])
      throwsCode(() => verifyStatement(publicKey, bad as Uint8Array, CONTEXT, FIELDS), 'BAD_INPUT');
    throwsCode(() => verifyStatement(publicKey, signature, 'Bad Context', FIELDS), 'BAD_INPUT');
  });
});

describe('verifyStatementAsync (WebCrypto)', () => {
  it('agrees with verifyStatement on valid, tampered and foreign signatures', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    for (let i = 0; i < 16; i++) {
      const fields = ['n', i];
      const sig = signStatementSync(alice.secretKey, 'tincan/test/v1', fields);
      equal(
        await verifyStatementAsync(alice.publicKey, sig, 'tincan/test/v1', fields),
        true,
        `signature ${i}`,
      );
      equal(await verifyStatementAsync(bob.publicKey, sig, 'tincan/test/v1', fields), false, 'wrong key');
      equal(
        await verifyStatementAsync(alice.publicKey, sig, 'tincan/test/v1', ['n', i + 1]),
        false,
        'other fields',
      );
      const bad = sig.slice();
      bad[i]! ^= 1;
      equal(
        await verifyStatementAsync(alice.publicKey, bad, 'tincan/test/v1', fields),
        false,
        'flipped byte',
      );
    }
    equal(
      await verifyStatementAsync(alice.publicKey, new Uint8Array(64), 'tincan/test/v1', []),
      false,
      'zero r, s',
    );
  });
});
