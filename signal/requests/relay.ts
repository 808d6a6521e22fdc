/**
 * `relay.ticket`: a short-lived ticket (protocol/relay.ts) signed with the server's
 * identity key, which the relay checks with the server's public key alone. Only for a
 * voice channel the member is in, or may join (not locked, or `join_locked`). The
 * ticket says whether its holder may send frames (`speak`, not server-muted); a
 * mute given later reaches the relay at once: the in-process one is told directly,
 * a standalone one through a signed notice the members' clients hand over
 * (hub.ts `noticeSilence`).
 */
import { toBase64url } from '../../crypto/bytes.ts';
import { publicKeyOf } from '../../crypto/identity.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import type { MessageOf } from '../../protocol/messages.ts';
import { mintRelayTicket } from '../../protocol/relay.ts';
import type { Hub } from '../hub.ts';
import type { Session } from '../session.ts';
import type { Reply } from './common.ts';

/** Long enough to connect and reconnect after a relay restart; the relay checks it only at admission. */
export const RELAY_TICKET_TTL_SECONDS = 300;

export function relayTicket(hub: Hub, session: Session, msg: MessageOf<'relay.ticket'>): Reply {
  if (!hub.voiceRelay) throw new ProtocolError('NOT_FOUND', 'this server has no voice relay');
  const channel = hub.channels.get(msg.channel);
  if (!channel) throw new ProtocolError('NOT_FOUND', 'no such channel');
  if (channel.kind !== 'voice') throw new ProtocolError('CONFLICT', 'not a voice channel');
  if (session.voice?.channel !== channel.id) hub.checkRoomAccess(session, channel.id);
  const expiresAt = Math.floor(hub.now() / 1000) + RELAY_TICKET_TTL_SECONDS;
  const ticket = mintRelayTicket(hub.identity.secretKey, {
    user: publicKeyOf(session.user!.key),
    channel: channel.id,
    expiresAt,
    canSpeak: session.can('speak') && !hub.serverMuted.has(session.user!.key),
  });
  const url =
    hub.options.relay && hub.options.relay !== 'off'
      ? relayUrl(hub.options.relay)
      : relayUrl(hub.options.publicUrl);
  return { ticket: toBase64url(ticket), url, expiresAt };
}

/** The relay's URL: a base URL's origin as ws(s) + `/relay`, or `/relay` relative to the signal server. */
export function relayUrl(base: string | undefined): string {
  if (!base) return '/relay';
  const url = new URL(base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = '/relay';
  url.search = '';
  url.hash = '';
  return url.toString();
}
