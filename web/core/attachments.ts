/**
 * What a post says about each of its files, inside the sealed and signed Yjs update
 * (so only the conversation's readers learn the key), and the check every reader
 * runs on it before use. The view model (model.ts `Attachment`) is the public part:
 * the key, chunk count and hash never reach a component.
 *
 *   { id, name, mime, size, width?, height?, key, chunks, sha256 }
 *
 * `id` is the file id of the blob store (16 bytes, base64url), `key` the file key (32
 * bytes), `chunks` the chunk count (crypto/file.ts), `sha256` of the plaintext.
 */
import { fileChunkCount, MAX_FILE_SIZE } from '../../crypto/file.ts';
import type { Attachment } from './model.ts';

export interface SealedAttachment extends Attachment {
  /** The file key, base64url (32 bytes). */
  key: string;
  /** Chunks in the blob store: `fileChunkCount(size)`. */
  chunks: number;
  /** SHA-256 of the plaintext, base64url. */
  sha256: string;
}

/** Files one message may carry. */
export const MAX_ATTACHMENTS = 10;
export const MAX_NAME_LENGTH = 255;
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;
const B64_16 = /^[A-Za-z0-9_-]{22}$/;
const B64_32 = /^[A-Za-z0-9_-]{43}$/;
const MAX_DIMENSION = 65_535;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069/\\]/g;

/** The attachments of a post as stored, keeping only well-formed entries (at most MAX_ATTACHMENTS). */
export function readAttachments(value: unknown): SealedAttachment[] {
  if (!Array.isArray(value)) return [];
  const out: SealedAttachment[] = [];
  for (const v of value as unknown[]) {
    const a = readAttachment(v);
    if (a) out.push(a);
    if (out.length === MAX_ATTACHMENTS) break;
  }
  return out;
}

function readAttachment(v: unknown): SealedAttachment | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const { id, name, mime, size, width, height, key, chunks, sha256 } = v as Record<string, unknown>;
  if (typeof id !== 'string' || !B64_16.test(id)) return undefined;
  if (typeof key !== 'string' || !B64_32.test(key)) return undefined;
  if (typeof sha256 !== 'string' || !B64_32.test(sha256)) return undefined;
  if (typeof name !== 'string' || name.length === 0 || name !== safeName(name)) return undefined;
  if (typeof mime !== 'string' || !MIME.test(mime)) return undefined;
  if (!Number.isSafeInteger(size) || (size as number) < 0 || (size as number) > MAX_FILE_SIZE)
    return undefined;
  if (chunks !== fileChunkCount(size as number)) return undefined;
  const out: SealedAttachment = { id, name, mime, size: size as number, key, chunks, sha256 };
  if (isDimension(width) && isDimension(height)) {
    out.width = width;
    out.height = height;
  }
  return out;
}

function isDimension(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_DIMENSION;
}

/** The public part a component may see: no key, no hash. */
export function viewOf(a: SealedAttachment): Attachment {
  const out: Attachment = { id: a.id, name: a.name, mime: a.mime, size: a.size };
  if (a.width !== undefined && a.height !== undefined) {
    out.width = a.width;
    out.height = a.height;
  }
  return out;
}

/** A file name fit to show and to save as: no control or bidi characters, no path separators. */
export function safeName(name: string): string {
  const clean = name.replace(UNSAFE_NAME, '').trim().slice(0, MAX_NAME_LENGTH).trim();
  return clean || 'file';
}

/** A MIME type as the post records it: lowercase `type/subtype`, or `application/octet-stream`. */
export function safeMime(mime: string): string {
  const clean = mime.split(';')[0]!.trim().toLowerCase();
  return MIME.test(clean) ? clean : 'application/octet-stream';
}
