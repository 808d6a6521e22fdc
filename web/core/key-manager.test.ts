/**
 * KeyManager: history far behind or far ahead of a ring's chain still opens, from the
 * chain's first state; voice-frame secrets; one identity on several devices (a chain
 * each, in disjoint iteration ranges, moved off when another device takes the way
 * ahead); saving and restoring all of it.
 */
import assert from 'node:assert/strict';
import { fromUtf8, toBase64url, toHex, utf8 } from '../../crypto/bytes.ts';
import { generateIdentity, type IdentityKeyPair } from '../../crypto/identity.ts';
import { peekMessageHeader, sealMessage, verifyMessageAsync } from '../../crypto/message.ts';
import { ReplayGuard } from '../../crypto/replay-guard.ts';
import {
  copySenderKey,
  createSenderKey,
  deserializeSenderKey,
  type SenderKey,
  serializeSenderKey,
} from '../../crypto/sender-key.ts';
import { rawSigner } from '../../crypto/sign.ts';
import {
  CHECKPOINT_EVERY,
  KeyManager,
  MAX_CHAINS_PER_SENDER,
  type SavedKeys,
  START_GAP,
  START_SPAN,
} from './key-manager.ts';

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
    // Text in the voice channel moves Alice's chain; the frame secret stays its first state's.
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

/** One device of an identity: its KeyManager and what it sealed, as (first state of the chain, iteration). */
function device(identity: IdentityKeyPair) {
  const keys = new KeyManager(identity.publicKey);
  const signer = rawSigner(identity.secretKey);
  const sealed: Uint8Array[] = [];
  /** (chain, iteration) pairs used, the chain named by its first state: none may repeat. */
  const used: string[] = [];
  const send = async (text: string) => {
    const chain = keys.claimSendingKey('lounge');
    const key = keys.sendingKey('lounge');
    used.push(`${toHex(chain.distribution)}@${key.iteration}`);
    const message = await sealMessage(signer, key, utf8(text));
    sealed.push(message);
    return message;
  };
  return { keys, sealed, used, send };
}

const iterationOf = (sealed: Uint8Array) => peekMessageHeader(sealed).iteration;
const textOf = (keys: KeyManager, sealed: Uint8Array, guard: ReplayGuard) =>
  fromUtf8(keys.open('lounge', sealed, guard).plaintext);
/** Every chain of `from`'s identity it holds, installed into `into` (what the log hands over). */
const handOver = (from: KeyManager, into: KeyManager) => {
  for (const c of from.myChains('lounge', from.epoch)) into.install(deserializeSenderKey(c.distribution));
};

describe('KeyManager: one identity on several devices', () => {
  const xena = generateIdentity();
  const yann = generateIdentity();

  it('a fresh device starts a chain of its own beside the one the log hands back, in either order', async () => {
    const first = device(xena);
    for (let i = 0; i < 3; i++) await first.send(`first ${i}`);
    const start = first.keys.myDistribution('lounge', 0)!;
    assert.ok(deserializeSenderKey(start).iteration < START_SPAN, 'a chain starts below START_SPAN');

    // Restored from a backup: the log hands it the first device's chain, then it sends.
    const fresh = device(xena);
    assert.equal(fresh.keys.install(deserializeSenderKey(start)), true, 'its own earlier chain is installed');
    await fresh.send('fresh 0');
    const other = fresh.keys.myDistribution('lounge', 0)!;
    assert.notDeepEqual(other, start, 'the fresh device sends on a chain of its own');
    const [a, b] = [deserializeSenderKey(start).iteration, deserializeSenderKey(other).iteration];
    assert.ok(Math.abs(a - b) > START_GAP, `chains ${START_GAP}+ apart (starts ${a} and ${b})`);

    // Sends first, hears of its earlier chain after: that chain is still installed, its history read.
    const late = device(xena);
    await late.send('late 0');
    assert.equal(late.keys.install(deserializeSenderKey(start)), true, 'the earlier chain arrives after');
    const guard = new ReplayGuard();
    for (const [i, m] of first.sealed.entries())
      assert.equal(textOf(late.keys, m, guard), `first ${i}`, `the late device reads first ${i}`);

    // Every reader of every device reads everything, the first device included.
    const reader = new KeyManager(yann.publicKey);
    for (const d of [first, fresh, late]) handOver(d.keys, reader);
    handOver(fresh.keys, first.keys);
    handOver(late.keys, first.keys);
    const all = [...first.sealed, ...fresh.sealed, ...late.sealed];
    const texts = ['first 0', 'first 1', 'first 2', 'fresh 0', 'late 0'];
    for (const [name, keys] of [
      ['the reader', reader],
      ['the first device', first.keys],
    ] as const) {
      const g = new ReplayGuard();
      assert.deepEqual(
        all.map((m) => textOf(keys, m, g)),
        texts,
        `${name} reads every device's messages`,
      );
    }
    const iterations = all.map(iterationOf);
    assert.equal(new Set(iterations).size, iterations.length, 'no iteration of the identity used twice');
  });

  it('moves to a fresh chain when another device starts right where its next message would go', async () => {
    const one = device(xena);
    await one.send('one 0');
    await one.send('one 1');
    const mine = one.keys.claimSendingKey('lounge');
    const next = one.keys.sendingKey('lounge').iteration;
    // Another device whose (random) start fell just ahead of this one: the clash case.
    const theirs = createSenderKey('lounge', 0, xena.publicKey);
    theirs.iteration = next;
    one.keys.install(copySenderKey(theirs));
    const moved = one.keys.claimSendingKey('lounge');
    assert.notEqual(moved.from, mine.from, 'a fresh chain');
    assert.ok(Math.abs(moved.from - next) > START_GAP, 'away from the chain that took the way ahead');
    await one.send('one 2');
    assert.equal(iterationOf(one.sealed[2]!), moved.from, 'the next message is on the fresh chain');

    const signer = rawSigner(xena.secretKey);
    const theirMessage = await sealMessage(signer, theirs, utf8('two 0'));
    assert.equal(iterationOf(theirMessage), next, 'the other device used the iteration');
    const reader = new KeyManager(yann.publicKey);
    handOver(one.keys, reader);
    const guard = new ReplayGuard();
    assert.deepEqual(
      [...one.sealed, theirMessage].map((m) => textOf(reader, m, guard)),
      ['one 0', 'one 1', 'one 2', 'two 0'],
      'a reader opens both devices',
    );
    assert.equal(new Set(one.used).size, one.used.length, 'no (chain, iteration) used twice');
  });

  it('moves off a chain another device ran into, and opens that device’s messages there', async () => {
    const one = device(xena);
    await one.send('one 0');
    const { from } = one.keys.claimSendingKey('lounge');
    // Another device started 5 below this one and, before either saw the other, sent 8 messages.
    const theirs = createSenderKey('lounge', 0, xena.publicKey);
    theirs.iteration = from - 5;
    const first = copySenderKey(theirs);
    const signer = rawSigner(xena.secretKey);
    const theirMessages: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) theirMessages.push(await sealMessage(signer, theirs, utf8(`two ${i}`)));
    one.keys.install(first);
    const guard = new ReplayGuard();
    // Iteration from + 2: this device's chain starts nearest below it, the other's opens it.
    assert.equal(textOf(one.keys, theirMessages[7]!, guard), 'two 7', 'a clashing iteration still opens');
    const moved = one.keys.claimSendingKey('lounge');
    assert.notEqual(moved.from, from, 'a fresh chain, as the other device already went past my start');
    assert.ok(moved.from > from + 2 + START_GAP || moved.from < from - 5 - START_GAP, 'clear of both spans');
    await one.send('one 1');
    assert.equal(iterationOf(one.sealed[1]!), moved.from, 'sent on the fresh chain');
  });

  it('keeps every device chain over save and restore, and goes on with its own', async () => {
    const one = device(xena);
    const two = device(xena);
    await one.send('one 0');
    handOver(one.keys, two.keys);
    await two.send('two 0');
    handOver(two.keys, one.keys);
    one.keys.recipients('lounge', 0).add(toBase64url(yann.publicKey)); // as the distributor records it
    const secret = one.keys.frameSecret('lounge', one.keys.meId);
    const saved = JSON.parse(JSON.stringify(one.keys.save())) as SavedKeys;
    const restored = new KeyManager(xena.publicKey);
    restored.restore(saved);
    assert.deepEqual(
      restored.myDistribution('lounge', 0),
      one.keys.myDistribution('lounge', 0),
      'its own chain',
    );
    assert.deepEqual(restored.frameSecret('lounge', restored.meId), secret, 'the same voice-frame secret');
    assert.equal(restored.myChains('lounge', 0).length, 2, 'both chains of the identity');
    const claimed = restored.claimSendingKey('lounge');
    assert.equal(claimed.from, one.keys.claimSendingKey('lounge').from, 'no new chain after a restore');
    assert.equal(
      restored.sendingKey('lounge').iteration,
      one.keys.sendingKey('lounge').iteration,
      'it goes on where it was',
    );
    assert.deepEqual(
      [...restored.recipients('lounge', 0)],
      [...one.keys.recipients('lounge', 0)],
      'who got it is kept',
    );
    const guard = new ReplayGuard();
    assert.equal(textOf(restored, one.sealed[0]!, guard), 'one 0', 'reads its own message');
    assert.equal(textOf(restored, two.sealed[0]!, guard), 'two 0', 'reads the other device');

    // A save from before chains per device: `distributed` names no chain.
    const older = { ...saved, distributed: saved.distributed.map(([c, e, ids]) => [c, e, ids]) };
    const fromOlder = new KeyManager(xena.publicKey);
    fromOlder.restore(older as SavedKeys);
    assert.deepEqual(
      [...fromOlder.recipients('lounge', 0)],
      [toBase64url(yann.publicKey)],
      'an older save’s recipients go to the one chain it had',
    );
  });

  it('holds at most MAX_CHAINS_PER_SENDER chains of one sender at one epoch, and the same one once', () => {
    const reader = new KeyManager(yann.publicKey);
    const chains: SenderKey[] = [];
    for (let i = 0; i < MAX_CHAINS_PER_SENDER; i++) {
      const key = createSenderKey('lounge', 0, xena.publicKey);
      key.iteration = i * 10_000;
      chains.push(key);
      assert.equal(reader.install(copySenderKey(key)), true, `chain ${i} is installed`);
    }
    assert.equal(reader.install(copySenderKey(chains[3]!)), false, 'the same chain again is already held');
    assert.equal(
      reader.install(deserializeSenderKey(serializeSenderKey(chains[3]!))),
      false,
      'also from its bytes',
    );
    assert.throws(
      () => reader.install(createSenderKey('lounge', 0, xena.publicKey)),
      { code: 'KEY_REJECTED' },
      'one chain too many is refused',
    );
    assert.equal(reader.keysAt('lounge', 0).length, MAX_CHAINS_PER_SENDER, 'what is held is unchanged');
  });
});
