/**
 * Fault: a member stops reading its socket (the TCP socket under `ws` paused: its
 * kernel buffers fill, then the server's send queue for it grows) while four others
 * post ~12 KB messages at a fixed 160 a second into the channel everyone is in. The
 * server is a child process (test/soak/server-process.ts), so its memory is its own.
 *
 * The same flood runs twice, side by side: once with every member reading, once
 * with the slow one. Proves: the server's bytes queued for any one connection never
 * pass its bound (`maxSendQueueBytes`, 1 MiB by default, plus one frame) and its
 * memory grows no more than in the run without a slow member, plus a margin well
 * under what the slow member was sent; it cuts the slow member with SLOW_CONSUMER
 * (close 4003, retryable), counted in /metrics, rather than buffering; the slow
 * member, reading again, sees that close, reconnects by itself and catches up on
 * everything; the other members' p99 delivery latency is not hurt beyond a loose
 * ratio, while the slow member is queued for and after it is cut (when it
 * reconnects and catches up); no message is lost anywhere.
 *
 * Members are the lean kind (test/soak/lean-member.ts: the real reconnecting
 * connection and outbox, no client-side crypto), so that this process keeps up with
 * the flood and the latencies measure the server, not the clients.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateIdentity } from '../../crypto/identity.ts';
import { LeanMember, SEALED_OVERHEAD } from '../soak/lean-member.ts';
import { Ledger, type Presence } from '../soak/ledger.ts';
import {
  allowlist,
  createTextChannels,
  type Sample,
  type ServerProcess,
  startServerProcess,
} from '../soak/server-process.ts';
import { MiB } from '../soak/stats.ts';

const POSTERS = 4;
const READERS = 4;
const SLOW = POSTERS + READERS; // the last member
/** Characters per message: a long paste. Pushed as a ~16.6 KB frame. */
const TEXT = 12_000;
const PER_POSTER_PER_SECOND = 40;
const TICK_MS = 1000 / PER_POSTER_PER_SECOND;
const WARMUP_MS = 2_000;
const FLOOD_MS = 6_000;
const SAMPLE_EVERY_MS = 100;
/** The server's default bound on one connection's send queue (signal/options.ts, config.ts). */
const QUEUE_BOUND = 1 << 20;
/** The largest frame the flood makes, with room for the error frame sent on close. */
const FRAME_SLACK = 64 * 1024;
/** The slow run's peak rss over its start may exceed the normal run's by at most this. */
const MEMORY_MARGIN = 8 * MiB;
/** A log.fetch reply of 100 flood entries, as the reconnected member catches up. */
const CATCH_UP_PAGE = 2 * MiB;
/** Others' p99 with the slow member: at most this times the p99 without it, or that +100 ms (a shared box). */
const P99_RATIO = 3;
const P99_SLACK_MS = 100;
const SETTLE_MS = 20_000;
const SLOW_METRIC = 'tincan_rejections_total{code="SLOW_CONSUMER"}';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PhaseMemory {
  start: Sample;
  peakRss: number;
  peakHeap: number;
  peakExternal: number;
  maxBuffered: number;
}

describe('fault: a member stops reading while others flood the channel', () => {
  const pairs = Array.from({ length: SLOW + 1 }, () => generateIdentity());
  let server: ServerProcess;
  let members: LeanMember[];
  let ledger: Ledger;
  let channel: string;
  const presence: Presence[] = pairs.map(() => ({ onlineAt: -1, offlineAt: -1, firstOnlineAt: -1 }));
  const drops: { member: number; detail: string }[] = [];
  const problems: string[] = [];
  const phaseStarts = new Map<string, number>();
  let n = 0;

  before(async () => {
    server = await startServerProcess({
      authorizedKeys: allowlist(pairs),
      // The flood is on purpose: the posters' rate (40/s) is within a member's 50/s.
      overrides: { maxConnectionsPerIp: 64, authAttemptsPerIp: { perSecond: 1000, burst: 1000 } },
    });
    [channel] = (await createTextChannels(server, pairs[0]!, ['flood'])) as [string];
    ledger = new Ledger(
      pairs.map(() => 0),
      (i) => presence[i]!,
      'x'.repeat(TEXT - SEALED_OVERHEAD),
      // The phase a message was sent in: the last one started before it.
      (at) => {
        let name = 'warmup';
        for (const [p, t] of phaseStarts) if (at >= t) name = p;
        return name;
      },
      (receiver) => receiver !== SLOW,
    );
    members = pairs.map(
      (pair, i) =>
        new LeanMember(i, pair, {
          onPost: (text, at) => ledger.received(i, text, at),
          onState: (online, planned, detail) => {
            const p = presence[i]!;
            const now = performance.now();
            if (online) {
              if (p.firstOnlineAt === -1) p.firstOnlineAt = now;
              p.onlineAt = now;
            } else {
              p.offlineAt = now;
              if (!planned) drops.push({ member: i, detail });
            }
          },
          onLog: (m) => problems.push(`member ${i}: ${m}`),
        }),
    );
    for (const m of members) {
      await m.connect(server.wsUrl);
      await m.open(channel);
    }
  });
  after(async () => {
    for (const m of members ?? []) m.close();
    await server?.stop();
  });

  /** Posts at the fixed rate for `ms`, sampling the server; `onSample` may act on each sample. */
  async function flood(
    name: string,
    ms: number,
    onSample: (s: Sample) => void = () => {},
  ): Promise<PhaseMemory> {
    const start = await server.sample(true);
    const memory: PhaseMemory = {
      start,
      peakRss: start.rss,
      peakHeap: start.heapUsed,
      peakExternal: start.external,
      maxBuffered: 0,
    };
    phaseStarts.set(name, performance.now());
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const s = await server.sample(false);
        memory.peakRss = Math.max(memory.peakRss, s.rss);
        memory.peakHeap = Math.max(memory.peakHeap, s.heapUsed);
        memory.peakExternal = Math.max(memory.peakExternal, s.external);
        memory.maxBuffered = Math.max(memory.maxBuffered, s.maxBufferedBytes);
        onSample(s);
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    const end = performance.now() + ms;
    const sends: Promise<void>[] = [];
    for (let next = performance.now(); next < end; next += TICK_MS) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      for (let p = 0; p < POSTERS; p++) {
        const text = ledger.send(p, n++, performance.now(), true);
        sends.push(members[p]!.send(text).catch((e: Error) => void problems.push(`send ${p}: ${e.message}`)));
      }
    }
    await Promise.all(sends);
    // Everything sent so far has been shown everywhere it is owed before the phase ends.
    const deadline = performance.now() + SETTLE_MS;
    while (ledger.missing().count > 0 && performance.now() < deadline) await sleep(100);
    sampling = false;
    await sampler;
    assert.equal(
      ledger.missing().count,
      0,
      `${name}: nothing lost (${ledger.missing().examples.join('; ')})`,
    );
    console.log(
      `slow-consumer: ${name}: server rss ${(start.rss / MiB).toFixed(1)} → peak ${(memory.peakRss / MiB).toFixed(1)} MiB, ` +
        `heap peak ${(memory.peakHeap / MiB).toFixed(1)} MiB, external peak ${(memory.peakExternal / MiB).toFixed(1)} MiB, ` +
        `largest send queue ${(memory.maxBuffered / 1024).toFixed(0)} KiB`,
    );
    return memory;
  }

  it('sheds the slow member with SLOW_CONSUMER, keeps memory bounded and the others fast', {
    timeout: 120_000,
  }, async () => {
    await flood('warmup', WARMUP_MS);
    const normal = await flood('normal', FLOOD_MS);

    // `_socket` is ws's own field (not in its types): the TCP socket under the WebSocket.
    const slowSocket = (members[SLOW]!.presence.socket as unknown as { _socket: Socket })._socket;
    const slowBefore = normal.start.counters[SLOW_METRIC] ?? 0;
    let cutAt = 0;
    let queuedAtCut = 0;
    slowSocket.pause(); // stops reading: its kernel buffers fill, then the server's queue for it
    const slowRun = await flood('slow', FLOOD_MS, (s) => {
      // Reading again right after the cut lets the member see the close the server queued.
      if (cutAt === 0 && (s.counters[SLOW_METRIC] ?? 0) > slowBefore) {
        cutAt = performance.now();
        queuedAtCut = s.maxBufferedBytes;
        phaseStarts.set('slow, after the cut', cutAt); // its reconnect and catch-up load the server
        slowSocket.resume();
      }
    });

    const end = await server.sample(true);
    assert.ok(cutAt > 0, 'the server cut the member that stopped reading');
    assert.equal(
      (end.counters[SLOW_METRIC] ?? 0) - slowBefore,
      1,
      'exactly one SLOW_CONSUMER: the slow member',
    );
    const rejected = Object.entries(end.counters).filter(
      ([k, v]) => k.startsWith('tincan_rejections_total{') && k !== SLOW_METRIC && v > 0,
    );
    assert.deepEqual(rejected, [], 'no other rejection');
    const metrics = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    assert.match(metrics, /^tincan_rejections_total\{code="SLOW_CONSUMER"\} 1$/m, '/metrics counts the cut');

    assert.deepEqual(
      drops.map((d) => d.member),
      [SLOW],
      `only the slow member dropped (${JSON.stringify(drops)})`,
    );
    assert.equal(drops[0]!.detail, 'closed with 4003', 'the slow member saw close 4003 (SLOW_CONSUMER)');
    assert.ok(members[SLOW]!.isOnline, 'the slow member reconnected by itself');
    assert.deepEqual(problems, [], 'no client logged a problem');

    assert.ok(
      slowRun.maxBuffered <= QUEUE_BOUND + FRAME_SLACK,
      `one connection's send queue stayed within its bound: ${slowRun.maxBuffered} bytes (bound ${QUEUE_BOUND} + one frame)`,
    );
    const owed = ((FLOOD_MS / 1000) * POSTERS * PER_POSTER_PER_SECOND * TEXT) / MiB;
    const rssGrowth = (m: PhaseMemory) => (m.peakRss - m.start.rss) / MiB;
    const bufferGrowth = (m: PhaseMemory) => (m.peakExternal - m.start.external) / MiB;
    assert.ok(
      rssGrowth(slowRun) <= rssGrowth(normal) + MEMORY_MARGIN / MiB,
      `server rss with a slow member grew ${rssGrowth(slowRun).toFixed(1)} MiB, without one ` +
        `${rssGrowth(normal).toFixed(1)} MiB (margin ${MEMORY_MARGIN / MiB} MiB; the slow member was sent ${owed.toFixed(0)} MiB)`,
    );
    // Queued frames are Buffers (external memory): the queue's bound, plus a catch-up page in flight.
    assert.ok(
      bufferGrowth(slowRun) <= bufferGrowth(normal) + (QUEUE_BOUND + CATCH_UP_PAGE) / MiB,
      `server buffers with a slow member grew ${bufferGrowth(slowRun).toFixed(1)} MiB, without one ` +
        `${bufferGrowth(normal).toFixed(1)} MiB (the slow member was sent ${owed.toFixed(0)} MiB)`,
    );

    const p99 = (name: string) => ledger.latencyByPhase.get(name)?.quantile(0.99) ?? Number.NaN;
    const p50 = (name: string) => ledger.latencyByPhase.get(name)?.quantile(0.5) ?? Number.NaN;
    console.log(
      `slow-consumer: others' latency p50/p99 without a slow member ${p50('normal').toFixed(1)}/${p99('normal').toFixed(1)} ms, ` +
        `with one ${p50('slow').toFixed(1)}/${p99('slow').toFixed(1)} ms before the cut, ` +
        `${p50('slow, after the cut').toFixed(1)}/${p99('slow, after the cut').toFixed(1)} ms after it; cut ${(cutAt - (phaseStarts.get('slow') ?? 0)).toFixed(0)} ms ` +
        `into the flood with ${(queuedAtCut / 1024).toFixed(0)} KiB queued for it`,
    );
    for (const name of ['slow', 'slow, after the cut'])
      assert.ok(
        p99(name) <= Math.max(P99_RATIO * p99('normal'), p99('normal') + P99_SLACK_MS),
        `others' p99 (${name}) ${p99(name).toFixed(1)} ms vs ${p99('normal').toFixed(1)} ms without a slow member`,
      );
  });
});
