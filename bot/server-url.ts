/** The signal server's WebSocket URL from what a person would paste: an http(s) origin, a ws(s) URL, an invite link. */
import { BotError } from './errors.ts';

/** `https://host[/#invite=…]` → `wss://host/ws`; a ws(s) URL with a path is kept as it is. */
export function signalUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new BotError('BAD_ARGUMENT', `not a URL: ${server}`, { cause: error });
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new BotError('BAD_ARGUMENT', `the server URL must be http(s) or ws(s), got ${url.protocol}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/ws';
  url.hash = ''; // an invite link's fragment is not for the socket
  url.search = '';
  return url.toString();
}
