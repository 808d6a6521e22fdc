/**
 * The web app in Debian's Chromium (playwright-core), against a real server on
 * loopback, each figure beside a baseline taken in the same run:
 *
 * - invite → channel with history: from `goto(invite link)` through name, Join and Open
 *   to the newest of 50 history messages on screen; baseline: the same page loaded and a
 *   bare WebSocket to the same server opened (what any client pays before it can speak).
 * - open a channel of 10,000 messages: from clicking it to its newest message on screen,
 *   for a member whose device has no cache (a fresh context); baseline: the same for a
 *   channel of 50 messages. Also the tab's JS heap once it shows.
 * - delivery A→B over the mesh: a sealed, signed message from A's composer path
 *   (`conversation.send`) to B's message list model while both have the channel open
 *   (the mesh copy wins; the server's copy follows as a replay); baseline: a bare note
 *   on a trystero action of the same mesh (the data channel's floor).
 * - delivery A→B via the server: the same after A left the mesh; baseline: an unsealed
 *   pub/sub note between the same two pages on the same connections (the server's floor).
 *
 *   npm run bench -- app            BENCH_APP_RUNS=7 (joins per figure, default 5)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { generateIdentity } from '../crypto/identity.ts';
import { PERMISSIONS } from '../protocol/messages.ts';
import type { HubOptions, RoleSpec } from '../signal/options.ts';
import { type RunningServer, startServer } from '../signal/server.ts';
import chromiumConfig from '../test/helpers/chromium.json' with { type: 'json' };
import { nodeSocket } from '../test/helpers/signal.ts';
import { parseJoinLink } from '../web/core/app.ts';
import { rawIdentity } from '../web/core/identity-provider.ts';
import { MemoryCache } from '../web/core/local-cache.ts';
import { ServerSession } from '../web/core/server-view.ts';
import { type Bench, type Figure, figure, median, percentile } from './figure.ts';

const RUNS = Number(process.env.BENCH_APP_RUNS ?? 5);
const BIG = 10_000;
const SMALL = 50;
const DELIVERIES = 100;
const TIMEOUT_MS = 60_000;

/** Flood guards off so seeding 10,000 messages is not rate-limited (the bench measures reading). */
function overrides(): Partial<HubOptions> {
  const unlimited = { perSecond: 1e9, burst: 1e9 };
  const roles = new Map<string, RoleSpec>([
    ['admin', { permissions: new Set(PERMISSIONS), rate: unlimited, priority: 100 }],
    [
      'member',
      { permissions: new Set(['send', 'speak', 'invite', 'upload']), rate: unlimited, priority: 10 },
    ],
  ]);
  return { roles, identityRate: unlimited, authAttemptsPerIp: unlimited, maxSessionsPerIdentity: 1000 };
}

type CoreHandle = {
  servers: {
    value: Array<{
      conn: {
        publish(t: string, d: unknown, r?: string): void;
        subscribe(t: string[], r?: string): void;
        on(t: string, l: (m: Record<string, unknown>) => void): () => void;
      };
      meshes?: {
        peers(c: string): string[];
        mesh(c: string):
          | {
              makeAction(n: string): {
                send(d: string): Promise<void>;
                onMessage: ((d: unknown) => void) | null;
              };
            }
          | undefined;
        closeAll(): Promise<void>;
      };
      conversation(id: string): {
        send(text: string): Promise<void>;
        messages: {
          value: Array<{ text: string }>;
          subscribe(l: (v: Array<{ text: string }>) => void): () => void;
        };
      };
    }>;
  };
};

function connectAdmin(server: RunningServer): Promise<ServerSession> {
  const link = parseJoinLink(server.adminInvite!);
  return ServerSession.connect({
    url: link.url,
    identity: rawIdentity(generateIdentity()),
    socket: nodeSocket,
    cache: new MemoryCache(),
    invite: { token: link.token, name: 'Seeder' },
  });
}

/** Writes `count` sealed messages into each channel through the client core, and waits until stored. */
async function seed(
  server: RunningServer,
  admin: ServerSession,
  channels: Record<string, number>,
): Promise<void> {
  for (const [id, count] of Object.entries(channels)) {
    const c = admin.open(id);
    for (let i = 1; i <= count; i++) await c.send(`history ${id} #${i}${i === count ? ' (newest)' : ''}`);
    // Stored, not only queued: wait until the server holds every entry.
    const deadline = Date.now() + TIMEOUT_MS;
    while ((server.hub.store.fetchBefore(id, Number.MAX_SAFE_INTEGER, 1)[0]?.seq ?? 0) < count) {
      if (Date.now() > deadline) throw new Error(`seeding ${id}: not stored within ${TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function newPage(browser: Browser): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext();
  context.setDefaultTimeout(TIMEOUT_MS);
  await context.addInitScript({ content: 'globalThis.__name ??= (fn) => fn;' });
  const page = await context.newPage();
  return { page, close: () => context.close() };
}

async function joinByInvite(page: Page, link: string, name: string): Promise<number> {
  const t0 = performance.now();
  await page.goto(link);
  await page.getByLabel('Your display name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.getByRole('button', { name: /^Open / }).click();
  await page.getByRole('log').getByText('(newest)').waitFor();
  return performance.now() - t0;
}

async function bareConnect(page: Page, url: string): Promise<number> {
  const t0 = performance.now();
  await page.goto(url);
  await page.evaluate(
    (ws) =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(ws);
        socket.onopen = () => {
          socket.close();
          resolve();
        };
        socket.onerror = () => reject(new Error('bare WebSocket failed'));
      }),
    `${url.replace('http', 'ws')}/ws`,
  );
  return performance.now() - t0;
}

async function openChannel(page: Page, id: string): Promise<{ ms: number; heap: number }> {
  const t0 = performance.now();
  await page.locator(`tc-channel-list button.channel[data-id="${id}"]`).click();
  await page.getByRole('log').getByText(`history ${id} #`).last().waitFor();
  await page.getByRole('log').getByText('(newest)').waitFor();
  const ms = performance.now() - t0;
  const heap = await page.evaluate(
    () => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0,
  );
  return { ms, heap };
}

/**
 * p50/p99 of A→B, interleaved in rounds: sealed messages (`conversation.send`) and bare
 * notes, on the mesh (a trystero action) or through the server (pub/sub). Keys carry
 * `tag`, so rounds on both paths can share B's listeners.
 */
async function delivery(
  a: Page,
  b: Page,
  channel: string,
  path: 'mesh' | 'server',
): Promise<{ sealed: number[]; bare: number[] }> {
  const tag = path === 'mesh' ? 'm' : 's';
  await b.evaluate(
    ([ch, tag, path]) => {
      const app = (document.querySelector('tc-app') as unknown as { app: CoreHandle }).app;
      const s = app.servers.value[0]!;
      const got = new Map<string, number>();
      (globalThis as unknown as { tcGot: Map<string, number> }).tcGot = got;
      const seen = new Set<string>();
      const at = () => performance.timeOrigin + performance.now();
      s.conversation(ch).messages.subscribe((list) => {
        for (const m of list) {
          if (seen.has(m.text)) continue;
          seen.add(m.text);
          if (m.text.startsWith(`lat ${tag}`)) got.set(m.text, at());
        }
      });
      if (path === 'mesh') {
        s.meshes!.mesh(ch)!.makeAction('bench').onMessage = (d) => {
          if (typeof d === 'string') got.set(d, at());
        };
      } else {
        s.conn.subscribe(['bench'], ch);
        s.conn.on('publish', (m) => {
          if (m.topic === 'bench' && typeof m.data === 'string') got.set(m.data, at());
        });
      }
    },
    [channel, tag, path] as const,
  );
  if (path === 'server')
    await a.evaluate((ch) => {
      const s = (document.querySelector('tc-app') as unknown as { app: CoreHandle }).app.servers.value[0]!;
      s.conn.subscribe(['bench'], ch);
    }, channel);
  const sent = new Map<string, number>();
  for (let i = 0; i < DELIVERIES; i++) {
    const stamp = await a.evaluate(
      async ([ch, i, tag, path]) => {
        const s = (document.querySelector('tc-app') as unknown as { app: CoreHandle }).app.servers.value[0]!;
        const bareAt = performance.timeOrigin + performance.now();
        if (path === 'mesh') await s.meshes!.mesh(ch)!.makeAction('bench').send(`bare ${tag}${i}`);
        else s.conn.publish('bench', `bare ${tag}${i}`, ch);
        await new Promise((r) => setTimeout(r, 10));
        const sealedAt = performance.timeOrigin + performance.now();
        await s.conversation(ch).send(`lat ${tag}${i}`);
        return [bareAt, sealedAt] as const;
      },
      [channel, i, tag, path] as const,
    );
    sent.set(`bare ${tag}${i}`, stamp[0]);
    sent.set(`lat ${tag}${i}`, stamp[1]);
    await new Promise((r) => setTimeout(r, 20)); // a fixed, light offered rate
  }
  const deadline = Date.now() + TIMEOUT_MS;
  let got: Record<string, number> = {};
  while (Date.now() < deadline) {
    got = await b.evaluate(() =>
      Object.fromEntries((globalThis as unknown as { tcGot: Map<string, number> }).tcGot),
    );
    if (Object.keys(got).length >= 2 * DELIVERIES) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const sealed: number[] = [];
  const bare: number[] = [];
  for (const [key, at] of sent) {
    const recv = got[key];
    if (recv === undefined) throw new Error(`delivery (${path}): ${key} never reached B`);
    (key.startsWith('lat') ? sealed : bare).push(recv - at);
  }
  return { sealed, bare };
}

/** Waits until `page` has `count` verified peers in the mesh of `channel`. */
async function meshReady(page: Page, channel: string, count: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const n = await page.evaluate(
      (ch) =>
        (
          document.querySelector('tc-app') as unknown as { app: CoreHandle }
        ).app.servers.value[0]!.meshes?.peers(ch).length ?? 0,
      channel,
    );
    if (n >= count) return;
    if (Date.now() > deadline) throw new Error(`the mesh of ${channel} has ${n} peers, not ${count}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const bench: Bench = async (log = () => undefined) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tincan-bench-app-'));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    overrides: overrides(),
    log: { info: () => undefined, warn: () => undefined },
  });
  const browser = await chromium.launch({
    executablePath: process.env.CHROME_PATH ?? chromiumConfig.executablePath,
    headless: true,
    args: chromiumConfig.args,
  });
  let admin: ServerSession | undefined;
  try {
    const general = server.hub.channels.list().find((c) => c.kind === 'text')!.id;
    const seeded = Date.now();
    admin = await connectAdmin(server);
    const big = await admin.createChannel('big', 'text');
    await seed(server, admin, { [general]: SMALL, [big]: BIG });
    log(`seeded ${SMALL} + ${BIG} sealed messages through the client core in ${Date.now() - seeded} ms`);

    const joins: number[] = [];
    const bares: number[] = [];
    const opensBig: number[] = [];
    const opensSmall: number[] = [];
    const heaps: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const link = await admin.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 });
      const base = await newPage(browser);
      bares.push(await bareConnect(base.page, server.url));
      await base.close();
      const p = await newPage(browser);
      joins.push(await joinByInvite(p.page, link, `Joiner ${i}`));
      const b = await openChannel(p.page, big);
      opensBig.push(b.ms);
      heaps.push(b.heap);
      opensSmall.push((await openChannel(p.page, general)).ms);
      await p.close();
    }
    log(
      `join ms: ${joins.map((v) => v.toFixed(0)).join(' ')}; bare ${bares.map((v) => v.toFixed(0)).join(' ')}`,
    );
    log(
      `open ${BIG} ms: ${opensBig.map((v) => v.toFixed(0)).join(' ')}; ${SMALL}: ${opensSmall.map((v) => v.toFixed(0)).join(' ')}`,
    );

    const [a, b] = [await newPage(browser), await newPage(browser)];
    await joinByInvite(
      a.page,
      await admin.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 }),
      'A',
    );
    await joinByInvite(
      b.page,
      await admin.createInvite({ role: 'member', expiresIn: 3600, maxUses: 1 }),
      'B',
    );
    await meshReady(a.page, general, 1);
    await meshReady(b.page, general, 1);
    const m = await delivery(a.page, b.page, general, 'mesh');
    await a.page.evaluate(() =>
      (
        document.querySelector('tc-app') as unknown as { app: CoreHandle }
      ).app.servers.value[0]!.meshes?.closeAll(),
    );
    const d = await delivery(a.page, b.page, general, 'server');
    await a.close();
    await b.close();

    const figures: Figure[] = [
      figure(
        `invite → channel with ${SMALL} messages, median of ${RUNS}`,
        median(joins),
        'ms',
        'page + bare WebSocket',
        median(bares),
      ),
      figure(
        `invite → channel with ${SMALL} messages, p90`,
        percentile(joins, 90),
        'ms',
        'page + bare WebSocket',
        percentile(bares, 90),
      ),
      figure(
        `open a channel of ${BIG} messages (no cache), median`,
        median(opensBig),
        'ms',
        `${SMALL} messages`,
        median(opensSmall),
      ),
      figure(
        `open a channel of ${BIG} messages (no cache), p90`,
        percentile(opensBig, 90),
        'ms',
        `${SMALL} messages`,
        percentile(opensSmall, 90),
      ),
      {
        name: `JS heap of the tab with ${BIG} messages open, median`,
        value: median(heaps) / (1 << 20),
        unit: 'MiB',
      },
      figure(
        `delivery A→B over the mesh, sealed, p50`,
        median(m.sealed),
        'ms',
        'bare data-channel note',
        median(m.bare),
      ),
      figure(
        `delivery A→B over the mesh, sealed, p99`,
        percentile(m.sealed, 99),
        'ms',
        'bare data-channel note',
        percentile(m.bare, 99),
      ),
      figure(
        `delivery A→B via the server, sealed, p50`,
        median(d.sealed),
        'ms',
        'bare pub/sub note',
        median(d.bare),
      ),
      figure(
        `delivery A→B via the server, sealed, p99`,
        percentile(d.sealed, 99),
        'ms',
        'bare pub/sub note',
        percentile(d.bare, 99),
      ),
    ];
    return figures;
  } finally {
    admin?.close();
    await browser.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
};

export default bench;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { formatFigure } = await import('./figure.ts');
  for (const f of await bench(console.log)) console.log(formatFigure(f));
}
