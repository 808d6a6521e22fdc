/**
 * Abuse against one real server, each refused with its typed code and counted in
 * `/metrics` (`tincan_rejections_total{code}`), while an honest member keeps being
 * served: an invite brute force (random tokens, refused AUTH_FAILED, and past the
 * per-IP attempt budget refused before the token is read), a banned key coming back with a new session, an oversized file,
 * signaling spam into a room, and a member writing to a DM and a room it is not in.
 * (A peer claiming another's identity in the mesh handshake never reaches the server:
 * the other peers refuse it, test/e2e/mesh.e2e.test.ts (b).)
 */
import assert from 'node:assert/strict';
import { randomBytes, toBase64url } from '../../crypto/bytes.ts';
import { SEALED_CHUNK_SIZE } from '../../crypto/file.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { eventually } from '../../web/core/testing.ts';
import type { SignalClient } from '../../web/net/signal-client.ts';
import { connect, member, startTestServer, type TestServer } from '../helpers/signal.ts';

const codeOf = (e: unknown) => (e as ProtocolError).code;

/** `tincan_rejections_total` by code, scraped from the server's `/metrics`. */
async function rejections(t: TestServer): Promise<Record<string, number>> {
  const text = await (await fetch(`${t.server.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^tincan_rejections_total\{code="([A-Z_]+)"\} (\d+)$/gm))
    out[m[1]!] = Number(m[2]);
  return out;
}

async function rose(
  t: TestServer,
  before: Record<string, number>,
  code: string,
  atLeast: number,
): Promise<void> {
  const after = await rejections(t);
  const by = (after[code] ?? 0) - (before[code] ?? 0);
  assert.ok(by >= atLeast, `/metrics should count ≥ ${atLeast} more ${code} rejections, counted ${by}`);
}

describe('abuse is refused, typed, and counted, and honest members are still served', () => {
  const alice = member(['member'], 'alice');
  const bob = member(['member'], 'bob');
  const carol = member(['member'], 'carol');
  const mallory = member(['member'], 'mallory');
  let t: TestServer;
  let honest: SignalClient;
  let channel: string;

  before(async () => {
    t = await startTestServer({
      authorizedKeys: alice.line + bob.line + carol.line + mallory.line,
      overrides: { maxUploadBytes: 256 * 1024 },
    });
    channel = t.server.hub.channels.list().find((c) => c.kind === 'text')!.id;
    honest = await connect(t, alice.identity);
  });
  after(async () => {
    honest.close();
    await t.close();
  });

  const stillServed = async () => {
    const reply = await honest.request('log.fetch', { log: channel, after: 0, limit: 10 });
    assert.ok(Array.isArray(reply.entries), 'the honest member is still served');
  };

  it('an invite brute force: every guess refused, then the address’s attempt budget is spent', async () => {
    const before = await rejections(t);
    const codes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const guess = toBase64url(randomBytes(140));
      await connect(t, generateIdentity(), { invite: guess, name: `guess ${i}` }).then(
        (c) => {
          c.close();
          codes.push('ADMITTED');
        },
        (e) => codes.push(codeOf(e)),
      );
    }
    assert.ok(!codes.includes('ADMITTED'), 'no random token admits anyone');
    assert.deepEqual(
      [...new Set(codes)],
      ['AUTH_FAILED'],
      'every guess is AUTH_FAILED (the reason stays in the log)',
    );
    assert.ok(
      t.logs.some((l) => l.includes('attempt budget of the address spent')),
      'past the per-IP burst, guesses are refused before their token is even read',
    );
    await rose(t, before, 'AUTH_FAILED', 40);
    await stillServed();
    // The bucket refills (5/s): a member from the same IP gets in again soon after.
    await new Promise((r) => setTimeout(r, 2_500));
    const back = await connect(t, bob.identity);
    back.close();
  });

  it('a banned key is refused with a new session, and counted', async () => {
    const before = await rejections(t);
    const m = await connect(t, mallory.identity);
    t.server.hub.store.ban(mallory.key, { by: 'test', reason: 'abuse' });
    t.server.hub.disconnectUser(mallory.key, 'BANNED', 'abuse');
    m.close();
    await assert.rejects(
      connect(t, mallory.identity),
      (e) => codeOf(e) === 'AUTH_FAILED',
      'banned: AUTH_FAILED',
    );
    await rose(t, before, 'AUTH_FAILED', 1);
    await stillServed();
  });

  it('an oversized file is refused with TOO_LARGE before it is stored', async () => {
    const before = await rejections(t);
    const c = await connect(t, carol.identity);
    const count = Math.ceil((512 * 1024) / SEALED_CHUNK_SIZE) + 1;
    await assert.rejects(
      c.request('blob.put', {
        log: channel,
        file: toBase64url(randomBytes(16)),
        index: 0,
        count,
        data: toBase64url(randomBytes(SEALED_CHUNK_SIZE)),
      }),
      (e) => codeOf(e) === 'TOO_LARGE',
      'a 512 KiB file on a 256 KiB limit is TOO_LARGE',
    );
    c.close();
    await rose(t, before, 'TOO_LARGE', 1);
    await stillServed();
  });

  it('signaling spam into a room is rate-limited; rooms and DMs of others are closed to a member', async () => {
    const before = await rejections(t);
    const c = await connect(t, carol.identity);
    c.subscribe(['spam'], channel);
    for (let i = 0; i < 2_000; i++) c.publish('spam', `flood ${i}`, channel);
    // The flood costs Carol her session (strikes past the limit): the server stops reading it.
    await eventually(() =>
      assert.ok(
        ![...t.server.hub.sessions].some((s) => s.user?.key === carol.key && s.state !== 'closed'),
        'the server closed the flooding session',
      ),
    );
    await rose(t, before, 'RATE_LIMITED', 1);
    // A DM between Alice and Bob: Carol may neither write its log nor publish in its room.
    const [x, y] = [alice.key, bob.key].sort();
    const dm = `dm:${x}:${y}`;
    // The flood drained her identity's message bucket (50/s); only time refills it, for the
    // two requests below (a slow machine can only make this wait longer).
    await new Promise((r) => setTimeout(r, 200));
    // She connects again.
    const again = await connect(t, carol.identity);
    const notAllowed = await rejections(t);
    await assert.rejects(
      again.request('log.append', { log: dm, kind: 'update', blob: 'AA', id: toBase64url(randomBytes(16)) }),
      (e) => codeOf(e) === 'NOT_ALLOWED',
      'writing to a DM of others is NOT_ALLOWED',
    );
    again.publish('typing', {}, dm);
    await eventually(() => rose(t, notAllowed, 'NOT_ALLOWED', 2));
    again.close();
    c.close();
    await stillServed();
  });
});
