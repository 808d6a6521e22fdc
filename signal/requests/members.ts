/**
 * Moderation: rename, kick, ban/unban, server mute, move between voice channels,
 * roles. Each checks the permission and that the actor outranks the target
 * (priority), and leaves an audit record that holds no message content.
 */
import { ProtocolError } from '../../protocol/errors.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { Hub } from '../hub.ts';
import { resolveRoles } from '../options.ts';
import type { Session } from '../session.ts';
import { enterVoice } from './channels.ts';
import { type Reply, requirePermission } from './common.ts';

/** The target must exist and rank below the actor (acting on oneself is allowed for rename). */
function requireOutranks(hub: Hub, session: Session, target: string): { name: string; roles: string[] } {
  const member = hub.members.find(target);
  if (!member) throw new ProtocolError('NOT_FOUND', 'no such member');
  if (target === session.user!.key) return member;
  const { priority } = resolveRoles(member.roles, hub.options.roles);
  if (priority >= session.user!.priority) throw ProtocolError.notAllowed('the member ranks as high as you');
  return member;
}

function audit(
  hub: Hub,
  session: Session,
  action: string,
  target: string,
  detail?: Record<string, string | number | boolean>,
): void {
  hub.store.audit({ actor: session.user!.key, action, target, detail });
}

export function renameMember(hub: Hub, session: Session, msg: MessageOf<'member.rename'>): Reply {
  if (msg.member !== session.user!.key) requirePermission(session, 'rename');
  const member = requireOutranks(hub, session, msg.member);
  if (!hub.store.getMember(msg.member)) {
    // A member from the authorized_keys file gets a database row to carry the new name.
    hub.members.add({ key: msg.member, name: msg.name, roles: member.roles, addedBy: 'file' });
  } else hub.store.renameMember(msg.member, msg.name);
  for (const s of hub.byUser.get(msg.member) ?? []) s.user!.name = msg.name;
  audit(hub, session, 'member.rename', msg.member);
  hub.pushPresence(msg.member);
  return {};
}

export function kickMember(hub: Hub, session: Session, msg: MessageOf<'member.kick'>): Reply {
  requirePermission(session, 'kick');
  if (msg.member === session.user!.key) throw new ProtocolError('CONFLICT', 'you cannot kick yourself');
  requireOutranks(hub, session, msg.member);
  // A kick ends membership: the key needs a new invite to come back (as in Discord).
  hub.store.removeMember(msg.member);
  hub.disconnectUser(msg.member, 'KICKED', msg.reason ?? 'kicked');
  audit(hub, session, 'member.kick', msg.member, msg.reason ? { reason: msg.reason } : undefined);
  hub.memberRemoved(msg.member, 'kick');
  return {};
}

export function banMember(hub: Hub, session: Session, msg: MessageOf<'member.ban'>): Reply {
  requirePermission(session, 'ban');
  if (msg.member === session.user!.key) throw new ProtocolError('CONFLICT', 'you cannot ban yourself');
  if (hub.members.find(msg.member)) requireOutranks(hub, session, msg.member);
  hub.store.ban(msg.member, { by: session.user!.key, reason: msg.reason });
  hub.store.removeMember(msg.member);
  hub.disconnectUser(msg.member, 'BANNED', msg.reason ?? 'banned');
  audit(hub, session, 'member.ban', msg.member, msg.reason ? { reason: msg.reason } : undefined);
  hub.memberRemoved(msg.member, 'ban');
  return {};
}

export function unbanMember(hub: Hub, session: Session, msg: MessageOf<'member.unban'>): Reply {
  requirePermission(session, 'ban');
  if (!hub.store.isBanned(msg.member)) throw new ProtocolError('NOT_FOUND', 'not banned');
  hub.store.unban(msg.member);
  audit(hub, session, 'member.unban', msg.member);
  return {};
}

export function muteMember(hub: Hub, session: Session, msg: MessageOf<'member.mute'>): Reply {
  requirePermission(session, 'mute');
  requireOutranks(hub, session, msg.member);
  if (msg.muted) hub.serverMuted.add(msg.member);
  else hub.serverMuted.delete(msg.member);
  hub.onServerMute?.(msg.member, msg.muted);
  hub.noticeSilence(msg.member, msg.muted);
  audit(hub, session, msg.muted ? 'member.mute' : 'member.unmute', msg.member);
  hub.pushPresence(msg.member);
  return {};
}

export function moveMember(hub: Hub, session: Session, msg: MessageOf<'member.move'>): Reply {
  requirePermission(session, 'move');
  requireOutranks(hub, session, msg.member);
  const inVoice = [...(hub.byUser.get(msg.member) ?? [])].filter((s) => s.voice);
  if (inVoice.length === 0) throw new ProtocolError('CONFLICT', 'the member is not in a voice channel');
  for (const s of inVoice) {
    enterVoice(hub, s, msg.channel, true);
    s.send({ type: 'voice.moved', channel: msg.channel, by: session.user!.key });
  }
  audit(hub, session, 'member.move', msg.member, { channel: msg.channel });
  return {};
}

export function setMemberRoles(hub: Hub, session: Session, msg: MessageOf<'member.roles'>): Reply {
  requirePermission(session, 'manage_roles');
  const member = requireOutranks(hub, session, msg.member);
  for (const role of msg.roles) {
    const spec = hub.options.roles.get(role);
    if (!spec) throw new ProtocolError('NOT_FOUND', `no role ${role}`);
    if (spec.priority >= session.user!.priority) throw ProtocolError.notAllowed(`cannot grant ${role}`);
  }
  if (hub.store.getMember(msg.member)) hub.store.setRoles(msg.member, msg.roles);
  else hub.members.add({ key: msg.member, name: member.name, roles: msg.roles, addedBy: 'file' });
  const resolved = resolveRoles(msg.roles, hub.options.roles);
  for (const s of hub.byUser.get(msg.member) ?? []) {
    s.user!.roles = msg.roles;
    s.user!.permissions = resolved.permissions;
    s.user!.priority = resolved.priority;
    s.send({ type: 'roles', roles: msg.roles, permissions: [...resolved.permissions] });
  }
  audit(hub, session, 'member.roles', msg.member, { roles: msg.roles.join(',') });
  hub.pushPresence(msg.member);
  return {};
}

export function listMembers(hub: Hub): Reply {
  return {
    members: hub.members.list().map((m) => hub.presenceOf(m.key)),
    bans: hub.store.listBans().map((b) => ({ key: b.key, reason: b.reason ?? null })),
  };
}

export function leaveServer(hub: Hub, session: Session): Reply {
  const key = session.user!.key;
  hub.store.removeMember(key);
  hub.store.audit({ actor: key, action: 'member.leave', target: key });
  hub.memberRemoved(key, 'leave');
  // Answer first, then end this member's sessions (a normal close: it chose to go).
  setTimeout(() => {
    for (const s of [...(hub.byUser.get(key) ?? [])]) s.ws.close(1000, 'left');
  }, 0);
  return {};
}
