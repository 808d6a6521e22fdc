/**
 * Files to and from a server's blob store, sealed here (crypto/file.ts): `upload`
 * reads a file, makes its key and id, seals and stores its chunks and returns the
 * metadata the post will carry; `download` fetches, opens and checks them, keeping
 * the plaintext in a bounded memory cache. One per server session, shared by its
 * conversations, so the pacing is per connection.
 *
 * Uploads go through the outbox (`enqueue`), not a plain request: a chunk put is
 * idempotent on the server (the same bytes again are a duplicate, and a chunk is
 * never re-sealed once made), so a put whose answer was lost in a drop is sent again
 * on reconnect and stored once, and an upload started offline simply waits. Only
 * WINDOW chunks are queued at a time, so the outbox never floods a fresh connection.
 * Downloads are reads: a plain `request`, failing fast when offline.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import {
  FILE_CHUNK_SIZE,
  fileChunkCount,
  fileChunkLength,
  newFileSecrets,
  openFileChunk,
  sealFileChunk,
} from '../../crypto/file.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { type SealedAttachment, safeMime, safeName } from './attachments.ts';
import { ByteCache } from './byte-cache.ts';
import { CoreError } from './errors.ts';
import { imageSize } from './image-size.ts';
import { Pacer } from './pacer.ts';

type Send = (type: string, fields: Record<string, unknown>) => Promise<Record<string, unknown>>;

export interface FileTransferOptions {
  request: Send;
  enqueue: Send;
  /** Blob requests per second and burst; default 16 and 16, below every default role's rate. */
  rate?: { perSecond: number; burst: number };
  /** Decrypted bytes kept in memory; default 64 MiB. */
  cacheBytes?: number;
}

/** Chunk requests in flight per transfer. */
const WINDOW = 4;
/** Tries of one chunk request refused with RATE_LIMITED (or, for reads, lost to a timeout). */
const TRIES = 6;
const BACKOFF_MS = 500;

export class FileTransfer {
  private readonly pacer: Pacer;
  private readonly cache: ByteCache;
  private readonly fetching = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

  constructor(private readonly options: FileTransferOptions) {
    const rate = options.rate ?? { perSecond: 16, burst: 16 };
    this.pacer = new Pacer(rate.perSecond, rate.burst);
    this.cache = new ByteCache(options.cacheBytes ?? 64 << 20);
  }

  /** Seals and stores `file` for the readers of `log`; resolves with what the post must carry. */
  async upload(log: string, file: Blob): Promise<SealedAttachment> {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { key, id } = newFileSecrets();
    const size = bytes.length;
    const count = fileChunkCount(size);
    const fileId = toBase64url(id);
    const keyText = toBase64url(key);
    const mime = safeMime(file.type);
    const dims = imageSize(bytes, mime);
    await inWindow(count, async (index) => {
      const start = index * FILE_CHUNK_SIZE;
      const part = bytes.subarray(start, start + fileChunkLength(size, index));
      const data = toBase64url(sealFileChunk(key, id, index, count, part));
      await this.retrying(false, () =>
        this.options.enqueue('blob.put', { log, file: fileId, index, count, data }),
      );
    });
    // The uploader sees its own file without fetching it back.
    this.cache.set(fileId, bytes);
    const name = 'name' in file && typeof file.name === 'string' ? file.name : '';
    return {
      id: fileId,
      name: safeName(name),
      mime,
      size,
      ...(dims ? { width: dims.width, height: dims.height } : {}),
      key: keyText,
      chunks: count,
      sha256: toBase64url(sha256(bytes)),
    };
  }

  /** The plaintext of an attachment of `log`: from the cache, or fetched, opened and checked. */
  download(log: string, a: SealedAttachment): Promise<Uint8Array<ArrayBuffer>> {
    const cached = this.cache.get(a.id);
    if (cached) return Promise.resolve(cached);
    let pending = this.fetching.get(a.id);
    if (!pending) {
      pending = this.fetch(log, a).finally(() => this.fetching.delete(a.id));
      this.fetching.set(a.id, pending);
    }
    return pending;
  }

  private async fetch(log: string, a: SealedAttachment): Promise<Uint8Array<ArrayBuffer>> {
    const key = fromBase64url(a.key);
    const id = fromBase64url(a.id);
    const out = new Uint8Array(a.size);
    await inWindow(a.chunks, async (index) => {
      const reply = await this.retrying(true, () =>
        this.options.request('blob.get', { log, file: a.id, index }),
      );
      if (typeof reply.data !== 'string') throw new CoreError('BAD_FORMAT', 'a chunk reply without data');
      const plain = openFileChunk(key, id, index, a.chunks, fromBase64url(reply.data));
      if (plain.length !== fileChunkLength(a.size, index))
        throw new CoreError('BAD_FORMAT', `chunk ${index} is not the size the post says`);
      out.set(plain, index * FILE_CHUNK_SIZE);
    });
    if (!equalBytes(sha256(out), fromBase64url(a.sha256)))
      throw new CoreError('BAD_FORMAT', 'the file does not match the hash its post carries');
    this.cache.set(a.id, out);
    return out;
  }

  /** Paces a chunk request and retries it while the server says to slow down. */
  private async retrying(
    read: boolean,
    send: () => Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt++) {
      await this.pacer.wait();
      try {
        return await send();
      } catch (error) {
        const code = error instanceof ProtocolError ? error.code : undefined;
        const retry = code === 'RATE_LIMITED' || (read && code === 'TIMEOUT');
        if (!retry || attempt >= TRIES) throw error;
        await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (attempt - 1)));
      }
    }
  }
}

/** Runs `work(0 … count−1)` with at most WINDOW at a time; stops starting new ones after a failure. */
async function inWindow(count: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await work(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, worker));
}
