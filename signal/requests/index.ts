/**
 * Request dispatch: one `switch` over every request type, with a `never` default so
 * a message type added to protocol/messages.ts without a handler fails to compile.
 * A handler returns the reply's fields (sent as `{type:'ok', ref, …}`) or throws a
 * ProtocolError.
 */
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { RequestMessage } from '../../protocol/messages.ts';
import type { Hub } from '../hub.ts';
import { inviteUrl, issueInvite } from '../invites.ts';
import type { Session } from '../session.ts';
import { mintTurnCredentials } from '../turn.ts';
import { getBlob, putBlob } from './blobs.ts';
import {
  createChannel,
  deleteChannel,
  joinVoice,
  leaveVoice,
  moveChannel,
  setVoiceState,
  updateChannel,
} from './channels.ts';
import { type Reply, requirePermission } from './common.ts';
import { appendLog, compactLog, fetchLog } from './logs.ts';
import {
  banMember,
  kickMember,
  leaveServer,
  listMembers,
  moveMember,
  muteMember,
  renameMember,
  setMemberRoles,
  unbanMember,
} from './members.ts';
import { relayTicket } from './relay.ts';

const TICKET_TTL_MS = 3600_000;

export async function handleRequest(hub: Hub, session: Session, msg: RequestMessage): Promise<Reply> {
  switch (msg.type) {
    case 'channel.create':
      return createChannel(hub, session, msg);
    case 'channel.update':
      return updateChannel(hub, session, msg);
    case 'channel.delete':
      return deleteChannel(hub, session, msg);
    case 'channel.move':
      return moveChannel(hub, session, msg);
    case 'voice.join':
      return joinVoice(hub, session, msg);
    case 'voice.leave':
      return leaveVoice(hub, session);
    case 'voice.state':
      return setVoiceState(hub, session, msg);
    case 'member.rename':
      return renameMember(hub, session, msg);
    case 'member.kick':
      return kickMember(hub, session, msg);
    case 'member.ban':
      return banMember(hub, session, msg);
    case 'member.unban':
      return unbanMember(hub, session, msg);
    case 'member.mute':
      return muteMember(hub, session, msg);
    case 'member.move':
      return moveMember(hub, session, msg);
    case 'member.roles':
      return setMemberRoles(hub, session, msg);
    case 'member.list':
      return listMembers(hub);
    case 'server.leave':
      return leaveServer(hub, session);
    case 'invite.create': {
      requirePermission(session, 'invite');
      // Members invite at their own rank or below; only manage_roles hands out higher roles.
      const spec = hub.options.roles.get(msg.role);
      if (spec && spec.priority > session.user!.priority && !session.can('manage_roles')) {
        throw ProtocolError.notAllowed(`cannot invite as ${msg.role}`);
      }
      const invite = await issueInvite(hub.inviteContext, session.user!.key, msg);
      return { ...invite, url: inviteUrl(hub.options.publicUrl ?? '', invite.token) };
    }
    case 'invite.list':
      requirePermission(session, 'invite');
      return { invites: hub.store.listInvites() };
    case 'invite.revoke':
      requirePermission(session, 'invite');
      if (!hub.store.revokeInvite(msg.id)) throw new ProtocolError('NOT_FOUND', 'no such invite');
      hub.store.audit({ actor: session.user!.key, action: 'invite.revoke', target: msg.id });
      return {};
    case 'invite.bundle': {
      // The sealed key bundle left by the inviter of the invite this member joined with.
      const inviteId = hub.store.getMember(session.user!.key)?.inviteId;
      const bundle = inviteId ? hub.store.getInviteBundle(inviteId) : undefined;
      return { bundle: bundle ?? null };
    }
    case 'turn.credentials':
      return { ...mintTurnCredentials(hub.options.turn, session.user!.key, hub.now()) };
    case 'relay.ticket':
      return relayTicket(hub, session, msg);
    case 'ticket.create': {
      const room = hub.checkRoomAccess(session, msg.room ?? '');
      const token = toBase64url(randomBytes(24));
      hub.tickets.set(token, {
        key: session.user!.key,
        room,
        expiresAt: hub.now() + TICKET_TTL_MS,
      });
      return { ticket: token, expiresAt: hub.now() + TICKET_TTL_MS };
    }
    case 'log.append':
      return appendLog(hub, session, msg);
    case 'log.fetch':
      return fetchLog(hub, session, msg);
    case 'log.compact':
      return compactLog(hub, session, msg);
    case 'blob.put':
      return putBlob(hub, session, msg);
    case 'blob.get':
      return getBlob(hub, session, msg);
    default: {
      const unreachable: never = msg;
      throw ProtocolError.badMessage(`unhandled ${(unreachable as { type: string }).type}`);
    }
  }
}
