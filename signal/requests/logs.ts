/**
 * The ciphertext logs: append, fetch (catch-up and scroll-back), compact. A log is a
 * channel id or `dm:<a>:<b>`; blobs are opaque to the server, which checks only who
 * may write and read, sizes and idempotency, then pushes new entries to readers.
 */
import { toBase64url } from '../../crypto/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { Hub } from '../hub.ts';
import type { Session } from '../session.ts';
import { checkLogAccess, decodeField, type Reply, requirePermission } from './common.ts';

export function appendLog(hub: Hub, session: Session, msg: MessageOf<'log.append'>): Reply {
  const dm = checkLogAccess(hub, session, msg.log);
  requirePermission(session, 'send');
  const blob = decodeField(msg.blob, 'blob');
  if (blob.length > hub.options.maxUploadBytes)
    throw new ProtocolError('TOO_LARGE', 'entry over the upload limit');
  const at = hub.now();
  const { seq, duplicate } = hub.store.append({
    log: msg.log,
    kind: msg.kind,
    id: msg.id,
    blob,
    author: session.user!.key,
    at,
  });
  if (!duplicate) {
    const entry = {
      type: 'log',
      log: msg.log,
      seq,
      kind: msg.kind,
      id: msg.id,
      author: session.user!.key,
      at,
      blob: msg.blob,
    };
    if (dm) for (const key of dm) hub.sendToUser(key, entry);
    else hub.broadcast(entry);
  }
  return { seq, duplicate };
}

export function fetchLog(hub: Hub, session: Session, msg: MessageOf<'log.fetch'>): Reply {
  checkLogAccess(hub, session, msg.log);
  if (msg.after !== undefined && msg.before !== undefined)
    throw ProtocolError.badMessage('after or before, not both');
  const rows =
    msg.before !== undefined
      ? hub.store.fetchBefore(msg.log, msg.before, msg.limit)
      : hub.store.fetchAfter(msg.log, msg.after ?? 0, msg.limit);
  return {
    log: msg.log,
    entries: rows.map((r) => ({
      seq: r.seq,
      kind: r.kind,
      id: r.id,
      author: r.author,
      at: r.at,
      blob: toBase64url(r.blob),
    })),
  };
}

export function compactLog(hub: Hub, session: Session, msg: MessageOf<'log.compact'>): Reply {
  checkLogAccess(hub, session, msg.log);
  requirePermission(session, 'send');
  hub.store.compact(msg.log, msg.upTo, decodeField(msg.blob, 'blob'), session.user!.key);
  return {};
}
