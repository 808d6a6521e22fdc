/**
 * Byte helpers shared by every crypto module: labelled input checks, encoding
 * (UTF-8, base64url, big-endian integers), constant-time comparison and randomness.
 * Pure and isomorphic: uses only `TextEncoder`, `crypto.getRandomValues` and
 * `btoa`/`atob`, which Node 20 and browsers both provide.
 */
import { CryptoError } from './errors.ts';

/** Throws `BAD_INPUT` unless `value` is a Uint8Array (of `length`, when given). */
export function abytes(
  value: unknown,
  length: number | undefined,
  label: string,
): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError('BAD_INPUT', `${label} must be a Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('BAD_INPUT', `${label} must be ${length} bytes, got ${value.length}`);
  }
}

/** Throws `BAD_INPUT` unless `value` is a string of at most `maxLength` UTF-16 units. */
export function astring(value: unknown, label: string, maxLength = 1 << 16): asserts value is string {
  if (typeof value !== 'string')
    throw new CryptoError('BAD_INPUT', `${label} must be a string, got ${describe(value)}`);
  if (value.length > maxLength) throw new CryptoError('BAD_INPUT', `${label} is longer than ${maxLength}`);
}

/** Throws `BAD_INPUT` unless `value` is an integer in [min, max]. */
export function aint(value: unknown, min: number, max: number, label: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new CryptoError(
      'BAD_INPUT',
      `${label} must be an integer in [${min}, ${max}], got ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  if (typeof value === 'string') return `string(${value.length})`;
  return `${typeof value} ${String(value)}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, throwing `BAD_FORMAT` on invalid sequences. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', 'invalid UTF-8', { cause });
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length inputs (length itself is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lexicographic comparison, for a canonical order of two keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function randomBytes(length: number): Uint8Array {
  aint(length, 0, 65536, 'length');
  const out = new Uint8Array(length);
  crypto.getRandomValues(out);
  return out;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** base64url without padding (RFC 4648 §5). */
export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Parses unpadded base64url; throws `BAD_FORMAT` on any other alphabet or length. */
export function fromBase64url(text: string): Uint8Array {
  astring(text, 'base64url', 1 << 26);
  if (!B64URL.test(text) || text.length % 4 === 1) throw new CryptoError('BAD_FORMAT', 'invalid base64url');
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  // Reject non-canonical encodings (stray low bits), so one value has one spelling.
  if (toBase64url(out) !== text) throw new CryptoError('BAD_FORMAT', 'non-canonical base64url');
  return out;
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array {
  astring(hex, 'hex', 1 << 26);
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new CryptoError('BAD_FORMAT', 'invalid hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Big-endian unsigned 32-bit. */
export function u32(value: number): Uint8Array {
  aint(value, 0, 0xffffffff, 'u32');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Big-endian unsigned 64-bit from a safe integer (≤ 2^53 − 1). */
export function u64(value: number): Uint8Array {
  aint(value, 0, Number.MAX_SAFE_INTEGER, 'u64');
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / 0x100000000));
  view.setUint32(4, value >>> 0);
  return out;
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

export function readU64(bytes: Uint8Array, offset: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hi = view.getUint32(offset);
  if (hi > 0x1fffff) throw new CryptoError('BAD_FORMAT', 'u64 beyond 2^53');
  return hi * 0x100000000 + view.getUint32(offset + 4);
}
