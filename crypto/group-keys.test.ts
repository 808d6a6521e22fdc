import { deepEqual, equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES, NOT_STRINGS } from '../test/helpers/tamper.ts';
import { toHex } from './bytes.ts';
import { distributionContext, epochAfter, GroupKeyRing, MAX_EPOCHS_AHEAD } from './group-keys.ts';
import { generateIdentity } from './identity.ts';
import { createSenderKey, deserializeSenderKey, nextMessageKey, serializeSenderKey } from './sender-key.ts';

const alice = generateIdentity().publicKey;
const bob = generateIdentity().publicKey;
const carol = generateIdentity().publicKey;

/** A clock tests move by hand. */
function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function ringOf(me: Uint8Array, now = clock().now, graceMs = 60_000) {
  return new GroupKeyRing('general', me, { graceMs, now });
}

describe('epochAfter', () => {
  it('keeps the epoch for a join and moves it for any removal', () => {
    equal(epochAfter(4, 'join'), 4);
    equal(epochAfter(4, 'leave'), 5);
    equal(epochAfter(4, 'kick'), 5);
    equal(epochAfter(4, 'ban'), 5);
    throwsCode(() => epochAfter(2 ** 32 - 1, 'kick'), 'EXPIRED');
    throwsCode(() => epochAfter(4, 'mute' as 'kick'), 'BAD_INPUT');
    throwsCode(() => epochAfter(-1, 'join'), 'BAD_INPUT');
  });

  it('names the envelope context of a distribution', () => {
    equal(distributionContext('general', 3), 'tincan/sender-key/v1 general 3');
    throwsCode(() => distributionContext('has space', 3), 'BAD_INPUT');
  });
});

describe('GroupKeyRing', () => {
  it('hands my key to members, who derive my message keys; I can read my own', () => {
    const a = ringOf(alice);
    const b = ringOf(bob);
    throwsCode(() => a.sendingKey(), 'UNKNOWN_KEY');
    equal(b.install(a.createMyKey()), true);
    throwsCode(() => a.createMyKey(), 'BAD_INPUT');
    for (let i = 0; i < 3; i++) {
      const sent = a.nextSendKey();
      equal(sent.iteration, i);
      equal(sent.epoch, 0);
      const got = b.receivingKey(alice, 0, i);
      equal(toHex(got.key), toHex(sent.key));
      got.commit();
      const own = a.receivingKey(alice, 0, i);
      equal(toHex(own.key), toHex(sent.key));
      own.commit();
    }
    ok(b.hasKey(alice, 0));
    ok(!b.hasKey(carol, 0));
    throwsCode(() => b.receivingKey(carol, 0, 0), 'UNKNOWN_KEY');
    throwsCode(() => b.receivingKey(alice, 1, 0), 'UNKNOWN_KEY');
  });

  it('gives the same frame secret to sender and members, from a key at iteration 0 only', () => {
    const a = ringOf(alice);
    const b = ringOf(bob);
    const c = ringOf(carol);
    b.install(a.createMyKey());
    equal(toHex(b.frameSecret(alice, 0)), toHex(a.frameSecret(alice, 0)));
    a.nextSendKey();
    c.install(a.addMember(carol));
    throwsCode(() => c.frameSecret(alice, 0), 'UNKNOWN_KEY');
    equal(toHex(b.frameSecret(alice, 0)), toHex(a.frameSecret(alice, 0)), 'sending does not change it');
  });

  it('treats a copy of a held chain as a no-op and a different chain as KEY_REJECTED', () => {
    const a = ringOf(alice);
    const b = ringOf(bob);
    const first = a.createMyKey();
    b.install(first);
    equal(b.install(first), false);
    a.nextSendKey();
    a.nextSendKey();
    equal(b.install(a.addMember(bob)), false, 'the same chain, further on');
    const later = ringOf(carol);
    later.install(a.addMember(carol));
    equal(later.install(first), false, 'the same chain, earlier');
    const forged = createSenderKey('general', 0, alice);
    throwsCode(() => b.install(forged), 'KEY_REJECTED');
    throwsCode(() => b.install(serializeSenderKey(forged)), 'KEY_REJECTED');
  });

  it('refuses keys of another channel (MISMATCH) and too far ahead (KEY_REJECTED)', () => {
    const b = ringOf(bob);
    throwsCode(() => b.install(createSenderKey('random', 0, alice)), 'MISMATCH');
    equal(b.install(createSenderKey('general', MAX_EPOCHS_AHEAD, alice)), true);
    throwsCode(() => b.install(createSenderKey('general', MAX_EPOCHS_AHEAD + 1, alice)), 'KEY_REJECTED');
  });

  it('rotates on removal: fresh keys for the rest, none for the removed member', () => {
    const time = clock();
    const a = ringOf(alice, time.now);
    const b = ringOf(bob, time.now);
    const c = ringOf(carol, time.now);
    for (const [ring, others] of [
      [a, [b, c]],
      [b, [a, c]],
      [c, [a, b]],
    ] as const) {
      const mine = ring.createMyKey();
      for (const other of others) other.install(mine);
    }
    const rotation = a.removeMembers([carol], [alice, bob, bob], 'ban');
    equal(rotation.epoch, 1);
    equal(a.epoch, 1);
    deepEqual(rotation.recipients.map(toHex), [toHex(bob)], 'only the remaining members but me, once each');
    const key = deserializeSenderKey(rotation.distribution);
    equal(key.epoch, 1);
    equal(key.iteration, 0);
    equal(toHex(key.senderPublicKey), toHex(alice));
    // Bob hears of alice's new key before he processes the ban himself: kept, usable.
    equal(b.install(rotation.distribution), true);
    const sent = a.nextSendKey();
    equal(sent.epoch, 1);
    equal(toHex(b.receivingKey(alice, 1, 0).key), toHex(sent.key));
    const bobs = b.removeMembers([carol], [alice, bob], 'ban');
    equal(bobs.epoch, 1);
    a.install(bobs.distribution);
    // Carol holds every epoch-0 chain, but nothing of epoch 1.
    throwsCode(() => c.receivingKey(alice, 1, 0), 'UNKNOWN_KEY');
    throwsCode(() => c.receivingKey(bob, 1, 0), 'UNKNOWN_KEY');
    // Carol cannot slip a key for epoch 1 (or later) into the others' rings.
    throwsCode(() => a.install(createSenderKey('general', 1, carol)), 'KEY_REJECTED');
    throwsCode(() => b.install(createSenderKey('general', 3, carol)), 'KEY_REJECTED');
    // ... and a key she had installed ahead is dropped by the rotation.
    const d = ringOf(generateIdentity().publicKey, time.now);
    const early = createSenderKey('general', 1, carol);
    d.install(early);
    d.removeMembers([carol], [alice, bob]);
    throwsCode(() => d.receivingKey(carol, 1, 0), 'UNKNOWN_KEY');
  });

  it('keeps a superseded epoch open for the grace window, then TOO_OLD', () => {
    const time = clock();
    const a = ringOf(alice, time.now, 10_000);
    const b = ringOf(bob, time.now, 10_000);
    b.install(a.createMyKey());
    const old = a.nextSendKey();
    b.removeMembers([carol], [alice, bob]);
    time.t += 9_999;
    equal(toHex(b.receivingKey(alice, 0, 0).key), toHex(old.key), 'inside the grace window');
    equal(b.frameSecret(alice, 0).length, 32);
    time.t += 1;
    throwsCode(() => b.receivingKey(alice, 0, 0), 'TOO_OLD');
    throwsCode(() => b.frameSecret(alice, 0), 'TOO_OLD');
    ok(!b.hasKey(alice, 0));
    throwsCode(() => b.install(createSenderKey('general', 0, alice)), 'TOO_OLD');
  });

  it('lets a removed member back in on a join, from the current epoch', () => {
    const a = ringOf(alice);
    a.createMyKey();
    a.removeMembers([carol], [alice, bob], 'leave');
    throwsCode(() => a.install(createSenderKey('general', 1, carol)), 'KEY_REJECTED');
    const forCarol = deserializeSenderKey(a.addMember(carol));
    equal(forCarol.epoch, 1);
    equal(a.install(createSenderKey('general', 1, carol)), true);
  });

  it('starts a late joiner at the channel’s epoch and refuses older ones', () => {
    const late = new GroupKeyRing('general', bob, { graceMs: 0, epoch: 7 });
    equal(late.epoch, 7);
    throwsCode(() => late.install(createSenderKey('general', 6, alice)), 'TOO_OLD');
    throwsCode(() => late.receivingKey(alice, 6, 0), 'TOO_OLD');
    late.createMyKey();
    equal(late.nextSendKey().epoch, 7);
  });

  it('closes the old epoch at once with a zero grace window', () => {
    const time = clock();
    const a = ringOf(alice, time.now, 0);
    a.createMyKey();
    a.removeMembers([carol], [alice]);
    throwsCode(() => a.receivingKey(alice, 0, 0), 'TOO_OLD');
  });

  it('opens and seals nothing after a wipe', () => {
    const a = ringOf(alice);
    const b = ringOf(bob);
    a.install(b.createMyKey());
    a.createMyKey();
    a.wipe();
    throwsCode(() => a.nextSendKey(), 'UNKNOWN_KEY');
    throwsCode(() => a.receivingKey(bob, 0, 0), 'TOO_OLD');
  });

  it('shares one live sending state with myKey, so iterations never repeat', () => {
    const a = ringOf(alice);
    a.createMyKey();
    const mine = a.myKey!;
    nextMessageKey(mine);
    equal(a.nextSendKey().iteration, 1);
  });

  it('rejects wrong inputs with labelled BAD_INPUT', () => {
    const labelled = (fn: () => unknown, label: string) =>
      ok(throwsCode(fn, 'BAD_INPUT', label).message.includes(label), label);
    for (const bad of [...NOT_STRINGS, '', 'a b']) {
      labelled(() => new GroupKeyRing(bad as string, alice, { graceMs: 0 }), 'channelId');
    }
    for (const bad of [...NOT_BYTES, new Uint8Array(33)]) labelled(() => ringOf(bad as Uint8Array), 'me');
    for (const bad of [-1, 1.5, '10', undefined]) {
      labelled(() => new GroupKeyRing('general', alice, { graceMs: bad as number }), 'graceMs');
    }
    throwsCode(() => new GroupKeyRing('general', alice, null as unknown as { graceMs: number }), 'BAD_INPUT');
    labelled(() => new GroupKeyRing('general', alice, { graceMs: 0, epoch: -1 }), 'epoch');
    const a = ringOf(alice);
    a.createMyKey();
    for (const bad of NOT_BYTES) {
      labelled(() => a.receivingKey(bad as Uint8Array, 0, 0), 'sender');
      labelled(() => a.frameSecret(bad as Uint8Array, 0), 'sender');
      labelled(() => a.addMember(bad as Uint8Array), 'publicKey');
      labelled(() => a.removeMembers([bad as Uint8Array], [alice]), 'removed[0]');
      labelled(() => a.removeMembers([carol], [bad as Uint8Array]), 'remaining[0]');
    }
    labelled(() => a.receivingKey(bob, -1, 0), 'epoch');
    labelled(() => a.receivingKey(alice, 0, -1), 'iteration');
    throwsCode(() => a.removeMembers([], [alice]), 'BAD_INPUT');
    throwsCode(() => a.removeMembers([alice], [bob]), 'BAD_INPUT');
    throwsCode(() => a.removeMembers([bob], [bob]), 'BAD_INPUT');
    throwsCode(() => a.removeMembers([bob], [alice], 'join' as 'kick'), 'BAD_INPUT');
    for (const bad of [undefined, null, 0, 'abc', {}, new Uint16Array(4)]) {
      throwsCode(() => a.install(bad as Uint8Array), 'BAD_INPUT');
    }
    throwsCode(() => a.install(Uint8Array.of(1, 2, 3)), 'BAD_FORMAT');
  });
});
