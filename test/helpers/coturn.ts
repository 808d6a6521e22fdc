/**
 * Real coturn for tests: `startCoturn()` runs Debian's `turnserver` on a free
 * 127.0.0.1 port with TURN REST authentication (`use-auth-secret`), pid file and user
 * database in a temp dir and its log on stdout (kept in `logs`), and waits until it
 * answers a STUN Binding request. `stop()` ends it and removes the temp dir; a process
 * `exit` hook kills it too, so a failing or interrupted test leaves no turnserver
 * behind. `uclient()` runs coturn's own TURN client, `turnutils_uclient`, with a given
 * username and password. Node-only.
 *
 * The loopback config follows ../shared/MACHINE-NOTES.md; `allow-loopback-peers` is
 * what lets relays on 127.0.0.1 talk to each other (tests only, never production).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';

export const TURNSERVER = process.env.TURNSERVER ?? 'turnserver';
export const UCLIENT = process.env.TURNUTILS_UCLIENT ?? 'turnutils_uclient';

/** Why coturn tests cannot run here (a message for a `skip` option), or undefined when they can. */
export function coturnMissing(): string | undefined {
  for (const command of [TURNSERVER, UCLIENT]) {
    const probe = spawnSync(command, ['-h'], { stdio: 'ignore', timeout: 5000 });
    if (probe.error)
      return `${command} is not installed (apt-get install --no-install-recommends coturn); skipping`;
  }
  return undefined;
}

export interface CoturnOptions {
  /** The `static-auth-secret` shared with the tincan server. */
  secret: string;
  realm?: string;
  /**
   * Run this config file instead of the built-in loopback one; the helper still adds
   * `--listening-port`, `--min-port`/`--max-port`, pid file, user db and stdout
   * logging on the command line (which overrides the file).
   */
  configFile?: string;
  /** More command-line options, e.g. `['--listening-ip', '127.0.0.1']`. */
  args?: string[];
  /** Bound on start-up; default 10 s. */
  timeoutMs?: number;
  /** Size of the relay port range; default 20. Every peer connection given TURN allocates one per page. */
  relayPorts?: number;
}

export interface Coturn {
  readonly port: number;
  readonly minPort: number;
  readonly maxPort: number;
  readonly realm: string;
  /** Every line coturn logged so far. */
  readonly logs: string[];
  /** `turn:127.0.0.1:<port>?transport=<transport>` */
  url(transport?: 'udp' | 'tcp'): string;
  /** Terminates coturn (SIGTERM, then SIGKILL after 2 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const RELAY_PORTS = 20;

/** What every test coturn runs with: REST credentials from the secret, UDP TURN only, no extras. */
function configLines(o: { secret: string; realm: string }, where: string[]): string {
  return [
    ...where,
    'use-auth-secret',
    `static-auth-secret=${o.secret}`,
    `realm=${o.realm}`,
    'fingerprint',
    'no-tls',
    'no-dtls',
    'no-tcp-relay',
    'no-cli',
    'no-rfc5780',
    'no-multicast-peers',
    '',
  ].join('\n');
}

export function loopbackConfig(o: {
  port: number;
  minPort: number;
  maxPort: number;
  secret: string;
  realm: string;
}): string {
  return configLines(o, [
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    `listening-port=${o.port}`,
    `min-port=${o.minPort}`,
    `max-port=${o.maxPort}`,
    'allow-loopback-peers',
  ]);
}

/**
 * Coturn on a NAT lab's public address (test/helpers/netns.ts), relaying there too; also
 * on 127.0.0.1, only for the helper's readiness probe.
 */
export function publicConfig(o: { publicIp: string; secret: string; realm: string }): string {
  return configLines(o, ['listening-ip=127.0.0.1', `listening-ip=${o.publicIp}`, `relay-ip=${o.publicIp}`]);
}

/** A port free for both UDP and TCP on 127.0.0.1 (TURN listens on both). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const tcp = createServer();
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => tcp.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 after 20 tries');
}

/** A STUN Binding request (RFC 8489 §5, §6) and a check for its success response. */
function bindingRequest(): { request: Buffer; answers(message: Buffer): boolean } {
  const transaction = randomBytes(12);
  const request = Buffer.alloc(20);
  request.writeUInt16BE(0x0001, 0); // Binding request
  request.writeUInt16BE(0, 2); // no attributes
  request.writeUInt32BE(0x2112a442, 4); // magic cookie
  transaction.copy(request, 8);
  return {
    request,
    // 0x0101 is a Binding success response; it must echo our transaction id.
    answers: (m) => m.length >= 20 && m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(transaction),
  };
}

/** Sends STUN Binding requests over UDP until one is answered, or rejects after `ms`. */
export async function stunAnswers(port: number, ms: number): Promise<void> {
  const socket = createSocket('udp4');
  const { request, answers } = bindingRequest();
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      socket.on('message', (message) => {
        if (answers(message)) resolve();
      });
      socket.on('error', () => {
        // ICMP port unreachable while coturn is still starting; the next send retries.
      });
      const send = () => socket.send(request, port, '127.0.0.1');
      send();
      retry = setInterval(send, 100);
      timer = setTimeout(
        () =>
          reject(new Error(`coturn did not answer a STUN Binding request on port ${port} within ${ms} ms`)),
        ms,
      );
    });
  } finally {
    clearInterval(retry);
    clearTimeout(timer);
    socket.close();
  }
}

/**
 * Connects with TLS (any certificate) to 127.0.0.1:`port` and sends a STUN Binding
 * request in it, retrying until coturn's TLS listener answers or `ms` pass. Resolves
 * with the negotiated TLS version. (turnutils_uclient is no oracle here: over TLS it
 * miscounts the messages it relayed and waits forever for the rest; seen with 4.6.1.)
 */
export async function stunAnswersTls(port: number, ms: number): Promise<string> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const { request, answers } = bindingRequest();
        const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
        const timer = setTimeout(() => socket.destroy(new Error('no STUN answer over TLS in 2 s')), 2000);
        let received = Buffer.alloc(0);
        socket.once('secureConnect', () => socket.write(request));
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk]);
          if (!answers(received)) return;
          clearTimeout(timer);
          resolve(socket.getProtocol() ?? 'unknown');
          socket.destroy();
        });
        socket.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        socket.once('close', () => {
          clearTimeout(timer);
          reject(new Error('closed before a STUN answer'));
        });
      });
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no STUN Binding answer over TLS on 127.0.0.1:${port} within ${ms} ms: ${String(last)}`);
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const realm = options.realm ?? 'tincan.test';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'tincan-coturn-'));
  let lastError: unknown;
  try {
    // A port picked free can be taken before coturn binds it: try a few times.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const minPort = 40_000 + Math.floor(Math.random() * 20_000);
      const maxPort = minPort + (options.relayPorts ?? RELAY_PORTS) - 1;
      let config = options.configFile;
      if (!config) {
        config = join(dir, 'turnserver.conf');
        await writeFile(config, loopbackConfig({ port, minPort, maxPort, secret: options.secret, realm }), {
          mode: 0o600,
        });
      }
      const args = [
        '-c',
        config,
        `--listening-port=${port}`,
        `--min-port=${minPort}`,
        `--max-port=${maxPort}`,
        `--pidfile=${join(dir, 'turnserver.pid')}`,
        `--userdb=${join(dir, 'turndb')}`,
        '--log-file=stdout',
        '--simple-log',
        ...(options.args ?? []),
      ];
      try {
        return await launch({ args, port, minPort, maxPort, realm, dir, timeoutMs });
      } catch (error) {
        lastError = error;
      }
    }
  } catch (error) {
    lastError = error;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function launch(o: {
  args: string[];
  port: number;
  minPort: number;
  maxPort: number;
  realm: string;
  dir: string;
  timeoutMs: number;
}): Promise<Coturn> {
  const child = spawn(TURNSERVER, o.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const logs: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(line);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`could not run ${TURNSERVER}: ${error.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(`turnserver exited (${signal ?? code}) while starting:\n${logs.slice(-30).join('\n')}`),
      ),
    );
  });
  exited.catch(() => undefined); // observed through the race below, and not after start

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(force);
    }
    running.delete(child);
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= kill().then(() => rm(o.dir, { recursive: true, force: true }));
    return stopping;
  };

  try {
    await Promise.race([stunAnswers(o.port, o.timeoutMs), exited]);
  } catch (error) {
    await kill(); // the caller may retry in the same dir, or removes it
    throw new Error(`${(error as Error).message}\n--- coturn log ---\n${logs.slice(-30).join('\n')}`, {
      cause: error,
    });
  }
  return {
    port: o.port,
    minPort: o.minPort,
    maxPort: o.maxPort,
    realm: o.realm,
    logs,
    url: (transport = 'udp') => `turn:127.0.0.1:${o.port}?transport=${transport}`,
    stop,
  };
}

export interface UclientResult {
  /** Exit status (255 when an allocation was refused), or null when killed on timeout. */
  status: number | null;
  timedOut: boolean;
  /** Messages sent and received through the relays (`tot_send_msgs`, `tot_recv_msgs`). */
  sent: number;
  received: number;
  output: string;
}

/**
 * Runs `turnutils_uclient -y` (two clients that allocate relays and send to each
 * other through them) against 127.0.0.1:`port` with a long-term username and password.
 */
export function uclient(o: {
  port: number;
  username: string;
  password: string;
  messages?: number;
  /** Extra flags, e.g. `['-t']` for TCP to the server. */
  flags?: string[];
  timeoutMs?: number;
}): Promise<UclientResult> {
  const args = [
    '-y', // client-to-client: the two clients are each other's peers
    '-c', // no RTCP
    '-X', // IPv4 relay
    '-n',
    String(o.messages ?? 3),
    '-m',
    '1',
    '-z',
    '5', // 5 ms between messages
    ...(o.flags ?? []),
    '-u',
    o.username,
    '-w',
    o.password,
    '-p',
    String(o.port),
    '127.0.0.1',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(UCLIENT, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 15_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      running.delete(child);
      const totals = /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)/.exec(
        output
          .split('\n')
          .reverse()
          .find((l) => /start_mclient: tot_send_msgs=/.test(l)) ?? '',
      );
      resolve({
        status,
        timedOut,
        sent: Number(totals?.[1] ?? 0),
        received: Number(totals?.[2] ?? 0),
        output,
      });
    });
  });
}
