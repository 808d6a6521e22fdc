import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { deepEqual, equal, notEqual, ok, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES, NOT_STRINGS } from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/sender-key.json' with { type: 'json' };
import { concat, fromHex, toHex } from './bytes.ts';
import { generateIdentity } from './identity.ts';
import {
  advanceSenderKey,
  copySenderKey,
  createSenderKey,
  deserializeSenderKey,
  frameSecretOf,
  MAX_ITERATION,
  nextMessageKey,
  ratchetStep,
  type SenderKey,
  serializeSenderKey,
} from './sender-key.ts';

const alice = generateIdentity();

describe('sender keys', () => {
  it('serialize to the golden bytes and parse back', () => {
    for (const v of vectors.keys) {
      const key: SenderKey = {
        channelId: v.channelId,
        epoch: v.epoch,
        iteration: v.iteration,
        chainKey: fromHex(v.chainKey),
        senderPublicKey: fromHex(v.senderPublicKey),
      };
      const bytes = serializeSenderKey(key);
      equal(toHex(bytes), v.serialized, v.channelId);
      // 0x01 ‖ epoch ‖ iteration ‖ chain key ‖ sender pub ‖ channel id
      equal(bytes.length, 1 + 4 + 4 + 32 + 33 + v.channelId.length);
      deepEqual(deserializeSenderKey(fromHex(v.serialized)), key);
    }
  });

  it('ratchet as HMAC-SHA256(CK, 0x01) / HMAC-SHA256(CK, 0x02), matching the golden steps', () => {
    const { steps } = vectors.ratchet;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const chainKey = fromHex(step.chainKey);
      const { messageKey, nextChainKey } = ratchetStep(chainKey);
      equal(toHex(messageKey), step.messageKey);
      equal(toHex(messageKey), toHex(hmac(sha256, chainKey, Uint8Array.of(1))));
      equal(toHex(nextChainKey), toHex(hmac(sha256, chainKey, Uint8Array.of(2))));
      if (i + 1 < steps.length) equal(toHex(nextChainKey), steps[i + 1]!.chainKey);
    }
    const key: SenderKey = {
      channelId: 'c',
      epoch: 0,
      iteration: 0,
      chainKey: fromHex(steps[0]!.chainKey),
      senderPublicKey: alice.publicKey,
    };
    for (const step of steps) {
      const m = nextMessageKey(key);
      equal(m.iteration, step.iteration);
      equal(toHex(m.key), step.messageKey);
    }
    equal(key.iteration, steps.length);
  });

  it('wipe each chain key they step past (forward secrecy)', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    const first = key.chainKey;
    const before = first.slice();
    nextMessageKey(key);
    deepEqual(first, new Uint8Array(32), 'the old chain key array is zeroed');
    notEqual(toHex(key.chainKey), toHex(before));
    equal(key.iteration, 1);
  });

  it('are fresh and owned when created or copied', () => {
    const pub = alice.publicKey.slice();
    const a = createSenderKey('general', 4, pub);
    const b = createSenderKey('general', 4, pub);
    notEqual(toHex(a.chainKey), toHex(b.chainKey));
    equal(a.iteration, 0);
    equal(a.epoch, 4);
    pub[1]! ^= 1;
    equal(toHex(a.senderPublicKey), toHex(alice.publicKey), 'keeps its own copy of the public key');
    const c = copySenderKey(a);
    nextMessageKey(c);
    equal(a.iteration, 0, 'a copy advances alone');
    ok(a.chainKey.some((x) => x !== 0));
  });

  it('advance to a later iteration with chain keys only, as the same steps would, wiping the way', () => {
    const { steps } = vectors.ratchet;
    const key: SenderKey = {
      channelId: 'c',
      epoch: 0,
      iteration: 0,
      chainKey: fromHex(steps[0]!.chainKey),
      senderPublicKey: alice.publicKey,
    };
    const first = key.chainKey;
    advanceSenderKey(key, steps.length - 1);
    equal(key.iteration, steps.length - 1);
    equal(toHex(key.chainKey), steps.at(-1)!.chainKey, 'the golden chain key of the last step');
    equal(toHex(nextMessageKey(key).key), steps.at(-1)!.messageKey);
    deepEqual(first, new Uint8Array(32), 'the chain key stepped past is zeroed');
    const stepped = createSenderKey('general', 0, alice.publicKey);
    const jumped = copySenderKey(stepped);
    for (let i = 0; i < 300; i++) nextMessageKey(stepped);
    advanceSenderKey(jumped, 300);
    equal(toHex(jumped.chainKey), toHex(stepped.chainKey), '300 steps either way');
    advanceSenderKey(jumped, 300);
    equal(jumped.iteration, 300, 'to where it is: no step');
    throwsCode(() => advanceSenderKey(jumped, 299), 'BAD_INPUT', 'never backwards');
    throwsCode(() => advanceSenderKey(jumped, MAX_ITERATION + 1), 'BAD_INPUT', 'never past the end');
  });

  it('end the chain with EXPIRED', () => {
    const key = createSenderKey('general', 0, alice.publicKey);
    key.iteration = MAX_ITERATION;
    equal(nextMessageKey(key).iteration, MAX_ITERATION);
    throwsCode(() => nextMessageKey(key), 'EXPIRED');
  });

  it('give a frame secret only at iteration 0 (golden)', () => {
    const v = vectors.frameSecret;
    const key: SenderKey = {
      channelId: 'general',
      epoch: 0,
      iteration: 0,
      chainKey: fromHex(v.chainKey),
      senderPublicKey: alice.publicKey,
    };
    equal(toHex(frameSecretOf(key)), v.secret);
    notEqual(v.secret, toHex(ratchetStep(key.chainKey).messageKey));
    nextMessageKey(key);
    ok(throwsCode(() => frameSecretOf(key), 'BAD_INPUT').message.includes('iteration 0'));
  });

  it('refuse malformed distribution bytes', () => {
    const good = fromHex(vectors.keys[0]!.serialized);
    throwsCode(() => deserializeSenderKey(new Uint8Array(0)), 'BAD_FORMAT');
    for (const version of [0, 2, 0xff]) {
      const bad = good.slice();
      bad[0] = version;
      throwsCode(() => deserializeSenderKey(bad), 'BAD_VERSION', `version ${version}`);
    }
    throwsCode(() => deserializeSenderKey(good.subarray(0, 74)), 'BAD_FORMAT', 'no channel id');
    throwsCode(
      () => deserializeSenderKey(concat(good, new Uint8Array(129).fill(0x61))),
      'BAD_FORMAT',
      'too long',
    );
    const badPoint = good.slice();
    badPoint[41] = 0x05; // the compressed point's prefix byte
    throwsCode(() => deserializeSenderKey(badPoint), 'BAD_FORMAT', 'not a point');
    for (const c of [0x20, 0x7f, 0xc3, 0x00]) {
      throwsCode(
        () => deserializeSenderKey(concat(good, Uint8Array.of(c))),
        'BAD_FORMAT',
        `channel byte ${c}`,
      );
    }
    const exhausted = good.slice();
    exhausted.set([0xff, 0xff, 0xff, 0xff], 5);
    throwsCode(
      () => nextMessageKey(deserializeSenderKey(exhausted)),
      'EXPIRED',
      'a chain at 2^32 − 1 has no key left',
    );
    for (const bad of NOT_BYTES) throwsCode(() => deserializeSenderKey(bad as Uint8Array), 'BAD_INPUT');
  });

  it('reject wrong input types and lengths with labelled BAD_INPUT', () => {
    const pub = alice.publicKey;
    const labelled = (fn: () => unknown, label: string) =>
      ok(throwsCode(fn, 'BAD_INPUT', label).message.includes(label), label);
    for (const bad of [...NOT_STRINGS, '', 'has space', 'é', 'x'.repeat(129), 'tab\t']) {
      labelled(() => createSenderKey(bad as string, 0, pub), 'channelId');
    }
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN, '1', null]) {
      labelled(() => createSenderKey('c', bad as number, pub), 'epoch');
    }
    for (const bad of [...NOT_BYTES, new Uint8Array(32), new Uint8Array(33), new Uint8Array(65)]) {
      labelled(() => createSenderKey('c', 0, bad as Uint8Array), 'senderPublicKey');
    }
    const key = createSenderKey('c', 0, pub);
    labelled(() => serializeSenderKey({ ...key, chainKey: new Uint8Array(31) }), 'chainKey');
    labelled(() => serializeSenderKey({ ...key, iteration: -1 }), 'iteration');
    labelled(() => nextMessageKey(null as unknown as SenderKey), 'senderKey');
    for (const bad of [...NOT_BYTES, new Uint8Array(31)])
      labelled(() => ratchetStep(bad as Uint8Array), 'chainKey');
  });
});
