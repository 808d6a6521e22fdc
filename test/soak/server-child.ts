/**
 * A signal server in its own process for load tests, so its memory is its own:
 * started by `server-process.ts` as `node --expose-gc --import tsx server-child.ts
 * <dataDir> <webDir>` with an IPC channel. It sends `{type:'ready', port}` once it
 * listens, and answers every `{type:'sample', id, gc}` with a `Sample`: its
 * `process.memoryUsage()` (after a full GC too when `gc` is set), CPU time, sessions,
 * the largest and total bytes queued for writing on its connections, and every
 * counter of `/metrics` that the load tests read. Limits come from
 * `TINCAN_SOAK_OVERRIDES` (JSON of a Partial<HubOptions> with plain fields only).
 * It exits when the parent goes away, so a crashed test leaves no server behind.
 */
import type { HubOptions } from '../../signal/options.ts';
import { startServer } from '../../signal/server.ts';

/** What the child reports per sample (plain JSON over IPC). */
export interface Sample {
  id: number;
  /** `process.uptime()` of the child, in seconds. */
  uptime: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** heapUsed right after `global.gc()`; equals heapUsed when no GC was asked for. */
  heapAfterGc: number;
  /** User + system CPU of the child since it started, in microseconds. */
  cpuMicros: number;
  sessions: number;
  membersOnline: number;
  /** Bytes waiting to be written, on the connection that has the most and over all of them. */
  maxBufferedBytes: number;
  totalBufferedBytes: number;
  /** Counters of /metrics by name and label text (`tincan_rejections_total{code="X"}` → n). */
  counters: Record<string, number>;
}

const [dataDir, webDir] = process.argv.slice(2);
if (!dataDir || !webDir || !process.send) {
  console.error('usage: server-child.ts <dataDir> <webDir> (with an IPC channel)');
  process.exit(2);
}
const overrides = JSON.parse(process.env.TINCAN_SOAK_OVERRIDES ?? '{}') as Partial<HubOptions>;
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir,
  webDir,
  relay: false,
  overrides,
  log: { info: () => {}, warn: (m) => console.error(`WARN ${m}`) },
});
const gc = (globalThis as { gc?: () => void }).gc;

/** Counter lines of the Prometheus text (gauges are read from the hub directly). */
function counters(): Record<string, number> {
  const out: Record<string, number> = {};
  let counter = false;
  for (const line of server.hub.metrics.render().split('\n')) {
    if (line.startsWith('# TYPE ')) counter = line.endsWith(' counter');
    else if (counter && line !== '' && !line.startsWith('#')) {
      const at = line.lastIndexOf(' ');
      out[line.slice(0, at)] = Number(line.slice(at + 1));
    }
  }
  return out;
}

function sample(id: number, withGc: boolean): Sample {
  const before = process.memoryUsage();
  let heapAfterGc = before.heapUsed;
  if (withGc && gc) {
    gc();
    heapAfterGc = process.memoryUsage().heapUsed;
  }
  let maxBufferedBytes = 0;
  let totalBufferedBytes = 0;
  for (const s of server.hub.sessions) {
    const n = s.ws.bufferedAmount;
    totalBufferedBytes += n;
    if (n > maxBufferedBytes) maxBufferedBytes = n;
  }
  const cpu = process.cpuUsage();
  return {
    id,
    uptime: process.uptime(),
    rss: before.rss,
    heapUsed: before.heapUsed,
    heapTotal: before.heapTotal,
    external: before.external,
    arrayBuffers: before.arrayBuffers,
    heapAfterGc,
    cpuMicros: cpu.user + cpu.system,
    sessions: server.hub.sessions.size,
    membersOnline: server.hub.byUser.size,
    maxBufferedBytes,
    totalBufferedBytes,
    counters: counters(),
  };
}

process.on('message', (m: unknown) => {
  if (typeof m !== 'object' || m === null) return;
  const msg = m as { type?: unknown; id?: unknown; gc?: unknown };
  if (msg.type === 'sample' && typeof msg.id === 'number')
    process.send!({ type: 'sample', sample: sample(msg.id, msg.gc === true) });
});
process.on('disconnect', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.send({ type: 'ready', port: server.port });
