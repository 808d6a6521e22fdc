import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startServer } from './server.ts';

describe('HTTP server', () => {
  let server: RunningServer;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-http-'));
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir });
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
