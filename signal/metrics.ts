/**
 * Counters and gauges for `/metrics` in the Prometheus text format (0.0.4). Gauges
 * are read at scrape time from callbacks, so nothing is kept twice.
 */

type Labels = Record<string, string>;

/** Adds `by` (default 1) to the counter for these labels. */
export type Counter = (labels?: Labels, by?: number) => void;

function labelText(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => `\\${c === '\n' ? 'n' : c}`)}"`,
  );
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly gauges = new Map<string, { help: string; read: () => number | [Labels, number][] }>();

  counter(name: string, help: string): Counter {
    const entry = { help, values: new Map<string, number>() };
    this.counters.set(name, entry);
    return (labels, by = 1) => {
      const key = labelText(labels);
      entry.values.set(key, (entry.values.get(key) ?? 0) + by);
    };
  }

  gauge(name: string, help: string, read: () => number | [Labels, number][]): void {
    this.gauges.set(name, { help, read });
  }

  /** Current value of a counter (tests, benchmarks). */
  value(name: string, labels?: Labels): number {
    return this.counters.get(name)?.values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, { help, values }] of this.counters) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      if (values.size === 0) lines.push(`${name} 0`);
      for (const [labels, v] of values) lines.push(`${name}${labels} ${v}`);
    }
    for (const [name, { help, read }] of this.gauges) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      const v = read();
      if (typeof v === 'number') lines.push(`${name} ${v}`);
      else for (const [labels, n] of v) lines.push(`${name}${labelText(labels)} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
