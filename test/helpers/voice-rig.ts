/**
 * What the voice end-to-end suite and the voice benchmark both stand up: a real
 * server on loopback (with real coturn for its TURN credentials when coturn is
 * installed), an admin member on the client core in Node who makes invites, and
 * Chromiums whose fake microphone plays a given WAV file. `close()` tears it all
 * down, also after a failed set-up. Node-only.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { generateIdentity } from '../../crypto/identity.ts';
import { type RunningServer, startServer } from '../../signal/server.ts';
import { parseJoinLink } from '../../web/core/app.ts';
import { rawIdentity } from '../../web/core/identity-provider.ts';
import { MemoryCache } from '../../web/core/local-cache.ts';
import { ServerSession } from '../../web/core/server-view.ts';
import chromiumConfig from './chromium.json' with { type: 'json' };
import { type Coturn, coturnMissing, startCoturn } from './coturn.ts';
import { nodeSocket } from './signal.ts';

const SECRET = 'voice-rig-coturn-secret-0123456789';

export interface VoiceRig {
  readonly dir: string;
  readonly server: RunningServer;
  /** Undefined when coturn is not installed (`missing` says why). */
  readonly coturn: Coturn | undefined;
  readonly missing: string | undefined;
  /** The server's default voice channel. */
  readonly channel: string;
  /** A one-use member invite link. */
  invite(): Promise<string>;
  /** The server's admin, on the client core in Node (a moderator for moves and mutes). */
  readonly admin: ServerSession;
  /** A Chromium whose fake microphone plays `wav` (bytes written to the rig's dir). */
  browserWithMic(name: string, wav: Uint8Array): Promise<Browser>;
  /** A page in a fresh context (own identity) with microphone and camera allowed. */
  page(browser: Browser, timeoutMs: number): Promise<Page>;
  close(): Promise<void>;
}

/** `relay: false`: a server without the voice relay (voice stays on the mesh, TURN for hidden members). */
export async function voiceRig(options: { relay?: boolean } = {}): Promise<VoiceRig> {
  const dir = await mkdtemp(join(tmpdir(), 'tincan-voice-'));
  const browsers: Browser[] = [];
  let coturn: Coturn | undefined;
  let server: RunningServer | undefined;
  let admin: ServerSession | undefined;
  const close = async () => {
    admin?.close();
    for (const b of browsers) await b.close().catch(() => undefined);
    await server?.close();
    await coturn?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const missing = coturnMissing();
    // Every peer connection given TURN allocates a relay port per page: a wide range.
    if (!missing) coturn = await startCoturn({ secret: SECRET, relayPorts: 400 });
    const turn = coturn && { turn: { secret: SECRET, urls: [coturn.url('udp')], ttlSeconds: 600 } };
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'data'),
      relay: options.relay ?? true,
      ...(turn ? { overrides: turn } : {}),
      log: { info: () => undefined, warn: () => undefined },
    });
    const link = parseJoinLink(server.adminInvite!);
    admin = await ServerSession.connect({
      url: link.url,
      identity: rawIdentity(generateIdentity()),
      socket: nodeSocket,
      cache: new MemoryCache(),
      invite: { token: link.token, name: 'Admin' },
    });
    const inviter = admin;
    return {
      dir,
      server,
      coturn,
      missing,
      channel: server.hub.channels.list().find((c) => c.kind === 'voice')!.id,
      invite: () => inviter.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 }),
      admin: inviter,
      browserWithMic: async (name, wav) => {
        const file = join(dir, `${name}.wav`);
        await writeFile(file, wav);
        const browser = await chromium.launch({
          executablePath: process.env.CHROME_PATH ?? chromiumConfig.executablePath,
          headless: true,
          args: [...chromiumConfig.args, `--use-file-for-fake-audio-capture=${file}`],
          timeout: 30_000,
        });
        browsers.push(browser);
        return browser;
      },
      page: async (browser, timeoutMs) => {
        const context = await browser.newContext({ permissions: ['microphone', 'camera'] });
        context.setDefaultTimeout(timeoutMs);
        await context.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
        return context.newPage();
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
