/**
 * Child process for bench/signal.bench.ts: one server per process, so its CPU can be
 * read from /proc/PID/stat alone. `tincan` runs the real signal server (startServer);
 * `ws` is the naive broadcast baseline (parse, one JSON.stringify, `send` to each
 * subscriber). Speaks to the parent over IPC: sends `{ready, port}` once listening,
 * answers `mem` (after gc) and `counters`, and exits on `stop`.
 *
 *   node --expose-gc --import tsx bench/signal-server.ts tincan <dataDir>
 *   node --expose-gc --import tsx bench/signal-server.ts ws
 */
import { WebSocket, WebSocketServer } from 'ws';
import { PERMISSIONS } from '../protocol/messages.ts';
import type { HubOptions, RoleSpec } from '../signal/options.ts';
import { startServer } from '../signal/server.ts';

type Request = { cmd: 'mem' } | { cmd: 'counters' } | { cmd: 'stop' };

const send = (message: object) => process.send?.(message);
const kind = process.argv[2];

function memory(): object {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** Limits raised so the bench measures forwarding, not the flood guards (say so in reports). */
function benchOverrides(): Partial<HubOptions> {
  const unlimited = { perSecond: 1e9, burst: 1e9 };
  const roles = new Map<string, RoleSpec>([
    ['admin', { permissions: new Set(PERMISSIONS), rate: unlimited, priority: 100 }],
    ['member', { permissions: new Set(['send', 'speak']), rate: unlimited, priority: 10 }],
  ]);
  return {
    roles,
    maxConnectionsPerIp: 100_000,
    maxSessionsPerIdentity: 100_000,
    authTimeoutMs: 60_000,
    heartbeatMs: 600_000,
    identityRate: unlimited,
    authAttemptsPerIp: unlimited,
  };
}

async function tincan(dataDir: string): Promise<{ port: number; counters: () => object; stop: () => void }> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    webDir: dataDir, // no web client needed: skips the esbuild step
    overrides: benchOverrides(),
    log: { info: () => {}, warn: (m) => console.error(`tincan: ${m}`) },
  });
  return {
    port: server.port,
    counters: () => {
      const text = server.hub.metrics.render();
      const pick = (prefix: string) =>
        text
          .split('\n')
          .filter((l) => l.startsWith(prefix))
          .map((l) => l.slice(prefix.length));
      return { rejected: pick('tincan_rejections_total'), out: pick('tincan_messages_out_total') };
    },
    stop: () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    },
  };
}

/** The naive broadcast every signaling server starts as. */
async function naive(): Promise<{ port: number; counters: () => object; stop: () => void }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const topics = new Map<string, Set<WebSocket>>();
  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    ws.on('message', (data) => {
      let msg: { type?: unknown; topic?: unknown; topics?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return; // the baseline ignores garbage
      }
      if (msg.type === 'subscribe' && Array.isArray(msg.topics)) {
        for (const t of msg.topics) {
          if (typeof t !== 'string') continue;
          let set = topics.get(t);
          if (!set) topics.set(t, (set = new Set()));
          set.add(ws);
          mine.add(t);
        }
      } else if (msg.type === 'publish' && typeof msg.topic === 'string') {
        const set = topics.get(msg.topic);
        if (!set) return;
        const text = JSON.stringify(msg);
        for (const s of set) if (s !== ws && s.readyState === WebSocket.OPEN) s.send(text);
      } else if (msg.type === 'ping') ws.send('{"type":"pong"}');
    });
    ws.on('close', () => {
      for (const t of mine) topics.get(t)?.delete(ws);
    });
    ws.on('error', () => {});
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const address = wss.address();
  if (typeof address !== 'object' || address === null) throw new Error('expected a TCP address');
  return {
    port: address.port,
    counters: () => ({}),
    stop: () => wss.close(() => process.exit(0)),
  };
}

const server = kind === 'tincan' ? await tincan(process.argv[3] ?? '') : await naive();
process.on('message', (m: Request) => {
  if (m.cmd === 'mem') send({ mem: memory() });
  else if (m.cmd === 'counters') send({ counters: server.counters() });
  else if (m.cmd === 'stop') server.stop();
});
process.on('disconnect', () => process.exit(0));
send({ ready: true, port: server.port });
