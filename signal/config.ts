/**
 * The server's configuration file, `tincan.toml`: parsed with smol-toml, then
 * checked field by field with protocol/validate.ts into a typed `ServerConfig` with
 * defaults filled in. Unknown keys and bad values are refused with a `ConfigError`
 * naming the file and the key path (`tincan.toml: roles.guest.priority: expected …`),
 * so a typo never silently falls back to a default.
 *
 * Reads only: generated secrets (the TURN secret) live in the data directory, and
 * `tincan.example.toml` at the repository root documents every key.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { type ChannelSettings, PERMISSIONS, type Permission } from '../protocol/messages.ts';
import {
  array,
  boolean,
  type Check,
  int,
  object,
  oneOf,
  optional,
  string,
  ValidationError,
} from '../protocol/validate.ts';
import { DEFAULT_TRUSTED_PROXIES, validProxyEntry } from '../relay/client-ip.ts';

export const CONFIG_FILE = 'tincan.toml';

export interface RoleConfig {
  /** In the order of `PERMISSIONS`, without repeats. */
  permissions: Permission[];
  /** Requests per second and burst (token bucket). */
  rate: { perSecond: number; burst: number };
  /** A moderator acts only on members whose highest priority is lower. */
  priority: number;
}

/** Channel settings a fixed structure may set (protocol names). */
export type ChannelConfigSettings = Pick<ChannelSettings, 'topic' | 'bitrate' | 'userLimit' | 'locked'>;

export interface ChannelConfig {
  name: string;
  kind: 'text' | 'voice';
  /** Only the keys the file sets. */
  settings: ChannelConfigSettings;
  children: ChannelConfig[];
}

export interface ServerConfig {
  server: {
    name: string;
    /** Base URL for invite links, without a trailing slash. */
    publicUrl: string | undefined;
    /** `relay`: a standalone relay's URL, or 'off'; absent: the in-process relay at /relay. */
    relay: string | 'off' | undefined;
    /**
     * Page origins whose browsers may open /ws (`*`: any). The WebSocket carries no
     * ambient credentials (each session proves its key over a fresh nonce), so any is
     * safe and lets one page, served by any tincan server, join this one too.
     */
    allowedOrigins: string[];
    /** Anyone with the address may join with just a name, as `defaultRole`. */
    open: boolean;
    defaultRole: string;
    /** Leading zero bits of the proof of work asked before auth; 0 = off. */
    powDifficulty: number;
    /** Proxies whose X-Forwarded-For is believed for the per-address caps: IPs, or `loopback`. */
    trustedProxies: string[];
    maxConnectionsPerIp: number;
    maxSessionsPerIdentity: number;
    authSkewSeconds: number;
    heartbeatSeconds: number;
  };
  limits: {
    maxFrameBytes: number;
    /** Per channel or DM log. */
    maxLogBytes: number;
    maxUploadBytes: number;
    /** Per connection. */
    maxSendQueueBytes: number;
    maxTopicsPerConnection: number;
  };
  roles: ReadonlyMap<string, RoleConfig>;
  /** The in-process relay's data channels (`[relay]`). */
  relay: {
    /** The UDP ports members' data channels take, one each (`[min, max]`); undefined: any. */
    udpPorts: readonly [number, number] | undefined;
    /** The public address members dial, behind a 1:1 NAT. */
    announcedIp: string | undefined;
  };
  turn: {
    /** Shared with coturn; when absent the server keeps a generated one in the data dir. */
    secret: string | undefined;
    urls: string[];
    ttlSeconds: number;
  };
  /** The fixed channel tree, or undefined when clients manage channels. */
  channels: ChannelConfig[] | undefined;
  /** True when `[[channels]]` is present: clients cannot create, delete or move channels. */
  fixedChannels: boolean;
}

export type ConfigErrorCode = 'CONFIG_UNREADABLE' | 'CONFIG_SYNTAX' | 'CONFIG_INVALID';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly code: ConfigErrorCode,
    /** The file, as given. */
    readonly file: string,
    message: string,
    /** The key path of an invalid value (`server.pow_difficulty`). */
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

// ---- defaults ------------------------------------------------------------------------

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const p = (...list: Permission[]): Permission[] => PERMISSIONS.filter((x) => list.includes(x));

/**
 * Built-in roles. Members may invite (as on Discord), but only with roles below
 * their own priority unless they may manage roles (the hub enforces that).
 */
function defaultRoles(): Map<string, RoleConfig> {
  return new Map<string, RoleConfig>([
    ['admin', { permissions: [...PERMISSIONS], rate: { perSecond: 200, burst: 400 }, priority: 100 }],
    [
      'moderator',
      {
        permissions: p('kick', 'mute', 'move', 'rename', 'invite', 'speak', 'send', 'upload', 'join_locked'),
        rate: { perSecond: 100, burst: 200 },
        priority: 50,
      },
    ],
    [
      'member',
      {
        permissions: p('invite', 'speak', 'send', 'upload'),
        rate: { perSecond: 50, burst: 100 },
        priority: 10,
      },
    ],
    ['guest', { permissions: p('speak', 'send'), rate: { perSecond: 20, burst: 40 }, priority: 0 }],
  ]);
}

/** The configuration when there is no file. A fresh object each call. */
export function defaultConfig(): ServerConfig {
  return {
    server: {
      name: 'tincan',
      publicUrl: undefined,
      relay: undefined,
      allowedOrigins: ['*'],
      open: false,
      defaultRole: 'guest',
      powDifficulty: 0,
      trustedProxies: [...DEFAULT_TRUSTED_PROXIES],
      maxConnectionsPerIp: 20,
      maxSessionsPerIdentity: 10,
      authSkewSeconds: 120,
      heartbeatSeconds: 30,
    },
    limits: {
      maxFrameBytes: 64 * KiB,
      maxLogBytes: 256 * MiB,
      maxUploadBytes: 25 * MiB,
      maxSendQueueBytes: 1 * MiB,
      maxTopicsPerConnection: 64,
    },
    roles: defaultRoles(),
    relay: { udpPorts: undefined, announcedIp: undefined },
    turn: { secret: undefined, urls: [], ttlSeconds: 86400 },
    channels: undefined,
    fixedChannels: false,
  };
}

// ---- checkers this file needs beyond protocol/validate.ts ------------------------------

const fail = (path: string, expected: string): never => {
  throw new ValidationError(path, expected);
};

/** A finite number in [min, max] (TOML floats and integers). */
function number(opts: { min: number; max: number }): Check<number> {
  const what = `number in ${opts.min}..${opts.max}`;
  return (v, path) =>
    typeof v === 'number' && Number.isFinite(v) && v >= opts.min && v <= opts.max ? v : fail(path, what);
}

const UNITS: Record<string, number> = { B: 1, KiB, MiB, GiB };

// Like every checker of protocol/validate.ts these return their input unchanged:
// `object` and `array` check in place and drop what a checker returns, so a
// converting checker would type a value it never produced. `build` converts.

/** `65536`, `"64 KiB"`, `"1.5 MiB"` → bytes; undefined when it is neither. */
function bytesOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)$/.exec(v.trim());
  return m ? Math.floor(Number(m[1]) * UNITS[m[2]!]!) : undefined;
}

/** A size in bytes: an integer, or a string with a binary unit (see `bytesOf`). */
function byteSize(opts: { min: number; max: number }): Check<number | string> {
  const what = `size in ${opts.min}..${opts.max} bytes (an integer, or a string like "64 KiB")`;
  return (v, path) => {
    const n = bytesOf(v);
    return n !== undefined && n >= opts.min && n <= opts.max ? (v as number | string) : fail(path, what);
  };
}

/** The checked size in bytes (`byteSize` accepted it). */
function size(v: number | string | undefined, fallback: number): number {
  return v === undefined ? fallback : bytesOf(v)!;
}

/** A table with free keys matching `key`, each value checked by `value`. */
function table<T>(key: RegExp, value: Check<T>, max: number): Check<Record<string, T>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(path, 'table');
    const keys = Object.keys(v);
    if (keys.length > max) fail(path, `at most ${max} entries`);
    for (const k of keys) {
      const at = path ? `${path}.${k}` : k;
      if (!key.test(k)) fail(at, `a name matching ${key}`);
      value((v as Record<string, unknown>)[k], at);
    }
    return v as Record<string, T>;
  };
}

const httpUrl: Check<string> = (v, path) => {
  const what = 'an http:// or https:// URL without query or fragment';
  if (typeof v !== 'string' || v.length > 2048) return fail(path, what);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return fail(path, what);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash)
    return fail(path, what);
  return v;
};

// ---- the file's shape -------------------------------------------------------------------

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const roleName = string({ min: 1, max: 32, pattern: ROLE_NAME });
const textLine = string({ min: 1, max: 64, pattern: /^[^\p{Cc}\p{Cf}]+$/u });

/** `*` or a page origin (`https://host[:port]`). */
const originEntry: Check<string> = (v, path) => (v === '*' ? v : httpUrl(v, path));

/** `loopback` or a proxy's IP address. */
const proxyEntry: Check<string> = (v, path) => {
  if (typeof v === 'string' && validProxyEntry(v)) return v;
  return fail(path, '"loopback" or an IP address');
};

const serverSection = object({
  name: optional(textLine),
  public_url: optional(httpUrl),
  relay: optional((v, path) => (v === 'off' ? v : httpUrl(v, path))),
  allowed_origins: optional(array(originEntry, { max: 64 })),
  open: optional(boolean),
  default_role: optional(roleName),
  pow_difficulty: optional(int({ min: 0, max: 28 })),
  trusted_proxies: optional(array(proxyEntry, { max: 64 })),
  max_connections_per_ip: optional(int({ min: 1, max: 100_000 })),
  max_sessions_per_identity: optional(int({ min: 1, max: 1000 })),
  auth_skew_seconds: optional(int({ min: 5, max: 3600 })),
  heartbeat_seconds: optional(int({ min: 5, max: 600 })),
});

const limitsSection = object({
  max_frame_bytes: optional(byteSize({ min: 4 * KiB, max: 16 * MiB })),
  max_log_bytes: optional(byteSize({ min: 1 * MiB, max: Number.MAX_SAFE_INTEGER })),
  max_upload_bytes: optional(byteSize({ min: 1 * KiB, max: 4 * GiB })),
  max_send_queue_bytes: optional(byteSize({ min: 64 * KiB, max: 1 * GiB })),
  max_topics_per_connection: optional(int({ min: 1, max: 4096 })),
});

const roleSection = object({
  permissions: optional(array(oneOf([...PERMISSIONS, '*']), { max: 64 })),
  rate: optional(
    object({
      messages_per_second: number({ min: 0.01, max: 100_000 }),
      burst: int({ min: 1, max: 1_000_000 }),
    }),
  ),
  priority: optional(int({ min: 0, max: 1000 })),
});

const ipAddress: Check<string> = (v, path) =>
  typeof v === 'string' && isIP(v) !== 0 ? v : fail(path, 'an IP address');

const relaySection = object({
  udp_ports: optional(array(int({ min: 1, max: 65535 }), { min: 2, max: 2 })),
  announced_ip: optional(ipAddress),
});

const turnSection = object({
  secret: optional(string({ min: 16, max: 512 })),
  urls: optional(array(string({ min: 6, max: 512, pattern: /^(stun|turns?):[^\s]+$/ }), { max: 32 })),
  ttl_seconds: optional(int({ min: 60, max: 7 * 86400 })),
});

interface ChannelEntry {
  name: string;
  kind: 'text' | 'voice';
  parent?: string | undefined;
  children?: ChannelEntry[] | undefined;
  topic?: string | undefined;
  bitrate?: number | undefined;
  user_limit?: number | undefined;
  locked?: boolean | undefined;
}

const MAX_DEPTH = 8;
const MAX_CHANNELS = 500;

/** A `[[channels]]` entry at `depth` (0 = top level, the only one that may name a `parent`). */
function channelEntry(depth: number): Check<ChannelEntry> {
  const common = {
    name: string({ min: 1, max: 64, pattern: /^[^\p{Cc}\p{Cf}]+$/u }),
    kind: oneOf(['text', 'voice']),
    topic: optional(string({ max: 512 })),
    bitrate: optional(int({ min: 8000, max: 510_000 })),
    user_limit: optional(int({ min: 0, max: 1000 })),
    locked: optional(boolean),
  };
  const children =
    depth + 1 < MAX_DEPTH
      ? optional(array(channelEntry(depth + 1), { max: MAX_CHANNELS }))
      : optional<ChannelEntry[]>((_, path) =>
          fail(path, `no children: channels nest at most ${MAX_DEPTH} deep`),
        );
  return depth === 0
    ? object({ ...common, parent: optional(string({ min: 1, max: 64 })), children })
    : object({ ...common, children });
}

const configFile = object({
  server: optional(serverSection),
  limits: optional(limitsSection),
  roles: optional(table(ROLE_NAME, roleSection, 64)),
  relay: optional(relaySection),
  turn: optional(turnSection),
  channels: optional(array(channelEntry(0), { min: 1, max: MAX_CHANNELS })),
});

// ---- from the checked file to ServerConfig ------------------------------------------------

function roleFrom(
  name: string,
  entry: ReturnType<typeof roleSection>,
  base: RoleConfig | undefined,
): RoleConfig {
  if (!base && entry.permissions === undefined)
    throw new ValidationError(`roles.${name}.permissions`, 'a list of permissions (required for a new role)');
  const listed = entry.permissions;
  return {
    permissions:
      listed === undefined
        ? base!.permissions
        : listed.includes('*')
          ? [...PERMISSIONS]
          : PERMISSIONS.filter((x) => listed.includes(x)),
    rate: entry.rate
      ? { perSecond: entry.rate.messages_per_second, burst: entry.rate.burst }
      : (base?.rate ?? { perSecond: 10, burst: 20 }),
    priority: entry.priority ?? base?.priority ?? 0,
  };
}

/** Builds the channel tree: nested `children` plus top-level entries attached by `parent` name. */
function channelTree(entries: ChannelEntry[]): ChannelConfig[] {
  interface Node {
    entry: ChannelEntry;
    path: string;
    config: ChannelConfig;
    parent: Node | undefined;
  }
  const byName = new Map<string, Node>();
  const all: Node[] = [];
  const visit = (entry: ChannelEntry, path: string, parent: Node | undefined): Node => {
    const settings: ChannelConfigSettings = {};
    if (entry.topic !== undefined) settings.topic = entry.topic;
    if (entry.bitrate !== undefined) settings.bitrate = entry.bitrate;
    if (entry.user_limit !== undefined) settings.userLimit = entry.user_limit;
    if (entry.locked !== undefined) settings.locked = entry.locked;
    const node: Node = {
      entry,
      path,
      parent,
      config: { name: entry.name, kind: entry.kind, settings, children: [] },
    };
    if (byName.has(entry.name)) throw new ValidationError(`${path}.name`, 'a channel name not used before');
    byName.set(entry.name, node);
    all.push(node);
    entry.children?.forEach((child, i) => {
      node.config.children.push(visit(child, `${path}.children[${i}]`, node).config);
    });
    return node;
  };
  const top = entries.map((entry, i) => visit(entry, `channels[${i}]`, undefined));
  if (all.length > MAX_CHANNELS)
    throw new ValidationError('channels', `at most ${MAX_CHANNELS} channels in all`);
  for (const node of top) {
    const name = node.entry.parent;
    if (name === undefined) continue;
    const target = byName.get(name);
    if (!target) throw new ValidationError(`${node.path}.parent`, 'the name of another channel');
    node.parent = target;
  }
  const depthOf = (node: Node): number => {
    let depth = 0;
    for (let at = node.parent; at; at = at.parent) {
      if (at === node || ++depth >= MAX_DEPTH)
        throw new ValidationError(
          `${node.path}.parent`,
          `a parent chain without cycles, at most ${MAX_DEPTH} deep`,
        );
    }
    return depth;
  };
  for (const node of all) depthOf(node);
  for (const node of top) if (node.parent) node.parent.config.children.push(node.config);
  return top.filter((node) => !node.parent).map((node) => node.config);
}

/** Parses and checks a config text; `file` names it in errors. Throws `ConfigError`. */
export function parseConfig(text: string, file = CONFIG_FILE): ServerConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const first = error.message.split('\n')[0];
      throw new ConfigError('CONFIG_SYNTAX', file, `${error.line}:${error.column}: ${first}`, undefined, {
        cause: error,
      });
    }
    throw error;
  }
  try {
    return build(raw);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ConfigError('CONFIG_INVALID', file, `${error.path}: expected ${error.expected}`, error.path, {
        cause: error,
      });
    }
    throw error;
  }
}

function build(raw: unknown): ServerConfig {
  const f = configFile(raw, '');
  const config = defaultConfig();
  const s = f.server ?? {};
  const server = config.server;
  server.name = s.name ?? server.name;
  server.publicUrl = s.public_url?.replace(/\/+$/, '') ?? server.publicUrl;
  server.relay = s.relay ?? server.relay;
  server.allowedOrigins =
    s.allowed_origins?.map((o) => (o === '*' ? o : new URL(o).origin)) ?? server.allowedOrigins;
  server.open = s.open ?? server.open;
  server.defaultRole = s.default_role ?? server.defaultRole;
  server.powDifficulty = s.pow_difficulty ?? server.powDifficulty;
  server.trustedProxies = s.trusted_proxies ?? server.trustedProxies;
  server.maxConnectionsPerIp = s.max_connections_per_ip ?? server.maxConnectionsPerIp;
  server.maxSessionsPerIdentity = s.max_sessions_per_identity ?? server.maxSessionsPerIdentity;
  server.authSkewSeconds = s.auth_skew_seconds ?? server.authSkewSeconds;
  server.heartbeatSeconds = s.heartbeat_seconds ?? server.heartbeatSeconds;

  const l = f.limits ?? {};
  const limits = config.limits;
  limits.maxFrameBytes = size(l.max_frame_bytes, limits.maxFrameBytes);
  limits.maxLogBytes = size(l.max_log_bytes, limits.maxLogBytes);
  limits.maxUploadBytes = size(l.max_upload_bytes, limits.maxUploadBytes);
  limits.maxSendQueueBytes = size(l.max_send_queue_bytes, limits.maxSendQueueBytes);
  limits.maxTopicsPerConnection = l.max_topics_per_connection ?? limits.maxTopicsPerConnection;
  if (limits.maxSendQueueBytes < limits.maxFrameBytes)
    throw new ValidationError('limits.max_send_queue_bytes', 'at least limits.max_frame_bytes');

  const roles = defaultRoles();
  for (const [name, entry] of Object.entries(f.roles ?? {}))
    roles.set(name, roleFrom(name, entry, roles.get(name)));
  config.roles = roles;
  if (!roles.has(server.defaultRole)) throw new ValidationError('server.default_role', 'the name of a role');

  const r = f.relay ?? {};
  const ports = r.udp_ports;
  if (ports && ports[0]! > ports[1]!) throw new ValidationError('relay.udp_ports', '[lowest, highest] port');
  config.relay = { udpPorts: ports && [ports[0]!, ports[1]!], announcedIp: r.announced_ip };

  const t = f.turn ?? {};
  config.turn = {
    secret: t.secret,
    urls: t.urls ?? config.turn.urls,
    ttlSeconds: t.ttl_seconds ?? config.turn.ttlSeconds,
  };

  if (f.channels) {
    config.channels = channelTree(f.channels);
    config.fixedChannels = true;
  }
  return config;
}

/**
 * Loads `path` if given (it must exist), else `<dataDir>/tincan.toml` if present,
 * else the defaults. `file` is what was read, if anything.
 */
export async function loadConfig(options: {
  dataDir: string;
  path?: string;
}): Promise<{ config: ServerConfig; file: string | undefined }> {
  const file = options.path ?? join(options.dataDir, CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.path === undefined) return { config: defaultConfig(), file: undefined };
    throw new ConfigError('CONFIG_UNREADABLE', file, `cannot read: ${code ?? String(error)}`, undefined, {
      cause: error,
    });
  }
  return { config: parseConfig(text, file), file };
}
