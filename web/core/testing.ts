/** Helpers for the client core's Node tests: sessions against a real test server, polling asserts. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IdentityKeyPair } from '../../crypto/identity.ts';
import { nodeSocket, type TestServer } from '../../test/helpers/signal.ts';
import { ReconnectPolicy } from '../net/reconnect.ts';
import type { Conversation } from './conversation.ts';
import { rawIdentity } from './identity-provider.ts';
import { type LocalCache, MemoryCache } from './local-cache.ts';
import { ServerSession, type ServerViewOptions } from './server-view.ts';

export const fastPolicy = () => new ReconnectPolicy({ baseMs: 30, maxMs: 150 });

export function session(
  t: TestServer,
  identity: IdentityKeyPair,
  extra: Partial<ServerViewOptions> & { cache?: LocalCache } = {},
): Promise<ServerSession> {
  return ServerSession.connect({
    url: t.wsUrl,
    identity: rawIdentity(identity),
    socket: nodeSocket,
    cache: new MemoryCache(),
    policy: fastPolicy(),
    ...extra,
  });
}

/** Retries `check` until it stops throwing (or rethrows its last error after `ms`). */
export async function eventually<T>(check: () => T | Promise<T>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export function texts(c: Conversation): string[] {
  return c.messages.value.map((m) => m.text);
}

export function textChannel(t: TestServer): string {
  return t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
}

/** Every file under `dir` (recursively) that contains `needle` as UTF-8 bytes. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const bytes = Buffer.from(needle, 'utf8');
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    if ((await readFile(path)).includes(bytes)) hits.push(path);
  }
  return hits;
}
