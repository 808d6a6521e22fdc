import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { deepEqual, equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { flipEachByte, NOT_BYTES, truncations } from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/frame.json' with { type: 'json' };
import { concat, fromHex, toHex, utf8 } from './bytes.ts';
import {
  deriveFrameKey,
  FrameOpener,
  FrameReceiver,
  FrameSealer,
  MAX_COUNTER,
  MAX_FRAME_PAYLOAD,
  peekFrameHeader,
} from './frame.ts';
import { GroupKeyRing } from './group-keys.ts';
import { generateIdentity } from './identity.ts';

const alice = generateIdentity().publicKey;
const bob = generateIdentity().publicKey;
const secret = sha256(utf8('frame test secret'));
/** An Opus-like packet: a TOC byte, then `length − 1` bytes. */
const opus = (length: number, seed = 1) =>
  Uint8Array.from({ length }, (_, i) => (i === 0 ? 0x78 : seed + i * 13));

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (error) {
    return String((error as { code?: unknown }).code ?? error);
  }
}

describe('voice frames', () => {
  it('round-trip Opus packets with the TOC in clear and 19 bytes of overhead', () => {
    const sealer = new FrameSealer(secret, alice, 7);
    const opener = new FrameOpener(secret, alice, 7);
    for (const length of [1, 2, 80, 100, 130, 1275]) {
      const payload = opus(length);
      const frame = sealer.seal(payload);
      equal(frame.length - payload.length, 19, `overhead at ${length} bytes`);
      equal(frame[0], 0x11);
      equal(frame[3], 0x78, 'the TOC follows the header in clear');
      const opened = opener.open(frame);
      equal(toHex(opened.payload), toHex(payload));
      equal(opened.keyId, 7);
    }
    equal(sealer.nextCounter, 6);
  });

  it('round-trip without a clear byte when asked', () => {
    const sealer = new FrameSealer(secret, alice, 0, { clearToc: false });
    const opener = new FrameOpener(secret, alice, 0);
    for (const payload of [new Uint8Array(0), opus(90)]) {
      const frame = sealer.seal(payload);
      equal(frame[0], 0x10);
      deepEqual(opener.open(frame).payload, payload);
    }
  });

  it('stay within 23 bytes of overhead for every key id and counter', () => {
    for (const [keyId, counter, overhead] of [
      [0, 127, 19],
      [127, 128, 20],
      [128, 16383, 21],
      [5, 16384, 21],
      [5, 2 ** 21, 22],
      [5, 2 ** 28, 23],
      [5, MAX_COUNTER, 23],
      [2 ** 32 - 1, MAX_COUNTER, 27],
    ] as const) {
      const frame = new FrameSealer(secret, alice, keyId).seal(opus(100), counter);
      equal(frame.length - 100, overhead, `key id ${keyId}, counter ${counter}`);
      const h = peekFrameHeader(frame);
      equal(h.keyId, keyId);
      equal(h.counter, counter);
      deepEqual(new FrameOpener(secret, alice, keyId).open(frame).payload, opus(100));
    }
  });

  it('match the golden frames byte for byte, and the AEAD independently', () => {
    const senderPublicKey = fromHex(vectors.senderPublicKey);
    const vSecret = fromHex(vectors.secret);
    const { key, salt } = deriveFrameKey(vSecret, senderPublicKey, vectors.keyId);
    equal(toHex(key), vectors.key);
    equal(toHex(salt), vectors.salt);
    const info = (what: string) => utf8(`tincan/frame/v1 aes-128-gcm ${what} ${vectors.keyId}`);
    equal(toHex(hkdf(sha256, vSecret, senderPublicKey, info('key'), 16)), vectors.key);
    equal(toHex(hkdf(sha256, vSecret, senderPublicKey, info('salt'), 12)), vectors.salt);
    const sealers = {
      toc: new FrameSealer(vSecret, senderPublicKey, vectors.keyId),
      plain: new FrameSealer(vSecret, senderPublicKey, vectors.keyId, { clearToc: false }),
    };
    const openers = {
      toc: new FrameOpener(vSecret, senderPublicKey, vectors.keyId),
      plain: new FrameOpener(vSecret, senderPublicKey, vectors.keyId),
    };
    for (const c of vectors.cases) {
      const which = c.clearToc ? 'toc' : 'plain';
      const payload = fromHex(c.payload);
      const frame = sealers[which].seal(payload, c.counter);
      equal(toHex(frame), c.frame, `counter ${c.counter}`);
      equal(toHex(openers[which].open(fromHex(c.frame)).payload), c.payload);
      // The AEAD part, by noble's own gcm: nonce = salt XOR counter, AAD = header ‖ TOC.
      const h = peekFrameHeader(frame);
      const nonce = salt.slice();
      for (let i = 0; i < 4; i++) nonce[11 - i]! ^= Math.floor(c.counter / 256 ** i) & 0xff;
      const clear = c.clearToc ? 1 : 0;
      const aad = frame.subarray(0, h.aadLength);
      equal(toHex(frame.subarray(h.aadLength)), toHex(gcm(key, nonce, aad).encrypt(payload.subarray(clear))));
    }
  });

  it('refuse to seal a counter twice (NONCE_REUSE)', () => {
    const sealer = new FrameSealer(secret, alice, 1);
    sealer.seal(opus(10), 5);
    throwsCode(() => sealer.seal(opus(10), 5), 'NONCE_REUSE');
    throwsCode(() => sealer.seal(opus(10), 0), 'NONCE_REUSE');
    equal(peekFrameHeader(sealer.seal(opus(10))).counter, 6);
    sealer.seal(opus(10), MAX_COUNTER);
    throwsCode(() => sealer.seal(opus(10)), 'NONCE_REUSE');
    const fresh = new FrameSealer(secret, alice, 1);
    throwsCode(() => fresh.seal(opus(10), MAX_COUNTER + 1), 'NONCE_REUSE');
  });

  it('tolerate loss and reordering within the window; refuse replays and too-old frames', () => {
    const sealer = new FrameSealer(secret, alice, 3);
    const opener = new FrameOpener(secret, alice, 3);
    const frames = Array.from({ length: 300 }, (_, i) => sealer.seal(opus(20, i)));
    for (const i of [0, 2, 1, 10, 5, 200, 150, 73]) equal(opener.open(frames[i]!).counter, i);
    for (const i of [200, 150, 73]) throwsCode(() => opener.open(frames[i]!), 'REPLAY', `frame ${i}`);
    for (const i of [0, 10, 72])
      throwsCode(() => opener.open(frames[i]!), 'TOO_OLD', `frame ${i} is 128+ below 200`);
    equal(opener.open(frames[73 + 1]!).counter, 74);
    equal(opener.open(frames[299]!).counter, 299);
    throwsCode(() => opener.open(frames[171]!), 'TOO_OLD');
    equal(opener.open(frames[172]!).counter, 172);
    const wide = new FrameOpener(secret, alice, 3, { window: 256 });
    wide.open(frames[299]!);
    equal(wide.open(frames[50]!).counter, 50);
  });

  it('never open with any byte flipped or cut, and keep the replay window unmoved', () => {
    const sealer = new FrameSealer(secret, alice, 9);
    const opener = new FrameOpener(secret, alice, 9);
    const receiver = new FrameReceiver();
    receiver.add(9, secret, alice);
    const frame = sealer.seal(opus(100), 300);
    const codes = new Set<string>();
    for (const mask of [0x01, 0x40, 0x80]) {
      for (const [i, bad] of flipEachByte(frame, mask)) {
        for (const o of [opener, receiver]) {
          const code = codeOf(() => o.open(bad));
          ok(code !== 'none', `byte ${i} ^ ${mask} opened`);
          codes.add(code);
        }
      }
    }
    for (const bad of truncations(frame)) ok(codeOf(() => opener.open(bad)) !== 'none');
    ok(codeOf(() => opener.open(concat(frame, new Uint8Array(1)))) !== 'none');
    for (const code of codes) {
      ok(['BAD_VERSION', 'BAD_FORMAT', 'UNKNOWN_KEY', 'DECRYPT_FAILED'].includes(code), code);
    }
    // No forged counter moved the window: an older genuine frame still opens.
    equal(opener.open(sealerAt(172)).counter, 172);
    equal(opener.open(frame).counter, 300);

    function sealerAt(counter: number): Uint8Array {
      return new FrameSealer(secret, alice, 9).seal(opus(100), counter);
    }
  });

  it('refuse unknown key ids, other senders and other secrets', () => {
    const frame = new FrameSealer(secret, alice, 4).seal(opus(50));
    throwsCode(() => new FrameOpener(secret, alice, 5).open(frame), 'UNKNOWN_KEY');
    throwsCode(() => new FrameOpener(secret, bob, 4).open(frame), 'DECRYPT_FAILED');
    throwsCode(() => new FrameOpener(sha256(utf8('other')), alice, 4).open(frame), 'DECRYPT_FAILED');
    const receiver = new FrameReceiver();
    throwsCode(() => receiver.open(frame), 'UNKNOWN_KEY');
    receiver.add(4, secret, alice);
    ok(receiver.has(4));
    equal(receiver.open(frame).keyId, 4);
    ok(receiver.remove(4));
    throwsCode(() => receiver.open(frame), 'UNKNOWN_KEY');
  });

  it('refuse other versions, reserved flags and non-shortest integers', () => {
    const frame = new FrameSealer(secret, alice, 5).seal(opus(30), 1);
    for (const config of [0x01, 0x21, 0xf1, 0x00]) {
      throwsCode(() => peekFrameHeader(concat(Uint8Array.of(config), frame.subarray(1))), 'BAD_VERSION');
    }
    for (const config of [0x13, 0x15, 0x19, 0x12]) {
      throwsCode(() => peekFrameHeader(concat(Uint8Array.of(config), frame.subarray(1))), 'BAD_FORMAT');
    }
    const tail = frame.subarray(3);
    // key id 5 as 0x85 0x00, counter 1 as 0x81 0x00: same values, longer spellings.
    throwsCode(() => peekFrameHeader(concat(Uint8Array.of(0x11, 0x85, 0x00, 0x01), tail)), 'BAD_FORMAT');
    throwsCode(() => peekFrameHeader(concat(Uint8Array.of(0x11, 0x05, 0x81, 0x00), tail)), 'BAD_FORMAT');
    // Six continuation bytes, and a value of 2^32.
    throwsCode(
      () => peekFrameHeader(concat(Uint8Array.of(0x11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), tail)),
      'BAD_FORMAT',
    );
    throwsCode(
      () => peekFrameHeader(concat(Uint8Array.of(0x11, 0x80, 0x80, 0x80, 0x80, 0x10), tail)),
      'BAD_FORMAT',
    );
    throwsCode(() => peekFrameHeader(new Uint8Array(0)), 'BAD_FORMAT');
    throwsCode(() => peekFrameHeader(frame.subarray(0, 3 + 16)), 'BAD_FORMAT');
  });

  it('take their secret from the group key ring', () => {
    const ringA = new GroupKeyRing('voice', alice, { graceMs: 0 });
    const ringB = new GroupKeyRing('voice', bob, { graceMs: 0 });
    ringB.install(ringA.createMyKey());
    const sealer = new FrameSealer(ringA.frameSecret(alice, 0), alice, 1);
    const receiver = new FrameReceiver();
    receiver.add(1, ringB.frameSecret(alice, 0), alice);
    deepEqual(receiver.open(sealer.seal(opus(120))).payload, opus(120));
  });

  it('reject wrong inputs with labelled BAD_INPUT', () => {
    const labelled = (fn: () => unknown, label: string) =>
      ok(throwsCode(fn, 'BAD_INPUT', label).message.includes(label), label);
    for (const bad of [...NOT_BYTES, new Uint8Array(31), new Uint8Array(33)]) {
      labelled(() => new FrameSealer(bad as Uint8Array, alice, 0), 'secret');
      labelled(() => new FrameOpener(bad as Uint8Array, alice, 0), 'secret');
      labelled(() => new FrameReceiver().add(0, bad as Uint8Array, alice), 'secret');
    }
    for (const bad of [...NOT_BYTES, new Uint8Array(32), new Uint8Array(33)]) {
      labelled(() => new FrameSealer(secret, bad as Uint8Array, 0), 'senderPublicKey');
      labelled(() => new FrameOpener(secret, bad as Uint8Array, 0), 'senderPublicKey');
    }
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN, '1']) {
      labelled(() => new FrameSealer(secret, alice, bad as number), 'keyId');
      labelled(() => new FrameOpener(secret, alice, bad as number), 'keyId');
      labelled(() => new FrameReceiver().remove(bad as number), 'keyId');
    }
    const sealer = new FrameSealer(secret, alice, 0);
    for (const bad of NOT_BYTES) {
      labelled(() => sealer.seal(bad as Uint8Array), 'payload');
      labelled(() => new FrameOpener(secret, alice, 0).open(bad as Uint8Array), 'frame');
      labelled(() => peekFrameHeader(bad as Uint8Array), 'frame');
    }
    labelled(() => sealer.seal(new Uint8Array(MAX_FRAME_PAYLOAD + 1)), 'payload');
    labelled(() => sealer.seal(new Uint8Array(0)), 'payload');
    for (const bad of [-1, 1.5, Number.NaN, '3'])
      labelled(() => sealer.seal(opus(3), bad as number), 'counter');
    labelled(() => new FrameSealer(secret, alice, 0, { clearToc: 1 as unknown as boolean }), 'clearToc');
    for (const bad of [0, 100, 31, 1.5]) {
      labelled(() => new FrameOpener(secret, alice, 0, { window: bad }), 'size');
      labelled(() => new FrameReceiver({ window: bad }), 'size');
    }
  });
});
