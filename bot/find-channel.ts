/** A channel of a server by id or by name, as a bot's options and commands name it. */
import type { ChannelInfo } from '../web/core/model.ts';
import type { ServerSession } from '../web/core/server-view.ts';
import { BotError } from './errors.ts';

/** A channel of `kind` by id, or else by name (case-insensitive, a leading `#` ignored). Throws `NOT_FOUND`. */
export function findChannel(session: ServerSession, idOrName: string, kind: 'text' | 'voice'): ChannelInfo {
  const channels = session.channels.value.filter((c) => c.kind === kind);
  const name = idOrName.replace(/^#/, '').toLowerCase();
  const found =
    channels.find((c) => c.id === idOrName) ?? channels.find((c) => c.name.toLowerCase() === name);
  if (!found) {
    const names = channels.map((c) => c.name).join(', ') || 'none';
    throw new BotError('NOT_FOUND', `no ${kind} channel ${idOrName} (${kind} channels: ${names})`);
  }
  return found;
}
