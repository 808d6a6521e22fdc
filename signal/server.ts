/**
 * Assembles a running signal server: HTTP (web app, `/healthz`, `/metrics`) and the
 * `/ws` WebSocket in `noServer` mode, where the origin, the per-address cap and (for
 * stock y-webrtc clients) the ticket are checked before the upgrade is accepted.
 */

import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { publicKeyOf } from '../crypto/identity.ts';
import { clientIp, makeProxyCheck } from '../relay/client-ip.ts';
import { listen } from '../relay/listen.ts';
import { RelayServer } from '../relay/server.ts';
import { DIST_DIR, ensureWebBuilt } from '../web/build.ts';
import { AllowlistFile } from './allowlist.ts';
import { ChannelTree } from './channels.ts';
import { loadHubOptions } from './config-bridge.ts';
import { Hub, type Logger } from './hub.ts';
import { inviteUrl, issueInvite } from './invites.ts';
import { Members } from './members.ts';
import { Metrics } from './metrics.ts';
import type { HubOptions } from './options.ts';
import { loadServerIdentity, type ServerIdentity } from './server-identity.ts';
import { StaticFiles, securityHeaders } from './static.ts';
import { Store } from './store/store.ts';
import { VERSION } from './version.ts';

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  /** A tincan.toml; default `<dataDir>/tincan.toml` when it exists. */
  configPath?: string;
  /** Where the built web client lives (default `dist/`). */
  webDir?: string;
  /** Test and embedding overrides applied over the config. */
  overrides?: Partial<HubOptions>;
  /** Serve the voice relay at `/relay` in this process (default true). */
  relay?: boolean;
  /** Relay tuning (tests, benchmarks); the server key is always this server's. */
  relayOptions?: Omit<ConstructorParameters<typeof RelayServer>[0], 'serverKey' | 'metrics'>;
  log?: Logger;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly http: Server;
  readonly hub: Hub;
  readonly identity: ServerIdentity;
  /** The in-process relay at `/relay`, unless turned off. */
  readonly relay: RelayServer | undefined;
  /** On a fresh data dir: a one-time admin invite link. */
  readonly adminInvite: string | undefined;
  close(): Promise<void>;
}

const consoleLog: Logger = {
  info: (m) => console.log(`tincan: ${m}`),
  warn: (m) => console.warn(`tincan: ${m}`),
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? consoleLog;
  const webDir = options.webDir ?? DIST_DIR;
  if (webDir === DIST_DIR) await ensureWebBuilt();
  await mkdir(options.dataDir, { recursive: true });
  const { hubOptions, fixedChannels } = await loadHubOptions(
    options.dataDir,
    options.configPath,
    options.overrides,
  );
  const { identity, created } = await loadServerIdentity(options.dataDir);
  const store = new Store(options.dataDir, { maxLogBytes: hubOptions.maxLogBytes });
  const members = new Members(store);
  const allowlist = new AllowlistFile(options.dataDir, {
    onChange: (entries) => members.setFileEntries(entries),
    onError: (message) => log.warn(`authorized_keys: ${message}`),
  });
  await allowlist.start();
  const state = store.loadChannelState();
  const channels = new ChannelTree(state);
  if (!state) {
    seedChannels(channels, fixedChannels);
    store.saveChannelState(channels.encodeState());
  }
  const metrics = new Metrics();
  const hub = new Hub({ options: hubOptions, identity, store, members, channels, metrics, log });
  const isProxy = makeProxyCheck(hubOptions.trustedProxies);
  // A standalone relay (or none) in the config: no relay in this process.
  const relay =
    options.relay === false || hubOptions.relay !== undefined
      ? undefined
      : new RelayServer({
          trustedProxies: hubOptions.trustedProxies,
          ...options.relayOptions,
          peer: {
            ...(hubOptions.relayUdp.ports !== undefined
              ? { portRangeBegin: hubOptions.relayUdp.ports[0], portRangeEnd: hubOptions.relayUdp.ports[1] }
              : {}),
            ...(hubOptions.relayUdp.announcedIp !== undefined
              ? { announcedIp: hubOptions.relayUdp.announcedIp }
              : {}),
            ...options.relayOptions?.peer,
          },
          serverKey: identity.publicKey,
          metrics,
        });
  hub.voiceRelay = relay !== undefined || (hubOptions.relay !== undefined && hubOptions.relay !== 'off');
  if (relay) hub.onServerMute = (userId, muted) => relay.setSilenced(publicKeyOf(userId), muted);
  hub.start();
  const files = new StaticFiles(webDir);
  const startedAt = Date.now();
  const onSighup = () => {
    allowlist.reload().catch((error: unknown) => log.warn(`authorized_keys reload: ${String(error)}`));
  };
  process.on('SIGHUP', onSighup);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    securityHeaders(res);
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (pathname === '/healthz') {
      const body = JSON.stringify({ ok: true, version: VERSION, uptime: (Date.now() - startedAt) / 1000 });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(body);
      return;
    }
    if (pathname === '/metrics') {
      res
        .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Cache-Control': 'no-store' })
        .end(metrics.render());
      return;
    }
    if (await files.serve(req, res, pathname)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.warn(`http: request failed: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: hubOptions.maxFrameBytes,
    perMessageDeflate: false,
  });
  const refuseUpgrade = (socket: Duplex, status: number, text: string, code: string) => {
    hub.count.rejected({ code });
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The relay admits by ticket (signed by this server), so origin and per-IP caps stay /ws's.
    if (url.pathname === '/relay' && relay) return relay.handleUpgrade(req, socket, head);
    if (url.pathname !== '/ws') return refuseUpgrade(socket, 404, 'Not Found', 'NOT_FOUND');
    if (!originAllowed(req, hubOptions.allowedOrigins))
      return refuseUpgrade(socket, 403, 'Forbidden', 'NOT_ALLOWED');
    const ip = clientIp(req, isProxy);
    if (!hub.admitIp(ip)) return refuseUpgrade(socket, 429, 'Too Many Requests', 'TOO_MANY_CONNECTIONS');
    const ticketToken = url.searchParams.get('ticket');
    const ticket = hub.ticket(ticketToken);
    if (ticketToken !== null && !ticket) return refuseUpgrade(socket, 401, 'Unauthorized', 'AUTH_FAILED');
    wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, ip, ticket));
  });

  const { port, urlHost: hostForUrl } = await listen(http, options.port, options.host);
  const url = `http://${hostForUrl}:${port}`;
  // The CLI prints invite links against the address the server last served on.
  store.setSetting('last_url', hubOptions.publicUrl ?? url);
  let adminInvite: string | undefined;
  if (created) {
    const invite = await issueInvite(hub.inviteContext, 'server', {
      role: 'admin',
      expiresIn: 7 * 86400,
      maxUses: 1,
    });
    adminInvite = inviteUrl(hubOptions.publicUrl ?? url, invite.token);
  }
  let closed = false;
  return {
    url,
    port,
    http,
    hub,
    identity,
    relay,
    adminInvite,
    close: async () => {
      if (closed) return;
      closed = true;
      process.off('SIGHUP', onSighup);
      hub.shutdown();
      await relay?.close();
      allowlist.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
      store.close();
    },
  };
}

/**
 * Browsers send Origin: this server's own, a configured one, or any under `*` (the
 * default: a page served by one tincan server joins others). Non-browser clients send
 * none. A malformed Origin is refused even under `*`.
 */
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return allowed.includes('*'); // file:// pages, sandboxed frames
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  return parsed.host === req.headers.host || allowed.includes('*') || allowed.includes(parsed.origin);
}

/** A fresh server gets the fixed structure from the config, or a text and a voice channel. */
function seedChannels(channels: ChannelTree, fixed: SeedChannel[] | undefined): void {
  const now = Date.now();
  const add = (list: SeedChannel[], parent?: string) => {
    for (const c of list) {
      const made = channels.create({ name: c.name, kind: c.kind, parent, settings: c.settings }, now);
      if (c.children) add(c.children, made.id);
    }
  };
  add(
    fixed ?? [
      { name: 'general', kind: 'text' },
      { name: 'Lounge', kind: 'voice' },
    ],
  );
}

export interface SeedChannel {
  name: string;
  kind: 'text' | 'voice';
  settings?: { topic?: string; bitrate?: number; userLimit?: number; locked?: boolean };
  children?: SeedChannel[];
}
