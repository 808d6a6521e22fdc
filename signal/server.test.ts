import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { connect, member, nextMessage, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import { type RunningServer, startServer } from './server.ts';

describe('HTTP server', () => {
  let server: RunningServer;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-http-'));
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      log: { info: () => undefined, warn: () => undefined },
    });
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz with ok, version and uptime', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { ok: unknown; version: unknown; uptime: unknown };
    assert.equal(body.ok, true);
    assert.match(String(body.version), /^\d+\.\d+\.\d+/);
    assert.equal(typeof body.uptime, 'number');
  });

  it('serves the web page with a CSP and no-sniff', async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<tc-app>/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const js = await fetch(`${server.url}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
  });

  it('answers 404 for unknown paths and never leaves the web root', async () => {
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/%2e%2e/package.json`)).status, 404);
    assert.equal((await fetch(`${server.url}/..%2fpackage.json`)).status, 404);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const res = await fetch(`${server.url}/healthz`, { method: 'POST' });
    assert.equal(res.status, 405);
  });
});

describe('server lifecycle and metrics', () => {
  it('exposes Prometheus metrics that count connections and rejections', async () => {
    const alice = member(['member']);
    const t = await startTestServer({ authorizedKeys: alice.line });
    try {
      const c = await connect(t, alice.identity);
      await assert.rejects(c.request('channel.create', { name: 'x', kind: 'text' }));
      const text = await (await fetch(`${t.server.url}/metrics`)).text();
      assert.match(text, /^# TYPE tincan_connections gauge$/m);
      assert.match(text, /^tincan_connections 1$/m);
      assert.match(text, /^tincan_rejections_total\{code="NOT_ALLOWED"\} 1$/m);
      assert.match(text, /^tincan_auth_total\{result="ok"\} 1$/m);
      assert.match(text, /^tincan_store_bytes \d+$/m);
      c.close();
    } finally {
      await t.close();
    }
  });

  it('tells clients it is shutting down (4001, retryable) and keeps state for the restart', async () => {
    const alice = member(['member']);
    const t = await startTestServer({ authorizedKeys: alice.line });
    const c = await connect(t, alice.identity);
    const closed = nextMessage(c, 'close');
    await t.server.close();
    assert.equal((await closed).code, 4001);
    await t.close();
  });

  const upgradeStatus = (t: TestServer, path: string, origin?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}${path}`, origin ? { origin } : {});
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        resolve(101);
        ws.close();
      });
      ws.on('error', () => undefined);
    });

  it('lets pages of any origin open /ws by default (one page joins several servers), refuses other paths', async () => {
    const t = await startTestServer();
    try {
      assert.equal(
        await upgradeStatus(t, '/ws', 'https://other-tincan.example'),
        101,
        'a foreign origin is let in',
      );
      assert.equal(await upgradeStatus(t, '/ws', 'null'), 101, 'a file:// page is let in');
      assert.equal(await upgradeStatus(t, '/elsewhere'), 404);
      assert.equal(await upgradeStatus(t, '/ws', t.server.url), 101);
    } finally {
      await t.close();
    }
  });

  it('refuses foreign origins when allowed_origins names others', async () => {
    const t = await startTestServer({ overrides: { allowedOrigins: ['https://chat.example.org'] } });
    try {
      assert.equal(await upgradeStatus(t, '/ws', 'https://evil.example'), 403);
      assert.equal(await upgradeStatus(t, '/ws', 'null'), 403);
      assert.equal(await upgradeStatus(t, '/ws', 'https://chat.example.org'), 101);
      assert.equal(await upgradeStatus(t, '/ws', t.server.url), 101, "the server's own origin");
    } finally {
      await t.close();
    }
  });
});
