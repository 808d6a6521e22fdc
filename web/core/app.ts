/**
 * The whole client: several servers at once (a server rail), joined by invite
 * links, kept in order, reconnected on start; app settings; identity backups.
 *
 * Joining: the link's fragment is `#invite=<token>[.<secret>]` (crypto/invite.ts).
 * The token names the server by a hash of its key, checked before the token is sent
 * (`acceptServer`); once connected the server key is pinned and every later visit
 * insists on it (`expectServer`), like `known_hosts`.
 */

import {
  backupFromText,
  backupToText,
  exportBackup,
  importBackup,
  type ScryptParams,
} from '../../crypto/backup.ts';
import { equalBytes, toBase64url } from '../../crypto/bytes.ts';
import { publicKeyOf } from '../../crypto/identity.ts';
import { parseInviteLink, serverIdOf } from '../../crypto/invite.ts';
import type { ReconnectPolicy } from '../net/reconnect.ts';
import type { SocketFactory } from '../net/signal-client.ts';
import type { JoinMesh } from './conversation-mesh.ts';
import { CoreError } from './errors.ts';
import type { IdentityStore } from './identity-provider.ts';
import type { LocalCache } from './local-cache.ts';
import type { AppView, Settings } from './model.ts';
import { Value } from './observable.ts';
import { ServerSession, type ServerViewOptions } from './server-view.ts';

export const DEFAULT_SETTINGS: Settings = {
  displayName: '',
  theme: 'system',
  accent: '#5865f2',
  fontScale: 1,
  messageColor: undefined,
  notificationSounds: true,
  identityPerServer: false,
  hideIp: false,
  pushToTalkKey: 'Backquote',
};

export interface AppDeps {
  socket: SocketFactory;
  identities: IdentityStore;
  /** App-wide storage: the server list and settings. */
  storage: LocalCache;
  /** Each server's own cache, by its slot (base64url of the 16-byte server id). */
  cacheFor(slot: string): LocalCache;
  policy?: () => ReconnectPolicy;
  pageSize?: number;
  /** Joins a peer mesh (web/net/mesh.ts in the browser); absent, conversations go through the server only. */
  mesh?: JoinMesh;
  /** Voice channels (the mesh with media and the engine of web/voice); absent, no voice. */
  voice?: ServerViewOptions['voice'];
  /** The voice relay's transports; absent, voice stays on the mesh. */
  relay?: ServerViewOptions['relay'];
  /** Backup cost; only tests lower it. */
  backupParams?: ScryptParams;
  log?: (message: string) => void;
}

interface SavedServer {
  url: string;
  key: string;
  slot: string;
}

export interface JoinLink {
  /** WebSocket URL of the server. */
  url: string;
  token: string;
  secret: Uint8Array | undefined;
  /** The 16-byte server id the token names. */
  serverId: Uint8Array;
}

/** Reads `https://host[/path]/#invite=<token>[.<secret>]`. Throws `BAD_FORMAT`. */
export function parseJoinLink(link: string): JoinLink {
  let url: URL;
  try {
    url = new URL(link);
  } catch (cause) {
    throw new CoreError('BAD_FORMAT', 'not a link', { cause });
  }
  const match = /^#invite=(.+)$/.exec(url.hash);
  if (!match || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new CoreError('BAD_FORMAT', 'not an invite link');
  const { invite, token, secret } = parseInviteLink(match[1]!);
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  return { url: `${base.replace(/^http/, 'ws')}/ws`, token, secret, serverId: invite.serverId };
}

const slotOf = (serverKey: string) => toBase64url(serverIdOf(publicKeyOf(serverKey)));

export class App implements AppView {
  readonly servers = new Value<ServerSession[]>([]);
  readonly settings = new Value<Settings>({ ...DEFAULT_SETTINGS });
  private saved: SavedServer[] = [];

  private constructor(private readonly deps: AppDeps) {}

  /** Loads settings and the server list, and starts connecting to each server. */
  static async load(deps: AppDeps): Promise<App> {
    const app = new App(deps);
    const settings = await deps.storage.getSetting('settings');
    if (settings && typeof settings === 'object')
      app.settings.set({ ...DEFAULT_SETTINGS, ...(settings as object) });
    const saved = await deps.storage.getSetting('servers');
    if (Array.isArray(saved)) {
      app.saved = saved.filter(
        (s): s is SavedServer =>
          typeof s === 'object' &&
          s !== null &&
          typeof s.url === 'string' &&
          typeof s.key === 'string' &&
          typeof s.slot === 'string',
      );
    }
    const views: ServerSession[] = [];
    for (const s of app.saved) {
      const identity = await deps.identities.identityFor(s.slot, app.settings.value.identityPerServer);
      const view = new ServerSession({
        url: s.url,
        identity,
        socket: deps.socket,
        cache: deps.cacheFor(s.slot),
        expectServer: s.key,
        ...app.common(),
      });
      view.conn.start();
      views.push(view);
    }
    app.servers.set(views);
    return app;
  }

  async join(link: string, name: string): Promise<ServerSession> {
    const parsed = parseJoinLink(link);
    const slot = toBase64url(parsed.serverId);
    const existing = this.servers.value.find((s) => s.id && slotOf(s.id) === slot);
    if (existing) return existing;
    const identity = await this.deps.identities.identityFor(slot, this.settings.value.identityPerServer);
    const view = await ServerSession.connect({
      url: parsed.url,
      identity,
      socket: this.deps.socket,
      cache: this.deps.cacheFor(slot),
      invite: { token: parsed.token, name, ...(parsed.secret ? { secret: parsed.secret } : {}) },
      acceptServer: (key) => {
        try {
          return equalBytes(serverIdOf(publicKeyOf(key)), parsed.serverId);
        } catch {
          return false; // not a key at all
        }
      },
      ...this.common(),
    });
    this.saved.push({ url: parsed.url, key: view.id, slot });
    this.servers.set([...this.servers.value, view]);
    await this.persist();
    return view;
  }

  async leave(serverId: string): Promise<void> {
    const view = this.servers.value.find((s) => s.id === serverId);
    if (!view) throw new CoreError('NOT_FOUND', 'no such server');
    await view.leave();
    this.forget(serverId);
    await this.persist();
  }

  reorder(serverIds: string[]): void {
    const rank = (id: string) => {
      const i = serverIds.indexOf(id);
      return i === -1 ? Number.MAX_SAFE_INTEGER : i;
    };
    this.servers.set([...this.servers.value].sort((a, b) => rank(a.id) - rank(b.id)));
    this.saved.sort((a, b) => rank(a.key) - rank(b.key));
    void this.persist();
  }

  updateSettings(patch: Partial<Settings>): void {
    this.settings.set({ ...this.settings.value, ...patch });
    void this.deps.storage.putSetting('settings', this.settings.value);
  }

  async exportBackup(passphrase: string): Promise<string> {
    const pair = await this.deps.identities.exportKeyPair();
    return backupToText(await exportBackup(pair, passphrase, this.deps.backupParams));
  }

  async importBackup(text: string, passphrase: string): Promise<void> {
    await this.deps.identities.importKeyPair(await importBackup(backupFromText(text), passphrase));
  }

  /** Closes every connection (the app is going away). */
  close(): void {
    for (const s of this.servers.value) s.close();
  }

  private forget(serverId: string): void {
    this.servers.set(this.servers.value.filter((s) => s.id !== serverId));
    this.saved = this.saved.filter((s) => s.key !== serverId);
  }

  private common() {
    return {
      ...(this.deps.policy ? { policy: this.deps.policy() } : {}),
      ...(this.deps.pageSize ? { pageSize: this.deps.pageSize } : {}),
      ...(this.deps.log ? { log: this.deps.log } : {}),
      ...(this.deps.mesh ? { mesh: this.deps.mesh } : {}),
      ...(this.deps.voice ? { voice: this.deps.voice } : {}),
      ...(this.deps.relay ? { relay: this.deps.relay } : {}),
      hideIp: () => this.settings.value.hideIp,
    };
  }

  private persist(): Promise<void> {
    return this.deps.storage.putSetting('servers', this.saved);
  }
}
