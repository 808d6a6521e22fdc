/**
 * The blob store: files sealed on clients as chunks (crypto/file.ts), kept for the
 * readers of a log. The server sees sizes, counts and who uploaded, never a key or
 * a byte of plaintext (the keys travel inside the sealed posts).
 *
 * Rules: `upload` to put; read access to the log (a channel that exists, or a DM of
 * one's own) to put and to get; chunk sizes as the format fixes them (every chunk
 * but the last full), so a file's size is bounded by `maxUploadBytes` from its first
 * chunk on; chunks are immutable; a file id is its first uploader's alone. Blob bytes
 * count into the log's quota (STORE_FULL) and go with the log when it is deleted.
 */
import { toBase64url } from '../../crypto/bytes.ts';
import { FILE_CHUNK_OVERHEAD, SEALED_CHUNK_SIZE } from '../../crypto/file.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { Hub } from '../hub.ts';
import type { Session } from '../session.ts';
import { checkLogAccess, decodeField, type Reply, requirePermission } from './common.ts';

export function putBlob(hub: Hub, session: Session, msg: MessageOf<'blob.put'>): Reply {
  checkLogAccess(hub, session, msg.log);
  requirePermission(session, 'upload');
  if (msg.index >= msg.count)
    throw ProtocolError.badMessage(`index ${msg.index} is not below count ${msg.count}`);
  const data = decodeField(msg.data, 'data');
  const last = msg.index === msg.count - 1;
  if (!last && data.length !== SEALED_CHUNK_SIZE)
    throw ProtocolError.badMessage(`chunk ${msg.index} of ${msg.count} must be ${SEALED_CHUNK_SIZE} bytes`);
  if (last && (data.length < FILE_CHUNK_OVERHEAD || data.length > SEALED_CHUNK_SIZE))
    throw ProtocolError.badMessage(
      `the last chunk must be ${FILE_CHUNK_OVERHEAD}..${SEALED_CHUNK_SIZE} bytes`,
    );
  // The smallest the whole file can be, given this chunk: refused before anything is stored.
  const least = (msg.count - 1) * SEALED_CHUNK_SIZE + (last ? data.length : FILE_CHUNK_OVERHEAD);
  const limit = hub.options.maxUploadBytes;
  if (least > limit)
    throw new ProtocolError('TOO_LARGE', `the file is over the upload limit of ${limit} bytes`);
  const result = hub.store.putChunk({
    log: msg.log,
    file: msg.file,
    index: msg.index,
    count: msg.count,
    data,
    uploader: session.user!.key,
    maxFileBytes: limit,
  });
  if (result.ok) return { duplicate: result.duplicate };
  switch (result.reason) {
    case 'OTHER_UPLOADER':
      throw ProtocolError.notAllowed('another member uploads this file');
    case 'OTHER_LOG':
      throw new ProtocolError('CONFLICT', 'the file belongs to another log');
    case 'OTHER_COUNT':
      throw new ProtocolError('CONFLICT', 'the file was started with another chunk count');
    case 'OTHER_BYTES':
      throw new ProtocolError('CONFLICT', 'a stored chunk cannot be changed');
    case 'FILE_TOO_LARGE':
      throw new ProtocolError('TOO_LARGE', `the file is over the upload limit of ${limit} bytes`);
    default: {
      const unreachable: never = result.reason;
      throw new ProtocolError('INTERNAL', `unexpected ${String(unreachable)}`);
    }
  }
}

export function getBlob(hub: Hub, session: Session, msg: MessageOf<'blob.get'>): Reply {
  checkLogAccess(hub, session, msg.log);
  const data = hub.store.getChunk(msg.log, msg.file, msg.index);
  if (data === undefined) throw new ProtocolError('NOT_FOUND', 'no such chunk');
  return { data: toBase64url(data) };
}
