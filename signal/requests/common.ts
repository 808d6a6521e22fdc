/** What every request handler shares: the reply shape, the permission and log access checks. */
import { fromBase64url } from '../../crypto/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { Hub } from '../hub.ts';
import type { Session } from '../session.ts';
import { StoreError } from '../store/errors.ts';

/** The fields of an `ok` reply, or undefined for none. */
export type Reply = Record<string, unknown> | undefined;

export function requirePermission(session: Session, permission: string): void {
  if (!session.can(permission)) throw ProtocolError.notAllowed(`needs ${permission}`);
}

/**
 * Checks access to a log (its entries and its blobs): a channel must exist; a DM
 * (`dm:<a>:<b>`) is for its two members only. Returns the DM's members for a DM.
 */
export function checkLogAccess(hub: Hub, session: Session, log: string): [string, string] | undefined {
  if (log.startsWith('dm:')) {
    hub.checkRoomAccess(session, log);
    const [, a, b] = log.split(':') as [string, string, string];
    return [a, b];
  }
  if (!hub.channels.get(log)) throw new ProtocolError('NOT_FOUND', 'no such channel');
  return undefined;
}

/**
 * The wire error for a store refusal: `STORE_FULL` (quota or disk) and the store's
 * own NOT_FOUND/CONFLICT pass through, BAD_INPUT is the client's BAD_MESSAGE.
 * Undefined for anything else (`STORE_FAILED`, bugs), which the hub answers INTERNAL.
 */
export function storeRefusal(error: unknown): ProtocolError | undefined {
  if (!(error instanceof StoreError)) return undefined;
  switch (error.code) {
    case 'STORE_FULL':
      return new ProtocolError('STORE_FULL', 'the server’s storage is full');
    case 'NOT_FOUND':
    case 'CONFLICT':
      return new ProtocolError(error.code, error.message);
    case 'BAD_INPUT':
      return ProtocolError.badMessage(error.message);
    case 'STORE_FAILED':
      return undefined;
    default: {
      const unreachable: never = error.code;
      return unreachable;
    }
  }
}

/** Bytes of a base64url field; anything but the canonical spelling is the client's `BAD_MESSAGE`. */
export function decodeField(value: string, field: string): Uint8Array {
  try {
    return fromBase64url(value);
  } catch {
    throw ProtocolError.badMessage(`${field} is not canonical base64url`);
  }
}
