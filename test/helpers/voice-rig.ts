/**
 * What the voice end-to-end suites and the voice benchmark stand up: a real
 * server on loopback (with real coturn for its TURN credentials when coturn is
 * installed), an admin member on the client core in Node who makes invites, and
 * Chromiums whose fake microphone plays a given WAV file. With a NAT lab
 * (test/helpers/netns.ts) the server and coturn sit on the lab's public address
 * instead, coturn answers STUN only, and a Chromium can run in one of the lab's
 * homes, behind its router. `close()` tears it all down, also after a failed
 * set-up. Node-only.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { type Coturn, coturnMissing, publicConfig, startCoturn } from './coturn.ts';
import type { NatLab } from './netns.ts';
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
  /** A Chromium whose fake microphone plays `wav` (bytes written to the rig's dir); with `home`, it runs in that lab home. */
  browserWithMic(name: string, wav: Uint8Array, home?: string): Promise<Browser>;
  /** A page in a fresh context (own identity) with microphone and camera allowed. */
  page(browser: Browser, timeoutMs: number): Promise<Page>;
  close(): Promise<void>;
}

export interface VoiceRigOptions {
  /** `false`: a server without the voice relay (voice stays on the mesh, TURN for hidden members). */
  relay?: boolean;
  /**
   * Serve on this lab's public address, with STUN but no TURN: a NAT that STUN cannot
   * punch through leaves the mesh no path, and the relay is the way round it.
   */
  lab?: NatLab;
}

export async function voiceRig(options: VoiceRigOptions = {}): Promise<VoiceRig> {
  const { lab } = options;
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
    let configFile: string | undefined;
    if (lab) {
      configFile = join(dir, 'turnserver.conf');
      await writeFile(
        configFile,
        publicConfig({ publicIp: lab.publicIp, secret: SECRET, realm: 'tincan.test' }),
        {
          mode: 0o600,
        },
      );
    }
    // Every peer connection given TURN allocates a relay port per page: a wide range.
    if (!missing)
      coturn = await startCoturn({ secret: SECRET, relayPorts: 400, ...(configFile ? { configFile } : {}) });
    const urls = coturn && (lab ? [`stun:${lab.publicIp}:${coturn.port}`] : [coturn.url('udp')]);
    const turn = urls && { turn: { secret: SECRET, urls, ttlSeconds: 600 } };
    const host = lab?.publicIp ?? '127.0.0.1';
    server = await startServer({
      host,
      port: 0,
      dataDir: join(dir, 'data'),
      relay: options.relay ?? true,
      // The relay's ICE on the server's own address: coturn (which relays from there) can reach it.
      relayOptions: { peer: { bindAddress: host } },
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
    const origin = server.url;
    /** Chromium in a lab home: `ip netns exec` keeps the pipe playwright drives it through. */
    const launcherIn = async (name: string, home: string) => {
      if (!lab) throw new Error('a home needs a rig made with a lab');
      const script = join(dir, `chromium-${name}.sh`);
      const chromiumPath = process.env.CHROME_PATH ?? chromiumConfig.executablePath;
      await writeFile(script, `#!/bin/sh\nexec ${[...lab.inHome(home), chromiumPath].join(' ')} "$@"\n`);
      await chmod(script, 0o755);
      return script;
    };
    return {
      dir,
      server,
      coturn,
      missing,
      channel: server.hub.channels.list().find((c) => c.kind === 'voice')!.id,
      invite: () => inviter.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 }),
      admin: inviter,
      browserWithMic: async (name, wav, home) => {
        const file = join(dir, `${name}.wav`);
        await writeFile(file, wav);
        const browser = await chromium.launch({
          executablePath: home
            ? await launcherIn(name, home)
            : (process.env.CHROME_PATH ?? chromiumConfig.executablePath),
          headless: true,
          args: [
            ...chromiumConfig.args,
            `--use-file-for-fake-audio-capture=${file}`,
            // The lab's public address is not localhost: the page needs a secure context for WebCrypto and the mic.
            ...(lab ? [`--unsafely-treat-insecure-origin-as-secure=${origin}`] : []),
          ],
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
