import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { deepEqual, equal, notEqual, throwsCode } from '../test/helpers/assert.ts';
import { extended, flipEachByte, NOT_BYTES, truncations } from '../test/helpers/tamper.ts';
import vectors from '../test/vectors/file.json' with { type: 'json' };
import { concat, fromHex, randomBytes, toHex } from './bytes.ts';
import {
  FILE_CHUNK_OVERHEAD,
  FILE_CHUNK_SIZE,
  fileChunkCount,
  fileChunkLength,
  MAX_FILE_CHUNKS,
  maxFileSizeFor,
  newFileSecrets,
  openFileChunk,
  SEALED_CHUNK_SIZE,
  sealedFileSize,
  sealFileChunk,
} from './file.ts';

const fill = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (seed + i * 7) & 0xff);

/** Seals a whole file; returns its chunks. */
function sealAll(key: Uint8Array, id: Uint8Array, bytes: Uint8Array): Uint8Array[] {
  const count = fileChunkCount(bytes.length);
  return Array.from({ length: count }, (_, i) =>
    sealFileChunk(
      key,
      id,
      i,
      count,
      bytes.subarray(i * FILE_CHUNK_SIZE, i * FILE_CHUNK_SIZE + fileChunkLength(bytes.length, i)),
    ),
  );
}

describe('file chunks', () => {
  it('round-trip files of every shape, with the documented layout', () => {
    const { key, id } = newFileSecrets();
    for (const size of [
      0,
      1,
      FILE_CHUNK_SIZE - 1,
      FILE_CHUNK_SIZE,
      FILE_CHUNK_SIZE + 1,
      3 * FILE_CHUNK_SIZE + 77,
    ]) {
      const bytes = randomBytes(Math.min(size, 65536));
      const file = size <= 65536 ? bytes : concat(bytes, randomBytes(size - 65536));
      const chunks = sealAll(key, id, file);
      equal(chunks.length, fileChunkCount(size), `count at ${size}`);
      let total = 0;
      const opened = chunks.map((c, i) => {
        equal(c[0], 1, 'version byte');
        total += c.length;
        if (i < chunks.length - 1) equal(c.length, SEALED_CHUNK_SIZE);
        return openFileChunk(key, id, i, chunks.length, c);
      });
      equal(total, sealedFileSize(size), `sealed size at ${size}`);
      deepEqual(concat(...opened), file, `bytes at ${size}`);
    }
  });

  it('use a fresh nonce for every chunk, and fresh secrets for every file', () => {
    const { key, id } = newFileSecrets();
    const a = sealFileChunk(key, id, 0, 1, fill(10, 1));
    const b = sealFileChunk(key, id, 0, 1, fill(10, 1));
    notEqual(toHex(a.subarray(1, 25)), toHex(b.subarray(1, 25)));
    const other = newFileSecrets();
    notEqual(toHex(other.key), toHex(key));
    notEqual(toHex(other.id), toHex(id));
    equal(key.length, 32);
    equal(id.length, 16);
  });

  it('match the golden vectors byte for byte, and noble’s XChaCha20-Poly1305 independently', () => {
    const key = fromHex(vectors.key);
    equal(vectors.chunkSize, FILE_CHUNK_SIZE);
    for (const f of vectors.files) {
      const fileId = fromHex(f.fileId);
      const plaintext = fill(f.size, f.seed);
      equal(fileChunkCount(f.size), f.count, f.label);
      for (const c of f.chunks) {
        const start = c.index * FILE_CHUNK_SIZE;
        const part = plaintext.subarray(start, start + fileChunkLength(f.size, c.index));
        const nonce = fromHex(c.nonce);
        const sealed = sealFileChunk(key, fileId, c.index, f.count, part, () => nonce);
        equal(sealed.length, c.sealedLength, `${f.label} ${c.index} length`);
        if ('sealed' in c) equal(toHex(sealed), c.sealed, `${f.label} chunk ${c.index}`);
        else equal(toHex(sha256(sealed)), c.sealedSha256, `${f.label} chunk ${c.index}`);
        const box = xchacha20poly1305(key, nonce, fromHex(c.aad)).encrypt(part);
        equal(toHex(sealed), toHex(concat(Uint8Array.of(1), nonce, box)), 'the AEAD by noble');
        deepEqual(openFileChunk(key, fileId, c.index, f.count, sealed), part);
      }
    }
  });

  it('refuse any changed byte, and truncation or extension of a chunk', () => {
    const { key, id } = newFileSecrets();
    const sealed = sealFileChunk(key, id, 0, 1, fill(40, 9));
    for (const [i, tampered] of flipEachByte(sealed))
      throwsCode(
        () => openFileChunk(key, id, 0, 1, tampered),
        i === 0 ? 'BAD_VERSION' : 'DECRYPT_FAILED',
        `byte ${i}`,
      );
    for (const short of truncations(sealed))
      throwsCode(
        () => openFileChunk(key, id, 0, 1, short),
        short.length === 0 || short.length < FILE_CHUNK_OVERHEAD ? 'BAD_FORMAT' : 'DECRYPT_FAILED',
        `${short.length} bytes`,
      );
    throwsCode(() => openFileChunk(key, id, 0, 1, extended(sealed)), 'DECRYPT_FAILED');
  });

  it('open a chunk only at its index, in its file, with its count, under its key', () => {
    const { key, id } = newFileSecrets();
    const file = fill(2 * FILE_CHUNK_SIZE + 3, 5);
    const chunks = sealAll(key, id, file);
    const [first, second, last] = chunks as [Uint8Array, Uint8Array, Uint8Array];
    throwsCode(() => openFileChunk(key, id, 1, 3, first), 'DECRYPT_FAILED', 'reordered');
    throwsCode(() => openFileChunk(key, id, 0, 3, second), 'DECRYPT_FAILED', 'reordered');
    throwsCode(() => openFileChunk(key, randomBytes(16), 0, 3, first), 'DECRYPT_FAILED', 'other file');
    throwsCode(() => openFileChunk(randomBytes(32), id, 0, 3, first), 'DECRYPT_FAILED', 'other key');
    // Truncation: the first two chunks as a two-chunk file (the second posing as the last).
    throwsCode(() => openFileChunk(key, id, 1, 2, second), 'DECRYPT_FAILED', 'truncated');
    throwsCode(() => openFileChunk(key, id, 0, 2, first), 'DECRYPT_FAILED', 'truncated');
    // Extension: a count larger than sealed.
    throwsCode(() => openFileChunk(key, id, 2, 4, last), 'BAD_FORMAT', 'a short chunk is not a middle one');
    throwsCode(() => openFileChunk(key, id, 2, 3, last.subarray(0, 1)), 'BAD_FORMAT');
    // Swapped between two files sealed under the same key (a caller's mistake): still refused.
    const otherId = randomBytes(16);
    const other = sealAll(key, otherId, file);
    throwsCode(() => openFileChunk(key, id, 0, 3, other[0]!), 'DECRYPT_FAILED', 'swapped');
    deepEqual(openFileChunk(key, id, 2, 3, last), file.subarray(2 * FILE_CHUNK_SIZE));
  });

  it('enforce the chunk size rule when sealing', () => {
    const { key, id } = newFileSecrets();
    throwsCode(() => sealFileChunk(key, id, 0, 2, fill(10, 1)), 'BAD_INPUT', 'short middle chunk');
    throwsCode(() => sealFileChunk(key, id, 1, 2, new Uint8Array(0)), 'BAD_INPUT', 'empty last chunk');
    throwsCode(() => sealFileChunk(key, id, 0, 1, new Uint8Array(FILE_CHUNK_SIZE + 1)), 'BAD_INPUT');
    throwsCode(() => sealFileChunk(key, id, 2, 2, fill(1, 1)), 'BAD_INPUT', 'index past the count');
    throwsCode(() => sealFileChunk(key, id, 0, 0, fill(1, 1)), 'BAD_INPUT', 'no chunks');
    throwsCode(() => sealFileChunk(key, id, 0, MAX_FILE_CHUNKS + 1, fill(1, 1)), 'BAD_INPUT', 'too many');
    throwsCode(() => sealFileChunk(key, id, 0, 1, fill(1, 1), () => new Uint8Array(12)), 'BAD_INPUT');
  });

  it('reject wrong-type inputs with labelled BAD_INPUT errors', () => {
    const { key, id } = newFileSecrets();
    const sealed = sealFileChunk(key, id, 0, 1, fill(3, 1));
    const label = (fn: () => unknown, name: string) => {
      const error = throwsCode(fn, 'BAD_INPUT', name);
      equal(error.message.includes(name), true, `"${error.message}" names ${name}`);
    };
    for (const bad of [...NOT_BYTES, new Uint8Array(31), new Uint8Array(33)]) {
      label(() => sealFileChunk(bad as Uint8Array, id, 0, 1, fill(3, 1)), 'key');
      label(() => openFileChunk(bad as Uint8Array, id, 0, 1, sealed), 'key');
    }
    for (const bad of [...NOT_BYTES, new Uint8Array(15), new Uint8Array(17)]) {
      label(() => sealFileChunk(key, bad as Uint8Array, 0, 1, fill(3, 1)), 'fileId');
      label(() => openFileChunk(key, bad as Uint8Array, 0, 1, sealed), 'fileId');
    }
    for (const bad of NOT_BYTES) {
      label(() => sealFileChunk(key, id, 0, 1, bad as Uint8Array), 'plaintext');
      label(() => openFileChunk(key, id, 0, 1, bad as Uint8Array), 'sealed');
    }
    for (const bad of [-1, 1.5, '0', null, undefined, Number.NaN, 2 ** 60]) {
      label(() => sealFileChunk(key, id, bad as number, 1, fill(3, 1)), 'index');
      label(() => openFileChunk(key, id, 0, bad as number, sealed), 'count');
      label(() => fileChunkCount(bad as number), 'size');
    }
  });

  it('size the sealed file and the largest file a limit allows', () => {
    equal(sealedFileSize(0), FILE_CHUNK_OVERHEAD);
    equal(sealedFileSize(FILE_CHUNK_SIZE), SEALED_CHUNK_SIZE);
    equal(sealedFileSize(FILE_CHUNK_SIZE + 1), SEALED_CHUNK_SIZE + 1 + FILE_CHUNK_OVERHEAD);
    for (const limit of [
      0,
      40,
      41,
      42,
      SEALED_CHUNK_SIZE,
      SEALED_CHUNK_SIZE + 41,
      SEALED_CHUNK_SIZE + 42,
      25 << 20,
    ]) {
      const max = maxFileSizeFor(limit);
      if (limit >= FILE_CHUNK_OVERHEAD) equal(sealedFileSize(max) <= limit, true, `fits ${limit}`);
      equal(max === 0 || sealedFileSize(max + 1) > limit, true, `largest for ${limit}`);
    }
    equal(maxFileSizeFor(40), 0);
  });
});
