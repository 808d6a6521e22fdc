/**
 * What a client signs to authenticate, shared by the server (verify) and clients
 * (sign), so both build the same statement. The signature is ECDSA P-256 over
 * `encodeStatement(AUTH_CONTEXT, authFields(…))` (crypto/statement.ts).
 *
 * The nonce is fresh per connection and single-use, so an answer captured on one
 * connection is worthless on another; the time bounds how long a leaked answer
 * could matter even then; the server id stops an answer being replayed to another
 * tincan server.
 */
import { PROTOCOL_VERSION } from './version.ts';

export const AUTH_CONTEXT = 'tincan/auth/v1';

export interface AuthFieldsInput {
  serverId: string;
  nonce: string;
  time: number;
  key: string;
}

export function authFields({ serverId, nonce, time, key }: AuthFieldsInput): (string | number)[] {
  return [PROTOCOL_VERSION, serverId, nonce, time, key];
}
