/**
 * The per-address connection cap on /ws, behind a reverse proxy and without one: a
 * proxy on loopback (the README's setup) is trusted for X-Forwarded-For by default, so
 * its clients are counted one by one instead of all as 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from '../test/helpers/signal.ts';

/** Whether /ws takes a socket claiming to come (through the proxy) from `forwardedFor`. */
function opens(t: TestServer, forwardedFor: string, sockets: WebSocket[]): Promise<boolean | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(t.wsUrl, { headers: { 'x-forwarded-for': forwardedFor } });
    sockets.push(ws);
    ws.once('open', () => resolve(true));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(false));
  });
}

describe('per-address connection cap', () => {
  const servers: TestServer[] = [];
  const sockets: WebSocket[] = [];
  after(async () => {
    for (const ws of sockets) ws.terminate();
    for (const t of servers) await t.close();
  });

  it('counts clients behind a loopback proxy by their forwarded address', async () => {
    const t = await startTestServer({ overrides: { maxConnectionsPerIp: 1 } });
    servers.push(t);
    assert.equal(await opens(t, '203.0.113.1', sockets), true, 'the first client of 203.0.113.1');
    assert.equal(await opens(t, '203.0.113.2', sockets), true, 'another client behind the same proxy');
    assert.equal(await opens(t, '203.0.113.1', sockets), 429, '203.0.113.1 again is past its cap');
  });

  it('believes no header with no trusted proxy: every socket is the proxy’s', async () => {
    const t = await startTestServer({ overrides: { maxConnectionsPerIp: 1, trustedProxies: [] } });
    servers.push(t);
    assert.equal(await opens(t, '203.0.113.1', sockets), true, 'the first socket');
    assert.equal(
      await opens(t, '203.0.113.2', sockets),
      429,
      'the header changes nothing: both are 127.0.0.1',
    );
  });
});
