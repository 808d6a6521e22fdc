/** Key entries and invite bundles: round trips, addressing, and every kind of tampering refused. */
import assert from 'node:assert/strict';
import { randomBytes } from '../../crypto/bytes.ts';
import { rawAgreement } from '../../crypto/ecdh.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { createSenderKey, serializeSenderKey } from '../../crypto/sender-key.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { openBundle, sealBundle } from './key-bundle.ts';
import { decodeKeyEntry, openKeyEntry, sealKeyEntries } from './key-entry.ts';

describe('key entries', () => {
  const owner = generateIdentity();
  const [r1, r2, outsider] = [generateIdentity(), generateIdentity(), generateIdentity()];
  const key = createSenderKey('chan', 3, owner.publicKey);
  const bytes = serializeSenderKey(key);

  it('gives each recipient the owner’s key, and nobody else anything', async () => {
    const [entry] = await sealKeyEntries(rawSigner(owner.secretKey), 'chan', 3, bytes, [
      r1.publicKey,
      r2.publicKey,
    ]);
    assert.equal(decodeKeyEntry(entry!).length, 2);
    for (const r of [r1, r2]) {
      const got = await openKeyEntry(rawAgreement(r.secretKey), 'chan', entry!);
      assert.deepEqual(got?.key.chainKey, key.chainKey);
      assert.deepEqual(got?.sender, owner.publicKey);
    }
    assert.equal(await openKeyEntry(rawAgreement(outsider.secretKey), 'chan', entry!), undefined);
    await assert.rejects(openKeyEntry(rawAgreement(r1.secretKey), 'other', entry!), { code: 'BAD_FORMAT' });
  });

  it('splits many recipients over entries of bounded size', async () => {
    const many = Array.from({ length: 12 }, () => generateIdentity().publicKey);
    const entries = await sealKeyEntries(rawSigner(owner.secretKey), 'chan', 3, bytes, many, 2000);
    assert.ok(entries.length > 1);
    assert.ok(entries.every((e) => e.length <= 2000));
    assert.equal(entries.flatMap(decodeKeyEntry).length, 12);
  });

  it('refuses a key relayed by someone who does not own it', async () => {
    const relayer = generateIdentity();
    const [entry] = await sealKeyEntries(rawSigner(relayer.secretKey), 'chan', 3, bytes, [r1.publicKey]);
    await assert.rejects(openKeyEntry(rawAgreement(r1.secretKey), 'chan', entry!), { code: 'BAD_FORMAT' });
  });

  it('refuses truncated or tampered entries', async () => {
    const [entry] = await sealKeyEntries(rawSigner(owner.secretKey), 'chan', 3, bytes, [r1.publicKey]);
    assert.throws(() => decodeKeyEntry(entry!.subarray(0, entry!.length - 1)), { code: 'BAD_FORMAT' });
    assert.throws(() => decodeKeyEntry(Uint8Array.of(2)), { code: 'BAD_FORMAT' });
    for (const at of [40, 80, entry!.length - 10]) {
      const bad = entry!.slice();
      bad[at]! ^= 1;
      await assert.rejects(openKeyEntry(rawAgreement(r1.secretKey), 'chan', bad));
    }
  });
});

describe('invite bundles', () => {
  const inviter = generateIdentity();
  const server = generateIdentity().publicKey;
  const keys = [1, 2, 3].map(() =>
    serializeSenderKey(createSenderKey('chan', 0, generateIdentity().publicKey)),
  );

  it('opens with the link secret and the server it was made for', async () => {
    const secret = randomBytes(32);
    const { bundle, count } = await sealBundle(rawSigner(inviter.secretKey), secret, server, keys, 4096);
    assert.equal(count, 3);
    const opened = openBundle(secret, server, bundle);
    assert.deepEqual(opened.inviter, inviter.publicKey);
    assert.equal(opened.keys.length, 3);
    assert.throws(() => openBundle(randomBytes(32), server, bundle), { code: 'DECRYPT_FAILED' });
    assert.throws(() => openBundle(secret, generateIdentity().publicKey, bundle), { code: 'DECRYPT_FAILED' });
    for (let at = 0; at < bundle.length; at += 7) {
      const bad = bundle.slice();
      bad[at]! ^= 0x10;
      assert.throws(() => openBundle(secret, server, bad), `byte ${at}`);
    }
  });

  it('holds only as many keys as fit', async () => {
    const { bundle, count } = await sealBundle(
      rawSigner(inviter.secretKey),
      randomBytes(32),
      server,
      keys,
      300,
    );
    assert.equal(count, 1);
    assert.ok(bundle.length <= 300);
  });
});
