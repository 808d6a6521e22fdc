/**
 * TURN credentials against real coturn: what the tincan server hands a member in
 * `turn.credentials` is accepted by `turnserver` running with `use-auth-secret` and
 * the same secret, proven by coturn's own client relaying data both ways; expired
 * credentials (a valid HMAC over a past expiry) and a wrong password are refused.
 * Skipped, with a message, when coturn is not installed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Coturn, coturnMissing, startCoturn, uclient } from '../test/helpers/coturn.ts';
import { connect, member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import type { SignalClient } from '../web/net/signal-client.ts';
import { type IceServer, mintTurnCredentials, turnPassword } from './turn.ts';

const SECRET = 'coturn-test-secret-0123456789abcdef';
const TTL_SECONDS = 600;
const bob = member(['member'], 'bob');

/** The TURN entry of an iceServers list, checked field by field (the reply is JSON). */
function turnEntry(iceServers: unknown): { urls: string[]; username: string; credential: string } {
  assert.ok(
    Array.isArray(iceServers),
    `expected iceServers to be an array, got ${JSON.stringify(iceServers)}`,
  );
  const entry = (iceServers as IceServer[]).find((s) => s.urls.some((u) => u.startsWith('turn:')));
  assert.ok(entry, `expected a turn: entry in ${JSON.stringify(iceServers)}`);
  assert.equal(typeof entry.username, 'string', 'username');
  assert.equal(typeof entry.credential, 'string', 'credential');
  return { urls: entry.urls, username: entry.username!, credential: entry.credential! };
}

describe('TURN credentials with real coturn', { skip: coturnMissing() }, () => {
  let coturn: Coturn;
  let t: TestServer;
  let client: SignalClient;

  before(async () => {
    coturn = await startCoturn({ secret: SECRET });
    t = await startTestServer({
      authorizedKeys: bob.line,
      overrides: { turn: { secret: SECRET, urls: [coturn.url('udp')], ttlSeconds: TTL_SECONDS } },
    });
    client = await connect(t, bob.identity);
  });
  after(async () => {
    client?.close();
    await t?.close();
    await coturn?.stop();
  });

  /** coturn's log for a refused user, so a failure shows what coturn said. */
  const logFor = (username: string) => coturn.logs.filter((l) => l.includes(username)).join('\n');

  it('accepts the credentials a member gets from turn.credentials: data flows through the relays', async () => {
    const before = Math.floor(Date.now() / 1000);
    const reply = await client.request('turn.credentials');
    const turn = turnEntry(reply.iceServers);
    assert.deepEqual(turn.urls, [coturn.url('udp')]);
    assert.ok(turn.username.endsWith(`:${bob.key}`), `username is <expiry>:<user id>, got ${turn.username}`);
    const expiry = Number(turn.username.split(':')[0]);
    assert.equal(reply.expiresAt, expiry, 'expiresAt matches the expiry in the username');
    assert.ok(
      expiry >= before + TTL_SECONDS && expiry <= before + TTL_SECONDS + 5,
      `expiry ${expiry} should be about now + ${TTL_SECONDS}`,
    );

    const result = await uclient({ port: coturn.port, username: turn.username, password: turn.credential });
    assert.equal(
      result.status,
      0,
      `expected turnutils_uclient to succeed\n${result.output.slice(-1500)}\n${logFor(turn.username)}`,
    );
    assert.ok(result.sent > 0, `expected messages sent through the relay\n${result.output.slice(-800)}`);
    assert.equal(result.received, result.sent, 'every message sent through one relay arrived at the other');
  });

  it('refuses expired credentials (valid HMAC, expiry in the past)', async () => {
    const expired = turnEntry(
      mintTurnCredentials(
        { secret: SECRET, urls: [coturn.url('udp')], ttlSeconds: TTL_SECONDS },
        bob.key,
        Date.now() - 3600_000,
      ).iceServers,
    );
    assert.equal(expired.credential, turnPassword(SECRET, expired.username), 'the HMAC itself is right');
    const result = await uclient({
      port: coturn.port,
      username: expired.username,
      password: expired.credential,
    });
    assert.notEqual(result.status, 0, `expected the allocation to be refused\n${result.output.slice(-800)}`);
    assert.equal(result.received, 0, 'nothing relayed');
    assert.match(logFor(expired.username), /Cannot find credentials of user/, 'coturn says why');
  });

  it('refuses a wrong password (HMAC under another secret)', async () => {
    const reply = await client.request('turn.credentials');
    const { username } = turnEntry(reply.iceServers);
    const result = await uclient({
      port: coturn.port,
      username,
      password: turnPassword('some-other-secret-0123456789', username),
    });
    assert.notEqual(result.status, 0, `expected the allocation to be refused\n${result.output.slice(-800)}`);
    assert.equal(result.received, 0, 'nothing relayed');
  });
});
