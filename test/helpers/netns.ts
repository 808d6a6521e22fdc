/**
 * A small NAT lab in Linux network namespaces, for tests that need real address
 * translation between peers (test/faults/nat.test.ts). Root only; needs `ip`
 * (iproute2) and `iptables`. `natLabMissing()` says why a lab cannot be built here.
 *
 * `createNatLab()` builds, per run (names carry the test's pid and a random id):
 *
 *   root ns  ── veth `tcn<id>` 10.X.Y.1/24 ── ns `pub`: bridge br0 (the "internet")
 *                                              ├── ns `r<i>`: wan 10.X.Y.(10+i), a home router
 *                                              │      └── lan 192.168.<i>.1 ── ns `home<i>`: eth0 192.168.<i>.2
 *                                              └── …
 *
 * Each router forwards lan→wan, lets back (to the home and to itself) only what
 * conntrack ties to an outgoing flow, and masquerades lan traffic behind its wan address:
 * plain MASQUERADE keeps one mapping per local port whatever the destination (Linux
 * preserves the port when it can) and filters replies by remote address and port — a
 * port-restricted cone; `MASQUERADE --random-fully` picks a fresh port for every new
 * destination — a symmetric NAT. The root namespace reaches only the public /24, so
 * services bound to `publicIp` there (coturn, the signal server) are "on the internet".
 *
 * Everything lives in the lab's namespaces: deleting them removes the veths, the
 * bridge and every iptables rule, so nothing is changed in the root namespace beyond
 * one veth and its connected route. `destroy()` kills what runs inside and deletes
 * all; `removeStaleLabs()` does the same for labs whose test process is gone.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

const IP = process.env.IP_COMMAND ?? 'ip';
const IPTABLES = process.env.IPTABLES ?? 'iptables';
/** Every namespace of every lab starts with this (then `<pid>-<id>-<role>`). */
export const NS_PREFIX = 'tcnat-';
/** Root-namespace end of a lab's uplink: `tcn<id>` (interface names stop at 15 characters). */
const ROOT_LINK_PREFIX = 'tcn';
const COMMAND_TIMEOUT_MS = 10_000;

export type NatBehaviour = 'port-restricted' | 'symmetric';

export interface HomeSpec {
  name: string;
  nat: NatBehaviour;
}

export interface Home {
  readonly name: string;
  /** The namespace the home's host lives in. */
  readonly ns: string;
  /** The router's namespace. */
  readonly routerNs: string;
  readonly lanIp: string;
  /** The router's public address: what the internet sees for this home. */
  readonly wanIp: string;
  nat: NatBehaviour;
}

export interface NatLab {
  readonly id: string;
  /** The root namespace's address on the public segment. */
  readonly publicIp: string;
  readonly homes: ReadonlyMap<string, Home>;
  /** Switches a home's router to another NAT behaviour (flows already mapped keep theirs). */
  setNat(home: string, nat: NatBehaviour): Promise<void>;
  /** The router drops every UDP packet from its home (a network that lets only TCP out). */
  blockUdp(home: string): Promise<void>;
  /** The router's NAT rules as `iptables -S` prints them, for messages. */
  natRules(home: string): Promise<string>;
  /** The command line prefix that runs a program in a home's namespace (`ip netns exec <ns>`). */
  inHome(home: string): string[];
  /** Runs a Node script in a home with tsx, speaking JSON lines (see JsonLineChild). */
  spawnNode(home: string, script: string, env: Record<string, string>): JsonLineChild;
  /** Kills the lab's processes and deletes its namespaces and root link. Idempotent. */
  destroy(): Promise<void>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

const ip = (...args: string[]) => run(IP, args);
const inNs = (ns: string, command: string, ...args: string[]) =>
  run(IP, ['netns', 'exec', ns, command, ...args]);

/** Why a NAT lab cannot be built here (a message for a `skip` option), or undefined when it can. */
export function natLabMissing(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux, this is ${process.platform}; skipping`;
  if (process.getuid?.() !== 0) return 'network namespaces and iptables need root; skipping';
  const version = (command: string, args: string[]) =>
    spawnSync(command, args, { stdio: 'ignore', timeout: 5000 }).error;
  if (version(IP, ['-V'])) return `${IP} (iproute2) is not installed; skipping`;
  if (version(IPTABLES, ['-V'])) return `${IPTABLES} is not installed (apt-get install iptables); skipping`;
  // A namespace that can hold a MASQUERADE --random-fully rule proves both the
  // netns and the nat table work in this kernel and container.
  const probe = `${NS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-probe`;
  const add = spawnSync(IP, ['netns', 'add', probe], { encoding: 'utf8', timeout: 5000 });
  if (add.status !== 0)
    return `cannot create a network namespace (${add.stderr.trim() || add.error}); skipping`;
  try {
    const rule = spawnSync(
      IP,
      [
        'netns',
        'exec',
        probe,
        IPTABLES,
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-j',
        'MASQUERADE',
        '--random-fully',
      ],
      { encoding: 'utf8', timeout: 5000 },
    );
    if (rule.status !== 0)
      return `iptables cannot add a NAT rule in a namespace (${rule.stderr.trim() || rule.error}); skipping`;
  } finally {
    spawnSync(IP, ['netns', 'del', probe], { stdio: 'ignore', timeout: 5000 });
  }
  return undefined;
}

async function namespaces(): Promise<string[]> {
  // Lines look like `name (id: 3)` or just `name`.
  return (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(NS_PREFIX));
}

/** Whether a process with this pid exists (EPERM: it does, but is not ours to signal). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs whatever still runs in `ns` (a lab's own children) and deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone between listing and killing.
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined); // deleted meanwhile by another cleanup
}

/**
 * Deletes the namespaces (and root links) of labs whose creating process is dead:
 * what a crashed or SIGKILLed run left behind. Labs of live processes are left alone.
 * Returns the names removed.
 */
export async function removeStaleLabs(): Promise<string[]> {
  const removed: string[] = [];
  const liveIds = new Set<string>();
  for (const ns of await namespaces()) {
    const m = /^tcnat-(\d+)-([0-9a-f]+)-/.exec(ns);
    if (m && alive(Number(m[1]))) {
      liveIds.add(m[2]!);
      continue;
    }
    await deleteNamespace(ns);
    removed.push(ns);
  }
  const links = (await ip('-o', 'link', 'show', 'type', 'veth').catch(() => ''))
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && /^tcn[0-9a-f]{6}$/.test(n));
  for (const link of links) {
    if (liveIds.has(link.slice(ROOT_LINK_PREFIX.length))) continue;
    await ip('link', 'del', link).catch(() => undefined);
    removed.push(link);
  }
  return removed;
}

/** A /24 in 10.0.0.0/8 that no root-namespace route or address overlaps. */
async function freeSubnet(): Promise<[number, number]> {
  const used: [number, number][] = [];
  for (const line of (await ip('-4', '-o', 'route', 'show', 'table', 'all')).split('\n')) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?/.exec(
      line.replace(/^(local|broadcast|unicast)\s+/, ''),
    );
    if (!m) continue;
    const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    const bits = m[5] === undefined ? 32 : Number(m[5]);
    if (bits === 0) continue; // the default route overlaps everything and routes nothing of ours
    const mask = bits === 32 ? 0xffffffff : ~((1 << (32 - bits)) - 1) >>> 0;
    used.push([(addr & mask) >>> 0, mask]);
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const [a, b] = [100 + (randomBytes(1)[0]! % 100), randomBytes(1)[0]!];
    const net = ((10 << 24) | (a << 16) | (b << 8)) >>> 0;
    const clash = used.some(([u, mask]) => {
      const common = (mask & 0xffffff00) >>> 0; // the shorter of the two prefixes
      return (u & common) >>> 0 === (net & common) >>> 0;
    });
    if (!clash) return [a, b];
  }
  throw new Error('no free 10.x.y.0/24 for the lab after 50 tries');
}

const masquerade = (nat: NatBehaviour) => [
  '-o',
  'wan',
  '-j',
  'MASQUERADE',
  ...(nat === 'symmetric' ? ['--random-fully'] : []),
];

/** Builds the lab; on any failure it deletes what it built and rethrows. */
export async function createNatLab(specs: HomeSpec[]): Promise<NatLab> {
  if (specs.length === 0 || specs.length > 50) throw new Error(`1..50 homes, got ${specs.length}`);
  const id = randomBytes(3).toString('hex');
  const nsName = (role: string) => `${NS_PREFIX}${process.pid}-${id}-${role}`;
  const pub = nsName('pub');
  const rootLink = `${ROOT_LINK_PREFIX}${id}`;
  const created: string[] = [];
  const children = new Set<JsonLineChild>();
  let destroyed: Promise<void> | undefined;

  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      await Promise.all([...children].map((c) => c.stop()));
      await ip('link', 'del', rootLink).catch(() => undefined); // gone with `pub`, or never made
      for (const ns of created.reverse()) await deleteNamespace(ns);
    })();
    return destroyed;
  };
  const onExit = () => {
    // Synchronous last resort when the test process exits without destroy().
    for (const ns of created) spawnSync(IP, ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 });
  };
  process.once('exit', onExit);

  try {
    const [a, b] = await freeSubnet();
    const publicNet = `10.${a}.${b}`;
    const addNs = async (ns: string) => {
      await ip('netns', 'add', ns);
      created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      // IPv4 only: keeps candidate lists short and the story readable.
      await inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
    };
    await addNs(pub);
    await ip('-n', pub, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', pub, 'link', 'set', 'br0', 'up');
    await ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', pub);
    await ip('-n', pub, 'link', 'set', 'dev', 'uplink', 'master', 'br0', 'up');
    await ip('addr', 'add', `${publicNet}.1/24`, 'dev', rootLink);
    await ip('link', 'set', rootLink, 'up');

    const homes = new Map<string, Home>();
    for (const [index, spec] of specs.entries()) {
      const i = index + 1;
      const router = nsName(`r${i}`);
      const ns = nsName(spec.name);
      await addNs(router);
      await addNs(ns);
      const wanIp = `${publicNet}.${10 + i}`;
      await ip('-n', router, 'link', 'add', 'wan', 'type', 'veth', 'peer', 'name', `r${i}`, 'netns', pub);
      await ip('-n', pub, 'link', 'set', 'dev', `r${i}`, 'master', 'br0', 'up');
      await ip('-n', router, 'addr', 'add', `${wanIp}/24`, 'dev', 'wan');
      await ip('-n', router, 'link', 'set', 'wan', 'up');
      await ip('-n', router, 'link', 'add', 'lan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', router, 'addr', 'add', `192.168.${i}.1/24`, 'dev', 'lan');
      await ip('-n', router, 'link', 'set', 'lan', 'up');
      await ip('-n', ns, 'addr', 'add', `192.168.${i}.2/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', ns, 'route', 'add', 'default', 'via', `192.168.${i}.1`);
      await inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
      await inNs(router, IPTABLES, '-P', 'FORWARD', 'DROP');
      await inNs(router, IPTABLES, '-A', 'FORWARD', '-i', 'lan', '-o', 'wan', '-j', 'ACCEPT');
      await inNs(
        router,
        IPTABLES,
        ...['-A', 'FORWARD', '-i', 'wan', '-o', 'lan', '-m', 'conntrack'],
        ...['--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      );
      // The router itself takes from the internet only what answers its own flows. This
      // matters for hole punching, not just tidiness: a peer's first check arrives before
      // our host has sent to that peer; accepted into INPUT it would leave a conntrack
      // entry (public:port ↔ peer) that makes the host's own packets to the peer take
      // another public port. Dropped here, the entry is never confirmed.
      await inNs(
        router,
        IPTABLES,
        ...['-A', 'INPUT', '-i', 'wan', '-m', 'conntrack'],
        ...['--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
      );
      await inNs(router, IPTABLES, '-A', 'INPUT', '-i', 'wan', '-j', 'DROP');
      await inNs(router, IPTABLES, '-t', 'nat', '-A', 'POSTROUTING', ...masquerade(spec.nat));
      homes.set(spec.name, {
        name: spec.name,
        ns,
        routerNs: router,
        lanIp: `192.168.${i}.2`,
        wanIp,
        nat: spec.nat,
      });
    }

    const home = (name: string): Home => {
      const h = homes.get(name);
      if (!h) throw new Error(`no home named ${name} in lab ${id}`);
      return h;
    };
    return {
      id,
      publicIp: `${publicNet}.1`,
      homes,
      async setNat(name, nat) {
        const h = home(name);
        await inNs(h.routerNs, IPTABLES, '-t', 'nat', '-R', 'POSTROUTING', '1', ...masquerade(nat));
        h.nat = nat;
      },
      async blockUdp(name) {
        await inNs(
          home(name).routerNs,
          IPTABLES,
          '-I',
          'FORWARD',
          '1',
          '-i',
          'lan',
          '-p',
          'udp',
          '-j',
          'DROP',
        );
      },
      natRules: (name) => inNs(home(name).routerNs, IPTABLES, '-t', 'nat', '-S', 'POSTROUTING'),
      inHome: (name) => [IP, 'netns', 'exec', home(name).ns],
      spawnNode(name, script, env) {
        const child = new JsonLineChild(
          IP,
          ['netns', 'exec', home(name).ns, process.execPath, '--import', 'tsx', script],
          env,
          name,
        );
        children.add(child);
        return child;
      },
      async destroy() {
        process.removeListener('exit', onExit);
        await destroy();
      },
    };
  } catch (error) {
    await destroy();
    process.removeListener('exit', onExit);
    throw error;
  }
}

export type JsonEvent = Record<string, unknown> & { ev: string };

/** Why `JsonLineChild.next` gave up waiting. */
export class ChildWaitError extends Error {
  override readonly name = 'ChildWaitError';
  constructor(
    readonly code: 'TIMEOUT' | 'CHILD_ERROR' | 'CHILD_EXIT',
    message: string,
  ) {
    super(message);
  }
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A child process that takes one JSON command per line on stdin and prints one JSON
 * event per line (`{"ev": …}`) on stdout. Every event is kept in `events`; `next`
 * waits, bounded, for one matching a predicate, and fails early with the child's
 * `{"ev":"error"}` or its exit.
 */
export class JsonLineChild {
  readonly events: JsonEvent[] = [];
  readonly stderr: string[] = [];
  private readonly proc: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(e: JsonEvent) => void>();
  private exited: string | undefined;

  constructor(
    command: string,
    args: string[],
    env: Record<string, string>,
    readonly label: string,
  ) {
    this.proc = spawn(command, args, {
      cwd: new URL('../../', import.meta.url).pathname,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(this.proc);
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => this.stderr.push(d));
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      let event: unknown;
      try {
        event = JSON.parse(line);
      } catch {
        this.stderr.push(`(stdout, not JSON) ${line}\n`);
        return;
      }
      if (typeof event !== 'object' || event === null || typeof (event as JsonEvent).ev !== 'string') return;
      this.events.push(event as JsonEvent);
      for (const listener of [...this.listeners]) listener(event as JsonEvent);
      for (const wake of [...this.waiters]) wake();
    });
    this.proc.once('exit', (code, signal) => {
      running.delete(this.proc);
      this.exited = `exited (${signal ?? code})`;
      for (const wake of [...this.waiters]) wake();
    });
    this.proc.stdin!.on('error', () => {
      // EPIPE after the child died; `exited` reports it.
    });
  }

  send(command: Record<string, unknown>): void {
    if (this.exited)
      throw new Error(`${this.label}: cannot send ${JSON.stringify(command)}, child ${this.exited}`);
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Calls `listener` with every event from now on; returns the unsubscribe. */
  onEvent(listener: (e: JsonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last lines the child wrote to stderr, for failure messages. */
  tail(chars = 2000): string {
    return this.stderr.join('').slice(-chars);
  }

  /**
   * Resolves with the first event at index ≥ `from` matching `match`. Rejects after
   * `ms` (a ChildWaitError with code TIMEOUT, `what` in the message), at an `error`
   * event (CHILD_ERROR), or when the child exits (CHILD_EXIT).
   */
  next(match: (e: JsonEvent) => boolean, ms: number, what: string, from = 0): Promise<JsonEvent> {
    return new Promise((resolve, reject) => {
      const fail = (code: ChildWaitError['code'], detail: string) =>
        done(() => reject(new ChildWaitError(code, `${this.label}: ${detail}\n${this.tail()}`)));
      const check = () => {
        for (let i = from; i < this.events.length; i++) {
          const e = this.events[i]!;
          if (match(e)) return done(() => resolve(e));
          if (e.ev === 'error')
            return fail(
              'CHILD_ERROR',
              `${String(e.cmd)} failed while waiting for ${what}: ${String(e.message)}`,
            );
        }
        if (this.exited) fail('CHILD_EXIT', `child ${this.exited} while waiting for ${what}`);
      };
      const timer = setTimeout(() => fail('TIMEOUT', `expected ${what} within ${ms} ms`), ms);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a command and waits for the event it answers with. */
  async request(command: Record<string, unknown>, answer: string, ms: number): Promise<JsonEvent> {
    const from = this.events.length;
    this.send(command);
    return this.next((e) => e.ev === answer, ms, `'${answer}' after ${String(command.cmd)}`, from);
  }

  /** SIGTERM, then SIGKILL after 2 s. Idempotent. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill('SIGTERM');
    const force = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(force);
  }
}
