/**
 * A stock y-webrtc client (the npm package, unmodified) against a tincan server, in
 * real Chromium: two browser contexts each run a Y.Doc with a `WebrtcProvider` whose
 * only signaling server is tincan's `/ws?ticket=…`, each with its own ticket minted by
 * an authenticated member over the tincan protocol. An edit on one side appears on the
 * other, carried by WebRTC between the browsers (y-webrtc sends document updates only
 * over its peer connections and BroadcastChannel, and separate contexts share no
 * BroadcastChannel). The page is this test's own bundle (fixtures/y-webrtc-page.ts),
 * served on a route at the server's origin under the server's production CSP.
 *
 * Without a browser: a bogus ticket is refused with HTTP 401 before the upgrade, and a
 * ticket session cannot subscribe or publish outside its room, nor send requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { rawSigner } from '../../crypto/sign.ts';
import { CONTENT_SECURITY_POLICY } from '../../signal/static.ts';
import { SignalClient } from '../../web/net/signal-client.ts';
import { type E2ESession, e2eSession, STEP_TIMEOUT_MS, within } from '../helpers/e2e.ts';
import { member, nextMessage, nodeSocket } from '../helpers/signal.ts';
import type { YWebrtcHarness, YWebrtcStatus } from './fixtures/y-webrtc-page.ts';

const PAGE_PATH = '/__e2e/y-webrtc.html';
const SCRIPT_PATH = '/__e2e/y-webrtc.js';
const PAGE_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>y-webrtc e2e</title>
<script type="module" src="${SCRIPT_PATH}"></script></head><body></body></html>`;
/** The y-webrtc room (its pub/sub topic); the tincan room is the ticket's channel. */
const Y_ROOM = 'tincan-e2e-doc';

const alice = member(['member'], 'alice');
const bob = member(['member'], 'bob');
const carol = member(['member'], 'carol');

/** Bundles the page entry in memory (nothing written into the repo or dist/). */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./fixtures/y-webrtc-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  assert.ok(out, 'esbuild produced no output');
  return out.text;
}

const harnessOf = (page: Page) => ({
  start: (signaling: string, room: string) =>
    page.evaluate(
      ([s, r]) => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.start(s, r),
      [signaling, room] as const,
    ),
  append: (text: string) =>
    page.evaluate((t) => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.append(t), text),
  waitForText: (text: string) =>
    page.evaluate(
      (t) => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.waitForText(t),
      text,
    ),
  waitForPeer: () =>
    page.evaluate(() => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.waitForPeer()),
  status: (): Promise<YWebrtcStatus> =>
    page.evaluate(() => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.status()),
  selectedPair: () =>
    page.evaluate(() => (globalThis as unknown as { tcYWebrtc: YWebrtcHarness }).tcYWebrtc.selectedPair()),
});

/** A plain WebSocket speaking only the y-webrtc protocol, as a stock client would. */
interface RawSocket {
  ws: WebSocket;
  received: Record<string, unknown>[];
  send(message: Record<string, unknown>): void;
  next(
    what: string,
    match: (m: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
}

function openRaw(url: string): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const received: Record<string, unknown>[] = [];
    const waiters = new Set<() => void>();
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`expected ${url} to open within ${STEP_TIMEOUT_MS} ms`));
    }, STEP_TIMEOUT_MS);
    ws.on('message', (data) => {
      received.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const w of waiters) w();
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`expected the upgrade to succeed, got HTTP ${res.statusCode}`));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({
        ws,
        received,
        send: (message) => ws.send(JSON.stringify(message)),
        next: (what, match, ms = 5000) =>
          new Promise((res, rej) => {
            const check = () => {
              const hit = received.find(match);
              if (!hit) return;
              waiters.delete(check);
              clearTimeout(t);
              res(hit);
            };
            const t = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`expected ${what} within ${ms} ms; got ${JSON.stringify(received)}`));
            }, ms);
            waiters.add(check);
            check();
          }),
      });
    });
  });
}

/** The HTTP status a WebSocket upgrade to `url` is answered with (101 when it opens). */
function upgradeStatus(url: string): Promise<number> {
  return within(
    STEP_TIMEOUT_MS,
    `an answer to the upgrade of ${url}`,
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => {
        resolve(101);
        ws.close();
      });
      ws.once('error', (error) => reject(error));
    }),
  );
}

describe('y-webrtc through a tincan server', () => {
  let session: E2ESession;
  let wsUrl: string;
  let bundled = '';
  const clients: SignalClient[] = [];
  const raws: RawSocket[] = [];

  const open = async (m: typeof alice): Promise<SignalClient> => {
    const client = await SignalClient.connect({
      url: wsUrl,
      signer: rawSigner(m.identity.secretKey),
      socket: nodeSocket,
    });
    clients.push(client);
    return client;
  };
  const channel = (kind: 'text' | 'voice'): string => {
    const found = session.server.hub.channels.list().find((c) => c.kind === kind);
    assert.ok(found, `expected a seeded ${kind} channel`);
    return found.id;
  };
  const ticketFor = async (client: SignalClient, room: string): Promise<string> => {
    const reply = await client.request('ticket.create', { room });
    assert.equal(
      typeof reply.ticket,
      'string',
      `ticket.create answers a ticket, got ${JSON.stringify(reply)}`,
    );
    return String(reply.ticket);
  };

  before(async () => {
    const started = performance.now();
    const script = await bundlePage();
    bundled = `page bundled in ${(performance.now() - started).toFixed(0)} ms (${(script.length / 1024).toFixed(0)} KiB)`;
    session = await e2eSession({
      peers: 2,
      path: PAGE_PATH,
      authorizedKeys: alice.line + bob.line + carol.line,
      setupContext: async (context) => {
        // A document fulfilled by Playwright has no IP address space, so Chromium's Local
        // Network Access checks take it for a public page and block its WebSocket to
        // 127.0.0.1 (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS). A page the server
        // itself serves needs no such grant; this one stands in for it.
        await context.grantPermissions(['local-network-access']);
        await context.route('**/__e2e/*', (route) => {
          const { pathname } = new URL(route.request().url());
          const [body, contentType] =
            pathname === PAGE_PATH
              ? [PAGE_HTML, 'text/html; charset=utf-8']
              : pathname === SCRIPT_PATH
                ? [script, 'text/javascript; charset=utf-8']
                : [undefined, ''];
          if (body === undefined) return route.fulfill({ status: 404 });
          // The production CSP: a stock y-webrtc page must work under it too.
          return route.fulfill({
            status: 200,
            contentType,
            body,
            headers: { 'Content-Security-Policy': CONTENT_SECURITY_POLICY },
          });
        });
      },
    });
    wsUrl = `${session.url.replace('http', 'ws')}/ws`;
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const r of raws) r.ws.terminate();
    await session?.close();
  });

  it('syncs a Y.Text edit between two browsers: tincan signaling, WebRTC data', async (t) => {
    const [pa, pb] = session.peers;
    assert.ok(pa && pb, 'expected two peers');
    const room = channel('text');
    const [ta, tb] = [await ticketFor(await open(alice), room), await ticketFor(await open(bob), room)];
    const a = harnessOf(pa.page);
    const b = harnessOf(pb.page);
    const status = async () => {
      const both = await within(2_000, 'the pages to report', Promise.all([a.status(), b.status()])).catch(
        (error: unknown) => String(error),
      );
      return JSON.stringify(both);
    };
    const step = async <T>(what: string, work: Promise<T>): Promise<T> => {
      try {
        return await within(STEP_TIMEOUT_MS, what, work);
      } catch (error) {
        await session.screenshot('y-webrtc-failed').catch(() => undefined);
        throw new Error(`${(error as Error).message} (status: ${await status()})`, { cause: error });
      }
    };

    const started = performance.now();
    await a.start(`${wsUrl}?ticket=${ta}`, Y_ROOM);
    await b.start(`${wsUrl}?ticket=${tb}`, Y_ROOM);
    await step(
      'a WebRTC connection between the two y-webrtc peers',
      Promise.all([a.waitForPeer(), b.waitForPeer()]),
    );
    const connectedMs = performance.now() - started;

    await a.append('hello from alice');
    assert.match(
      await step('alice’s edit to reach bob', b.waitForText('hello from alice')),
      /hello from alice/,
    );
    await b.append(' | hello from bob');
    const atAlice = await step('bob’s edit to reach alice', a.waitForText('hello from bob'));
    assert.equal(atAlice, 'hello from alice | hello from bob');
    const syncedMs = performance.now() - started;

    const [sa, sb] = [await a.status(), await b.status()];
    for (const [name, s] of [
      ['alice', sa],
      ['bob', sb],
    ] as const) {
      assert.ok(s.signalingConnected, `${name}: y-webrtc's signaling socket to tincan is open`);
      assert.equal(s.bcPeers, 0, `${name}: no BroadcastChannel peer, so the update came over WebRTC`);
      assert.ok(
        s.webrtcPeers.some((p) => p.connected),
        `${name}: a connected WebRTC peer, got ${JSON.stringify(s.webrtcPeers)}`,
      );
      assert.equal(s.text, 'hello from alice | hello from bob', `${name}: converged text`);
    }
    // Both signaling sockets are ticket sessions pinned to the channel's room.
    const ticketSessions = [...session.server.hub.sessions].filter((s) => s.ticketRoom === room);
    assert.deepEqual(
      ticketSessions.map((s) => s.user?.key).sort(),
      [alice.key, bob.key].sort(),
      'the server holds one ticket session per browser, as the minting member',
    );
    const pair = await step('the selected ICE pair', a.selectedPair());
    assert.ok(pair, 'alice: a selected candidate pair');
    assert.equal(
      pair.local.type,
      'host',
      `a direct link (no ICE servers given), got ${JSON.stringify(pair)}`,
    );
    assert.deepEqual([...pa.errors, ...pb.errors], [], 'no page errors (CSP violations included)');
    t.diagnostic(
      `alice ${pair.local.type} ${pair.local.address} ⇄ ${pair.remote.type} ${pair.remote.address} (${pair.local.protocol}); ` +
        `WebRTC up after ${connectedMs.toFixed(0)} ms, both edits synced after ${syncedMs.toFixed(0)} ms; ${bundled}`,
    );
  });

  it('refuses a bogus or empty ticket with HTTP 401 before the upgrade', async () => {
    assert.equal(await upgradeStatus(`${wsUrl}?ticket=bogus`), 401);
    assert.equal(await upgradeStatus(`${wsUrl}?ticket=`), 401);
  });

  it('keeps a ticket session in its room: no subscribe, publish or request outside it', async () => {
    const ticketRoom = channel('text');
    const otherRoom = channel('voice');
    const observer = await open(carol);
    // `leak` is watched in the other room only; `mark` in the ticket's room only.
    observer.subscribe(['leak'], otherRoom);
    observer.subscribe(['mark'], ticketRoom);
    const raw = await openRaw(`${wsUrl}?ticket=${await ticketFor(await open(alice), ticketRoom)}`);
    raws.push(raw);
    const observed: Record<string, unknown>[] = [];
    observer.on('publish', (m) => observed.push(m));

    const isError = (m: Record<string, unknown>) => m.type === 'error' && m.code === 'NOT_ALLOWED';
    raw.send({ type: 'publish', topic: 'leak', room: otherRoom, data: { n: 1 } });
    await raw.next('NOT_ALLOWED for a publish into another room', isError);
    raw.received.length = 0;
    raw.send({ type: 'subscribe', topics: ['leak'], room: otherRoom });
    await raw.next('NOT_ALLOWED for a subscribe in another room', isError);
    raw.received.length = 0;
    raw.send({ type: 'turn.credentials', ref: 7 });
    const refused = await raw.next('NOT_ALLOWED for a request', isError);
    assert.equal(refused.ref, 7, 'the refusal answers the request');

    // In its own room (no `room` field, as y-webrtc sends) the same session is heard.
    const marked = nextMessage(observer, 'publish', (m) => m.topic === 'mark');
    raw.send({ type: 'publish', topic: 'mark', data: { n: 2 } });
    assert.deepEqual((await marked).data, { n: 2 });
    // Frames on one socket arrive in order: had the first publish leaked, it would be here.
    assert.deepEqual(
      observed.map((m) => m.topic),
      ['mark'],
      'only the publish inside the ticket room reached the observer',
    );
    // And the session still works after its refused frames: it hears its own room.
    raw.send({ type: 'subscribe', topics: ['back'] });
    raw.send({ type: 'ping' });
    await raw.next('a pong (y-webrtc keep-alive)', (m) => m.type === 'pong');
    observer.publish('back', { n: 3 }, ticketRoom);
    observer.publish('back', { n: 4 }, otherRoom);
    const back = await raw.next('the publish in its room', (m) => m.type === 'publish' && m.topic === 'back');
    assert.deepEqual(back.data, { n: 3 });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(
      raw.received.filter((m) => m.type === 'publish').length,
      1,
      'nothing from the other room reached the ticket session',
    );
  });
});
