/**
 * The address a connection comes from, for the per-address caps (connections, auth
 * attempts, relay sockets). Behind a reverse proxy every socket comes from the proxy;
 * the client's address is then in `X-Forwarded-For`, which only a trusted proxy may
 * set: walking the list from its right end (the entry the nearest proxy appended),
 * the first address that is not itself a trusted proxy is the client's. Anything else
 * in the header was written by the client and is ignored.
 *
 * `trusted`: proxy addresses, or `loopback` for 127.0.0.0/8 and ::1 (the default: the
 * README puts tincan on loopback behind Caddy or nginx, and a local process can claim
 * any address it likes anyway). An empty list trusts no header.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const LOOPBACK = 'loopback';
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = [LOOPBACK];

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`. */
function plain(address: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (v4?.[1] ?? address).toLowerCase();
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}

/** Whether `entry` is what a trusted-proxies list may hold: `loopback` or an IP address. */
export function validProxyEntry(entry: string): boolean {
  return entry === LOOPBACK || isIP(entry) !== 0;
}

export function makeProxyCheck(trusted: readonly string[]): (address: string) => boolean {
  const addresses = new Set(trusted.filter((t) => t !== LOOPBACK).map(plain));
  const loopback = trusted.includes(LOOPBACK);
  return (address) => {
    const a = plain(address);
    return addresses.has(a) || (loopback && isLoopback(a));
  };
}

/** The client's address of `req`, given which peers are trusted proxies. */
export function clientIp(req: IncomingMessage, isProxy: (address: string) => boolean): string {
  const peer = plain(req.socket.remoteAddress ?? 'unknown');
  if (!isProxy(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => plain(h.trim()))
    .filter((h) => h !== '');
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) break; // junk: stop at what a trusted proxy can vouch for
    client = hop;
    if (!isProxy(hop)) break;
  }
  return client;
}
