/**
 * Crypto figures: voice-frame seal+open throughput (goal: ≥ 100,000 frames/s per
 * core in Node) against raw AEADs, and message seal/open latency (200 bytes,
 * signature included) against the bare ECDSA operation that dominates it.
 *
 *   npm run bench -- crypto
 */
import { gcm } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { AesGcmKey } from '../crypto/aes-gcm.ts';
import { utf8 } from '../crypto/bytes.ts';
import { FrameOpener, FrameSealer, MAX_FRAME_OVERHEAD } from '../crypto/frame.ts';
import { GroupKeyRing } from '../crypto/group-keys.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { openMessage, sealMessage } from '../crypto/message.ts';
import { ReplayGuard } from '../crypto/replay-guard.ts';
import { rawSigner } from '../crypto/sign.ts';
import { encodeStatement } from '../crypto/statement.ts';
import {
  type Figure,
  figure,
  interleave,
  interleaveAsync,
  latencies,
  perCpuSecond,
  percentile,
} from './figure.ts';

const FRAME_MS = 3000;
const CPU_MS = 1000;
const MESSAGE_MS = 1500;
/** A typical 20 ms Opus packet at ~44 kbit/s. */
const OPUS = Uint8Array.from({ length: 110 }, (_, i) => (i === 0 ? 0x78 : (i * 31) & 0xff));

export default async function cryptoBench(log: (line: string) => void = () => {}): Promise<Figure[]> {
  log(
    'frames: alternating batches for 3 s, median batch rate; per CPU-second: each alone for 1 s, calls / main-thread CPU time',
  );
  return [...(await frames()), ...(await framesVsWebCrypto()), ...(await messages())];
}

async function frames(): Promise<Figure[]> {
  const sender = generateIdentity().publicKey;
  const secret = sha256(utf8('bench frame secret'));
  const sealer = new FrameSealer(secret, sender, 1);
  const opener = new FrameOpener(secret, sender, 1);
  const fresh = () => {
    opener.open(sealer.seal(OPUS));
  };
  const zSealer = new FrameSealer(secret, sender, 2);
  const zOpener = new FrameOpener(secret, sender, 2);
  const out = new Uint8Array(OPUS.length + MAX_FRAME_OVERHEAD);
  const zeroCopy = () => {
    zOpener.openInPlace(zSealer.sealInto(OPUS, out));
  };
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  let n = 0;
  const next = () => {
    n = (n + 1) >>> 0;
    view.setUint32(8, n);
    return nonce;
  };
  // The bare AEAD on the same layout (3-byte header as AAD, 110 B, tag), in place.
  const buffer = new Uint8Array(3 + OPUS.length + 16);
  const rawAead = (key: AesGcmKey) => () => {
    const iv = next();
    buffer.set(OPUS, 3);
    key.sealInPlace(iv, buffer, 3);
    key.openTo(iv, buffer, 3, buffer, 3);
  };
  const key128 = secret.subarray(0, 16);
  const aad = new Uint8Array(3);
  const nobleGcm = () => {
    const iv = next();
    gcm(key128, iv, aad).decrypt(gcm(key128, iv, aad).encrypt(OPUS));
  };
  const raw128 = rawAead(new AesGcmKey(key128));
  const raw256 = rawAead(new AesGcmKey(secret));
  // Per core first, each alone (main-thread CPU time), before noble's garbage is about.
  const cpu = {
    fresh: await perCpuSecond(fresh, CPU_MS),
    zero: await perCpuSecond(zeroCopy, CPU_MS),
    raw: await perCpuSecond(raw128, CPU_MS),
    noble: 0,
  };
  const [ours, zero, r128, r256, noble] = interleave([fresh, zeroCopy, raw128, raw256, nobleGcm], FRAME_MS);
  cpu.noble = await perCpuSecond(nobleGcm, CPU_MS / 2, 200);
  const name = 'frame seal+open, AES-128-GCM, 110 B Opus';
  const zName = 'frame sealInto+openInPlace, AES-128-GCM, 110 B Opus';
  return [
    figure(
      `${name} (median)`,
      ours!.median,
      'frames/s',
      'noble gcm() seal+open, no header/replay',
      noble!.median,
    ),
    figure(`${name} (per CPU-second)`, cpu.fresh, 'frames/s/core', 'noble gcm(), per CPU-second', cpu.noble),
    figure(
      `${zName} (median)`,
      zero!.median,
      'frames/s',
      'prepared AES-128-GCM in place, no header/replay',
      r128!.median,
    ),
    figure(`${zName} (per CPU-second)`, cpu.zero, 'frames/s/core', 'the same, per CPU-second', cpu.raw),
    figure(
      'prepared AES-256-GCM in place, 110 B (median)',
      r256!.median,
      'frames/s',
      'the same with AES-128',
      r128!.median,
    ),
  ];
}

/** Our synchronous frames against WebCrypto's AES-128-GCM (async, raw, awaited one by one). */
async function framesVsWebCrypto(): Promise<Figure[]> {
  const sender = generateIdentity().publicKey;
  const secret = sha256(utf8('bench frame secret webcrypto'));
  const sealer = new FrameSealer(secret, sender, 1);
  const opener = new FrameOpener(secret, sender, 1);
  const key = await crypto.subtle.importKey(
    'raw',
    secret.slice(0, 16) as Uint8Array<ArrayBuffer>,
    'AES-GCM',
    false,
    ['encrypt', 'decrypt'],
  );
  const aad = new Uint8Array(3);
  let n = 0;
  const [ours, web] = await interleaveAsync(
    [
      async () => {
        opener.open(sealer.seal(OPUS));
      },
      async () => {
        const iv = new Uint8Array(12);
        new DataView(iv.buffer).setUint32(8, n++);
        const params = { name: 'AES-GCM', iv, additionalData: aad };
        await crypto.subtle.decrypt(params, key, await crypto.subtle.encrypt(params, key, OPUS));
      },
    ],
    FRAME_MS / 2,
  );
  return [
    figure(
      'frame seal+open, AES-128-GCM, 110 B Opus (median rate)',
      ours!,
      'frames/s',
      'WebCrypto AES-128-GCM seal+open, awaited',
      web!,
    ),
  ];
}

/** p50/p99 latency of sealMessage / openMessage (200 B) against a bare ECDSA sign / verify. */
async function messages(): Promise<Figure[]> {
  const alice = generateIdentity();
  const bob = generateIdentity();
  const signer = rawSigner(alice.secretKey);
  const ringA = new GroupKeyRing('bench', alice.publicKey, { graceMs: 0 });
  const ringB = new GroupKeyRing('bench', bob.publicKey, { graceMs: 0 });
  ringB.install(ringA.createMyKey());
  const plaintext = Uint8Array.from({ length: 200 }, (_, i) => i & 0xff);
  const sealed: Uint8Array[] = [];
  const seal = await latencies(async () => {
    sealed.push(await sealMessage(signer, ringA, plaintext));
  }, MESSAGE_MS);
  const statement = encodeStatement('tincan/message/v1', [new Uint8Array(plaintext.length + 140)]);
  const sign = await latencies(() => p256.sign(statement, alice.secretKey), MESSAGE_MS / 2);
  const guard = new ReplayGuard();
  const open = sealed.map((m) => {
    const t0 = performance.now();
    openMessage(ringB, m, guard);
    return (performance.now() - t0) * 1000;
  });
  const signature = p256.sign(statement, alice.secretKey);
  const verify = await latencies(
    () => p256.verify(signature, statement, alice.publicKey, { lowS: false }),
    MESSAGE_MS / 2,
  );
  const pick = (xs: number[], p: number) => percentile(xs, p);
  return [
    figure('message seal, 200 B, p50', pick(seal, 50), 'µs', 'ECDSA P-256 sign alone, p50', pick(sign, 50)),
    figure('message seal, 200 B, p99', pick(seal, 99), 'µs', 'ECDSA P-256 sign alone, p99', pick(sign, 99)),
    figure(
      'message open, 200 B, p50',
      pick(open, 50),
      'µs',
      'ECDSA P-256 verify alone, p50',
      pick(verify, 50),
    ),
    figure(
      'message open, 200 B, p99',
      pick(open, 99),
      'µs',
      'ECDSA P-256 verify alone, p99',
      pick(verify, 99),
    ),
  ];
}
