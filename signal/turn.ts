/**
 * Time-limited TURN credentials in the TURN REST API scheme that coturn's
 * `use-auth-secret` checks (draft-uberti-behave-turn-rest-00 §2.2): the username is
 * `<expiry unix seconds>:<user id>`, the password base64(HMAC-SHA1(secret, username)).
 * The secret is shared with coturn only; clients never see it.
 */
import { createHmac } from 'node:crypto';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface TurnCredentials {
  iceServers: IceServer[];
  /** Unix seconds when the credentials stop working. */
  expiresAt: number;
}

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export function mintTurnCredentials(
  options: { secret: string; urls: readonly string[]; ttlSeconds: number },
  userId: string,
  nowMs: number,
): TurnCredentials {
  const expiresAt = Math.floor(nowMs / 1000) + options.ttlSeconds;
  const username = `${expiresAt}:${userId}`;
  const stun = options.urls.filter((u) => u.startsWith('stun:'));
  const turn = options.urls.filter((u) => !u.startsWith('stun:'));
  const iceServers: IceServer[] = [];
  if (stun.length) iceServers.push({ urls: stun });
  if (turn.length)
    iceServers.push({ urls: turn, username, credential: turnPassword(options.secret, username) });
  return { iceServers, expiresAt };
}
