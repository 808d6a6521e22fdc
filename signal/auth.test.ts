/** Authentication against a real server: each refusal is the one opaque AUTH_FAILED (close 4401). */
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { toBase64url } from '../crypto/bytes.ts';
import { generateIdentity, userIdOf } from '../crypto/identity.ts';
import { rawSigner, signStatement } from '../crypto/sign.ts';
import { AUTH_CONTEXT, authFields } from '../protocol/auth.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { connect, member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import { eventually } from '../web/core/testing.ts';

/** A raw client: resolves the hello, lets the test send any frame, and reports the close code. */
async function raw(t: TestServer): Promise<{
  hello: Record<string, unknown>;
  send: (data: unknown) => void;
  closed: Promise<number>;
  messages: Record<string, unknown>[];
}> {
  const ws = new WebSocket(t.wsUrl);
  const messages: Record<string, unknown>[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    ws.once('error', reject);
  });
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  return { hello, send: (d) => ws.send(typeof d === 'string' ? d : JSON.stringify(d)), closed, messages };
}

async function answer(
  identity: ReturnType<typeof generateIdentity>,
  server: string,
  nonce: string,
  time: number,
) {
  const key = userIdOf(identity.publicKey);
  const sig = await signStatement(
    rawSigner(identity.secretKey),
    AUTH_CONTEXT,
    authFields({ serverId: server, nonce, time, key }),
  );
  return { type: 'auth', v: 1, key, time, sig: toBase64url(sig) };
}

describe('authentication', () => {
  const alice = member(['member'], 'alice');
  const banned = member(['member'], 'mallory');
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ authorizedKeys: `# test keys\n${alice.line}${banned.line}` });
    t.server.hub.store.ban(banned.key, { by: 'test', reason: 'test' });
  });
  after(() => t.close());

  it('admits an allowlisted key with a welcome naming its roles', async () => {
    const c = await connect(t, alice.identity);
    assert.equal(c.welcome.user.key, alice.key);
    assert.deepEqual(c.welcome.user.roles, ['member']);
    assert.equal(c.welcome.server.id, t.server.identity.id);
    assert.ok(c.welcome.user.permissions.includes('send'));
    c.close();
  });

  it('lets one identity hold several sessions', async () => {
    const [a, b] = await Promise.all([connect(t, alice.identity), connect(t, alice.identity)]);
    assert.notEqual(a.welcome.session, b.welcome.session);
    a.close();
    b.close();
  });

  it('refuses an unknown key', async () => {
    await assert.rejects(connect(t, generateIdentity()), (e: ProtocolError) => e.code === 'AUTH_FAILED');
    assert.ok(
      t.logs.some((l) => l.includes('unknown key')),
      'the log says why',
    );
  });

  it('refuses a banned key', async () => {
    await assert.rejects(connect(t, banned.identity), (e: ProtocolError) => e.code === 'AUTH_FAILED');
    assert.ok(t.logs.some((l) => l.includes('(banned)')));
  });

  it('refuses an answer replayed on another connection', async () => {
    const first = await raw(t);
    const captured = await answer(
      alice.identity,
      String(first.hello.server),
      String(first.hello.nonce),
      Date.now(),
    );
    first.send(captured);
    await eventually(() =>
      assert.equal(first.messages[0]?.type, 'welcome', 'the answer on its own connection is welcomed'),
    );
    const second = await raw(t);
    second.send(captured);
    assert.equal(await second.closed, 4401);
    assert.equal(second.messages[0]?.code, 'AUTH_FAILED');
  });

  it('refuses a stale time', async () => {
    const c = await raw(t);
    c.send(
      await answer(alice.identity, String(c.hello.server), String(c.hello.nonce), Date.now() - 10 * 60_000),
    );
    assert.equal(await c.closed, 4401);
    assert.ok(t.logs.some((l) => l.includes('stale time')));
  });

  it('refuses a signature over another server id', async () => {
    const other = userIdOf(generateIdentity().publicKey);
    const c = await raw(t);
    c.send(await answer(alice.identity, other, String(c.hello.nonce), Date.now()));
    assert.equal(await c.closed, 4401);
    assert.ok(t.logs.some((l) => l.includes('bad signature')));
  });

  it('refuses anything but an auth answer before authentication', async () => {
    for (const frame of [
      'not json',
      '{"type":"ping"}',
      '{"type":"auth"}',
      JSON.stringify({ type: 'auth', v: 1, key: 'x', time: 1, sig: 'y' }),
    ]) {
      const c = await raw(t);
      c.send(frame);
      assert.equal(await c.closed, 4401, `frame ${frame} should close with 4401`);
    }
  });

  it('refuses a wrong protocol version with UNSUPPORTED_VERSION', async () => {
    const c = await raw(t);
    const a = await answer(alice.identity, String(c.hello.server), String(c.hello.nonce), Date.now());
    c.send({ ...a, v: 99 });
    assert.equal(await c.closed, 4426);
  });

  it('closes a connection that never answers (TIMEOUT)', async () => {
    const t2 = await startTestServer({ overrides: { authTimeoutMs: 200 } });
    try {
      const c = await raw(t2);
      assert.equal(await c.closed, 4002);
    } finally {
      await t2.close();
    }
  });
});

describe('proof of work', () => {
  it('asks for work when configured, accepts a solution and refuses none', async () => {
    const alice = member(['member']);
    const t = await startTestServer({ authorizedKeys: alice.line, overrides: { powDifficulty: 10 } });
    try {
      const c = await connect(t, alice.identity); // the client solves the challenge
      assert.equal(c.welcome.user.key, alice.key);
      c.close();
      const r = await raw(t);
      assert.equal((r.hello.pow as { difficulty: number }).difficulty, 10);
      r.send(await answer(alice.identity, String(r.hello.server), String(r.hello.nonce), Date.now()));
      assert.equal(await r.closed, 4402);
    } finally {
      await t.close();
    }
  });
});
