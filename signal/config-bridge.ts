/**
 * Turns the TOML config (config.ts) into the hub's normalised options, and fills in
 * what lives in the data dir rather than the config: the TURN secret, generated on
 * first start into `<dataDir>/turn.secret` (mode 0600) when the config names none.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, toBase64url } from '../crypto/bytes.ts';
import { type ChannelConfig, loadConfig, type ServerConfig } from './config.ts';
import type { HubOptions, RoleSpec } from './options.ts';
import type { SeedChannel } from './server.ts';

export async function loadHubOptions(
  dataDir: string,
  configPath: string | undefined,
  overrides: Partial<HubOptions> = {},
): Promise<{ hubOptions: HubOptions; fixedChannels: SeedChannel[] | undefined; config: ServerConfig }> {
  const { config } = await loadConfig({ dataDir, path: configPath });
  const secret = config.turn.secret ?? (await turnSecret(dataDir));
  return {
    hubOptions: { ...toHubOptions(config, secret), ...overrides },
    fixedChannels: config.channels?.map(toSeed),
    config,
  };
}

export function toHubOptions(config: ServerConfig, turnSecretValue: string): HubOptions {
  const roles = new Map<string, RoleSpec>();
  for (const [name, role] of config.roles) {
    roles.set(name, { permissions: new Set(role.permissions), rate: role.rate, priority: role.priority });
  }
  const { server, limits } = config;
  return {
    serverName: server.name,
    publicUrl: server.publicUrl,
    relay: server.relay,
    open: server.open,
    defaultRole: server.defaultRole,
    powDifficulty: server.powDifficulty,
    trustedProxies: server.trustedProxies,
    relayUdp: { ports: config.relay.udpPorts, announcedIp: config.relay.announcedIp },
    maxConnectionsPerIp: server.maxConnectionsPerIp,
    maxSessionsPerIdentity: server.maxSessionsPerIdentity,
    authSkewMs: server.authSkewSeconds * 1000,
    authTimeoutMs: 10_000,
    heartbeatMs: server.heartbeatSeconds * 1000,
    maxFrameBytes: limits.maxFrameBytes,
    maxSendQueueBytes: limits.maxSendQueueBytes,
    maxTopicsPerConnection: limits.maxTopicsPerConnection,
    maxUploadBytes: limits.maxUploadBytes,
    maxLogBytes: limits.maxLogBytes,
    fixedChannels: config.fixedChannels,
    roles,
    turn: { secret: turnSecretValue, urls: config.turn.urls, ttlSeconds: config.turn.ttlSeconds },
    allowedOrigins: server.allowedOrigins,
    authAttemptsPerIp: { perSecond: 5, burst: 20 },
    identityRate: { perSecond: 50, burst: 100 },
  };
}

/** The TURN shared secret kept in the data dir, made on first use. */
export async function turnSecret(dataDir: string): Promise<string> {
  const path = join(dataDir, 'turn.secret');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const secret = toBase64url(randomBytes(32));
    await writeFile(path, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}

function toSeed(c: ChannelConfig): SeedChannel {
  return { name: c.name, kind: c.kind, settings: c.settings, children: c.children.map(toSeed) };
}
