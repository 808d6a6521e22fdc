/**
 * Files and images in messages, sealed on the sender's device as fixed-size chunks
 * that the server stores as opaque blobs. The file key and id travel only inside the
 * sealed, signed post (web/core/attachments.ts), so only the conversation's readers
 * can open the chunks.
 *
 *   chunk   = version (u8, 0x01) ‖ nonce (24, random) ‖ ciphertext ‖ tag (16)
 *   AEAD    = XChaCha20-Poly1305 (aead.ts, draft-irtf-cfrg-xchacha-03) under the file key
 *   key     = 32 random bytes, made for one file and never used for another
 *   file id = 16 random bytes, named by the post and by the server's blob store
 *   AAD     = encodeStatement('tincan/file-chunk/v1', [version, file id, index, count])
 *   sizes   = chunk i < count − 1 holds exactly FILE_CHUNK_SIZE (32 KiB) plaintext bytes;
 *             the last holds 1..FILE_CHUNK_SIZE (0 only for an empty file, count = 1)
 *
 * What the AAD buys: a chunk opens only as the chunk it was sealed as — at its index
 * (no reordering), in its file (no swapping between files, even under a reused key)
 * and in a file of its count (no truncation: the reader takes the count from the
 * signed post, asks for exactly that many chunks, and a last chunk sealed for a
 * longer file does not open as the last of a shorter one). The version byte is bound
 * too, so a future format cannot be confused with this one.
 *
 * Why 32 KiB: a sealed chunk (32 809 bytes) is 43 746 base64url characters, which
 * with the JSON of a `blob.put` fits a 64 KiB WebSocket frame with room to spare.
 *
 * Nonces are random although each key seals one file: 24 random bytes cost nothing
 * and keep the chunks safe even if a caller reused a key by mistake.
 */
import { _sealWithNonce, KEY_LENGTH, NONCE_LENGTH, open, TAG_LENGTH } from './aead.ts';
import { abytes, aint, concat, randomBytes } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { encodeStatement } from './statement.ts';

export const FILE_VERSION = 1;
export const FILE_KEY_LENGTH = KEY_LENGTH;
export const FILE_ID_LENGTH = 16;
/** Plaintext bytes of every chunk but the last. */
export const FILE_CHUNK_SIZE = 32 * 1024;
/** Bytes a sealed chunk adds to its plaintext: version, nonce, tag. */
export const FILE_CHUNK_OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;
/** Bytes of a full sealed chunk (every chunk but the last). */
export const SEALED_CHUNK_SIZE = FILE_CHUNK_SIZE + FILE_CHUNK_OVERHEAD;
/** At most 2^17 chunks: 4 GiB, the largest upload limit a server can be configured with. */
export const MAX_FILE_CHUNKS = 1 << 17;
export const MAX_FILE_SIZE = MAX_FILE_CHUNKS * FILE_CHUNK_SIZE;
const AAD_CONTEXT = 'tincan/file-chunk/v1';

/** A fresh key and id for one file. */
export function newFileSecrets(): { key: Uint8Array; id: Uint8Array } {
  return { key: randomBytes(FILE_KEY_LENGTH), id: randomBytes(FILE_ID_LENGTH) };
}

/** How many chunks a file of `size` bytes is sealed as (1 for an empty file). */
export function fileChunkCount(size: number): number {
  aint(size, 0, MAX_FILE_SIZE, 'size');
  return Math.max(1, Math.ceil(size / FILE_CHUNK_SIZE));
}

/** Plaintext bytes of chunk `index` of a file of `size` bytes. */
export function fileChunkLength(size: number, index: number): number {
  const count = fileChunkCount(size);
  aint(index, 0, count - 1, 'index');
  return index < count - 1 ? FILE_CHUNK_SIZE : size - (count - 1) * FILE_CHUNK_SIZE;
}

/** Bytes the server stores for a file of `size` bytes (what its upload limit counts). */
export function sealedFileSize(size: number): number {
  return size + fileChunkCount(size) * FILE_CHUNK_OVERHEAD;
}

/** The largest file whose sealed chunks fit `limit` stored bytes (0 when not even an empty one does). */
export function maxFileSizeFor(limit: number): number {
  aint(limit, 0, Number.MAX_SAFE_INTEGER, 'limit');
  if (limit < FILE_CHUNK_OVERHEAD) return 0;
  const full = Math.floor(limit / SEALED_CHUNK_SIZE);
  const rest = limit - full * SEALED_CHUNK_SIZE;
  const size = full * FILE_CHUNK_SIZE + Math.max(0, rest - FILE_CHUNK_OVERHEAD);
  return Math.min(size, MAX_FILE_SIZE);
}

/**
 * Seals chunk `index` of `count` of file `fileId`. The plaintext length must follow
 * the size rule above (`BAD_INPUT` otherwise). `random` is for golden vectors only.
 */
export function sealFileChunk(
  key: Uint8Array,
  fileId: Uint8Array,
  index: number,
  count: number,
  plaintext: Uint8Array,
  random: (length: number) => Uint8Array = randomBytes,
): Uint8Array {
  abytes(key, FILE_KEY_LENGTH, 'key');
  const aad = chunkAad(fileId, index, count);
  abytes(plaintext, undefined, 'plaintext');
  const error = lengthError(plaintext.length, index, count);
  if (error) throw new CryptoError('BAD_INPUT', `plaintext ${error}`);
  const nonce = random(NONCE_LENGTH);
  abytes(nonce, NONCE_LENGTH, 'random nonce');
  return concat(Uint8Array.of(FILE_VERSION), _sealWithNonce(key, nonce, plaintext, aad));
}

/**
 * Opens chunk `index` of `count` of file `fileId`. Throws `BAD_VERSION`, `BAD_FORMAT`
 * (a length the size rule does not allow) or `DECRYPT_FAILED` (another key, file,
 * index or count, or any changed byte).
 */
export function openFileChunk(
  key: Uint8Array,
  fileId: Uint8Array,
  index: number,
  count: number,
  sealed: Uint8Array,
): Uint8Array {
  abytes(key, FILE_KEY_LENGTH, 'key');
  const aad = chunkAad(fileId, index, count);
  abytes(sealed, undefined, 'sealed');
  if (sealed.length === 0) throw new CryptoError('BAD_FORMAT', 'chunk is empty');
  if (sealed[0] !== FILE_VERSION)
    throw new CryptoError('BAD_VERSION', `file chunk version ${sealed[0]} is not ${FILE_VERSION}`);
  const error = lengthError(sealed.length - FILE_CHUNK_OVERHEAD, index, count);
  if (error) throw new CryptoError('BAD_FORMAT', `chunk ${error}`);
  return open(key, sealed.subarray(1), aad);
}

function chunkAad(fileId: Uint8Array, index: number, count: number): Uint8Array {
  abytes(fileId, FILE_ID_LENGTH, 'fileId');
  aint(count, 1, MAX_FILE_CHUNKS, 'count');
  aint(index, 0, count - 1, 'index');
  return encodeStatement(AAD_CONTEXT, [FILE_VERSION, fileId, index, count]);
}

/** Why `length` plaintext bytes cannot be chunk `index` of `count`, or undefined when they can. */
function lengthError(length: number, index: number, count: number): string | undefined {
  if (index < count - 1)
    return length === FILE_CHUNK_SIZE ? undefined : `of chunk ${index} must be ${FILE_CHUNK_SIZE} bytes`;
  const min = count === 1 ? 0 : 1;
  return length >= min && length <= FILE_CHUNK_SIZE
    ? undefined
    : `of the last chunk must be ${min}..${FILE_CHUNK_SIZE} bytes`;
}
