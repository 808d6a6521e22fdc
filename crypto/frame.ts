/**
 * Voice frames sealed end to end for the relay path, after SFrame (RFC 9605) in a
 * compact format of our own: one Opus packet in, one sealed frame out, synchronous.
 *
 *   frame  = header ‖ clear ‖ ciphertext ‖ tag (16)
 *   header = config (u8) ‖ key id (LEB128, 1–5 bytes) ‖ counter (LEB128, 1–5 bytes)
 *   config = 0x10 | flags: version 1 in the high nibble. Flag 0x01: `clear` is the
 *            payload's first byte, the Opus TOC (RFC 6716 §3.1), left readable for the
 *            relay; flags 0x02–0x08 are reserved and must be 0. Without 0x01, `clear` is empty.
 *   AEAD   = AES-128-GCM (aes-gcm.ts), AAD = header ‖ clear: the TOC stays clear but
 *            cannot be changed (livekit's habit), nor can the key id or counter.
 *   nonce  = salt XOR counter, as a 12-byte big-endian integer (RFC 9605 §4.4.3)
 *   key, salt = HKDF-SHA256(ikm = the sender's frame secret, salt = sender public key,
 *            info = "tincan/frame/v1 aes-128-gcm key|salt " ‖ key id) — RFC 9605 §4.4.2
 *            binds the KID into the labels the same way.
 *
 * API: `FrameSealer.seal` / `FrameOpener.open` return new arrays; on the hot path
 * `sealInto` (one reused output buffer per sender) and `openInPlace` (decrypt inside
 * the received buffer) allocate nothing, which matters more than the cipher: a fresh
 * 130-byte Uint8Array costs as much as a third of the AES-GCM work in V8.
 *
 * LEB128 is unsigned, little-endian base 128 (as in WebAssembly and protobuf), in its
 * shortest form only: one value, one spelling. Overhead with a key id below 128: 19
 * bytes while the counter is below 128, 20 up to 16 383 (5.5 min at 50 frames/s), 21
 * up to 2^21 (11.6 h), at most 23; `MAX_FRAME_OVERHEAD` (27) covers any key id.
 *
 * - Key ids: the caller's (a sender slot, an epoch); one key id per sealer. The
 *   frame secret comes from the sender's key for the epoch (group-keys.ts `frameSecret`).
 * - Nonce reuse: a sealer never seals two frames with one counter (`NONCE_REUSE`),
 *   but cannot see other sealers. Never create two sealers for the same secret and
 *   key id — not after a reload either: give each voice session a fresh key id (or a
 *   fresh sender key). GCM with a repeated nonce leaks plaintext and the hash key.
 * - Replays: each opener keeps a sliding window (replay-window.ts, 128 frames by
 *   default) that tolerates loss and reordering, refuses a repeat (`REPLAY`) and a
 *   counter below the window (`TOO_OLD`), and moves only for authentic frames.
 * - The tag authenticates the group, not the sender: every member holding a
 *   sender's frame secret could forge its frames (RFC 9605 §9, "No Per-Sender
 *   Authentication"). Signing 50 frames a second per speaker is beyond budget; text
 *   messages are signed (message.ts).
 * - AES-128 rather than AES-256: with the prepared key of aes-gcm.ts the block cipher
 *   is about a third of the work, so AES-256 costs only 2–18% more here (the bench
 *   prints both); 128 keeps that margin, frame keys live for one epoch, and
 *   AES_128_GCM_SHA256_128 (0x0004) is SFrame's own suite. noble's one-shot `gcm()`
 *   manages ~10k frames/s here, WebCrypto's async AES-GCM ~11–20k (bench/crypto.bench.ts).
 */
import { AesGcmKey, GCM_TAG_LENGTH } from './aes-gcm.ts';
import { abytes, aint } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { assertPublicKey } from './identity.ts';
import { deriveKey } from './kdf.ts';
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from './replay-window.ts';

export const FRAME_VERSION = 1;
export const FRAME_KEY_LENGTH = 16;
export const FRAME_SALT_LENGTH = 12;
export const FRAME_SECRET_LENGTH = 32;
export const MAX_KEY_ID = 0xffffffff;
export const MAX_COUNTER = 0xffffffff;
/** Largest payload accepted (an Opus packet is at most 1275 bytes, RFC 6716 §3.2.1). */
export const MAX_FRAME_PAYLOAD = 4096;
export const FLAG_CLEAR_TOC = 0x01;
const CONFIG_VERSION = FRAME_VERSION << 4;
const SUITE = 'aes-128-gcm';

export interface FrameHeader {
  readonly version: number;
  /** True when the payload's first byte (Opus TOC) travels in clear. */
  readonly clearToc: boolean;
  readonly keyId: number;
  readonly counter: number;
  /** Bytes before the ciphertext: header and clear byte, all of it AAD. */
  readonly aadLength: number;
}

export interface OpenedFrame {
  readonly keyId: number;
  readonly counter: number;
  /** The payload as sealed: clear TOC (if any) followed by the decrypted rest. */
  readonly payload: Uint8Array;
}

/** The most a frame adds to its payload: config, 5-byte key id and counter, tag. */
export const MAX_FRAME_OVERHEAD = 1 + 5 + 5 + GCM_TAG_LENGTH;

/** Frame key and salt for one sender and key id (see the header). */
export function deriveFrameKey(
  secret: Uint8Array,
  senderPublicKey: Uint8Array,
  keyId: number,
): { key: Uint8Array; salt: Uint8Array } {
  abytes(secret, FRAME_SECRET_LENGTH, 'secret');
  assertPublicKey(senderPublicKey, 'senderPublicKey');
  aint(keyId, 0, MAX_KEY_ID, 'keyId');
  return {
    key: deriveKey(secret, senderPublicKey, `tincan/frame/v1 ${SUITE} key ${keyId}`, FRAME_KEY_LENGTH),
    salt: deriveKey(secret, senderPublicKey, `tincan/frame/v1 ${SUITE} salt ${keyId}`, FRAME_SALT_LENGTH),
  };
}

export interface FrameSealerOptions {
  /** Leave the payload's first byte (Opus TOC) in clear, bound as AAD. Default true. */
  readonly clearToc?: boolean;
}

/** Seals one sender's frames under one key id, each with a fresh counter. */
export class FrameSealer {
  readonly keyId: number;
  readonly clearToc: boolean;
  private readonly _gcm: AesGcmKey;
  private readonly _salt: Uint8Array;
  private readonly _nonce = new Uint8Array(FRAME_SALT_LENGTH);
  private _next = 0;

  constructor(
    secret: Uint8Array,
    senderPublicKey: Uint8Array,
    keyId: number,
    options: FrameSealerOptions = {},
  ) {
    const { key, salt } = deriveFrameKey(secret, senderPublicKey, keyId);
    if (options.clearToc !== undefined && typeof options.clearToc !== 'boolean') {
      throw new CryptoError('BAD_INPUT', 'options.clearToc must be a boolean');
    }
    this.keyId = keyId;
    this.clearToc = options.clearToc ?? true;
    this._gcm = new AesGcmKey(key);
    key.fill(0);
    this._salt = salt;
  }

  /** The counter the next `seal` uses unless told otherwise. */
  get nextCounter(): number {
    return this._next;
  }

  /**
   * Seals `payload` into a new array with `counter` (default: the next one).
   * Counters only go up: one at or below a counter already used is `NONCE_REUSE`,
   * as is running out.
   */
  seal(payload: Uint8Array, counter: number = this._next): Uint8Array {
    const headerLength = this._check(payload, counter);
    const out = new Uint8Array(headerLength + payload.length + GCM_TAG_LENGTH);
    this._sealTo(payload, counter, out, headerLength);
    return out;
  }

  /**
   * Like `seal`, writing into `out` (at least payload + MAX_FRAME_OVERHEAD bytes)
   * and returning the view of it that holds the frame: with one reused buffer per
   * sender, sealing allocates nothing (send the view before the next call).
   */
  sealInto(payload: Uint8Array, out: Uint8Array, counter: number = this._next): Uint8Array {
    abytes(out, undefined, 'out');
    const headerLength = this._check(payload, counter);
    const length = headerLength + payload.length + GCM_TAG_LENGTH;
    if (out.length < length)
      throw new CryptoError('BAD_INPUT', `out must hold ${length} bytes, got ${out.length}`);
    const frame = out.subarray(0, length);
    this._sealTo(payload, counter, frame, headerLength);
    return frame;
  }

  /** Checks inputs and the counter; returns the header length. */
  private _check(payload: Uint8Array, counter: number): number {
    abytes(payload, undefined, 'payload');
    if (payload.length > MAX_FRAME_PAYLOAD) {
      throw new CryptoError('BAD_INPUT', `payload is longer than ${MAX_FRAME_PAYLOAD} bytes`);
    }
    if (this.clearToc && payload.length === 0)
      throw new CryptoError('BAD_INPUT', 'payload has no Opus TOC byte');
    aint(counter, 0, Number.MAX_SAFE_INTEGER, 'counter');
    if (counter < this._next) {
      throw new CryptoError('NONCE_REUSE', `counter ${counter} is below ${this._next}: already used`);
    }
    if (counter > MAX_COUNTER)
      throw new CryptoError('NONCE_REUSE', 'counter space exhausted: use a new key id');
    return 1 + leb128Length(this.keyId) + leb128Length(counter);
  }

  private _sealTo(payload: Uint8Array, counter: number, frame: Uint8Array, headerLength: number): void {
    this._next = counter + 1; // burnt before sealing: whatever happens next, never again
    const clear = this.clearToc ? 1 : 0;
    frame[0] = CONFIG_VERSION | (clear ? FLAG_CLEAR_TOC : 0);
    writeLeb128(frame, writeLeb128(frame, 1, this.keyId), counter);
    frame.set(payload, headerLength); // the clear TOC, if any, is the first payload byte: it lands in the AAD
    makeNonce(this._nonce, this._salt, counter);
    this._gcm.sealInPlace(this._nonce, frame, headerLength + clear);
  }
}

export interface FrameOpenerOptions {
  /** Replay window in frames (multiple of 32). Default 128. */
  readonly window?: number;
}

/** A parsed header, reused across calls on the hot path (everything here is synchronous). */
interface MutableHeader {
  clearToc: boolean;
  keyId: number;
  counter: number;
  aadLength: number;
}

const newHeader = (): MutableHeader => ({ clearToc: false, keyId: 0, counter: 0, aadLength: 0 });

/** Opens one sender's frames under one key id, refusing replays. */
export class FrameOpener {
  readonly keyId: number;
  private readonly _gcm: AesGcmKey;
  private readonly _salt: Uint8Array;
  private readonly _nonce = new Uint8Array(FRAME_SALT_LENGTH);
  private readonly _window: ReplayWindow;
  private readonly _header = newHeader();

  constructor(
    secret: Uint8Array,
    senderPublicKey: Uint8Array,
    keyId: number,
    options: FrameOpenerOptions = {},
  ) {
    const { key, salt } = deriveFrameKey(secret, senderPublicKey, keyId);
    this.keyId = keyId;
    this._window = new ReplayWindow(options.window ?? DEFAULT_REPLAY_WINDOW);
    this._gcm = new AesGcmKey(key);
    key.fill(0);
    this._salt = salt;
  }

  /**
   * Opens `frame` into a new payload array. Throws `BAD_VERSION`/`BAD_FORMAT`,
   * `UNKNOWN_KEY` (another key id), `REPLAY`, `TOO_OLD` or `DECRYPT_FAILED`.
   */
  open(frame: Uint8Array): OpenedFrame {
    return this._open(frame, parseHeader(frame, this._header), false);
  }

  /**
   * Like `open`, but decrypts inside `frame` and returns the payload as a view of it
   * (no allocation). On any error `frame` is left as it was.
   */
  openInPlace(frame: Uint8Array): OpenedFrame {
    return this._open(frame, parseHeader(frame, this._header), true);
  }

  /** Opens a frame whose header the caller parsed from these same bytes. */
  _open(frame: Uint8Array, h: MutableHeader, inPlace: boolean): OpenedFrame {
    if (h.keyId !== this.keyId)
      throw new CryptoError('UNKNOWN_KEY', `key id ${h.keyId} is not ${this.keyId}`);
    const counter = h.counter;
    this._window.check(counter);
    const aadLength = h.aadLength;
    const clear = h.clearToc ? 1 : 0;
    makeNonce(this._nonce, this._salt, counter);
    let payload: Uint8Array;
    if (inPlace) {
      this._gcm.openTo(this._nonce, frame, aadLength, frame, aadLength);
      payload = frame.subarray(aadLength - clear, frame.length - GCM_TAG_LENGTH);
    } else {
      payload = new Uint8Array(frame.length - aadLength - GCM_TAG_LENGTH + clear);
      if (clear) payload[0] = frame[aadLength - 1]!;
      this._gcm.openTo(this._nonce, frame, aadLength, payload, clear);
    }
    this._window.accept(counter);
    return { keyId: this.keyId, counter, payload };
  }
}

/** A listener's openers, one per key id (one per sender slot and epoch). */
export class FrameReceiver {
  private readonly _openers = new Map<number, FrameOpener>();
  private readonly _options: FrameOpenerOptions;
  private readonly _header = newHeader();

  constructor(options: FrameOpenerOptions = {}) {
    if (options.window !== undefined) new ReplayWindow(options.window); // validates the size
    this._options = options;
  }

  /** Starts accepting `keyId` from `senderPublicKey` (a fresh replay window). */
  add(keyId: number, secret: Uint8Array, senderPublicKey: Uint8Array): void {
    this._openers.set(keyId, new FrameOpener(secret, senderPublicKey, keyId, this._options));
  }

  remove(keyId: number): boolean {
    aint(keyId, 0, MAX_KEY_ID, 'keyId');
    return this._openers.delete(keyId);
  }

  has(keyId: number): boolean {
    return this._openers.has(keyId);
  }

  /** `FrameOpener.open` with the opener of the frame's key id; `UNKNOWN_KEY` if none. */
  open(frame: Uint8Array): OpenedFrame {
    return this._openerOf(frame)._open(frame, this._header, false);
  }

  /** `FrameOpener.openInPlace` with the opener of the frame's key id. */
  openInPlace(frame: Uint8Array): OpenedFrame {
    return this._openerOf(frame)._open(frame, this._header, true);
  }

  private _openerOf(frame: Uint8Array): FrameOpener {
    const h = parseHeader(frame, this._header);
    const opener = this._openers.get(h.keyId);
    if (opener === undefined) throw new CryptoError('UNKNOWN_KEY', `no frame key for key id ${h.keyId}`);
    return opener;
  }
}

/** Parses the header (unauthenticated): `BAD_VERSION`, or `BAD_FORMAT` for anything malformed or too short. */
export function peekFrameHeader(frame: Uint8Array): FrameHeader {
  const { clearToc, keyId, counter, aadLength } = parseHeader(frame, newHeader());
  return { version: FRAME_VERSION, clearToc, keyId, counter, aadLength };
}

function parseHeader(frame: Uint8Array, h: MutableHeader): MutableHeader {
  abytes(frame, undefined, 'frame');
  if (frame.length === 0) throw new CryptoError('BAD_FORMAT', 'frame is empty');
  const config = frame[0]!;
  if (config >> 4 !== FRAME_VERSION)
    throw new CryptoError('BAD_VERSION', `frame version ${config >> 4} is not 1`);
  if ((config & 0x0f & ~FLAG_CLEAR_TOC) !== 0)
    throw new CryptoError('BAD_FORMAT', 'reserved frame flags are set');
  h.clearToc = (config & FLAG_CLEAR_TOC) !== 0;
  const afterKeyId = readLeb128(frame, 1, h, 'keyId');
  const afterCounter = readLeb128(frame, afterKeyId, h, 'counter');
  h.aadLength = afterCounter + (h.clearToc ? 1 : 0);
  if (frame.length < h.aadLength + GCM_TAG_LENGTH) throw new CryptoError('BAD_FORMAT', 'frame is too short');
  return h;
}

/** nonce = salt XOR counter as a 12-byte big-endian integer (RFC 9605 §4.4.3); counter < 2^32. */
function makeNonce(nonce: Uint8Array, salt: Uint8Array, counter: number): void {
  nonce.set(salt);
  nonce[8]! ^= counter >>> 24;
  nonce[9]! ^= counter >>> 16;
  nonce[10]! ^= counter >>> 8;
  nonce[11]! ^= counter;
}

function leb128Length(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes `value` (< 2^32) at `at`; returns the offset after it. */
function writeLeb128(out: Uint8Array, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  out[at++] = v;
  return at;
}

/** Reads a shortest-form LEB128 value below 2^32 at `at` into `h[field]`; returns the offset after it. */
function readLeb128(bytes: Uint8Array, at: number, h: MutableHeader, field: 'keyId' | 'counter'): number {
  const first = bytes[at];
  if (first !== undefined && first < 0x80) {
    h[field] = first; // the common case: one byte
    return at + 1;
  }
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (at + i >= bytes.length) throw new CryptoError('BAD_FORMAT', 'frame header is truncated');
    const b = bytes[at + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (i > 0 && b === 0)
        throw new CryptoError('BAD_FORMAT', 'frame header integer is not in shortest form');
      if (value > 0xffffffff) throw new CryptoError('BAD_FORMAT', 'frame header integer is above 2^32');
      h[field] = value;
      return at + i + 1;
    }
  }
  throw new CryptoError('BAD_FORMAT', 'frame header integer is longer than 5 bytes');
}
