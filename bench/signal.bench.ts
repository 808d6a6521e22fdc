/**
 * Signal fan-out, side by side in one run (see /work/shared/BENCHMARKS.md): tincan's
 * signal server against y-webrtc's reference server and a naive `ws` broadcast, each
 * in its own process, loaded by client processes (bench/signal-clients.ts: one
 * publisher, two subscriber drivers). Per server and N subscribers in one topic:
 * a fixed offered rate (server CPU per delivery from /proc/PID/stat, delivered %,
 * p50/p99 latency), then saturation (delivered/s with a bounded delivery window).
 * Also: memory per idle authenticated connection (tincan vs bare `ws`) and auth
 * handshakes per core-second.
 *
 * tincan runs with its flood guards raised (role rate 1e9/s, per-identity and
 * per-address auth buckets replaced, connection caps lifted): see signal-server.ts.
 *
 *   npm run bench -- signal                       (with the other benches' runner)
 *   node --import tsx bench/signal.bench.ts        (standalone: prints the figures)
 *   BENCH_SIGNAL_SECONDS=2 …                       (shorter runs, default 3 s each)
 *   BENCH_SIGNAL_SCENARIOS=100@200,1000@20 …       (N@offered messages/s)
 *   BENCH_SIGNAL_BEFORE=<checkout> …               (adds that checkout's server as tincan-before)
 *   BENCH_SIGNAL_PROFILE=<dir> …                   (CPU profile of the tincan server)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toHex } from '../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../crypto/identity.ts';
import { type Figure, figure, formatFigure } from './figure.ts';
import { BUCKETS, merge, percentile } from './latency-histogram.ts';
import type { DriverCommand, Kind, Report } from './signal-clients.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECONDS = Number(process.env.BENCH_SIGNAL_SECONDS ?? 3);
const PAYLOAD_BYTES = 200;
const IDENTITIES = 16;
/**
 * N subscribers @ offered messages/s. 20,000 deliveries/s keeps the fixed-rate runs
 * below what two client processes on this 2-core box absorb (~40–70k/s while the
 * server runs too), so latency measures the server, not queues in the clients.
 * `BENCH_SIGNAL_SCENARIOS=100@500,1000@50` runs BENCHMARKS.md's example load.
 */
const SCENARIOS = (process.env.BENCH_SIGNAL_SCENARIOS ?? '100@200,1000@20').split(',').map((s) => {
  const [n, rate] = s.split('@').map(Number);
  if (!n || !rate) throw new Error(`BENCH_SIGNAL_SCENARIOS: bad entry ${s}`);
  return { n, rate };
});
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100; // Linux's usual USER_HZ
  }
})();

type Message = Record<string, unknown> & { ev?: string };

/** Every process this bench starts, so a failure half-way still ends them all. */
const spawned = new Set<ChildProcess>();

function track(proc: ChildProcess): ChildProcess {
  spawned.add(proc);
  proc.once('exit', () => spawned.delete(proc));
  return proc;
}

/** A child process spoken to over IPC, one command at a time. */
class Child {
  private pending: { key: string; resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  onAck: ((m: Message) => void) | undefined;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: Message) => {
      if (m.ev === 'ack') return this.onAck?.(m);
      const p = this.pending;
      if (!p) return;
      if (m.ev === 'error') {
        this.pending = undefined;
        p.reject(new Error(`${name}: ${String(m.message)}`));
      } else if (m.ev === p.key || (p.key in m && m.ev === undefined)) {
        this.pending = undefined;
        p.resolve(m);
      }
    });
    proc.on('exit', (code) => {
      this.pending?.reject(new Error(`${name} exited with ${code}`));
      this.pending = undefined;
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Waits for the next message whose `ev` (or, for servers, a field) is `key`, after sending `command`. */
  ask(command: object | undefined, key: string, timeoutMs = 60_000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`${this.name}: no '${key}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        key,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (command) this.proc.send(command);
    });
  }

  send(command: DriverCommand): void {
    this.proc.send(command);
  }
}

function tsxChild(name: string, file: string, args: string[], extra: string[] = [], root = ROOT): Child {
  const proc = track(
    spawn(process.execPath, [...extra, '--import', 'tsx', join(root, 'bench', file), ...args], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  return new Child(name, proc);
}

/** user+sys CPU of a process, in microseconds. */
/** user and sys CPU of a process so far, in microseconds. */
function cpuOf(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / CLK_TCK, sys: (Number(fields[12]) * 1e6) / CLK_TCK };
}

function cpuUs(pid: number): number {
  const { user, sys } = cpuOf(pid);
  return user + sys;
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

interface ServerHandle {
  name: string;
  kind: Kind;
  url: string;
  pid: number;
  /** gc'd heap/RSS from our own children; RSS only for y-webrtc. */
  memory(): Promise<{ rss: number; heapUsed?: number }>;
  counters(): Promise<unknown>;
  stop(): void;
}

async function ownServer(name: string, args: string[], root = ROOT): Promise<ServerHandle> {
  // BENCH_SIGNAL_PROFILE=<dir>: a V8 CPU profile of the tincan server, written when it stops.
  const profile = process.env.BENCH_SIGNAL_PROFILE;
  const flags = [
    '--expose-gc',
    ...(profile && name === 'tincan' ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
  ];
  const child = tsxChild(name, 'signal-server.ts', args, flags, root);
  const ready = await child.ask(undefined, 'ready', 30_000);
  const port = Number(ready.port);
  return {
    name,
    kind: args[0] === 'tincan' ? 'tincan' : 'plain',
    url: args[0] === 'tincan' ? `ws://127.0.0.1:${port}/ws` : `ws://127.0.0.1:${port}`,
    pid: child.pid,
    memory: async () => (await child.ask({ cmd: 'mem' }, 'mem')).mem as { rss: number; heapUsed: number },
    counters: async () => (await child.ask({ cmd: 'counters' }, 'counters')).counters,
    stop: () => child.proc.send({ cmd: 'stop' }),
  };
}

async function yWebrtcServer(): Promise<ServerHandle> {
  const port = await freePort();
  const proc = track(
    spawn(process.execPath, [join(ROOT, 'node_modules/y-webrtc/bin/server.js')], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('y-webrtc server did not start')), 15_000);
    proc.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('running')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`y-webrtc server exited with ${code}`)));
  });
  proc.stdout!.resume();
  return {
    name: 'y-webrtc',
    kind: 'plain',
    url: `ws://127.0.0.1:${port}`,
    pid: proc.pid!,
    memory: async () => ({ rss: rssBytes(proc.pid!) }),
    counters: async () => ({}),
    stop: () => proc.kill('SIGTERM'),
  };
}

interface RunResult {
  sent: number;
  offered: number;
  delivered: number;
  cpuUs: number;
  sysUs: number;
  clientCpuUs: number;
  wallMs: number;
  publishMs: number;
  p50: number;
  p99: number;
  negatives: number;
  open: number;
  stalled: number;
}

interface ScenarioResult {
  server: string;
  n: number;
  rate: number;
  fixed: RunResult;
  saturated: RunResult;
}

interface ConnectResult {
  server: string;
  ms: number;
  /** Server CPU per connection while all were opened (tincan: handshake + presence pushes to those online). */
  cpuPerConn: number;
  perConnRss: number;
  perConnHeap: number | undefined;
}

class Bench {
  private runId = 0;
  constructor(
    readonly publisher: Child,
    readonly subscribers: Child[],
    readonly keys: string[],
    readonly publisherKey: string,
  ) {}

  /** How many of `n` each subscriber driver holds. */
  private split(n: number): number[] {
    const k = this.subscribers.length;
    return this.subscribers.map((_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
  }

  /** Opens `n` idle connections (authenticated for tincan) and measures the memory they take. */
  async connect(server: ServerHandle, n: number): Promise<ConnectResult> {
    const before = await server.memory();
    const cpu0 = cpuUs(server.pid);
    const t0 = performance.now();
    const counts = this.split(n);
    const connected = await Promise.all(
      this.subscribers.map((d, i) =>
        d.ask(
          {
            cmd: 'connect',
            group: server.name,
            kind: server.kind,
            url: server.url,
            count: counts[i]!,
            keys: this.keys,
            parallel: 32,
          } satisfies DriverCommand,
          'connected',
          180_000,
        ),
      ),
    );
    const failed = connected.reduce((a, c) => a + Number(c.failed), 0);
    if (failed > 0) throw new Error(`${server.name}: ${failed} of ${n} connections failed`);
    // A round trip on every connection: tincan's presence pushes of the login storm
    // have all been read, so neither the memory figure nor the first run carries them.
    await this.subscribe(server, null, counts);
    const ms = performance.now() - t0;
    const cpuPerConn = (cpuUs(server.pid) - cpu0) / n;
    await sleep(300);
    const after = await server.memory();
    return {
      server: server.name,
      ms,
      cpuPerConn,
      perConnRss: (after.rss - before.rss) / n,
      perConnHeap:
        after.heapUsed !== undefined && before.heapUsed !== undefined
          ? (after.heapUsed - before.heapUsed) / n
          : undefined,
    };
  }

  private async subscribe(server: ServerHandle, topic: string | null, counts: number[]): Promise<void> {
    const replies = await Promise.all(
      this.subscribers.map((d, i) =>
        d.ask({ cmd: 'subscribe', group: server.name, topic, count: counts[i]! }, 'subscribed', 120_000),
      ),
    );
    const failed = replies.reduce((a, r) => a + Number(r.failed), 0);
    if (failed > 0) throw new Error(`${server.name}: ${failed} connections did not answer a ping`);
  }

  async close(server: ServerHandle): Promise<void> {
    await Promise.all(this.subscribers.map((d) => d.ask({ cmd: 'close', group: server.name }, 'closed')));
  }

  /** Subscribes the first `n` connections to a topic of their own, then a fixed-rate and a saturation run. */
  async scenario(server: ServerHandle, n: number, rate: number): Promise<ScenarioResult> {
    const topic = `bench-${n}`;
    await this.subscribe(server, topic, this.split(n));
    await this.run(server, n, topic, 'rate', rate, 500); // warm-up, discarded
    const fixed = await this.run(server, n, topic, 'rate', rate, SECONDS * 1000);
    const saturated = await this.run(server, n, topic, 'saturate', rate, SECONDS * 1000);
    return { server: server.name, n, rate, fixed, saturated };
  }

  private async run(
    server: ServerHandle,
    n: number,
    topic: string,
    mode: 'rate' | 'saturate',
    rate: number,
    ms: number,
  ): Promise<RunResult> {
    const run = ++this.runId;
    const subs = this.subscribers;
    const counts = this.split(n);
    await Promise.all(
      subs.map((d, i) =>
        d.ask(
          {
            cmd: 'measure',
            run,
            group: server.name,
            count: counts[i]!,
            ackEveryMs: mode === 'saturate' ? 5 : 0,
          },
          'measuring',
        ),
      ),
    );
    const acks = subs.map(() => -1);
    let forwarded = -1;
    subs.forEach((d, i) => {
      d.onAck = (m) => {
        if (m.run !== run) return;
        acks[i] = Number(m.min);
        const min = Math.min(...acks);
        if (min > forwarded) {
          forwarded = min;
          this.publisher.send({ cmd: 'ack', min });
        }
      };
    });
    // At most ~32k deliveries in flight: ≤ 80 KB queued per subscriber, far under tincan's bound.
    const window = Math.max(16, Math.ceil(32_000 / n));
    const cpu0 = cpuOf(server.pid);
    const clients0 = subs.reduce((a, d) => a + cpuUs(d.pid), 0);
    const t0 = performance.now();
    const published = await this.publisher.ask(
      {
        cmd: 'publish',
        kind: server.kind,
        url: server.url,
        key: this.publisherKey,
        topic,
        run,
        mode,
        rate,
        ms,
        max: 1_000_000,
        window,
        bytes: PAYLOAD_BYTES,
      } satisfies DriverCommand,
      'published',
      ms + 60_000,
    );
    const sent = Number(published.sent);
    const offered = sent * n;
    // Drain: until every delivery arrived, or none arrived for 300 ms, or 10 s passed.
    let reports: Report[] = [];
    let last = -1;
    let stableSince = performance.now();
    const drainStart = performance.now();
    for (;;) {
      reports = (await Promise.all(
        subs.map((d) => d.ask({ cmd: 'report' }, 'report')),
      )) as unknown as Report[];
      const got = reports.reduce((a, r) => a + r.received, 0);
      if (got >= offered) break;
      if (got !== last) {
        last = got;
        stableSince = performance.now();
      } else if (performance.now() - stableSince > 300) break;
      if (performance.now() - drainStart > 10_000) break;
      await sleep(20);
    }
    const cpu1 = cpuOf(server.pid);
    const clients1 = subs.reduce((a, d) => a + cpuUs(d.pid), 0);
    const wallMs = performance.now() - t0;
    for (const d of subs) d.onAck = undefined;
    const hist = new Array<number>(BUCKETS).fill(0);
    for (const r of reports) merge(hist, r.hist);
    return {
      sent,
      offered,
      delivered: reports.reduce((a, r) => a + r.received, 0),
      cpuUs: cpu1.user + cpu1.sys - cpu0.user - cpu0.sys,
      sysUs: cpu1.sys - cpu0.sys,
      clientCpuUs: clients1 - clients0,
      wallMs,
      publishMs: Number(published.ms),
      p50: percentile(hist, 0.5),
      p99: percentile(hist, 0.99),
      negatives: reports.reduce((a, r) => a + r.negatives, 0),
      open: reports.reduce((a, r) => a + r.open, 0),
      stalled: Number(published.stalled),
    };
  }

  /** Connect(+auth)+close loops from every subscriber driver; server CPU per handshake. */
  async handshakes(
    server: ServerHandle,
    ms: number,
  ): Promise<{ ok: number; cpuPer: number; perSecond: number }> {
    const cpu0 = cpuUs(server.pid);
    const t0 = performance.now();
    const results = await Promise.all(
      this.subscribers.map((d) =>
        d.ask(
          {
            cmd: 'handshakes',
            kind: server.kind,
            url: server.url,
            keys: this.keys,
            parallel: 4,
            ms,
            max: 50_000,
          } satisfies DriverCommand,
          'handshaken',
          ms + 60_000,
        ),
      ),
    );
    const wall = performance.now() - t0;
    const cpu = cpuUs(server.pid) - cpu0;
    const ok = results.reduce((a, r) => a + Number(r.ok), 0);
    const failed = results.reduce((a, r) => a + Number(r.failed), 0);
    if (failed > 0) throw new Error(`${server.name}: ${failed} handshakes failed`);
    return { ok, cpuPer: cpu / ok, perSecond: (ok / wall) * 1000 };
  }
}

const us = (v: number) => (Number.isFinite(v) ? `${v} µs` : '> 1 s');

function describe(r: ScenarioResult): string[] {
  const row = (label: string, x: RunResult) =>
    `  ${label.padEnd(9)} sent ${String(x.sent).padStart(6)}  delivered ${((100 * x.delivered) / x.offered).toFixed(1).padStart(5)}%` +
    `  ${((x.delivered / x.publishMs) * 1000).toFixed(0).padStart(6)}/s` +
    `  server ${(x.cpuUs / x.delivered).toFixed(2).padStart(5)} µs/delivery (sys ${((100 * x.sysUs) / x.cpuUs).toFixed(0)}%, ${((100 * x.cpuUs) / (x.wallMs * 1000)).toFixed(0)}% of a core)` +
    `  clients ${(x.clientCpuUs / x.delivered).toFixed(1)} µs/delivery` +
    `  p50 ${us(x.p50)} p99 ${us(x.p99)}${x.negatives ? ` (${x.negatives} negative)` : ''}` +
    `${x.open < r.n ? `  ${r.n - x.open} subscribers dropped` : ''}${x.stalled ? ` stalled ${x.stalled}` : ''}`;
  return [`${r.server} N=${r.n} @${r.rate}/s`, row('fixed', r.fixed), row('saturated', r.saturated)];
}

const MAX_N = Math.max(...SCENARIOS.map((s) => s.n));

/** Runs the whole comparison; returns one figure per line of the report. */
export default async function signalBench(log: (line: string) => void = () => {}): Promise<Figure[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tincan-bench-'));
  const identities = Array.from({ length: IDENTITIES + 1 }, () => generateIdentity());
  await writeFile(
    join(dataDir, 'authorized_keys'),
    identities.map((id, i) => `${userIdOf(id.publicKey)} roles=member bench${i}\n`).join(''),
  );
  const keys = identities.map((id) => toHex(id.secretKey));
  const children: Child[] = [];
  const servers: ServerHandle[] = [];
  const cleanup = [dataDir];
  const startServer = async (start: Promise<ServerHandle>) => {
    const s = await start;
    servers.push(s);
    return s;
  };
  try {
    const drivers = ['publisher', 'subscribers-a', 'subscribers-b'].map((name) =>
      tsxChild(name, 'signal-clients.ts', []),
    );
    children.push(...drivers);
    const [tincan, ywebrtc, ws] = await Promise.all([
      startServer(ownServer('tincan', ['tincan', dataDir])),
      startServer(yWebrtcServer()),
      startServer(ownServer('ws', ['ws'])),
      ...drivers.map((d) => d.ask(undefined, 'ready', 30_000)),
    ]);
    // BENCH_SIGNAL_BEFORE=<checkout>: also run that checkout's tincan (with this
    // bench/signal-server.ts copied in) as "tincan-before", for before/after in one run.
    const beforeRoot = process.env.BENCH_SIGNAL_BEFORE;
    let before: ServerHandle | undefined;
    if (beforeRoot) {
      const beforeDir = await mkdtemp(join(tmpdir(), 'tincan-bench-before-'));
      await writeFile(join(beforeDir, 'authorized_keys'), await readFile(join(dataDir, 'authorized_keys')));
      cleanup.push(beforeDir);
      before = await startServer(ownServer('tincan-before', ['tincan', beforeDir], beforeRoot));
    }
    const all = [tincan, ...(before ? [before] : []), ywebrtc, ws] as ServerHandle[];
    const bench = new Bench(drivers[0]!, drivers.slice(1), keys.slice(0, IDENTITIES), keys[IDENTITIES]!);

    // Every server holds MAX_N idle connections for the whole run; each scenario
    // subscribes the first N of them, so runs of the three servers interleave.
    const memory = new Map<string, ConnectResult>();
    for (const server of all) {
      const m = await bench.connect(server, MAX_N);
      memory.set(server.name, m);
      log(
        `${server.name}: ${MAX_N} connections in ${m.ms.toFixed(0)} ms (server CPU ${(m.cpuPerConn / 1000).toFixed(2)} ms each), ${(m.perConnRss / 1024).toFixed(1)} KB RSS/conn` +
          `${m.perConnHeap !== undefined ? `, ${(m.perConnHeap / 1024).toFixed(1)} KB heap/conn` : ''}`,
      );
    }
    const results: ScenarioResult[] = [];
    for (const [i, { n, rate }] of SCENARIOS.entries()) {
      // Alternate the order so drift over the run does not favour one server.
      const order = i % 2 === 0 ? all : [...all].reverse();
      for (const server of order) {
        const r = await bench.scenario(server, n, rate);
        for (const line of describe(r)) log(line);
        results.push(r);
      }
    }
    for (const server of all) await bench.close(server);
    log(`tincan counters: ${JSON.stringify(await tincan!.counters())}`);

    const auth = await bench.handshakes(tincan!, 3000);
    const bare = await bench.handshakes(ws!, 1500);
    log(
      `handshakes: tincan ${auth.ok} in 3 s (${auth.perSecond.toFixed(0)}/s wall, ${auth.cpuPer.toFixed(0)} µs server CPU each); ` +
        `bare ws connect+close ${bare.ok} (${bare.perSecond.toFixed(0)}/s, ${bare.cpuPer.toFixed(0)} µs each)`,
    );

    const figures: Figure[] = [];
    const get = (server: string, n: number) => results.find((r) => r.server === server && r.n === n)!;
    const perDelivery = (x: RunResult) => x.cpuUs / x.delivered;
    const rateOf = (x: RunResult) => (x.delivered / x.publishMs) * 1000;
    const baselines = ['y-webrtc', 'ws', ...(before ? ['tincan-before'] : [])];
    for (const { n, rate } of SCENARIOS) {
      const t = get('tincan', n);
      const at = `signal fan-out N=${n} @${rate}/s`;
      const sat = `signal fan-out N=${n} saturated`;
      for (const name of baselines) {
        const b = get(name, n);
        figures.push(
          figure(`${at}: server CPU per delivery`, perDelivery(t.fixed), 'µs', name, perDelivery(b.fixed)),
          figure(`${at}: latency p50`, t.fixed.p50, 'µs', name, b.fixed.p50),
          figure(`${at}: latency p99`, t.fixed.p99, 'µs', name, b.fixed.p99),
        );
      }
      const w = get('ws', n);
      figures.push(
        figure(
          `${at}: delivered`,
          (100 * t.fixed.delivered) / t.fixed.offered,
          '%',
          'ws',
          (100 * w.fixed.delivered) / w.fixed.offered,
        ),
      );
      for (const name of baselines) {
        const b = get(name, n);
        figures.push(
          figure(`${sat}: deliveries/s`, rateOf(t.saturated), '/s', name, rateOf(b.saturated)),
          figure(
            `${sat}: server CPU per delivery`,
            perDelivery(t.saturated),
            'µs',
            name,
            perDelivery(b.saturated),
          ),
        );
      }
    }
    const tm = memory.get('tincan')!;
    const wm = memory.get('ws')!;
    const ym = memory.get('y-webrtc')!;
    const kb = (bytes: number | undefined) => (bytes ?? Number.NaN) / 1024;
    figures.push(
      figure(
        `memory per idle authenticated connection (heap after gc, ${MAX_N} conns)`,
        kb(tm.perConnHeap),
        'KB',
        'ws',
        kb(wm.perConnHeap),
      ),
      figure(
        `memory per idle authenticated connection (RSS, ${MAX_N} conns)`,
        kb(tm.perConnRss),
        'KB',
        'ws',
        kb(wm.perConnRss),
      ),
      figure(
        `memory per idle connection (RSS, ${MAX_N} conns)`,
        kb(tm.perConnRss),
        'KB',
        'y-webrtc',
        kb(ym.perConnRss),
      ),
      figure(
        'auth handshakes per core-second (server CPU)',
        1e6 / auth.cpuPer,
        '/s',
        'ws connect+close',
        1e6 / bare.cpuPer,
      ),
      figure(
        'auth handshakes per second (wall, 8 in parallel)',
        auth.perSecond,
        '/s',
        'ws connect+close',
        bare.perSecond,
      ),
    );
    return figures;
  } finally {
    for (const s of servers) s.stop();
    for (const c of children) if (c.proc.connected) c.send({ cmd: 'exit' });
    const deadline = performance.now() + 3000;
    while (spawned.size > 0 && performance.now() < deadline) await sleep(50);
    for (const proc of spawned) proc.kill('SIGKILL'); // still there after its stop: end it
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const figures = await signalBench((line) => console.error(line));
  for (const f of figures) console.log(formatFigure(f));
  console.error(`signal bench: ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
