/**
 * What the hub needs to know, in one normalised shape (milliseconds, sets), made
 * from the TOML config by `hubOptionsFromConfig` in config-bridge.ts. Tests build it
 * directly with `testHubOptions`.
 */

import { PERMISSIONS } from '../protocol/messages.ts';
import { DEFAULT_TRUSTED_PROXIES } from '../relay/client-ip.ts';

export interface RoleSpec {
  permissions: ReadonlySet<string>;
  /** Requests per second and burst, per session and per identity. */
  rate: { perSecond: number; burst: number };
  /** A moderator acts only on members whose highest priority is lower. */
  priority: number;
}

export interface HubOptions {
  serverName: string;
  publicUrl: string | undefined;
  /**
   * The voice relay members use: undefined for the in-process one at `/relay`, a URL
   * for a standalone relay (`tincan relay`), or 'off' for none (voice stays on the mesh).
   */
  relay: string | 'off' | undefined;
  open: boolean;
  defaultRole: string;
  powDifficulty: number;
  /** Peers whose X-Forwarded-For names the client (relay/client-ip.ts): addresses, or `loopback`. */
  trustedProxies: readonly string[];
  /** The in-process relay's data channels: their UDP ports (`[min, max]`), and the address announced behind a 1:1 NAT. */
  relayUdp: { ports: readonly [number, number] | undefined; announcedIp: string | undefined };
  maxConnectionsPerIp: number;
  maxSessionsPerIdentity: number;
  authSkewMs: number;
  authTimeoutMs: number;
  heartbeatMs: number;
  maxFrameBytes: number;
  maxSendQueueBytes: number;
  maxTopicsPerConnection: number;
  maxUploadBytes: number;
  maxLogBytes: number;
  fixedChannels: boolean;
  roles: ReadonlyMap<string, RoleSpec>;
  turn: { secret: string; urls: string[]; ttlSeconds: number };
  /** Auth attempts per source address (token bucket), against guessing and floods. */
  authAttemptsPerIp: { perSecond: number; burst: number };
  /** Requests per identity across all its sessions, on top of each session's role rate. */
  identityRate: { perSecond: number; burst: number };
  /** Page origins allowed to open /ws besides the server's own; `*` (the default) allows any. */
  allowedOrigins: readonly string[];
}

const ALL = new Set<string>(PERMISSIONS);

export function testHubOptions(overrides: Partial<HubOptions> = {}): HubOptions {
  return {
    serverName: 'test',
    publicUrl: undefined,
    relay: undefined,
    open: false,
    defaultRole: 'guest',
    powDifficulty: 0,
    trustedProxies: DEFAULT_TRUSTED_PROXIES,
    relayUdp: { ports: undefined, announcedIp: undefined },
    maxConnectionsPerIp: 50,
    maxSessionsPerIdentity: 10,
    authSkewMs: 120_000,
    authTimeoutMs: 10_000,
    heartbeatMs: 30_000,
    maxFrameBytes: 64 * 1024,
    maxSendQueueBytes: 1 << 20,
    maxTopicsPerConnection: 64,
    maxUploadBytes: 25 << 20,
    maxLogBytes: 256 << 20,
    fixedChannels: false,
    roles: new Map<string, RoleSpec>([
      ['admin', { permissions: ALL, rate: { perSecond: 200, burst: 400 }, priority: 100 }],
      [
        'moderator',
        {
          permissions: new Set([
            'kick',
            'mute',
            'move',
            'rename',
            'invite',
            'speak',
            'send',
            'upload',
            'join_locked',
          ]),
          rate: { perSecond: 100, burst: 200 },
          priority: 50,
        },
      ],
      [
        'member',
        {
          permissions: new Set(['invite', 'speak', 'send', 'upload']),
          rate: { perSecond: 50, burst: 100 },
          priority: 10,
        },
      ],
      ['guest', { permissions: new Set(['speak', 'send']), rate: { perSecond: 20, burst: 40 }, priority: 0 }],
    ]),
    turn: { secret: 'test-secret', urls: ['turn:127.0.0.1:3478?transport=udp'], ttlSeconds: 3600 },
    allowedOrigins: ['*'],
    authAttemptsPerIp: { perSecond: 5, burst: 20 },
    identityRate: { perSecond: 50, burst: 100 },
    ...overrides,
  };
}

/** Union of the roles' permissions and their highest priority; unknown roles give nothing. */
export function resolveRoles(
  roles: readonly string[],
  specs: ReadonlyMap<string, RoleSpec>,
): { permissions: Set<string>; priority: number; rate: RoleSpec['rate'] } {
  const permissions = new Set<string>();
  let priority = -1;
  let rate = { perSecond: 5, burst: 10 };
  for (const name of roles) {
    const spec = specs.get(name);
    if (!spec) continue;
    for (const p of spec.permissions) permissions.add(p);
    if (spec.priority > priority) {
      priority = spec.priority;
      rate = spec.rate;
    }
  }
  return { permissions, priority, rate };
}
