/**
 * Checks a client's auth answer and admits it. Every failure is the one opaque
 * AUTH_FAILED on the wire (close 4401); the log and `/metrics` say which check failed.
 *
 * Order: version → per-IP attempt budget → PoW → clock skew → signature over the
 * statement with this connection's nonce (single-use) → ban → membership (existing
 * member, or a valid invite, or open mode) → sessions-per-identity cap.
 */
import { fromBase64url } from '../crypto/bytes.ts';
import { publicKeyOf } from '../crypto/identity.ts';
import { checkPow } from '../crypto/pow.ts';
import { verifyStatementAsync } from '../crypto/sign.ts';
import { AUTH_CONTEXT, authFields } from '../protocol/auth.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { AuthMessage } from '../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { Hub } from './hub.ts';
import { redeemInvite } from './invites.ts';
import type { Session } from './session.ts';

export async function authenticate(hub: Hub, session: Session, msg: AuthMessage): Promise<void> {
  const nonce = session.nonce;
  session.nonce = undefined; // single-use, whatever happens next
  const refuse = (
    reason: string,
    code: 'AUTH_FAILED' | 'UNSUPPORTED_VERSION' | 'POW_REQUIRED' | 'TOO_MANY_CONNECTIONS' = 'AUTH_FAILED',
  ) => {
    hub.count.auth({ result: reason });
    hub.count.rejected({ code });
    hub.log.info(
      `auth refused (${reason}) session ${session.id} ip ${session.ip} key ${msg.key.slice(0, 12)}…`,
    );
    session.close(code, code === 'AUTH_FAILED' ? 'authentication failed' : reason);
  };
  const now = hub.now();
  if (msg.v !== PROTOCOL_VERSION) return refuse(`version ${msg.v}`, 'UNSUPPORTED_VERSION');
  if (!nonce) return refuse('no nonce');
  if (!hub.authBuckets.take(session.ip, now)) return refuse('attempt budget of the address spent');
  if (session.powChallenge) {
    const ok =
      msg.pow !== undefined &&
      checkPow(session.powChallenge, fromBase64url(msg.pow), hub.options.powDifficulty);
    if (!ok) return refuse('proof of work', 'POW_REQUIRED');
  }
  if (Math.abs(now - msg.time) > hub.options.authSkewMs) return refuse('stale time');
  let publicKey: Uint8Array;
  try {
    publicKey = publicKeyOf(msg.key);
  } catch {
    return refuse('not a P-256 key');
  }
  const fields = authFields({ serverId: hub.identity.id, nonce, time: msg.time, key: msg.key });
  if (!(await verifyStatementAsync(publicKey, fromBase64url(msg.sig), AUTH_CONTEXT, fields)))
    return refuse('bad signature');
  // The socket may have closed while the signature was checked: admit nothing then.
  if (session.state !== 'hello') return;
  if (hub.members.isBanned(msg.key)) return refuse('banned');

  let member = hub.members.find(msg.key);
  if (!member && msg.invite !== undefined) {
    try {
      member = redeemInvite(hub, msg.invite, msg.key, msg.name ?? 'newcomer', now);
    } catch (error) {
      return refuse(`invite: ${error instanceof ProtocolError ? error.message : String(error)}`);
    }
  }
  if (!member && hub.options.open && msg.name !== undefined) {
    member = hub.members.add({
      key: msg.key,
      name: msg.name,
      roles: [hub.options.defaultRole],
      addedBy: 'open',
    });
    hub.store.audit({ actor: msg.key, action: 'join.open', target: msg.key });
  }
  if (!member) return refuse('unknown key');
  if ((hub.byUser.get(msg.key)?.size ?? 0) >= hub.options.maxSessionsPerIdentity) {
    return refuse('too many sessions', 'TOO_MANY_CONNECTIONS');
  }

  const user = hub.bindUser(session, member.key, member.name, member.roles);
  hub.count.auth({ result: 'ok' });
  session.send({
    type: 'welcome',
    session: session.id,
    user: { key: user.key, name: user.name, roles: user.roles, permissions: [...user.permissions] },
    server: {
      id: hub.identity.id,
      name: hub.options.serverName,
      fingerprint: hub.identity.fingerprint,
      open: hub.options.open,
      fixedChannels: hub.options.fixedChannels,
      limits: { maxFrameBytes: hub.options.maxFrameBytes, maxUploadBytes: hub.options.maxUploadBytes },
      // What each role may do: peers check it for what reaches them directly (the mesh).
      roles: Object.fromEntries([...hub.options.roles].map(([name, r]) => [name, [...r.permissions]])),
    },
    channels: hub.channelsState(),
    epoch: hub.epoch,
    members: hub.members.list().map((m) => hub.presenceOf(m.key, m) ?? m),
  });
  hub.pushPresence(user.key);
}
