import { p256 } from '@noble/curves/nist.js';
import { deepEqual, equal, ok, rejectsCode, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte, NOT_BYTES, truncations } from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/message.json' with { type: 'json' };
import { concat, fromHex, readU32, toHex, utf8 } from './bytes.ts';
import { GroupKeyRing } from './group-keys.ts';
import { generateIdentity } from './identity.ts';
import {
  MESSAGE_ID_LENGTH,
  MESSAGE_OVERHEAD,
  openMessage,
  peekMessageHeader,
  sealMessage,
  type VerifiedMessage,
  verifyMessage,
  verifyMessageAsync,
} from './message.ts';
import { ReplayGuard } from './replay-guard.ts';
import { copySenderKey, createSenderKey } from './sender-key.ts';
import { rawSigner, SIGNATURE_LENGTH, signStatement } from './sign.ts';

function member(channelId = 'general', now: () => number = Date.now) {
  const id = generateIdentity();
  return {
    id,
    signer: rawSigner(id.secretKey),
    ring: new GroupKeyRing(channelId, id.publicKey, { graceMs: 60_000, now }),
    guard: new ReplayGuard(),
  };
}

type Member = ReturnType<typeof member>;

/** Everyone creates a key and installs everyone else's. */
function connect(...members: Member[]): void {
  const keys = members.map((m) => m.ring.createMyKey());
  members.forEach((m, i) => {
    keys.forEach((k, j) => {
      if (i !== j) m.ring.install(k);
    });
  });
}

/** Every error code `fn` throws, or 'none'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return String((error as { code?: unknown }).code ?? error);
  }
}

/** The error code `promise` rejects with, or 'none'. */
async function asyncCodeOf(promise: () => Promise<unknown>): Promise<string> {
  try {
    await promise();
    return 'none';
  } catch (error) {
    return String((error as { code?: unknown }).code ?? error);
  }
}

const N = p256.Point.Fn.ORDER;
const scalar = (n: bigint) => fromHex(n.toString(16).padStart(64, '0'));

describe('sealed messages', () => {
  it('round-trip between members, with the documented layout', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const plaintext = utf8('hello 👋');
    const sealed = await sealMessage(alice.signer, alice.ring, plaintext);
    equal(sealed.length, MESSAGE_OVERHEAD + 'general'.length + plaintext.length);
    equal(sealed[0], 1);
    equal(sealed[1 + MESSAGE_ID_LENGTH], 'general'.length);
    const at = 2 + MESSAGE_ID_LENGTH + 'general'.length;
    equal(readU32(sealed, at), 0, 'epoch');
    equal(readU32(sealed, at + 4), 0, 'iteration');
    equal(toHex(sealed.subarray(at + 8, at + 41)), toHex(alice.id.publicKey), 'sender');
    const opened = openMessage(bob.ring, sealed, bob.guard);
    equal(toHex(opened.plaintext), toHex(plaintext));
    equal(toHex(opened.sender), toHex(alice.id.publicKey));
    equal(opened.channelId, 'general');
    equal(opened.epoch, 0);
    equal(opened.iteration, 0);
    deepEqual(opened.id, sealed.subarray(1, 17));
    const header = peekMessageHeader(sealed);
    deepEqual(
      { ...header },
      { version: 1, id: opened.id, channelId: 'general', epoch: 0, iteration: 0, sender: opened.sender },
    );
    // The author reads their own message (an echo) like any member.
    equal(toHex(openMessage(alice.ring, sealed, alice.guard).plaintext), toHex(plaintext));
  });

  it('open out of order and after gaps', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = [];
    for (let i = 0; i < 6; i++) sealed.push(await sealMessage(alice.signer, alice.ring, utf8(`m${i}`)));
    for (const i of [5, 0, 3, 1]) {
      const m = openMessage(bob.ring, sealed[i]!, bob.guard);
      equal(m.iteration, i);
      equal(new TextDecoder().decode(m.plaintext), `m${i}`);
    }
  });

  it('refuse a replay: REPLAY from the guard, TOO_OLD once the guard forgot it', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('once'));
    openMessage(bob.ring, sealed, bob.guard);
    throwsCode(() => openMessage(bob.ring, sealed, bob.guard), 'REPLAY');
    throwsCode(() => openMessage(bob.ring, sealed, new ReplayGuard()), 'TOO_OLD');
  });

  it('never open with any byte flipped or cut, and stay openable afterwards', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('tamper with me'));
    const codes = new Set<string>();
    for (const mask of [0x01, 0x80]) {
      for (const [i, bad] of flipEachByte(sealed, mask)) {
        const code = codeOf(() => openMessage(bob.ring, bad, bob.guard));
        ok(code !== 'none', `byte ${i} ^ ${mask} opened`);
        codes.add(code);
      }
    }
    for (const bad of truncations(sealed)) ok(codeOf(() => openMessage(bob.ring, bad, bob.guard)) !== 'none');
    ok(codeOf(() => openMessage(bob.ring, concat(sealed, new Uint8Array(1)), bob.guard)) !== 'none');
    for (const code of codes)
      ok(['BAD_VERSION', 'BAD_FORMAT', 'MISMATCH', 'BAD_SIGNATURE'].includes(code), code);
    equal(bob.guard.size, 0, 'no forgery took a replay slot');
    equal(new TextDecoder().decode(openMessage(bob.ring, sealed, bob.guard).plaintext), 'tamper with me');
  });

  it('refuse a member forging another’s message (BAD_SIGNATURE) or re-signing it as theirs (DECRYPT_FAILED)', async () => {
    const alice = member();
    const bob = member();
    const carol = member();
    connect(alice, bob, carol);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('from alice'));
    const signed = sealed.subarray(0, sealed.length - SIGNATURE_LENGTH);
    // Bob signs alice's bytes with his own key: the header still names alice.
    const bobSig = await signStatement(bob.signer, 'tincan/message/v1', [signed]);
    throwsCode(() => openMessage(carol.ring, concat(signed, bobSig), carol.guard), 'BAD_SIGNATURE');
    // Bob swaps the sender to himself and re-signs (Davis' attack on encrypt-then-sign):
    // the box was sealed under alice's chain with alice in the AAD, so it does not decrypt.
    const swapped = signed.slice();
    const at = 2 + MESSAGE_ID_LENGTH + 'general'.length + 8;
    swapped.set(bob.id.publicKey, at);
    const resigned = concat(swapped, await signStatement(bob.signer, 'tincan/message/v1', [swapped]));
    throwsCode(() => openMessage(carol.ring, resigned, carol.guard), 'DECRYPT_FAILED');
    // Bob, who holds alice's chain, can encrypt as alice but cannot sign as her.
    await rejectsCode(sealMessage(bob.signer, copySenderKey(alice.ring.myKey!), utf8('x')), 'BAD_INPUT');
    equal(new TextDecoder().decode(openMessage(carol.ring, sealed, carol.guard).plaintext), 'from alice');
  });

  it('refuse an unknown sender or epoch (UNKNOWN_KEY) and another channel (MISMATCH)', async () => {
    const alice = member();
    const bob = member();
    const stranger = member();
    connect(alice, bob);
    stranger.ring.createMyKey();
    const fromStranger = await sealMessage(stranger.signer, stranger.ring, utf8('hi'));
    throwsCode(() => openMessage(bob.ring, fromStranger, bob.guard), 'UNKNOWN_KEY');
    const future = createSenderKey('general', 2, alice.id.publicKey);
    const atEpoch2 = await sealMessage(alice.signer, future, utf8('later'));
    throwsCode(() => openMessage(bob.ring, atEpoch2, bob.guard), 'UNKNOWN_KEY');
    const elsewhere = member('random');
    elsewhere.ring.createMyKey();
    const other = await sealMessage(elsewhere.signer, elsewhere.ring, utf8('x'));
    throwsCode(() => openMessage(bob.ring, other, bob.guard), 'MISMATCH');
  });

  it('lock a removed member out of the next epoch, and close the old one after grace', async () => {
    const time = { t: 0 };
    const now = () => time.t;
    const alice = member('general', now);
    const bob = member('general', now);
    const carol = member('general', now);
    connect(alice, bob, carol);
    const before = await sealMessage(alice.signer, alice.ring, utf8('before'));
    const remaining = [alice.id.publicKey, bob.id.publicKey];
    const rotation = alice.ring.removeMembers([carol.id.publicKey], remaining, 'kick');
    deepEqual(rotation.recipients.map(toHex), [toHex(bob.id.publicKey)]);
    bob.ring.install(rotation.distribution);
    alice.ring.install(bob.ring.removeMembers([carol.id.publicKey], remaining, 'kick').distribution);
    const after = await sealMessage(alice.signer, alice.ring, utf8('after'));
    equal(peekMessageHeader(after).epoch, 1);
    equal(new TextDecoder().decode(openMessage(bob.ring, after, bob.guard).plaintext), 'after');
    // Carol kept every epoch-0 chain; none of them opens epoch 1.
    throwsCode(() => openMessage(carol.ring, after, carol.guard), 'UNKNOWN_KEY');
    // Messages from before the rotation still open during the grace window ...
    time.t = 59_999;
    equal(new TextDecoder().decode(openMessage(bob.ring, before, bob.guard).plaintext), 'before');
    // ... and not after it.
    const late = await sealMessage(carol.signer, carol.ring, utf8('late'));
    time.t = 60_000;
    throwsCode(() => openMessage(bob.ring, late, bob.guard), 'TOO_OLD');
  });

  it('seal from a bare SenderKey, advancing it', async () => {
    const alice = member();
    const key = createSenderKey('general', 0, alice.id.publicKey);
    const reader = member();
    reader.ring.install(copySenderKey(key));
    const sealed = await sealMessage(alice.signer, key, utf8('bare'));
    equal(key.iteration, 1);
    equal(openMessage(reader.ring, sealed, reader.guard).iteration, 0);
  });

  it('open the golden messages with the committed key', () => {
    const ring = new GroupKeyRing(vectors.channelId, fromHex(vectors.receiverPublicKey), {
      graceMs: 0,
      epoch: vectors.epoch,
    });
    ring.install(fromHex(vectors.senderKey));
    const guard = new ReplayGuard();
    for (const m of [...vectors.messages].reverse()) {
      const sealed = fromHex(m.sealed);
      const header = peekMessageHeader(sealed);
      equal(toHex(header.id), m.id);
      equal(header.iteration, m.iteration);
      equal(header.epoch, vectors.epoch);
      equal(header.channelId, vectors.channelId);
      equal(toHex(header.sender), vectors.senderPublicKey);
      equal(sealed.length, MESSAGE_OVERHEAD + vectors.channelId.length + m.plaintext.length / 2);
      const opened = openMessage(ring, sealed, guard);
      equal(toHex(opened.plaintext), m.plaintext);
    }
  });

  it('refuse unknown versions and malformed headers', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('x'));
    const v2 = sealed.slice();
    v2[0] = 2;
    throwsCode(() => peekMessageHeader(v2), 'BAD_VERSION');
    throwsCode(() => peekMessageHeader(new Uint8Array(0)), 'BAD_FORMAT');
    const noChannel = sealed.slice();
    noChannel[1 + MESSAGE_ID_LENGTH] = 0;
    throwsCode(() => peekMessageHeader(noChannel), 'BAD_FORMAT');
    const longChannel = concat(sealed, new Uint8Array(300));
    longChannel[1 + MESSAGE_ID_LENGTH] = 129;
    throwsCode(() => peekMessageHeader(longChannel), 'BAD_FORMAT');
    const notOnCurve = sealed.slice();
    notOnCurve[2 + MESSAGE_ID_LENGTH + 'general'.length + 8] = 0x04;
    throwsCode(() => peekMessageHeader(notOnCurve), 'BAD_FORMAT');
  });

  it('reject wrong inputs with labelled BAD_INPUT', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const labelled = async (fn: () => Promise<unknown> | unknown, label: string) => {
      const e = await rejectsCode(async () => fn(), 'BAD_INPUT', label);
      ok(e.message.includes(label), `${label}: ${e.message}`);
    };
    for (const bad of NOT_BYTES) {
      await labelled(() => sealMessage(alice.signer, alice.ring, bad as Uint8Array), 'plaintext');
      await labelled(() => openMessage(bob.ring, bad as Uint8Array, bob.guard), 'sealed');
      await labelled(() => peekMessageHeader(bad as Uint8Array), 'sealed');
    }
    for (const bad of [null, {}, { publicKey: alice.id.publicKey }, 'signer']) {
      await labelled(() => sealMessage(bad as never, alice.ring, utf8('x')), 'signer');
    }
    await labelled(() => sealMessage(bob.signer, alice.ring, utf8('x')), 'signer');
    await labelled(() => sealMessage(alice.signer, {} as never, utf8('x')), 'from');
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('x'));
    await labelled(() => openMessage({} as GroupKeyRing, sealed, bob.guard), 'ring');
    await labelled(() => openMessage(bob.ring, sealed, {} as ReplayGuard), 'guard');
    await labelled(() => sealMessage(alice.signer, alice.ring, new Uint8Array(2 ** 24 + 1)), 'plaintext');
  });
});

describe('verified messages (signature first, then open)', () => {
  const verifiers = [
    ['noble', async (sealed: Uint8Array) => verifyMessage(sealed)],
    ['WebCrypto', verifyMessageAsync],
  ] as const;

  it('open without a second signature check, and only the bytes that were verified', async () => {
    for (const [name, verify] of verifiers) {
      const alice = member();
      const bob = member();
      connect(alice, bob);
      const sealed = await sealMessage(alice.signer, alice.ring, utf8(`verified by ${name}`));
      const message = await verify(sealed);
      deepEqual({ ...message }, { ...peekMessageHeader(sealed) }, `${name}: the header`);
      sealed[sealed.length - SIGNATURE_LENGTH - 1]! ^= 1; // the caller's bytes change afterwards
      const opened = openMessage(bob.ring, message, bob.guard);
      equal(new TextDecoder().decode(opened.plaintext), `verified by ${name}`, name);
      throwsCode(() => openMessage(bob.ring, message, bob.guard), 'REPLAY', `${name}: a replay`);
      throwsCode(() => openMessage(bob.ring, message, new ReplayGuard()), 'TOO_OLD', `${name}: key used up`);
    }
  });

  it('agree between WebCrypto and noble on every flipped byte, cut, and odd signature', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('compare'));
    const signed = sealed.subarray(0, sealed.length - SIGNATURE_LENGTH);
    const r = sealed.subarray(sealed.length - SIGNATURE_LENGTH, sealed.length - 32);
    const s = BigInt(`0x${toHex(sealed.subarray(sealed.length - 32))}`);
    const cases: [string, Uint8Array, string][] = [
      ['as sealed', sealed, 'none'],
      ['high S (n − s)', concat(signed, r, scalar(N - s)), 'none'],
      ['zero r and s', concat(signed, new Uint8Array(64)), 'BAD_SIGNATURE'],
      ['r = 0', concat(signed, new Uint8Array(32), scalar(s)), 'BAD_SIGNATURE'],
      ['s = 0', concat(signed, r, new Uint8Array(32)), 'BAD_SIGNATURE'],
      ['s = n', concat(signed, r, scalar(N)), 'BAD_SIGNATURE'],
      ['r = n', concat(signed, scalar(N), scalar(s)), 'BAD_SIGNATURE'],
      ['all 0xff', concat(signed, new Uint8Array(64).fill(0xff)), 'BAD_SIGNATURE'],
    ];
    for (const [i, bad] of flipEachByte(sealed)) cases.push([`byte ${i} flipped`, bad, '']);
    for (const bad of truncations(sealed)) cases.push([`cut to ${bad.length}`, bad, '']);
    for (const [label, bytes, expected] of cases) {
      const noble = codeOf(() => verifyMessage(bytes));
      const web = await asyncCodeOf(() => verifyMessageAsync(bytes));
      equal(web, noble, `${label}: WebCrypto and noble`);
      if (expected !== '') equal(noble, expected, label);
      else ok(noble !== 'none', `${label} verified`);
    }
  });

  it('open the golden messages from verified tokens', async () => {
    const ring = new GroupKeyRing(vectors.channelId, fromHex(vectors.receiverPublicKey), {
      graceMs: 0,
      epoch: vectors.epoch,
    });
    ring.install(fromHex(vectors.senderKey));
    const guard = new ReplayGuard();
    const verified = await Promise.all(vectors.messages.map((m) => verifyMessageAsync(fromHex(m.sealed))));
    verified.forEach((message, i) => {
      equal(
        toHex(openMessage(ring, message, guard).plaintext),
        vectors.messages[i]!.plaintext,
        `message ${i}`,
      );
    });
  });

  it('refuse a token this module did not make, and wrong inputs to verify', async () => {
    const alice = member();
    const bob = member();
    connect(alice, bob);
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('x'));
    const real = await verifyMessageAsync(sealed);
    for (const fake of [{ ...peekMessageHeader(sealed) }, { ...real }, Object.freeze({ ...real })]) {
      const e = throwsCode(() => openMessage(bob.ring, fake as VerifiedMessage, bob.guard), 'BAD_INPUT');
      ok(e.message.includes('sealed'), e.message);
    }
    equal(bob.guard.size, 0, 'no fake took a replay slot');
    for (const bad of NOT_BYTES) {
      const e = throwsCode(() => verifyMessage(bad as Uint8Array), 'BAD_INPUT');
      ok(e.message.includes('sealed'), e.message);
      const f = await rejectsCode(verifyMessageAsync(bad as Uint8Array), 'BAD_INPUT');
      ok(f.message.includes('sealed'), f.message);
    }
    equal(new TextDecoder().decode(openMessage(bob.ring, real, bob.guard).plaintext), 'x');
  });

  it('verify with noble where crypto.subtle is missing', async () => {
    const alice = member();
    alice.ring.createMyKey();
    const sealed = await sealMessage(alice.signer, alice.ring, utf8('x'));
    const forged = sealed.slice();
    forged[forged.length - 1]! ^= 1;
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    ok(descriptor?.configurable, 'globalThis.crypto can be swapped for this test');
    const real = globalThis.crypto;
    Object.defineProperty(globalThis, 'crypto', {
      value: { getRandomValues: real.getRandomValues.bind(real) },
      configurable: true,
    });
    try {
      equal(globalThis.crypto.subtle, undefined, 'no subtle');
      equal((await verifyMessageAsync(sealed)).iteration, 0, 'a good signature');
      await rejectsCode(verifyMessageAsync(forged), 'BAD_SIGNATURE', 'a bad one');
    } finally {
      Object.defineProperty(globalThis, 'crypto', descriptor!);
    }
    ok(globalThis.crypto.subtle !== undefined, 'crypto.subtle is back');
  });
});
