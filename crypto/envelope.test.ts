import { deepEqual, equal, notEqual, ok, rejectsCode, throwsCode } from '../test/helpers/assert.ts';
import {
  codeOf,
  extended,
  flipEachByte,
  NOT_BYTES,
  NOT_STRINGS,
  truncations,
} from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/envelope.json' with { type: 'json' };
import { concat, fromHex, toHex, utf8 } from './bytes.ts';
import { importAgreementKey, rawAgreement, webCryptoAgreement } from './ecdh.ts';
import { ENVELOPE_OVERHEAD, openEnvelope, parseEnvelopeHeader, sealEnvelope } from './envelope.ts';
import { generateIdentity } from './identity.ts';
import { rawSigner, type Signer, signStatementSync } from './sign.ts';

const CONTEXT = 'tincan/group-key/v1 chan-1 epoch-0';
const alice = generateIdentity();
const bob = generateIdentity();
const mallory = generateIdentity();
const aliceSigner = rawSigner(alice.secretKey);
const bobAgreement = rawAgreement(bob.secretKey);

describe('envelope', () => {
  it('round-trips plaintexts of any size', async () => {
    for (const size of [0, 1, 32, 1000]) {
      const plaintext = new Uint8Array(size).map((_, i) => i * 7);
      const envelope = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, plaintext);
      equal(envelope.length, ENVELOPE_OVERHEAD + CONTEXT.length + size, 'length');
      const opened = await openEnvelope(bobAgreement, envelope, { context: CONTEXT });
      deepEqual(opened.plaintext, plaintext);
      deepEqual(opened.sender, alice.publicKey);
    }
  });

  it('opens with a non-extractable WebCrypto agreement key', async () => {
    const agreement = webCryptoAgreement(await importAgreementKey(bob.secretKey), bob.publicKey);
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, utf8('key'));
    deepEqual((await openEnvelope(agreement, envelope, { context: CONTEXT })).plaintext, utf8('key'));
  });

  it('lays out header fields as documented', async () => {
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, 'ctx', new Uint8Array(5));
    equal(envelope[0], 1, 'version');
    deepEqual(envelope.subarray(1, 34), alice.publicKey, 'sender');
    deepEqual(envelope.subarray(34, 67), bob.publicKey, 'recipient');
    const header = parseEnvelopeHeader(envelope);
    deepEqual(envelope.subarray(67, 100), header.ephemeral, 'ephemeral');
    equal(envelope[100], 3, 'context length');
    deepEqual(envelope.subarray(101, 104), utf8('ctx'), 'context');
    equal(envelope.length, 104 + 24 + 5 + 16 + 64, 'sealed and signature');
    deepEqual(
      {
        sender: header.sender,
        recipient: header.recipient,
        context: header.context,
        version: header.version,
      },
      { sender: alice.publicKey, recipient: bob.publicKey, context: 'ctx', version: 1 },
    );
  });

  it('uses a fresh ephemeral key every time', async () => {
    const a = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, utf8('same'));
    const b = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, utf8('same'));
    notEqual(toHex(parseEnvelopeHeader(a).ephemeral), toHex(parseEnvelopeHeader(b).ephemeral));
    notEqual(toHex(a), toHex(b));
  });

  it(`opens the golden vectors (${vectors.cases.length})`, async () => {
    for (const v of vectors.cases) {
      const envelope = fromHex(v.envelope);
      const header = parseEnvelopeHeader(envelope);
      equal(toHex(header.sender), v.senderPublicKey);
      equal(toHex(header.recipient), v.recipientPublicKey);
      equal(toHex(header.ephemeral), v.ephemeralPublicKey);
      equal(header.context, v.context);
      equal(envelope.length, ENVELOPE_OVERHEAD + v.context.length + v.plaintext.length / 2, 'length');
      const agreement = rawAgreement(fromHex(v.recipientSecretKey));
      const opened = await openEnvelope(agreement, envelope, {
        context: v.context,
        expectedSender: fromHex(v.senderPublicKey),
      });
      equal(toHex(opened.plaintext), v.plaintext);
      equal(toHex(opened.sender), v.senderPublicKey);
    }
  });

  it('refuses the wrong recipient, context or sender with MISMATCH', async () => {
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, utf8('k'));
    await rejectsCode(
      openEnvelope(rawAgreement(mallory.secretKey), envelope, { context: CONTEXT }),
      'MISMATCH',
    );
    await rejectsCode(openEnvelope(bobAgreement, envelope, { context: `${CONTEXT}x` }), 'MISMATCH');
    await rejectsCode(
      openEnvelope(bobAgreement, envelope, { context: CONTEXT, expectedSender: mallory.publicKey }),
      'MISMATCH',
    );
    const ok1 = await openEnvelope(bobAgreement, envelope, {
      context: CONTEXT,
      expectedSender: alice.publicKey,
    });
    deepEqual(ok1.plaintext, utf8('k'));
  });

  it('rejects every one-byte change, truncation and extension', async () => {
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, 'c', utf8('group key'));
    const allowed = new Set(['BAD_VERSION', 'BAD_FORMAT', 'BAD_SIGNATURE']);
    for (const mask of [0x01, 0x80]) {
      for (const [i, tampered] of flipEachByte(envelope, mask)) {
        const code = await codeOf(() => openEnvelope(bobAgreement, tampered, { context: 'c' }));
        ok(allowed.has(code), `byte ${i} ^ ${mask}: got ${code}`);
      }
    }
    for (const tampered of [...truncations(envelope), extended(envelope)]) {
      const code = await codeOf(() => openEnvelope(bobAgreement, tampered, { context: 'c' }));
      ok(allowed.has(code), `length ${tampered.length}: got ${code}`);
    }
  });

  it('refuses an envelope re-signed under another sender or context (DECRYPT_FAILED)', async () => {
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, 'c', utf8('group key'));
    const signed = envelope.slice(0, envelope.length - 64);
    // Mallory swaps in her own key and signs: the AEAD still binds Alice as sender.
    const stolen = signed.slice();
    stolen.set(mallory.publicKey, 1);
    const forged = concat(stolen, signStatementSync(mallory.secretKey, 'tincan/envelope/v1', [stolen]));
    await rejectsCode(openEnvelope(bobAgreement, forged, { context: 'c' }), 'DECRYPT_FAILED');
    // Alice herself moves the envelope to another context: the AEAD binds the context too.
    const moved = signed.slice();
    moved[101] = 'd'.charCodeAt(0);
    const resigned = concat(moved, signStatementSync(alice.secretKey, 'tincan/envelope/v1', [moved]));
    await rejectsCode(openEnvelope(bobAgreement, resigned, { context: 'd' }), 'DECRYPT_FAILED');
  });

  it('rejects bad seal inputs with BAD_INPUT', async () => {
    const pt = utf8('x');
    for (const bad of [undefined, null, {}, { publicKey: new Uint8Array(33) }])
      await rejectsCode(() => sealEnvelope(bad as Signer, bob.publicKey, CONTEXT, pt), 'BAD_INPUT');
    for (const bad of [...NOT_BYTES, new Uint8Array(33), alice.secretKey])
      await rejectsCode(() => sealEnvelope(aliceSigner, bad as Uint8Array, CONTEXT, pt), 'BAD_INPUT');
    for (const bad of [...NOT_STRINGS, '', ' leading', 'tab\there', 'é', 'x'.repeat(256)])
      await rejectsCode(() => sealEnvelope(aliceSigner, bob.publicKey, bad as string, pt), 'BAD_INPUT');
    for (const bad of NOT_BYTES)
      await rejectsCode(
        () => sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, bad as Uint8Array),
        'BAD_INPUT',
      );
    const shortSigner: Signer = { publicKey: alice.publicKey, sign: async () => new Uint8Array(63) };
    await rejectsCode(() => sealEnvelope(shortSigner, bob.publicKey, CONTEXT, pt), 'BAD_INPUT');
    const maxContext = 'x'.repeat(255);
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, maxContext, pt);
    deepEqual((await openEnvelope(bobAgreement, envelope, { context: maxContext })).plaintext, pt);
  });

  it('rejects bad open inputs with BAD_INPUT', async () => {
    const envelope = await sealEnvelope(aliceSigner, bob.publicKey, CONTEXT, utf8('x'));
    const options = { context: CONTEXT };
    for (const bad of [undefined, null, {}, { publicKey: new Uint8Array(33) }])
      await rejectsCode(() => openEnvelope(bad as typeof bobAgreement, envelope, options), 'BAD_INPUT');
    for (const bad of NOT_BYTES)
      await rejectsCode(() => openEnvelope(bobAgreement, bad as Uint8Array, options), 'BAD_INPUT');
    for (const bad of [undefined, null, {}, { context: '' }, { context: 7 }])
      await rejectsCode(() => openEnvelope(bobAgreement, envelope, bad as typeof options), 'BAD_INPUT');
    for (const bad of [...NOT_BYTES.filter((v) => v !== undefined), new Uint8Array(33)])
      await rejectsCode(
        () => openEnvelope(bobAgreement, envelope, { context: CONTEXT, expectedSender: bad as Uint8Array }),
        'BAD_INPUT',
      );
    throwsCode(() => parseEnvelopeHeader(new Uint8Array([2])), 'BAD_VERSION');
    throwsCode(() => parseEnvelopeHeader(new Uint8Array()), 'BAD_FORMAT');
  });
});
