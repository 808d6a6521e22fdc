/**
 * What a benchmark returns, and small timing helpers shared by `bench/*.bench.ts`.
 * These machines are shared and noisy (see /work/shared/BENCHMARKS.md): every figure
 * carries a baseline measured in the same run, interleaved with it, and a ratio.
 */
import { readFileSync } from 'node:fs';

/**
 * One line of the report. `baseline` is measured in the same run; `ratio` is
 * value / baseline (for a rate: how many times faster; for a latency or a cost:
 * how many times more).
 */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  ratio?: number;
}

/** What every `bench/*.bench.ts` exports as default; `log` takes detail lines for the report. */
export type Bench = (log?: (line: string) => void) => Promise<Figure[]>;

export function figure(
  name: string,
  value: number,
  unit: string,
  baselineName: string,
  baseline: number,
): Figure {
  return { name, value, unit, baseline, baselineName, ratio: value / baseline };
}

/** One line: `name  value unit  baseline (what)  ratio×`. */
export function formatFigure(f: Figure): string {
  const base =
    f.baseline === undefined ? '-' : `${formatNumber(f.baseline)} (${f.baselineName ?? 'baseline'})`;
  const ratio = f.ratio === undefined ? '-' : `${f.ratio.toFixed(2)}×`;
  return `${f.name}  ${formatNumber(f.value)} ${f.unit}  ${base}  ${ratio}`;
}

export function formatNumber(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile of `values` (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Rates {
  /** Median operations per second over the batches. */
  readonly median: number;
  /**
   * Operations per CPU-second of the whole process (user + sys, GC threads included)
   * over all batches. Interleaved, one function's garbage is partly collected during
   * another's batches: `perCpuSecond` gives the per-core figure of one function.
   */
  readonly perCpuSecond: number;
}

/**
 * CPU time of the main thread in seconds, from Linux's /proc/self/task/<pid>/stat
 * (utime + stime in USER_HZ = 100 ticks: 10 ms resolution, so measure for a second
 * or more); elsewhere the whole process's user + sys.
 */
export function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  }
}

/**
 * Operations per CPU-second of the main thread for `fn` alone, over about `ms`
 * milliseconds after a warm-up: the per-core figure, which time spent descheduled
 * by other processes on a shared machine does not dilute. (V8's parallel GC helpers
 * are left out; for these loops they add a few percent.)
 */
export async function perCpuSecond(fn: () => void, ms: number, batch = 2000): Promise<number> {
  for (let i = 0; i < batch * 5; i++) fn();
  await new Promise((resolve) => setTimeout(resolve, 50));
  let calls = 0;
  const c0 = mainThreadCpuSeconds();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
  }
  return calls / (mainThreadCpuSeconds() - c0);
}

/**
 * Runs each function in alternating batches of `batch` calls for about `ms`
 * milliseconds in total (after a warm-up), so that noise from other processes
 * falls on all of them alike. Returns, per function, its median rate and its rate
 * per CPU-second.
 */
export function interleave(fns: readonly (() => void)[], ms: number, batch = 2000): Rates[] {
  for (const fn of fns) for (let i = 0; i < batch * 5; i++) fn();
  const rates: number[][] = fns.map(() => []);
  const cpu = fns.map(() => 0);
  const calls = fns.map(() => 0);
  const end = performance.now() + ms;
  while (performance.now() < end) {
    fns.forEach((fn, k) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) fn();
      const dt = performance.now() - t0;
      const c = process.cpuUsage(c0);
      rates[k]!.push((batch / dt) * 1000);
      cpu[k]! += (c.user + c.system) / 1e6;
      calls[k]! += batch;
    });
  }
  return fns.map((_, k) => ({ median: median(rates[k]!), perCpuSecond: calls[k]! / cpu[k]! }));
}

/** Like `interleave` for async operations, awaited one at a time. */
export async function interleaveAsync(
  fns: readonly (() => Promise<unknown>)[],
  ms: number,
  batch = 500,
): Promise<number[]> {
  for (const fn of fns) for (let i = 0; i < batch; i++) await fn();
  const rates: number[][] = fns.map(() => []);
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let k = 0; k < fns.length; k++) {
      const fn = fns[k]!;
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) await fn();
      rates[k]!.push((batch / (performance.now() - t0)) * 1000);
    }
  }
  return rates.map(median);
}

/** Latencies in microseconds of `fn`, called one at a time for about `ms` milliseconds (at least `min` calls). */
export async function latencies(
  fn: () => Promise<unknown> | unknown,
  ms: number,
  min = 50,
): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end || out.length < min) {
    const t0 = performance.now();
    await fn();
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}
