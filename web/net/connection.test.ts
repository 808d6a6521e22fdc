/** ServerConnection against a real server that goes away and comes back on the same port and data dir. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { rawSigner } from '../../crypto/sign.ts';
import { member, nodeSocket, startTestServer, type TestServer } from '../../test/helpers/signal.ts';
import { type ConnectionState, ServerConnection } from './connection.ts';
import { ReconnectPolicy } from './reconnect.ts';

function waitFor(
  conn: ServerConnection,
  status: ConnectionState['status'],
  ms = 5000,
): Promise<ConnectionState> {
  if (conn.state.status === status) return Promise.resolve(conn.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`expected state ${status} within ${ms} ms, still ${conn.state.status}`)),
      ms,
    );
    const off = conn.onState((s) => {
      if (s.status !== status) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

describe('ServerConnection', () => {
  const alice = member(['member'], 'alice');
  let dataDir: string;
  let t: TestServer;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tincan-conn-'));
    t = await startTestServer({ dataDir, authorizedKeys: alice.line });
  });
  after(async () => {
    await t.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('reconnects after the server restarts and sends what was written offline exactly once', async () => {
    const port = t.server.port;
    const conn = new ServerConnection(
      { url: t.wsUrl, signer: rawSigner(alice.identity.secretKey), socket: nodeSocket },
      new ReconnectPolicy({ baseMs: 50, maxMs: 200 }),
    ).start();
    await waitFor(conn, 'online');
    const channel = t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
    await t.server.close();
    const reconnecting = await waitFor(conn, 'reconnecting');
    assert.ok(
      reconnecting.status === 'reconnecting' && reconnecting.nextAt > 0,
      'the next try time is known',
    );

    // Written while the server is down: queued.
    const ids = [0, 1, 2].map(() => toBase64url(randomBytes(16)));
    const pending = ids.map((id) =>
      conn.enqueue('log.append', { log: channel, kind: 'update', blob: 'AAAA', id }),
    );
    assert.equal(conn.queued, 3);

    const { startServer } = await import('../../signal/server.ts');
    const restarted = await startServer({
      host: '127.0.0.1',
      port,
      dataDir,
      log: { info: () => {}, warn: () => {} },
    });
    try {
      await waitFor(conn, 'online', 10_000);
      const replies = await Promise.all(pending);
      assert.equal(new Set(replies.map((r) => r.seq)).size, 3, 'three entries stored');
      const stored = restarted.hub.store.fetchAfter(channel, 0, 100).filter((e) => ids.includes(e.id ?? ''));
      assert.equal(stored.length, 3, 'each exactly once');
      conn.close();
    } finally {
      await restarted.close();
      t = await startTestServer({ dataDir, authorizedKeys: alice.line });
    }
  });

  it('goes offline, without retrying, when the key is not allowed', async () => {
    const stranger = member(['member']);
    const conn = new ServerConnection({
      url: t.wsUrl,
      signer: rawSigner(stranger.identity.secretKey),
      socket: nodeSocket,
    }).start();
    const state = await waitFor(conn, 'offline');
    assert.equal(state.status === 'offline' && state.code, 'AUTH_FAILED');
    conn.close();
  });

  it('notices a link that went silent (no pong) without waiting for the socket, and reconnects', async () => {
    const own = await startTestServer({ authorizedKeys: alice.line });
    const conn = new ServerConnection(
      { url: own.wsUrl, signer: rawSigner(alice.identity.secretKey), socket: nodeSocket },
      new ReconnectPolicy({ baseMs: 50, maxMs: 200 }),
      { intervalMs: 200, timeoutMs: 300 },
    ).start();
    try {
      await waitFor(conn, 'online');
      // Healthy: several pings answered, still online.
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(conn.state.status, 'online', 'answered pings keep the connection online');
      // The server stops reading this socket (as a dead link looks): nothing closes it.
      for (const s of own.server.hub.sessions)
        (s.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const silent = Date.now();
      const state = await waitFor(conn, 'reconnecting', 3000);
      const noticedMs = Date.now() - silent;
      assert.ok(
        state.status === 'reconnecting' && state.lastError === 'no answer from the server',
        `reconnecting because no pong came, got ${JSON.stringify(state)}`,
      );
      assert.ok(
        noticedMs <= 200 + 300 + 200,
        `noticed within a ping interval and its timeout, took ${noticedMs} ms`,
      );
      await waitFor(conn, 'online', 5000);
    } finally {
      conn.close();
      await own.close();
    }
  });
});
