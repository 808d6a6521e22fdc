/**
 * Helpers for server tests: a real server on 127.0.0.1:0 in a temp data dir, and
 * real WebSocket clients (`ws`) that authenticate with real keys.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { generateIdentity, type IdentityKeyPair, userIdOf } from '../../crypto/identity.ts';
import { rawSigner } from '../../crypto/sign.ts';
import type { HubOptions } from '../../signal/options.ts';
import { type RunningServer, startServer } from '../../signal/server.ts';
import { type ConnectOptions, SignalClient, type SocketLike } from '../../web/net/signal-client.ts';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  wsUrl: string;
  /** Lines the server logged (auth refusals name their reason here). */
  logs: string[];
  close(): Promise<void>;
}

export interface TestServerOptions {
  overrides?: Partial<HubOptions>;
  /** authorized_keys content written before start. */
  authorizedKeys?: string;
  dataDir?: string;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tincan-test-')));
  if (options.authorizedKeys !== undefined)
    await writeFile(join(dataDir, 'authorized_keys'), options.authorizedKeys);
  const logs: string[] = [];
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    overrides: options.overrides,
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
  });
  return {
    server,
    dataDir,
    wsUrl: `${server.url.replace('http', 'ws')}/ws`,
    logs,
    close: async () => {
      await server.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const nodeSocket = (url: string): SocketLike => new WebSocket(url) as unknown as SocketLike;

export function connect(
  t: TestServer,
  identity: IdentityKeyPair,
  extra: Partial<ConnectOptions> = {},
): Promise<SignalClient> {
  return SignalClient.connect({
    url: t.wsUrl,
    signer: rawSigner(identity.secretKey),
    socket: nodeSocket,
    ...extra,
  });
}

/** An authorized_keys line for a fresh identity with these roles. */
export function member(
  roles: string[],
  name = 'user',
): { identity: IdentityKeyPair; line: string; key: string } {
  const identity = generateIdentity();
  const key = userIdOf(identity.publicKey);
  return { identity, key, line: `${key} roles=${roles.join(',')} ${name}\n` };
}

/** Resolves with the next pushed message of `type` matching `filter`, or rejects after `ms`. */
export function nextMessage(
  client: SignalClient,
  type: string,
  filter: (m: Record<string, unknown>) => boolean = () => true,
  ms = 5000,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`expected a '${type}' message within ${ms} ms`));
    }, ms);
    const off = client.on(type, (m) => {
      if (!filter(m)) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
  });
}
