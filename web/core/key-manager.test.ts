/** KeyManager: history far behind or far ahead of a ring's chain still opens, from iteration 0. */
import assert from 'node:assert/strict';
import { toBase64url, utf8 } from '../../crypto/bytes.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { sealMessage, verifyMessageAsync } from '../../crypto/message.ts';
import { ReplayGuard } from '../../crypto/replay-guard.ts';
import { copySenderKey, createSenderKey, deserializeSenderKey } from '../../crypto/sender-key.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { CHECKPOINT_EVERY, KeyManager } from './key-manager.ts';

describe('KeyManager: reading long history out of order', () => {
  const author = generateIdentity();
  const reader = generateIdentity();
  const N = 3000; // more than the ring's 2000-step look-ahead and its 2000 cached skipped keys
  let sealed: Uint8Array[] = [];
  let zero: ReturnType<typeof createSenderKey>;

  before(async () => {
    const key = createSenderKey('chan', 0, author.publicKey);
    zero = copySenderKey(key);
    const signer = rawSigner(author.secretKey);
    sealed = [];
    for (let i = 0; i < N; i++) sealed.push(await sealMessage(signer, key, utf8(`m${i}`)));
  });

  it('opens the newest first, then the oldest, then the middle, each once', () => {
    const keys = new KeyManager(reader.publicKey);
    keys.install(copySenderKey(zero));
    const guard = new ReplayGuard();
    const text = (i: number) => new TextDecoder().decode(keys.open('chan', sealed[i]!, guard).plaintext);
    assert.equal(text(N - 1), `m${N - 1}`, 'the newest message, ~3000 steps ahead of the chain');
    for (let i = N - 2; i >= N - 100; i--) assert.equal(text(i), `m${i}`, `newest page, message ${i}`);
    assert.equal(text(0), 'm0', 'the oldest, far behind the skipped-key cache');
    assert.equal(text(CHECKPOINT_EVERY * 5 + 3), `m${CHECKPOINT_EVERY * 5 + 3}`, 'one in the middle');
    assert.throws(() => keys.open('chan', sealed[0]!, guard), { code: 'REPLAY' }, 'a replay stays refused');
  });

  it('opens a page oldest first from verified messages, then ones behind it and between', async () => {
    const keys = new KeyManager(reader.publicKey);
    keys.install(copySenderKey(zero));
    const guard = new ReplayGuard();
    const page = await Promise.all(sealed.slice(N - 100).map((m) => verifyMessageAsync(m)));
    const text = (m: (typeof page)[number]) =>
      new TextDecoder().decode(keys.open('chan', m, guard).plaintext);
    for (const m of page) assert.equal(text(m), `m${m.iteration}`, `page message ${m.iteration}`);
    for (const i of [N - 150, 7, CHECKPOINT_EVERY * 3, CHECKPOINT_EVERY * 3 + 1, N - 120]) {
      assert.equal(text(await verifyMessageAsync(sealed[i]!)), `m${i}`, `message ${i}`);
    }
    assert.throws(() => text(page[0]!), { code: 'REPLAY' }, 'a replay stays refused');
  });

  it('refuses a message with a bad signature before deriving anything', () => {
    const keys = new KeyManager(reader.publicKey);
    keys.install(copySenderKey(zero));
    const forged = sealed[N - 1]!.slice();
    forged[forged.length - 1]! ^= 1;
    assert.throws(() => keys.open('chan', forged, new ReplayGuard()), { code: 'BAD_SIGNATURE' });
  });
});

describe('KeyManager: voice-frame secrets for the relay path', () => {
  it('gives every member the same secret for a sender, mine included, and none for a key not held', () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    const aliceKeys = new KeyManager(alice.publicKey);
    const bobKeys = new KeyManager(bob.publicKey);
    const mine = aliceKeys.frameSecret('lounge', toBase64url(alice.publicKey));
    assert.ok(mine, 'my own secret exists once my sending key is made');
    assert.equal(
      bobKeys.frameSecret('lounge', toBase64url(alice.publicKey)),
      undefined,
      'Bob has no secret for Alice before her key reaches him',
    );
    const distribution = aliceKeys.myDistribution('lounge', 0);
    assert.ok(distribution, 'Alice has a distribution for the channel');
    bobKeys.install(deserializeSenderKey(distribution));
    assert.deepEqual(
      bobKeys.frameSecret('lounge', toBase64url(alice.publicKey)),
      mine,
      'Bob derives the same secret from the key he was given',
    );
    // Text in the voice channel moves Alice's chain; the frame secret stays the iteration-0 one.
    aliceKeys.sendingKey('lounge').iteration = 5;
    assert.deepEqual(
      aliceKeys.frameSecret('lounge', toBase64url(alice.publicKey)),
      mine,
      'stable while the chain moves',
    );
    assert.equal(
      aliceKeys.frameSecret('lounge', toBase64url(alice.publicKey), 1),
      undefined,
      'none for another epoch',
    );
  });
});
