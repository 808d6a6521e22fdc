/**
 * Which key seals and opens relay voice frames (crypto/frame.ts) in one voice
 * channel. Every member derives each sender's frame secret from that sender's key
 * of the channel at an epoch (KeyManager.frameSecret), so the relay, which holds no
 * channel key, sees only ciphertext.
 *
 * A sealer takes a fresh random key id: the frame key is derived from (secret,
 * sender, key id) and counters start at 0, so a reload or a second call at the same
 * epoch must not reuse a key id, or nonces would repeat. A receiver that meets a new
 * key id from a sender finds its epoch by trying the sender's secrets of the
 * current and the previous epoch on that frame (GCM tells which one, if any);
 * new key ids are rate-limited per sender, so junk ids cost little.
 */
import { fromBase64url } from '../../../crypto/bytes.ts';
import { CryptoError } from '../../../crypto/errors.ts';
import {
  FrameOpener,
  FrameReceiver,
  FrameSealer,
  MAX_KEY_ID,
  type OpenedFrame,
  peekFrameHeader,
} from '../../../crypto/frame.ts';
import { TokenBucket } from '../../../protocol/rate-limit.ts';

/** The channel's frame secrets as this member holds them. */
export interface FrameSecrets {
  /** The current key epoch of the server. */
  epoch(): number;
  /** `userId`'s frame secret at `epoch`; undefined while their key is not held. */
  secret(userId: string, epoch: number): Uint8Array | undefined;
  /** No key of `userId` opened their frames: ask for it (rate-limited by the caller). */
  missing?(userId: string, epoch: number): void;
}

/** New key ids tried per sender: a burst, then this many per second. */
const NEW_KEY_IDS = { perSecond: 2, burst: 4 };

function randomKeyId(): number {
  const [id] = crypto.getRandomValues(new Uint32Array(1));
  return (id ?? 1) % MAX_KEY_ID || 1;
}

/** A sealer for my frames at the current epoch, under a fresh key id (undefined while my key is not made). */
export function frameSealerFor(secrets: FrameSecrets, userId: string): FrameSealer | undefined {
  const epoch = secrets.epoch();
  const secret = secrets.secret(userId, epoch);
  return secret && new FrameSealer(secret, fromBase64url(userId), randomKeyId());
}

/** Opens one sender's frames, learning each key id it uses. */
export class SenderFrames {
  private readonly receiver = new FrameReceiver();
  private readonly bucket: TokenBucket;
  private readonly publicKey: Uint8Array;

  constructor(
    readonly userId: string,
    private readonly secrets: FrameSecrets,
    private readonly now: () => number = Date.now,
  ) {
    this.publicKey = fromBase64url(userId);
    this.bucket = new TokenBucket(NEW_KEY_IDS.perSecond, NEW_KEY_IDS.burst, now());
  }

  /** Opens `frame` (a copy); throws CryptoError: UNKNOWN_KEY when no held key opens it, or the opener's code. */
  open(frame: Uint8Array): OpenedFrame {
    const { keyId } = peekFrameHeader(frame);
    if (!this.receiver.has(keyId)) this.learn(keyId, frame);
    return this.receiver.open(frame);
  }

  private learn(keyId: number, frame: Uint8Array): void {
    if (!this.bucket.take(this.now()))
      throw new CryptoError('UNKNOWN_KEY', `too many new key ids from ${this.userId}`);
    const current = this.secrets.epoch();
    for (const epoch of [current, current - 1]) {
      if (epoch < 0) continue;
      const secret = this.secrets.secret(this.userId, epoch);
      if (!secret) continue;
      try {
        new FrameOpener(secret, this.publicKey, keyId).open(frame);
      } catch {
        continue;
      }
      this.receiver.add(keyId, secret, this.publicKey);
      return;
    }
    this.secrets.missing?.(this.userId, current);
    throw new CryptoError('UNKNOWN_KEY', `no key of ${this.userId} opens key id ${keyId}`);
  }
}

/**
 * The state kept for the sender in a relay slot, made by `make` on its first frame;
 * a slot the relay has given to another user (after GONE) is dropped and starts over.
 */
export function slotSender<T extends { readonly userId: string }>(
  senders: Map<number, T>,
  slot: number,
  userId: string,
  make: () => T,
  drop: (slot: number) => void,
): T {
  const held = senders.get(slot);
  if (held?.userId === userId) return held;
  if (held) drop(slot);
  const made = make();
  senders.set(slot, made);
  return made;
}
