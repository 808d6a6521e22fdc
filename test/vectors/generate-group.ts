/**
 * Prints the golden vectors of the group formats. Run by hand, never by tests:
 *
 *   node --import tsx test/vectors/generate-group.ts sender-key > test/vectors/sender-key.json
 *   node --import tsx test/vectors/generate-group.ts message > test/vectors/message.json
 *   node --import tsx test/vectors/generate-group.ts frame > test/vectors/frame.json
 *
 * Keys are SHA-256 of a label (as in generate.ts), so a rerun gives the same keys.
 * Sender keys, the ratchet and frames are deterministic and tests compare exact
 * bytes; sealed messages carry a random id and nonce, so their bytes change on every
 * run and tests open them instead. Regenerate only when a format change is intended.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { deriveFrameKey, FrameSealer } from '../../crypto/frame.ts';
import { identityFromSecretKey } from '../../crypto/identity.ts';
import { peekMessageHeader, sealMessage } from '../../crypto/message.ts';
import {
  copySenderKey,
  frameSecretOf,
  ratchetStep,
  type SenderKey,
  serializeSenderKey,
} from '../../crypto/sender-key.ts';
import { rawSigner } from '../../crypto/sign.ts';

const keyOf = (label: string) => identityFromSecretKey(sha256(utf8(`tincan test vector key ${label}`)));
const alice = keyOf('alice');
const bob = keyOf('bob');
const bytes = (label: string, length: number) => sha256(utf8(label)).slice(0, length);
const fill = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (seed + i * 7) & 0xff);

function senderKey(channelId: string, epoch: number, iteration: number, label: string, pub: Uint8Array): SenderKey {
  return { channelId, epoch, iteration, chainKey: bytes(label, 32), senderPublicKey: pub };
}

async function generate(format: string): Promise<unknown> {
  switch (format) {
    case 'sender-key': {
      const keys = [
        senderKey('general', 0, 0, 'sender key general', alice.publicKey),
        senderKey('c', 0xffffffff, 0xfffffffe, 'sender key c', bob.publicKey),
        senderKey('x'.repeat(128), 7, 1234, 'sender key long', alice.publicKey),
      ];
      const steps = [];
      let chainKey: Uint8Array = bytes('ratchet chain', 32);
      for (let i = 0; i < 4; i++) {
        const { messageKey, nextChainKey } = ratchetStep(chainKey);
        steps.push({ iteration: i, chainKey: toHex(chainKey), messageKey: toHex(messageKey) });
        chainKey = nextChainKey;
      }
      return {
        description:
          'serializeSenderKey (0x01 ‖ epoch u32 ‖ iteration u32 ‖ chain key 32 ‖ sender pub 33 ‖ channel id), the HMAC-SHA256 ratchet and frameSecretOf (crypto/sender-key.ts)',
        keys: keys.map((k) => ({
          channelId: k.channelId,
          epoch: k.epoch,
          iteration: k.iteration,
          chainKey: toHex(k.chainKey),
          senderPublicKey: toHex(k.senderPublicKey),
          serialized: toHex(serializeSenderKey(k)),
        })),
        ratchet: { steps },
        frameSecret: {
          chainKey: toHex(keys[0]!.chainKey),
          secret: toHex(frameSecretOf(keys[0]!)),
        },
      };
    }
    case 'message': {
      const key = senderKey('general', 3, 5, 'message chain', alice.publicKey);
      const distributed = serializeSenderKey(key);
      const signer = rawSigner(alice.secretKey);
      const plaintexts = [utf8('hello, channel'), new Uint8Array(0), fill(200, 3)];
      const messages = [];
      const sending = copySenderKey(key);
      for (const plaintext of plaintexts) {
        const sealed = await sealMessage(signer, sending, plaintext);
        const h = peekMessageHeader(sealed);
        messages.push({
          id: toHex(h.id),
          iteration: h.iteration,
          plaintext: toHex(plaintext),
          sealed: toHex(sealed),
        });
      }
      return {
        description:
          'sealMessage output from a fixed sender key (random id and nonce): tests install senderKey and open each sealed message (crypto/message.ts)',
        senderSecretKey: toHex(alice.secretKey),
        senderPublicKey: toHex(alice.publicKey),
        receiverPublicKey: toHex(bob.publicKey),
        channelId: key.channelId,
        epoch: key.epoch,
        senderKey: toHex(distributed),
        messages,
      };
    }
    case 'frame': {
      const secret = bytes('frame secret', 32);
      const keyId = 5;
      const { key, salt } = deriveFrameKey(secret, alice.publicKey, keyId);
      const toc = new FrameSealer(secret, alice.publicKey, keyId);
      const plain = new FrameSealer(secret, alice.publicKey, keyId, { clearToc: false });
      const cases = [];
      for (const [counter, length] of [
        [0, 1],
        [1, 80],
        [127, 120],
        [128, 130],
        [16383, 16],
        [16384, 17],
        [2097152, 3],
        [0xffffffff, 100],
      ] as const) {
        const payload = fill(length, counter & 0xff);
        cases.push({ counter, clearToc: true, payload: toHex(payload), frame: toHex(toc.seal(payload, counter)) });
      }
      for (const [counter, length] of [
        [0, 0],
        [200, 100],
      ] as const) {
        const payload = fill(length, 9);
        cases.push({ counter, clearToc: false, payload: toHex(payload), frame: toHex(plain.seal(payload, counter)) });
      }
      return {
        description:
          'FrameSealer output (deterministic): config ‖ key id (LEB128) ‖ counter (LEB128) ‖ [TOC] ‖ AES-128-GCM ciphertext ‖ tag (crypto/frame.ts)',
        secret: toHex(secret),
        senderPublicKey: toHex(alice.publicKey),
        keyId,
        key: toHex(key),
        salt: toHex(salt),
        cases,
      };
    }
    default:
      throw new Error(`unknown format ${JSON.stringify(format)}: sender-key, message or frame`);
  }
}

const format = process.argv[2] ?? '';
process.stdout.write(`${JSON.stringify(await generate(format), null, 2)}\n`);
