/** Channel tree and voice membership requests. */
import { ProtocolError } from '../../protocol/errors.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import type { Hub } from '../hub.ts';
import type { Session } from '../session.ts';
import { type Reply, requirePermission } from './common.ts';

function requireManage(hub: Hub, session: Session): void {
  requirePermission(session, 'manage_channels');
  if (hub.options.fixedChannels)
    throw ProtocolError.notAllowed('the channel structure is fixed by the server config');
}

export function createChannel(hub: Hub, session: Session, msg: MessageOf<'channel.create'>): Reply {
  requireManage(hub, session);
  const c = hub.channels.create(
    { name: msg.name, kind: msg.kind, parent: msg.parent, settings: msg.settings },
    hub.now(),
  );
  hub.store.audit({
    actor: session.user!.key,
    action: 'channel.create',
    target: c.id,
    detail: { kind: c.kind },
  });
  return { channel: c.id };
}

export function updateChannel(hub: Hub, session: Session, msg: MessageOf<'channel.update'>): Reply {
  // Locking a room is a moderator's act too; other settings need manage_channels.
  const onlyLock = Object.keys(msg.settings).every((k) => k === 'locked');
  if (onlyLock && (session.can('mute') || session.can('move'))) {
    if (!hub.channels.get(msg.channel)) throw new ProtocolError('NOT_FOUND', 'no such channel');
  } else requireManage(hub, session);
  hub.channels.update(msg.channel, msg.settings);
  hub.store.audit({
    actor: session.user!.key,
    action: 'channel.update',
    target: msg.channel,
    detail: { fields: Object.keys(msg.settings).join(',') },
  });
  return {};
}

export function deleteChannel(hub: Hub, session: Session, msg: MessageOf<'channel.delete'>): Reply {
  requireManage(hub, session);
  const removed = hub.channels.delete(msg.channel);
  // Their logs go too: entries and blobs nobody may read any more (checkLogAccess).
  for (const id of removed) hub.store.deleteLog(id);
  for (const s of hub.sessions) {
    if (s.voice && removed.includes(s.voice.channel)) {
      s.voice = undefined;
      if (s.user) hub.pushPresence(s.user.key);
    }
  }
  hub.store.audit({ actor: session.user!.key, action: 'channel.delete', target: msg.channel });
  return { removed };
}

export function moveChannel(hub: Hub, session: Session, msg: MessageOf<'channel.move'>): Reply {
  requireManage(hub, session);
  hub.channels.move(msg.channel, msg.parent ?? null, msg.index);
  hub.store.audit({ actor: session.user!.key, action: 'channel.move', target: msg.channel });
  return {};
}

/** Puts a session in a voice channel (one at a time per session), after limit and lock checks. */
export function enterVoice(hub: Hub, session: Session, channelId: string, bypassLimits: boolean): void {
  const channel = hub.channels.get(channelId);
  if (!channel) throw new ProtocolError('NOT_FOUND', 'no such channel');
  if (channel.kind !== 'voice') throw new ProtocolError('CONFLICT', 'not a voice channel');
  if (session.voice?.channel === channelId) return;
  if (!bypassLimits) {
    if (channel.locked && !session.can('join_locked'))
      throw ProtocolError.notAllowed('the channel is locked');
    if (
      channel.userLimit > 0 &&
      hub.voiceOccupancy(channelId) >= channel.userLimit &&
      !session.can('join_locked')
    ) {
      throw new ProtocolError('CONFLICT', 'the channel is full');
    }
  }
  const call = session.voice?.call; // kept across a move
  session.voice = {
    channel: channelId,
    muted: session.voice?.muted ?? false,
    deafened: session.voice?.deafened ?? false,
    relay: false,
    ...(call !== undefined ? { call } : {}),
  };
  hub.channels.touch(channelId, hub.now());
  hub.pushPresence(session.user!.key);
}

/**
 * Joins a voice channel. One identity talks from one device at a time, as in Discord:
 * its other sessions in voice are ended (`voice.ended`, reason `elsewhere`). Relay
 * listeners hold one frame secret per member and epoch, so they would hear only one
 * of two devices anyway.
 */
export function joinVoice(hub: Hub, session: Session, msg: MessageOf<'voice.join'>): Reply {
  const others = [...(hub.byUser.get(session.user!.key) ?? [])].filter((s) => s !== session && s.voice);
  // A resumed call's own old session (a socket not yet timed out) is not another device.
  const stale = others.filter((s) => msg.call !== undefined && s.voice!.call === msg.call);
  const elsewhere = others.filter((s) => !stale.includes(s));
  if (msg.resume === true && elsewhere.length > 0) {
    session.send({ type: 'voice.ended', channel: msg.channel, reason: 'elsewhere' });
    throw new ProtocolError('CONFLICT', 'in voice from another device since');
  }
  for (const old of stale) leaveVoice(hub, old);
  enterVoice(hub, session, msg.channel, false);
  if (msg.call !== undefined) session.voice!.call = msg.call;
  for (const other of elsewhere) {
    const channel = other.voice!.channel;
    leaveVoice(hub, other);
    other.send({ type: 'voice.ended', channel, reason: 'elsewhere' });
  }
  const channel = hub.channels.get(msg.channel)!;
  return {
    channel: channel.id,
    bitrate: channel.bitrate,
    meshLimit: channel.meshLimit,
    relay: hub.voiceRelay,
    canSpeak: session.can('speak') && !hub.serverMuted.has(session.user!.key),
  };
}

export function leaveVoice(hub: Hub, session: Session): Reply {
  if (session.voice) {
    hub.channels.touch(session.voice.channel, hub.now());
    session.voice = undefined;
    hub.pushPresence(session.user!.key);
  }
  return {};
}

export function setVoiceState(hub: Hub, session: Session, msg: MessageOf<'voice.state'>): Reply {
  if (!session.voice) throw new ProtocolError('CONFLICT', 'not in a voice channel');
  session.voice = { ...session.voice, muted: msg.muted, deafened: msg.deafened, relay: msg.relay === true };
  hub.pushPresence(session.user!.key);
  return {};
}
