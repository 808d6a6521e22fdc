/**
 * The soak itself, shared by `npm run soak` (soak.ts, long form) and the short form
 * in `npm test` (soak.test.ts): one real signal server in a child process (real
 * SQLite, loopback sockets), N members of the real client core (member.ts) in this
 * process, allowlisted up front and spread over text channels.
 *
 * Timeline (every phase bounded in time, every loop in count):
 *   ramp    members join in waves; each sends a first message (its sender key goes
 *           out with it) and then one every `intervalMs` on average (±50%, seeded);
 *   churn   a window in the middle of the run where `churn` members a second leave
 *           and each comes back `awayMs` later (so as many join as leave);
 *   settle  sending stops; every member is back online; the run waits until every
 *           member shows every message it is owed (ledger.ts), or `settleMs` passes.
 * The server reports its memory every `sampleMs` (after a forced full GC, so the
 * heap figure is live data, not garbage); "flat after warm-up" is the least-squares
 * slope of those samples over the second half of the run, in MiB per minute.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { generateIdentity, type IdentityKeyPair } from '../../crypto/identity.ts';
import { seededRandom } from '../helpers/random.ts';
import { CoreMember } from './core-member.ts';
import { cacheWith, seededKeys } from './keys.ts';
import { LeanMember } from './lean-member.ts';
import { Ledger, type Presence } from './ledger.ts';
import type { MemberEvents, SoakMember } from './member.ts';
import { allowlist, createTextChannels, type Sample, startServerProcess } from './server-process.ts';
import { type Histogram, MiB, slope } from './stats.ts';

export interface SoakConfig {
  /** `core`: the real client core per member; `lean`: the bare connection (lean-member.ts). */
  mode: 'core' | 'lean';
  /**
   * Core mode: `seeded` starts every member with the channel keys a returning
   * browser holds (keys.ts); `exchange` starts them empty, so each member's first
   * message hands its key to every member first (O(N²) envelopes in this process).
   */
  keys: 'seeded' | 'exchange';
  members: number;
  /** Run length from the first join to the end of sending. */
  seconds: number;
  /** Text channels the members are spread over (round robin). */
  channels: number;
  /** Mean time between two messages of one member. */
  intervalMs: number;
  /** Members leaving per second during the churn window (each rejoins after awayMs). */
  churn: number;
  churnSeconds: number;
  awayMs: [number, number];
  /** The ramp: members join in this many waves over `rampSeconds`. */
  waves: number;
  rampSeconds: number;
  /** Bytes of filler in each message (a chat line's worth). */
  textBytes: number;
  settleMs: number;
  sampleMs: number;
  seed: number;
  /** Connects at once within a wave. */
  joinConcurrency: number;
  /** Write a CPU profile of the server child into this directory. */
  serverProfileDir?: string;
  log: (line: string) => void;
}

export const DEFAULT_CONFIG: SoakConfig = {
  mode: 'core',
  keys: 'seeded',
  members: 200,
  seconds: 60,
  channels: 0, // 0: one per 50 members
  intervalMs: 5_000,
  churn: 100,
  churnSeconds: 60,
  awayMs: [300, 1_000],
  waves: 10,
  rampSeconds: 0, // 0: a fifth of the run, at most 60 s
  textBytes: 80,
  settleMs: 60_000,
  sampleMs: 10_000,
  seed: 7,
  joinConcurrency: 25,
  log: (line) => console.log(line),
};

export interface MemorySample {
  /** Seconds since the first join. */
  t: number;
  rss: number;
  heapUsed: number;
  heapAfterGc: number;
  /** V8 heap capacity (what rss holds for the heap, used or not). */
  heapTotal: number;
  external: number;
  sessions: number;
  online: number;
  /** This process (the members), for comparison: rss and heap used, without a forced GC. */
  clientRss: number;
  clientHeap: number;
}

export interface SoakReport {
  config: Omit<SoakConfig, 'log'>;
  errors: number;
  errorsByKind: Record<string, number>;
  errorExamples: string[];
  sent: number;
  /** Messages sent that were timed (all but each member's first). */
  timed: number;
  deliveredLive: number;
  deliveredLate: number;
  expected: number;
  lost: number;
  lostExamples: string[];
  latency: Histogram;
  latencyByPhase: Map<string, Histogram>;
  /** Client requests cut short by a planned leave (retried by the client on rejoin; not errors). */
  interrupted: number;
  joins: number;
  leaves: number;
  rejoins: number;
  churnWindow: [number, number];
  samples: MemorySample[];
  /** MiB per minute over the second half of the run. */
  rssSlope: number;
  heapSlope: number;
  /** After the ramp (first sample past it) and at the end, after a full GC. */
  heapAfterRamp: number;
  heapAtEnd: number;
  rssMax: number;
  serverCpuSeconds: number;
  framesOut: number;
  framesIn: number;
  driverCpuSeconds: number;
  driverLoopDelayP99: number;
  driverLoopDelayMax: number;
  settleMs: number;
  wallSeconds: number;
  /** Sends due while the member was away (not made). */
  skipped: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs one soak; never throws for what it measures (errors and loss are in the report). */
export async function runSoak(partial: Partial<SoakConfig>): Promise<SoakReport> {
  const config: SoakConfig = { ...DEFAULT_CONFIG, ...partial };
  if (config.channels <= 0) config.channels = Math.max(1, Math.round(config.members / 50));
  if (config.rampSeconds <= 0) config.rampSeconds = Math.min(60, config.seconds / 5);
  const { log } = config;
  const random = seededRandom(config.seed);
  const n = config.members;
  if (n < 2) throw new Error('a soak needs at least two members');

  const errorsByKind: Record<string, number> = {};
  const errorExamples: string[] = [];
  const error = (kind: string, detail: string) => {
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (errorExamples.length < 20) errorExamples.push(`${kind}: ${detail}`);
  };

  const pairs: IdentityKeyPair[] = Array.from({ length: n }, () => generateIdentity());
  const server = await startServerProcess({
    authorizedKeys: allowlist(pairs),
    // Every member comes from 127.0.0.1: the per-address caps would otherwise see one flood.
    overrides: {
      maxConnectionsPerIp: 2 * n + 16,
      authAttemptsPerIp: { perSecond: 100_000, burst: 100_000 },
    },
    nodeArgs: config.serverProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${config.serverProfileDir}`] : [],
  });
  let channels: string[];
  try {
    const names = Array.from({ length: config.channels }, (_, c) => `soak-${c}`);
    channels = await createTextChannels(server, pairs[0]!, names);
  } catch (e) {
    await server.stop();
    throw new Error(`soak: could not make the channels: ${(e as Error).message}`);
  }

  const channelOf = Array.from({ length: n }, (_, i) => i % config.channels);
  const presence: (Presence & { plannedOffline: boolean })[] = pairs.map(() => ({
    onlineAt: -1,
    offlineAt: -1,
    firstOnlineAt: -1,
    plannedOffline: false,
  }));
  // Phases by send time (performance.now()); the times are set once the run starts.
  const phases = { rampEnd: 0, churnStart: 0, churnEnd: 0 };
  const phaseOf = (at: number) =>
    at < phases.rampEnd ? 'ramp' : at >= phases.churnStart && at < phases.churnEnd ? 'churn' : 'steady';
  const ledger = new Ledger(channelOf, (i) => presence[i]!, 'x'.repeat(config.textBytes), phaseOf);
  let leaves = 0;
  let rejoins = 0;
  /** Requests cut short by a planned leave (the client core retries them on its own). */
  let interrupted = 0;
  const eventsOf = (i: number): MemberEvents => ({
    onPost: (text, at) => ledger.received(i, text, at),
    onState: (online, planned, detail) => {
      const p = presence[i]!;
      const now = performance.now();
      if (online) {
        if (p.firstOnlineAt === -1) p.firstOnlineAt = now;
        else rejoins++;
        p.onlineAt = now;
      } else {
        p.offlineAt = now;
        p.plannedOffline = planned;
        if (!planned) error('unplanned drop', `member ${i}: ${detail}`);
      }
    },
    onLog: (m) => {
      // A catch-up fetch in flight when the member left on purpose (cut short, or issued just
      // after the socket closed): it runs again on rejoin, and the ledger proves nothing is lost.
      const p = presence[i]!;
      const cut = m.endsWith('closed with 1000') || m.endsWith('not connected');
      if (cut && p.plannedOffline && p.offlineAt > p.onlineAt) interrupted++;
      else error('client core', `member ${i}: ${m}`);
    },
  });
  const seeded = config.mode === 'core' && config.keys === 'seeded';
  const saved = seeded ? seededKeys(pairs, channelOf, channels) : [];
  const members: SoakMember[] = await Promise.all(
    pairs.map(async (pair, i) =>
      config.mode === 'lean'
        ? new LeanMember(i, pair, eventsOf(i))
        : new CoreMember(i, pair, eventsOf(i), seeded ? await cacheWith(saved[i]!) : undefined),
    ),
  );
  saved.length = 0;
  /** With keys to hand over, a member's first message carries its key out: not timed. */
  const firstTimed = config.mode === 'lean' || seeded;

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const samples: MemorySample[] = [];
  const rawSamples: Sample[] = [];
  const takeSample = async (gc: boolean) => {
    try {
      const s = await server.sample(gc);
      rawSamples.push(s);
      const mine = process.memoryUsage();
      const m: MemorySample = {
        clientRss: mine.rss,
        clientHeap: mine.heapUsed,
        t: elapsed(),
        rss: s.rss,
        heapUsed: s.heapUsed,
        heapAfterGc: s.heapAfterGc,
        heapTotal: s.heapTotal,
        external: s.external,
        sessions: s.sessions,
        online: s.membersOnline,
      };
      samples.push(m);
      log(
        `soak: t=${m.t.toFixed(0)}s server rss=${(m.rss / MiB).toFixed(1)} MiB heap=${(m.heapUsed / MiB).toFixed(1)} ` +
          `heap-after-gc=${(m.heapAfterGc / MiB).toFixed(1)} external=${(m.external / MiB).toFixed(1)} MiB ` +
          `sessions=${m.sessions} online=${m.online}; clients rss=${(m.clientRss / MiB).toFixed(0)} MiB; ` +
          `sent=${ledger.sent.size} live=${ledger.deliveredLive} late=${ledger.deliveredLate}`,
      );
    } catch (e) {
      error('sample', (e as Error).message);
    }
  };
  await takeSample(true);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await sleep(config.sampleMs - (((performance.now() - t0) % config.sampleMs) | 0));
      if (sampling) await takeSample(true);
    }
  })();

  // Sending: member i's next message is due at nextAt[i]; nothing is due before it joined.
  const nextAt = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const counter = new Array<number>(n).fill(0);
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;
  const send = (i: number, timed: boolean) => {
    const text = ledger.send(i, counter[i]!++, performance.now(), timed);
    const p = members[i]!.send(text).catch((e: Error) => error('send', `member ${i}: ${e.message}`));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const jitter = () => config.intervalMs * (0.5 + random());

  let joins = 0;
  const joined = new Array<boolean>(n).fill(false);
  const join = async (i: number) => {
    try {
      const m = members[i]!;
      await m.connect(server.wsUrl);
      await m.open(channels[channelOf[i]!]!);
      joins++;
      joined[i] = true;
      send(i, firstTimed);
      nextAt[i] = performance.now() + jitter();
    } catch (e) {
      error('join', `member ${i}: ${(e as Error).message}`);
    }
  };
  const endAt = t0 + config.seconds * 1000;
  const rampEnd = t0 + config.rampSeconds * 1000;

  phases.rampEnd = rampEnd;
  const churnSeconds =
    config.churn > 0
      ? Math.min(config.churnSeconds, Math.max(0, config.seconds - config.rampSeconds - 2))
      : 0;
  const churnStart = Math.max(rampEnd, t0 + ((config.seconds - churnSeconds) * 1000) / 2);
  const churnEnd = churnStart + churnSeconds * 1000;
  phases.churnStart = churnStart;
  phases.churnEnd = churnEnd;
  if (config.churn > 0 && churnSeconds < config.churnSeconds)
    log(`soak: churn window shortened to ${churnSeconds} s to fit the run after the ramp`);

  // Waves, each started on time whether or not the last one has finished.
  const waveJoins: Promise<void>[] = [];
  const rest = Array.from({ length: n }, (_, k) => k);
  const perWave = Math.ceil(rest.length / config.waves);
  const joinWave = async (ids: number[]) => {
    for (let k = 0; k < ids.length; k += config.joinConcurrency)
      await Promise.all(ids.slice(k, k + config.joinConcurrency).map(join));
  };
  let wave = 0;
  let churnBudget = Math.ceil(config.churn * churnSeconds);
  let churnCarry = 0;
  let lastTick = performance.now();
  for (;;) {
    const now = performance.now();
    if (now >= endAt) break;
    while (wave < config.waves && now >= t0 + (wave * config.rampSeconds * 1000) / config.waves) {
      const ids = rest.slice(wave * perWave, (wave + 1) * perWave);
      if (ids.length > 0) {
        log(`soak: t=${elapsed().toFixed(0)}s wave ${wave + 1}/${config.waves}: ${ids.length} members join`);
        waveJoins.push(joinWave(ids));
      }
      wave++;
    }
    for (let i = 0; i < n; i++) {
      if (nextAt[i]! > now) continue;
      if (members[i]!.isOnline) send(i, true);
      else skipped++;
      nextAt[i] = now + jitter();
    }
    if (now >= churnStart && now < churnEnd && churnBudget > 0) {
      churnCarry += (config.churn * (now - lastTick)) / 1000;
      const online = members.filter((m) => m.isOnline);
      for (; churnCarry >= 1 && churnBudget > 0 && online.length > 0; churnCarry--, churnBudget--) {
        const m = online.splice(Math.floor(random() * online.length), 1)[0]!;
        const [lo, hi] = config.awayMs;
        if (m.leave(lo + random() * (hi - lo))) leaves++;
      }
    }
    lastTick = now;
    await sleep(20);
  }
  log(`soak: t=${elapsed().toFixed(0)}s sending stops; settling`);
  await Promise.all(waveJoins);
  await Promise.all([...inFlight]);

  // Settle: everyone back online and every owed message shown (or the bound passes).
  const settleStart = performance.now();
  let missing = ledger.missing();
  while (performance.now() - settleStart < config.settleMs) {
    missing = ledger.missing();
    if (missing.count === 0 && members.every((m, i) => m.isOnline || !joined[i])) break;
    await sleep(500);
  }
  const settleMs = performance.now() - settleStart;
  missing = ledger.missing();
  sampling = false;
  await sampler;
  await takeSample(true);
  const cpu = process.cpuUsage(cpu0);
  loop.disable();

  const ids = [...channels];
  for (const m of members) {
    if (!joined[m.index]) continue;
    if (!m.isOnline) error('offline at the end', `member ${m.index}`);
    const s = m.trouble(ids);
    for (const k of ['forged', 'rejected', 'undecryptable', 'overflowed'] as const)
      if (s[k] > 0) error(`inbox ${k}`, `member ${m.index}: ${s[k]}`);
    if (s.pendingKeys > 0) error('inbox waiting for keys', `member ${m.index}: ${s.pendingKeys}`);
  }
  if (ledger.foreign > 0) error('foreign posts', `${ledger.foreign}`);
  if (ledger.duplicates > 0) error('duplicate posts', `${ledger.duplicates}`);
  const last = rawSamples.at(-1);
  const first = rawSamples[0];
  for (const [name, value] of Object.entries(last?.counters ?? {}))
    if (name.startsWith('tincan_rejections_total{') && value > 0)
      error(`server rejected ${name.slice(24, -1)}`, String(value));
  for (const line of server.stderr
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== ''))
    error('server warning', line.slice(0, 300));

  for (const m of members) m.close();
  await server.stop();

  const half = config.seconds / 2;
  const late = samples.filter((s) => s.t >= half && s.t <= config.seconds + 1);
  const perMinute = (key: 'rss' | 'heapAfterGc') =>
    slope(late.map((s) => ({ x: s.t / 60, y: s[key] / MiB })));
  const afterRamp = samples.find((s) => s.t >= config.rampSeconds) ?? samples.at(-1);
  const counter0 = (s: Sample | undefined, name: string) => s?.counters[name] ?? 0;
  const wall = elapsed();
  return {
    config: (({ log: _log, ...rest }) => rest)(config),
    errors: Object.values(errorsByKind).reduce((a, b) => a + b, 0),
    errorsByKind,
    errorExamples,
    sent: ledger.sent.size,
    timed: [...ledger.sent.values()].filter((m) => m.timed).length,
    deliveredLive: ledger.deliveredLive,
    deliveredLate: ledger.deliveredLate,
    expected: missing.expected,
    lost: missing.count,
    lostExamples: missing.examples,
    latency: ledger.latency,
    latencyByPhase: ledger.latencyByPhase,
    interrupted,
    joins,
    leaves,
    rejoins,
    churnWindow: [(churnStart - t0) / 1000, (churnEnd - t0) / 1000],
    samples,
    rssSlope: perMinute('rss'),
    heapSlope: perMinute('heapAfterGc'),
    heapAfterRamp: afterRamp?.heapAfterGc ?? Number.NaN,
    heapAtEnd: samples.at(-1)?.heapAfterGc ?? Number.NaN,
    rssMax: Math.max(...samples.map((s) => s.rss)),
    serverCpuSeconds: ((last?.cpuMicros ?? 0) - (first?.cpuMicros ?? 0)) / 1e6,
    framesOut: counter0(last, 'tincan_messages_out_total') - counter0(first, 'tincan_messages_out_total'),
    framesIn: counter0(last, 'tincan_messages_in_total') - counter0(first, 'tincan_messages_in_total'),
    driverCpuSeconds: (cpu.user + cpu.system) / 1e6,
    driverLoopDelayP99: loop.percentile(99) / 1e6,
    driverLoopDelayMax: loop.max / 1e6,
    settleMs,
    wallSeconds: wall,
    skipped,
  };
}
