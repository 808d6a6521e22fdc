/** What every request handler shares: the reply shape and the permission check. */
import { ProtocolError } from '../../protocol/errors.ts';
import type { Session } from '../session.ts';

/** The fields of an `ok` reply, or undefined for none. */
export type Reply = Record<string, unknown> | undefined;

export function requirePermission(session: Session, permission: string): void {
  if (!session.can(permission)) throw ProtocolError.notAllowed(`needs ${permission}`);
}
