/**
 * Client driver for bench/signal.bench.ts, run as a child process so the clients
 * never share a process (or a core's event loop) with the server they load. Driven
 * over IPC by the parent: open N connections (tincan ones authenticate with the
 * real handshake), subscribe, count and time deliveries, publish at a fixed rate or
 * as fast as the delivery window allows, and loop connect+auth for the handshake
 * figure. Every loop is bounded in count and time.
 *
 * Clock: senders stamp `performance.timeOrigin + performance.now()` (wall clock,
 * sub-millisecond), which is comparable across processes on one machine.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { fromHex, toBase64url } from '../crypto/bytes.ts';
import { rawSigner, type Signer, signStatement } from '../crypto/sign.ts';
import { AUTH_CONTEXT, authFields } from '../protocol/auth.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { BUCKETS, bucketOf } from './latency-histogram.ts';

export type Kind = 'tincan' | 'plain';

export type DriverCommand =
  | {
      cmd: 'connect';
      group: string;
      kind: Kind;
      url: string;
      count: number;
      keys: string[];
      parallel: number;
    }
  /** Subscribes the group's first `count` connections to `topic` (null: only the round trip). */
  | { cmd: 'subscribe'; group: string; topic: string | null; count: number }
  | { cmd: 'measure'; run: number; group: string; count: number; ackEveryMs: number }
  | { cmd: 'report' }
  | { cmd: 'close'; group: string }
  | {
      cmd: 'publish';
      kind: Kind;
      url: string;
      key: string;
      topic: string;
      run: number;
      mode: 'rate' | 'saturate';
      rate: number;
      ms: number;
      max: number;
      window: number;
      bytes: number;
    }
  | { cmd: 'ack'; min: number }
  | { cmd: 'handshakes'; kind: Kind; url: string; keys: string[]; parallel: number; ms: number; max: number }
  | { cmd: 'exit' };

export interface Report {
  received: number;
  hist: number[];
  negatives: number;
  open: number;
}

const now = (): number => performance.timeOrigin + performance.now();
const reply = (message: object): void => {
  process.send?.(message);
};

interface Conn {
  ws: WebSocket;
  /** Highest sequence number received in the current run (-1: none yet). */
  last: number;
  onPong?: () => void;
}

/** Connections by group (one group per server under test). */
const groups = new Map<string, Conn[]>();
/** The connections of the current run (subscribed to its topic). */
let measured: Conn[] = [];
let run = -1;
let received = 0;
let negatives = 0;
let hist = new Array<number>(BUCKETS).fill(0);
let ackTimer: NodeJS.Timeout | undefined;
let onAck: ((min: number) => void) | undefined;
const signers = new Map<string, Signer>();

function signerOf(hex: string): Signer {
  let s = signers.get(hex);
  if (!s) signers.set(hex, (s = rawSigner(fromHex(hex))));
  return s;
}

const TYPE_AT = '{"type":"p'.length;

/**
 * Every delivery, whatever the server: parse, and time it if it is this run's. All
 * three servers put `type` first, so other pushes (tincan's presence) are skipped
 * unparsed: `{"type":"p` + `u` (publish) or `o` (pong).
 */
function onDelivery(conn: Conn, data: Buffer): void {
  if (data[TYPE_AT - 1] !== 0x70 || (data[TYPE_AT] !== 0x75 && data[TYPE_AT] !== 0x6f)) return;
  const m = JSON.parse(data.toString()) as { type?: string; data?: { r?: number; s?: number; t?: number } };
  if (m.type !== 'publish') {
    if (m.type === 'pong') conn.onPong?.();
    return;
  }
  const d = m.data;
  if (!d || d.r !== run) return;
  received++;
  if (d.s! > conn.last) conn.last = d.s!;
  const us = (now() - d.t!) * 1000;
  if (us < 0) negatives++;
  hist[bucketOf(Math.max(0, us))]!++;
}

/** Opens a socket; for tincan, answers the hello with a signed auth and waits for the welcome. */
function open(kind: Kind, url: string, key: string | undefined, timeoutMs = 30_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timed out'));
    }, timeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      ws.removeAllListeners('message');
      ws.removeAllListeners('close');
      if (error) {
        ws.terminate();
        reject(error);
      } else resolve(ws);
    };
    ws.on('error', (error) => done(error));
    ws.on('close', (code) => done(new Error(`closed with ${code}`)));
    if (kind === 'plain') {
      ws.once('open', () => done());
      return;
    }
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      if (msg.type === 'hello') {
        const signer = signerOf(key!);
        const pub = toBase64url(signer.publicKey);
        const time = Date.now();
        const fields = authFields({ serverId: String(msg.server), nonce: String(msg.nonce), time, key: pub });
        signStatement(signer, AUTH_CONTEXT, fields).then(
          (sig) =>
            ws.send(
              JSON.stringify({ type: 'auth', v: PROTOCOL_VERSION, key: pub, time, sig: toBase64url(sig) }),
            ),
          (error: unknown) => done(error as Error),
        );
      } else if (msg.type === 'welcome') done();
      else if (msg.type === 'error') done(new Error(`refused: ${String(msg.code)}`));
    });
  });
}

/** Runs `task(i)` for i in [0, count) with at most `parallel` at once; resolves with the failures. */
async function pool(count: number, parallel: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i).catch(() => {
        failed++;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return failed;
}

async function connect(c: Extract<DriverCommand, { cmd: 'connect' }>): Promise<void> {
  const conns = groupOf(c.group);
  const started = now();
  const failed = await pool(c.count, c.parallel, async (i) => {
    const ws = await open(c.kind, c.url, c.keys[i % Math.max(1, c.keys.length)]);
    const conn: Conn = { ws, last: -1 };
    ws.on('message', (data) => onDelivery(conn, data as Buffer));
    ws.on('error', () => {});
    conns.push(conn);
  });
  reply({ ev: 'connected', open: conns.length, failed, ms: now() - started });
}

function groupOf(name: string): Conn[] {
  let conns = groups.get(name);
  if (!conns) groups.set(name, (conns = []));
  return conns;
}

async function subscribe(c: Extract<DriverCommand, { cmd: 'subscribe' }>): Promise<void> {
  const conns = groupOf(c.group).slice(0, c.count);
  const topic = c.topic;
  // Subscribe, then ping: the pong (in order on the same socket) says the subscription
  // is in place, and that everything the server queued on it before has been read.
  const failed = await pool(conns.length, 200, (i) => {
    const conn = conns[i]!;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no pong')), 30_000);
      conn.onPong = () => {
        clearTimeout(timer);
        conn.onPong = undefined;
        resolve();
      };
      if (topic !== null) conn.ws.send(JSON.stringify({ type: 'subscribe', topics: [topic] }));
      conn.ws.send('{"type":"ping"}');
    });
  });
  reply({ ev: 'subscribed', failed });
}

function measure(c: Extract<DriverCommand, { cmd: 'measure' }>): void {
  run = c.run;
  received = 0;
  negatives = 0;
  hist = new Array<number>(BUCKETS).fill(0);
  const conns = groupOf(c.group).slice(0, c.count);
  measured = conns;
  for (const conn of conns) conn.last = -1;
  clearInterval(ackTimer);
  if (c.ackEveryMs > 0) {
    ackTimer = setInterval(() => {
      let min = Number.POSITIVE_INFINITY;
      for (const conn of conns) if (conn.ws.readyState === WebSocket.OPEN && conn.last < min) min = conn.last;
      reply({ ev: 'ack', run, min: Number.isFinite(min) ? min : -1 });
    }, c.ackEveryMs);
  }
  reply({ ev: 'measuring' });
}

function report(): void {
  clearInterval(ackTimer);
  let openCount = 0;
  for (const c of measured) if (c.ws.readyState === WebSocket.OPEN) openCount++;
  const r: Report = { received, hist, negatives, open: openCount };
  reply({ ev: 'report', ...r });
}

async function closeGroup(group: string): Promise<void> {
  const conns = groupOf(group);
  await Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 3000);
          c.ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          c.ws.close(1000);
        }),
    ),
  );
  groups.delete(group);
  reply({ ev: 'closed' });
}

/**
 * Publishes `{type:'publish', topic, data:{r, s, t, p}}` of about `bytes` bytes.
 * `rate`: on a 1 ms timer, sends whatever is due at `rate`/s. `saturate`: keeps at most
 * `window` messages beyond the slowest subscriber's last receipt (acks relayed by the
 * parent), so the run finds the delivered rate without overrunning send queues.
 */
async function publish(c: Extract<DriverCommand, { cmd: 'publish' }>): Promise<void> {
  const ws = await open(c.kind, c.url, c.key);
  ws.on('message', () => {});
  const probe = JSON.stringify({
    type: 'publish',
    topic: c.topic,
    data: { r: c.run, s: 0, t: now(), p: '' },
  });
  const pad = 'x'.repeat(Math.max(0, c.bytes - probe.length - 4));
  const frame = (s: number) =>
    JSON.stringify({ type: 'publish', topic: c.topic, data: { r: c.run, s, t: now(), p: pad } });
  let sent = 0;
  let stalled = 0;
  const started = now();
  await new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      onAck = undefined;
      resolve();
    };
    if (c.mode === 'rate') {
      const tick = () => {
        const elapsed = now() - started;
        if (elapsed >= c.ms || sent >= c.max) return finish();
        const due = Math.min(c.max, Math.floor((elapsed * c.rate) / 1000) + 1);
        while (sent < due) {
          if (ws.bufferedAmount > 1 << 22) {
            stalled++;
            break;
          }
          ws.send(frame(sent++));
        }
        setTimeout(tick, 1);
      };
      tick();
      return;
    }
    let acked = -1;
    const pump = () => {
      if (finished) return;
      if (now() - started >= c.ms || sent >= c.max) return finish();
      while (sent - (acked + 1) < c.window && ws.bufferedAmount < 1 << 20 && sent < c.max) {
        ws.send(frame(sent++));
      }
    };
    onAck = (min) => {
      if (min > acked) acked = min;
      pump();
    };
    const timer = setInterval(() => {
      pump();
      if (finished) clearInterval(timer);
    }, 2);
    pump();
  });
  const ms = now() - started;
  ws.close(1000);
  reply({ ev: 'published', sent, ms, stalled });
}

/** Connect (+auth for tincan) then close, in `parallel` loops, for `ms` or `max` handshakes. */
async function handshakes(c: Extract<DriverCommand, { cmd: 'handshakes' }>): Promise<void> {
  const started = now();
  let ok = 0;
  let failed = 0;
  let i = 0;
  const loop = async () => {
    while (now() - started < c.ms && ok + failed < c.max) {
      try {
        const ws = await open(c.kind, c.url, c.keys[i++ % Math.max(1, c.keys.length)]);
        await new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close(1000);
        });
        ok++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: c.parallel }, loop));
  reply({ ev: 'handshaken', ok, failed, ms: now() - started });
}

process.on('message', (c: DriverCommand) => {
  const fail = (error: unknown) => reply({ ev: 'error', message: String((error as Error)?.stack ?? error) });
  switch (c.cmd) {
    case 'connect':
      connect(c).catch(fail);
      return;
    case 'subscribe':
      subscribe(c).catch(fail);
      return;
    case 'measure':
      measure(c);
      return;
    case 'report':
      report();
      return;
    case 'close':
      closeGroup(c.group).catch(fail);
      return;
    case 'publish':
      publish(c).catch(fail);
      return;
    case 'ack':
      onAck?.(c.min);
      return;
    case 'handshakes':
      handshakes(c).catch(fail);
      return;
    case 'exit':
      process.exit(0);
      return;
    default: {
      const never: never = c;
      fail(new Error(`unknown command ${JSON.stringify(never)}`));
    }
  }
});
process.on('disconnect', () => process.exit(0));
reply({ ev: 'ready' });
