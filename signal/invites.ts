/**
 * Invites as the server sees them: it signs tokens with its own key for members
 * allowed to invite, counts uses in the store, and redeems a token into
 * membership. The bundle secret of a link never reaches it (crypto/invite.ts).
 */
import { toBase64url } from '../crypto/bytes.ts';
import { CryptoError } from '../crypto/errors.ts';
import { createInvite, parseInvite, verifyInvite } from '../crypto/invite.ts';
import { rawSigner } from '../crypto/sign.ts';
import { ProtocolError } from '../protocol/errors.ts';
import type { Hub } from './hub.ts';
import type { Member } from './members.ts';
import type { ServerIdentity } from './server-identity.ts';
import type { Store } from './store/store.ts';

/** What issuing needs: the hub provides it live, the CLI from the data dir. */
export interface InviteContext {
  identity: ServerIdentity;
  store: Store;
  roleExists(role: string): boolean;
  channelExists(id: string): boolean;
  now(): number;
}

export interface InviteRequest {
  role: string;
  expiresIn: number;
  maxUses: number;
  channel?: string;
  bundle?: string;
}

/** Creates, stores and signs an invite; returns the token and the link fragment. */
export async function issueInvite(
  ctx: InviteContext,
  createdBy: string,
  request: InviteRequest,
): Promise<{ id: string; token: string; expiresAt: number }> {
  if (!ctx.roleExists(request.role)) throw new ProtocolError('NOT_FOUND', `no role ${request.role}`);
  if (request.channel !== undefined && !ctx.channelExists(request.channel)) {
    throw new ProtocolError('NOT_FOUND', 'no such channel');
  }
  const expiresAt = Math.floor(ctx.now() / 1000) + request.expiresIn;
  const created = await createInvite(rawSigner(ctx.identity.secretKey), {
    serverPublicKey: ctx.identity.publicKey,
    role: request.role,
    expiresAt,
    maxUses: request.maxUses,
    channelId: request.channel,
    // The flag only marks that the inviter appends a secret of its own to the link;
    // the secret minted here is discarded, so the server never holds a usable one.
    withBundleSecret: request.bundle !== undefined,
  });
  const id = toBase64url(created.invite.id);
  ctx.store.createInvite({
    id,
    role: request.role,
    expiresAt,
    maxUses: request.maxUses,
    channel: request.channel,
    createdBy,
    bundle: request.bundle,
  });
  ctx.store.audit({
    actor: createdBy,
    action: 'invite.create',
    target: id,
    detail: { role: request.role, maxUses: request.maxUses },
  });
  return { id, token: created.token, expiresAt };
}

/** The link a person opens: the server's page with the token in the fragment (never sent over HTTP). */
export function inviteUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/#invite=${token}`;
}

/** Verifies a token and counts a use; adds the key as a member with the invite's role. */
export function redeemInvite(hub: Hub, token: string, key: string, name: string, nowMs: number): Member {
  let invite: ReturnType<typeof parseInvite>;
  try {
    invite = verifyInvite(parseInvite(token), {
      now: Math.floor(nowMs / 1000),
      trustedIssuers: [hub.identity.publicKey],
      serverPublicKey: hub.identity.publicKey,
    });
  } catch (error) {
    if (error instanceof CryptoError) throw new ProtocolError('AUTH_FAILED', `invite ${error.code}`);
    throw error;
  }
  const id = toBase64url(invite.id);
  const result = hub.store.redeemInvite(id, key, Math.floor(nowMs / 1000), { name });
  if (!result.ok) throw new ProtocolError('AUTH_FAILED', `invite ${result.reason}`);
  const member = hub.members.find(key);
  if (!member) throw new ProtocolError('INTERNAL', 'redeemed invite left no member');
  hub.store.audit({ actor: key, action: 'invite.redeem', target: id, detail: { role: result.role } });
  return member;
}
