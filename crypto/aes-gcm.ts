/**
 * AES-GCM (NIST SP 800-38D) with a prepared key, for voice frames.
 *
 * `gcm()` from @noble/ciphers expands the AES key and rebuilds its GHASH table on
 * every call: right for one-off messages, but a short Opus frame then pays ~50 µs of
 * set-up on these machines (see bench/crypto.bench.ts). Here both are computed once
 * per key: the AES round keys by noble's own `unsafe.expandKeyLE`, the block cipher
 * by noble's `unsafe.encrypt`; only GCM's counter mode (§6.5), GHASH (§6.4) with an
 * 8-bit table (Shoup's method, 64 KiB per key) and the tag (§7.1, §7.2) are ours.
 * Tests cross-check every length against noble's `gcm` and NIST's test cases.
 *
 * Limits: 12-byte nonces only (§8.2.1 deterministic construction), 16-byte tags.
 * Table lookups are not constant-time, like noble's AES T-tables and GHASH: a
 * process that shares the CPU cache could learn key bits by timing. Acceptable for
 * voice frames in a browser tab; not for long-term secrets.
 *
 * Two layouts: `seal`/`open` take aad apart and return ciphertext ‖ tag (16);
 * `sealInPlace`/`openTo` work on one buffer aad ‖ text ‖ tag without copies, which is
 * how a voice frame is laid out (frame.ts).
 */
import { unsafe } from '@noble/ciphers/aes.js';
import { abytes } from './bytes.ts';
import { CryptoError } from './errors.ts';

export const GCM_NONCE_LENGTH = 12;
export const GCM_TAG_LENGTH = 16;

/** An AES-128 or AES-256 key with its round keys and GHASH table computed once. */
export class AesGcmKey {
  /** AES round keys in noble's little-endian word layout. */
  private readonly _xk: Uint32Array;
  /** GHASH table: for byte position i (0–15) and byte value b, H·x^(8i) times b, as 4 big-endian words. */
  private readonly _table: Uint32Array;
  /** GHASH accumulator, then the tag: reused, as seal and open are synchronous and never interleave. */
  private readonly _state = new Int32Array(4);

  constructor(key: Uint8Array) {
    abytes(key, undefined, 'key');
    if (key.length !== 16 && key.length !== 32) {
      throw new CryptoError('BAD_INPUT', `key must be 16 or 32 bytes, got ${key.length}`);
    }
    this._xk = unsafe.expandKeyLE(key);
    // H = CIPH_K(0^128), SP 800-38D §6.4.
    const h = unsafe.encrypt(this._xk, 0, 0, 0, 0);
    this._table = _ghashTable(bswap(h.s0), bswap(h.s1), bswap(h.s2), bswap(h.s3));
  }

  /**
   * Seals in place (GCM-AE, §7.1): `buffer` holds aad (`aadLength` bytes) ‖ plaintext
   * ‖ 16 spare bytes; the plaintext becomes ciphertext and the spare bytes the tag.
   * The caller owns nonce uniqueness: one nonce, one message, per key.
   */
  sealInPlace(nonce: Uint8Array, buffer: Uint8Array, aadLength: number): void {
    abytes(nonce, GCM_NONCE_LENGTH, 'nonce');
    abytes(buffer, undefined, 'buffer');
    const ctEnd = buffer.length - GCM_TAG_LENGTH;
    if (!Number.isSafeInteger(aadLength) || aadLength < 0 || aadLength > ctEnd) {
      throw new CryptoError('BAD_INPUT', 'buffer must hold aad, plaintext and 16 bytes for the tag');
    }
    const n0 = le32(nonce, 0);
    const n1 = le32(nonce, 4);
    const n2 = le32(nonce, 8);
    this._ctr(n0, n1, n2, buffer, aadLength, buffer, aadLength, ctEnd - aadLength);
    this._tag(n0, n1, n2, buffer, aadLength, ctEnd);
    const s = this._state;
    for (let w = 0; w < 4; w++) writeBe32(buffer, ctEnd + 4 * w, s[w]!);
  }

  /**
   * Opens (GCM-AD, §7.2): `sealed` holds aad (`aadLength` bytes) ‖ ciphertext ‖ tag.
   * Checks the tag first, then writes the plaintext into `out` at `offset`; `sealed`
   * is left as it was. Throws `DECRYPT_FAILED` on any mismatch.
   */
  openTo(nonce: Uint8Array, sealed: Uint8Array, aadLength: number, out: Uint8Array, offset: number): void {
    abytes(nonce, GCM_NONCE_LENGTH, 'nonce');
    abytes(sealed, undefined, 'sealed');
    abytes(out, undefined, 'out');
    const ctEnd = sealed.length - GCM_TAG_LENGTH;
    if (!Number.isSafeInteger(aadLength) || aadLength < 0 || aadLength > ctEnd) {
      throw new CryptoError('DECRYPT_FAILED', 'sealed data shorter than aad and a tag');
    }
    const length = ctEnd - aadLength;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > out.length) {
      throw new CryptoError('BAD_INPUT', 'out is too short for the plaintext');
    }
    const n0 = le32(nonce, 0);
    const n1 = le32(nonce, 4);
    const n2 = le32(nonce, 8);
    this._tag(n0, n1, n2, sealed, aadLength, ctEnd);
    const s = this._state;
    let diff = 0;
    for (let w = 0; w < 4; w++) diff |= s[w]! ^ be32(sealed, ctEnd + 4 * w);
    if (diff !== 0) throw new CryptoError('DECRYPT_FAILED', 'authentication failed');
    this._ctr(n0, n1, n2, sealed, aadLength, out, offset, length);
  }

  /** Encrypts to a new array: ciphertext ‖ tag. */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    abytes(aad, undefined, 'aad');
    abytes(plaintext, undefined, 'plaintext');
    const buffer = new Uint8Array(aad.length + plaintext.length + GCM_TAG_LENGTH);
    buffer.set(aad);
    buffer.set(plaintext, aad.length);
    this.sealInPlace(nonce, buffer, aad.length);
    return buffer.slice(aad.length);
  }

  /** Checks the tag and decrypts ciphertext ‖ tag to a new array; `DECRYPT_FAILED` on any mismatch. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
    abytes(aad, undefined, 'aad');
    abytes(sealed, undefined, 'sealed');
    if (sealed.length < GCM_TAG_LENGTH)
      throw new CryptoError('DECRYPT_FAILED', 'sealed data shorter than a tag');
    const buffer = new Uint8Array(aad.length + sealed.length);
    buffer.set(aad);
    buffer.set(sealed, aad.length);
    const out = new Uint8Array(sealed.length - GCM_TAG_LENGTH);
    this.openTo(nonce, buffer, aad.length, out, 0);
    return out;
  }

  /** GCTR from inc32(J0), J0 = nonce ‖ 0^31 ‖ 1 (§7.1 steps 2–3), over `length` bytes. */
  private _ctr(
    n0: number,
    n1: number,
    n2: number,
    src: Uint8Array,
    from: number,
    dst: Uint8Array,
    to: number,
    length: number,
  ): void {
    const xk = this._xk;
    let counter = 2;
    let i = 0;
    for (; i + 16 <= length; i += 16, counter++) {
      const k = unsafe.encrypt(xk, n0, n1, n2, bswap(counter));
      xorLe32(src, from + i, dst, to + i, k.s0);
      xorLe32(src, from + i + 4, dst, to + i + 4, k.s1);
      xorLe32(src, from + i + 8, dst, to + i + 8, k.s2);
      xorLe32(src, from + i + 12, dst, to + i + 12, k.s3);
    }
    if (i < length) {
      const k = unsafe.encrypt(xk, n0, n1, n2, bswap(counter));
      for (let j = 0; i + j < length; j++) {
        const word = j < 4 ? k.s0 : j < 8 ? k.s1 : j < 12 ? k.s2 : k.s3;
        dst[to + i + j] = src[from + i + j]! ^ (word >>> ((j & 3) << 3));
      }
    }
  }

  /**
   * Leaves in `_state` T = GHASH_H(A ‖ pad ‖ C ‖ pad ‖ [len(A)]64 ‖ [len(C)]64) ⊕ CIPH_K(J0)
   * (§7.1 steps 5–6), where A = buf[0, aadLength) and C = buf[aadLength, ctEnd).
   */
  private _tag(n0: number, n1: number, n2: number, buf: Uint8Array, aadLength: number, ctEnd: number): void {
    const t = this._table;
    const s = this._state;
    s.fill(0);
    ghashUpdate(t, s, buf, 0, aadLength);
    ghashUpdate(t, s, buf, aadLength, ctEnd);
    // Lengths in bits as two 64-bit big-endian integers; inputs here stay far below 2^29 bytes.
    ghashBlock(t, s, 0, aadLength * 8, 0, (ctEnd - aadLength) * 8);
    const m = unsafe.encrypt(this._xk, n0, n1, n2, bswap(1));
    s[0] = s[0]! ^ bswap(m.s0);
    s[1] = s[1]! ^ bswap(m.s1);
    s[2] = s[2]! ^ bswap(m.s2);
    s[3] = s[3]! ^ bswap(m.s3);
  }
}

/** Builds the 16 × 256 table of H·x^(8i+j) sums (§6.3 multiplication, Shoup's 8-bit windows). */
export function _ghashTable(h0: number, h1: number, h2: number, h3: number): Uint32Array {
  // powers[k] = H · x^k; multiplying by x is a right shift of the bit string, reduced by R = 0xE1 ‖ 0^120.
  const powers = new Uint32Array(128 * 4);
  let v0 = h0;
  let v1 = h1;
  let v2 = h2;
  let v3 = h3;
  for (let k = 0; k < 128; k++) {
    powers[k * 4] = v0;
    powers[k * 4 + 1] = v1;
    powers[k * 4 + 2] = v2;
    powers[k * 4 + 3] = v3;
    const carry = v3 & 1;
    v3 = (v3 >>> 1) | (v2 << 31);
    v2 = (v2 >>> 1) | (v1 << 31);
    v1 = (v1 >>> 1) | (v0 << 31);
    v0 = (v0 >>> 1) ^ (carry ? 0xe1000000 : 0);
  }
  const table = new Uint32Array(16 * 256 * 4);
  for (let i = 0; i < 16; i++) {
    for (let b = 1; b < 256; b++) {
      // Bit j of byte i (0x80 >> j) is the coefficient of x^(8i+j); add the lowest set bit's power.
      const low = b & -b;
      const j = 7 - Math.log2(low);
      const rest = ((i << 8) | (b ^ low)) * 4;
      const at = ((i << 8) | b) * 4;
      const p = (i * 8 + j) * 4;
      for (let w = 0; w < 4; w++) table[at + w] = table[rest + w]! ^ powers[p + w]!;
    }
  }
  return table;
}

/** Absorbs buf[start, end), zero-padding the last partial block (§6.4: A and C are padded separately). */
function ghashUpdate(t: Uint32Array, s: Int32Array, buf: Uint8Array, start: number, end: number): void {
  let pos = start;
  for (; pos + 16 <= end; pos += 16) {
    ghashBlock(t, s, be32(buf, pos), be32(buf, pos + 4), be32(buf, pos + 8), be32(buf, pos + 12));
  }
  if (pos < end) {
    let x0 = 0;
    let x1 = 0;
    let x2 = 0;
    let x3 = 0;
    for (let k = 0; pos + k < end; k++) {
      const b = buf[pos + k]! << (24 - ((k & 3) << 3));
      if (k < 4) x0 |= b;
      else if (k < 8) x1 |= b;
      else if (k < 12) x2 |= b;
      else x3 |= b;
    }
    ghashBlock(t, s, x0, x1, x2, x3);
  }
}

/** Y = (Y ⊕ X) · H, by one table lookup per byte of Y ⊕ X. */
function ghashBlock(t: Uint32Array, s: Int32Array, x0: number, x1: number, x2: number, x3: number): void {
  const y0 = s[0]! ^ x0;
  const y1 = s[1]! ^ x1;
  const y2 = s[2]! ^ x2;
  const y3 = s[3]! ^ x3;
  // Entry (i, b) starts at ((i << 8) | b) << 2: i is the byte position, b its value.
  let a = (y0 >>> 24) << 2;
  let z0 = t[a]!;
  let z1 = t[a + 1]!;
  let z2 = t[a + 2]!;
  let z3 = t[a + 3]!;
  a = (0x100 | ((y0 >>> 16) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x200 | ((y0 >>> 8) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x300 | (y0 & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x400 | (y1 >>> 24)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x500 | ((y1 >>> 16) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x600 | ((y1 >>> 8) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x700 | (y1 & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x800 | (y2 >>> 24)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0x900 | ((y2 >>> 16) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xa00 | ((y2 >>> 8) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xb00 | (y2 & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xc00 | (y3 >>> 24)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xd00 | ((y3 >>> 16) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xe00 | ((y3 >>> 8) & 0xff)) << 2;
  z0 ^= t[a]!;
  z1 ^= t[a + 1]!;
  z2 ^= t[a + 2]!;
  z3 ^= t[a + 3]!;
  a = (0xf00 | (y3 & 0xff)) << 2;
  s[0] = z0 ^ t[a]!;
  s[1] = z1 ^ t[a + 1]!;
  s[2] = z2 ^ t[a + 2]!;
  s[3] = z3 ^ t[a + 3]!;
}

function bswap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

function le32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function xorLe32(src: Uint8Array, i: number, dst: Uint8Array, j: number, k: number): void {
  dst[j] = src[i]! ^ k;
  dst[j + 1] = src[i + 1]! ^ (k >>> 8);
  dst[j + 2] = src[i + 2]! ^ (k >>> 16);
  dst[j + 3] = src[i + 3]! ^ (k >>> 24);
}

function be32(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

function writeBe32(b: Uint8Array, i: number, x: number): void {
  b[i] = x >>> 24;
  b[i + 1] = x >>> 16;
  b[i + 2] = x >>> 8;
  b[i + 3] = x;
}
