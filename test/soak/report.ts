/** The soak's report as text: the memory curve and one table of figures. */
import type { SoakReport } from './run.ts';
import { type Histogram, MiB, mib, table } from './stats.ts';

const ms = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v.toFixed(1)} ms`);
const perMin = (v: number) => (Number.isNaN(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)} MiB/min`);

const latency = (h: Histogram) => `${ms(h.quantile(0.5))} / ${ms(h.quantile(0.99))} / ${ms(h.max)}`;

export function formatReport(r: SoakReport): string {
  const c = r.config;
  const curve = table([
    [
      't (s)',
      'rss MiB',
      'heap MiB',
      'heap after GC MiB',
      'external MiB',
      'sessions',
      'online',
      'clients rss MiB',
    ],
    ...r.samples.map((s) => [
      s.t.toFixed(0),
      mib(s.rss),
      mib(s.heapUsed),
      mib(s.heapAfterGc),
      mib(s.heapTotal),
      mib(s.external),
      String(s.sessions),
      String(s.online),
      mib(s.clientRss),
    ]),
  ]);
  const figures = table([
    ['figure', 'value'],
    ['mode / keys', c.mode === 'lean' ? 'lean (bare connection)' : `core (ServerSession) / ${c.keys}`],
    ['members / text channels', `${c.members} / ${c.channels}`],
    ['run / ramp (waves)', `${c.seconds} s / ${c.rampSeconds.toFixed(0)} s (${c.waves})`],
    ['message interval per member (mean)', `${(c.intervalMs / 1000).toFixed(1)} s`],
    [
      'churn',
      c.churn > 0
        ? `${c.churn}/s leave+rejoin, t=${r.churnWindow[0].toFixed(0)}–${r.churnWindow[1].toFixed(0)} s, away ${c.awayMs[0]}–${c.awayMs[1]} ms`
        : 'none',
    ],
    ['joins / leaves / rejoins', `${r.joins} / ${r.leaves} / ${r.rejoins}`],
    ['requests cut by a planned leave (retried)', String(r.interrupted)],
    ['errors', String(r.errors)],
    ['messages sent (timed)', `${r.sent} (${r.timed})`],
    ['sends skipped (member away)', String(r.skipped)],
    ['receipts owed (all receivers)', String(r.expected)],
    ['delivered live / after a rejoin or from history', `${r.deliveredLive} / ${r.deliveredLate}`],
    ['lost', String(r.lost)],
    ['latency p50 / p99 / max (live, timed)', latency(r.latency)],
    ...['ramp', 'steady', 'churn'].flatMap((phase) => {
      const h = r.latencyByPhase.get(phase);
      return h ? [[`  sent during ${phase} (${h.count} receipts)`, latency(h)]] : [];
    }),
    ['server rss max', `${mib(r.rssMax)} MiB`],
    ['server heap after GC: after ramp → end', `${mib(r.heapAfterRamp)} → ${mib(r.heapAtEnd)} MiB`],
    ['server rss slope, 2nd half', perMin(r.rssSlope)],
    ['server heap-after-GC slope, 2nd half', perMin(r.heapSlope)],
    ['server CPU', `${r.serverCpuSeconds.toFixed(1)} s`],
    ['server frames in / out', `${r.framesIn} / ${r.framesOut}`],
    [
      'server CPU per frame out',
      r.framesOut > 0 ? `${((r.serverCpuSeconds * 1e6) / r.framesOut).toFixed(1)} µs` : 'n/a',
    ],
    ['client process CPU', `${r.driverCpuSeconds.toFixed(1)} s of ${r.wallSeconds.toFixed(0)} s wall`],
    ['client event-loop delay p99 / max', `${ms(r.driverLoopDelayP99)} / ${ms(r.driverLoopDelayMax)}`],
    ['settle', `${(r.settleMs / 1000).toFixed(1)} s`],
  ]);
  const errors = Object.entries(r.errorsByKind).map(([k, v]) => `  ${k}: ${v}`);
  return [
    'server memory curve (each sample: heap, then a full GC, then heap after GC; clients = this process):',
    curve,
    '',
    figures,
    ...(errors.length
      ? ['errors by kind:', ...errors, 'first errors:', ...r.errorExamples.map((e) => `  ${e}`)]
      : []),
    ...(r.lost ? ['lost, first ones:', ...r.lostExamples.map((e) => `  ${e}`)] : []),
  ].join('\n');
}

/** MiB of heap growth (after GC) from the end of the ramp to the end. */
export function heapGrowthMiB(r: SoakReport): number {
  return (r.heapAtEnd - r.heapAfterRamp) / MiB;
}
