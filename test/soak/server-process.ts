/**
 * The parent's end of `server-child.ts`: starts a real signal server (real SQLite in
 * a fresh data dir, real sockets on 127.0.0.1) in its own process, with the members
 * allowlisted up front in `authorized_keys`, and asks it for memory samples over IPC.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IdentityKeyPair, userIdOf } from '../../crypto/identity.ts';
import { rawSigner } from '../../crypto/sign.ts';
import type { HubOptions } from '../../signal/options.ts';
import { SignalClient } from '../../web/net/signal-client.ts';
import { nodeSocket } from '../helpers/signal.ts';
import type { Sample } from './server-child.ts';

export type { Sample } from './server-child.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const READY_MS = 30_000;
const SAMPLE_MS = 10_000;

export interface ServerProcess {
  readonly pid: number;
  readonly port: number;
  readonly wsUrl: string;
  readonly dataDir: string;
  /** Lines the child wrote to stderr (its warnings). */
  readonly stderr: string[];
  /** One sample of the child's memory and counters; `gc` forces a full GC first. */
  sample(gc?: boolean): Promise<Sample>;
  /** SIGTERM, then SIGKILL after 5 s; removes the data dir. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  /** authorized_keys content (one member per line). */
  authorizedKeys: string;
  /** Plain-field HubOptions overrides (no Maps or Sets: they go through JSON). */
  overrides?: Partial<HubOptions>;
  /** Extra Node flags for the child (e.g. `--cpu-prof`, `--cpu-prof-dir=…`). */
  nodeArgs?: string[];
}

export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tincan-soak-'));
  const webDir = await mkdtemp(join(tmpdir(), 'tincan-soak-web-'));
  await writeFile(join(dataDir, 'authorized_keys'), options.authorizedKeys);
  const proc = spawn(
    process.execPath,
    [
      '--expose-gc',
      ...(options.nodeArgs ?? []),
      '--import',
      'tsx',
      join(ROOT, 'test/soak/server-child.ts'),
      dataDir,
      webDir,
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, TINCAN_SOAK_OVERRIDES: JSON.stringify(options.overrides ?? {}) },
    },
  );
  const stderr: string[] = [];
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => stderr.push(d));
  const cleanup = async () => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(webDir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await ready(proc, stderr);
  } catch (error) {
    proc.kill('SIGKILL');
    await cleanup();
    throw error;
  }

  let nextId = 1;
  const waiting = new Map<number, (s: Sample) => void>();
  proc.on('message', (m: unknown) => {
    const msg = m as { type?: unknown; sample?: Sample };
    if (msg?.type !== 'sample' || !msg.sample) return;
    waiting.get(msg.sample.id)?.(msg.sample);
    waiting.delete(msg.sample.id);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stopped = false;
  return {
    pid: proc.pid!,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    dataDir,
    stderr,
    sample: (gc = false) =>
      new Promise<Sample>((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`server child did not answer sample ${id} within ${SAMPLE_MS} ms`));
        }, SAMPLE_MS);
        waiting.set(id, (s) => {
          clearTimeout(timer);
          resolve(s);
        });
        proc.send({ type: 'sample', id, gc });
      }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await cleanup();
    },
  };
}

function ready(proc: ChildProcess, stderr: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server child not ready within ${READY_MS} ms; stderr: ${stderr.join('')}`)),
      READY_MS,
    );
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server child exited early (${code ?? signal}); stderr: ${stderr.join('')}`));
    });
    proc.on('message', function onReady(m: unknown) {
      const msg = m as { type?: unknown; port?: unknown };
      if (msg?.type !== 'ready' || typeof msg.port !== 'number') return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.off('message', onReady);
      resolve(msg.port);
    });
  });
}

/** authorized_keys lines: member 0 is an admin (it makes the channels), the rest members. */
export function allowlist(pairs: readonly IdentityKeyPair[]): string {
  return pairs
    .map((p, i) => `${userIdOf(p.publicKey)} roles=${i === 0 ? 'admin' : 'member'} member${i}\n`)
    .join('');
}

/** Makes text channels as `admin` over a bare connection; returns their ids in order. */
export async function createTextChannels(
  server: ServerProcess,
  admin: IdentityKeyPair,
  names: readonly string[],
): Promise<string[]> {
  const client = await SignalClient.connect({
    url: server.wsUrl,
    signer: rawSigner(admin.secretKey),
    socket: nodeSocket,
  });
  try {
    const ids: string[] = [];
    for (const name of names) {
      const reply = await client.request('channel.create', { name, kind: 'text' });
      if (typeof reply.channel !== 'string') throw new Error('channel.create answered without a channel id');
      ids.push(reply.channel);
    }
    return ids;
  } finally {
    client.close();
  }
}
