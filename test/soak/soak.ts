/**
 * `npm run soak -- --members 1000 --seconds 300 --churn 100`: the long form of the
 * soak (run.ts). Prints the server's memory every 10 s and a table at the end; exits
 * 1 on any error or any lost message, 2 on bad arguments.
 *
 * Options (defaults in run.ts DEFAULT_CONFIG): --mode core|lean, --keys
 * seeded|exchange, --members, --seconds, --channels,
 * --interval (s between one member's messages), --churn (leaves/s, each rejoins),
 * --churn-seconds, --away-ms lo,hi, --waves, --ramp (s), --text-bytes, --settle (s),
 * --seed, --join-concurrency, --server-profile DIR (a CPU profile of the server).
 */
import { parseArgs } from 'node:util';
import { formatReport } from './report.ts';
import { DEFAULT_CONFIG, runSoak, type SoakConfig } from './run.ts';

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`soak: --${name} must be a non-negative number, not '${value}'`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    keys: { type: 'string' },
    members: { type: 'string' },
    seconds: { type: 'string' },
    channels: { type: 'string' },
    interval: { type: 'string' },
    churn: { type: 'string' },
    'churn-seconds': { type: 'string' },
    'away-ms': { type: 'string' },
    waves: { type: 'string' },
    ramp: { type: 'string' },
    'text-bytes': { type: 'string' },
    settle: { type: 'string' },
    seed: { type: 'string' },
    'join-concurrency': { type: 'string' },
    'server-profile': { type: 'string' },
  },
  strict: true,
});

const d = DEFAULT_CONFIG;
const away = values['away-ms']?.split(',').map((v) => number('away-ms', v, 0));
if (values.mode !== undefined && values.mode !== 'core' && values.mode !== 'lean') {
  console.error(`soak: --mode is core or lean, not '${values.mode}'`);
  process.exit(2);
}
if (values.keys !== undefined && values.keys !== 'seeded' && values.keys !== 'exchange') {
  console.error(`soak: --keys is seeded or exchange, not '${values.keys}'`);
  process.exit(2);
}
const config: Partial<SoakConfig> = {
  mode: values.mode ?? d.mode,
  keys: values.keys ?? d.keys,
  members: number('members', values.members, d.members),
  seconds: number('seconds', values.seconds, d.seconds),
  channels: number('channels', values.channels, d.channels),
  intervalMs: number('interval', values.interval, d.intervalMs / 1000) * 1000,
  churn: number('churn', values.churn, d.churn),
  churnSeconds: number('churn-seconds', values['churn-seconds'], d.churnSeconds),
  awayMs: away?.length === 2 ? [away[0]!, away[1]!] : d.awayMs,
  waves: Math.max(1, number('waves', values.waves, d.waves)),
  rampSeconds: number('ramp', values.ramp, d.rampSeconds),
  textBytes: number('text-bytes', values['text-bytes'], d.textBytes),
  settleMs: number('settle', values.settle, d.settleMs / 1000) * 1000,
  seed: number('seed', values.seed, d.seed),
  joinConcurrency: Math.max(1, number('join-concurrency', values['join-concurrency'], d.joinConcurrency)),
  ...(values['server-profile'] ? { serverProfileDir: values['server-profile'] } : {}),
};
console.log(`soak: ${JSON.stringify(config)}`);
const report = await runSoak(config);
console.log(formatReport(report));
const ok = report.errors === 0 && report.lost === 0;
console.log(
  ok ? 'soak: PASS (0 errors, 0 lost)' : `soak: FAIL (${report.errors} errors, ${report.lost} lost)`,
);
process.exit(ok ? 0 : 1);
