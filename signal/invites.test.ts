/** Invites end to end against a real server: redeem once, expiry, use count, revoke, tamper, bans. */
import assert from 'node:assert/strict';
import { fromBase64url, toBase64url } from '../crypto/bytes.ts';
import { generateIdentity } from '../crypto/identity.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { connect, member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import type { SignalClient } from '../web/net/signal-client.ts';

const codeOf = (e: unknown) => (e as ProtocolError).code;

describe('invites', () => {
  const admin = member(['admin'], 'admin');
  let t: TestServer;
  let a: SignalClient;
  let now = Date.now();

  before(async () => {
    t = await startTestServer({ authorizedKeys: admin.line });
    (t.server.hub as { now: () => number }).now = () => now;
    a = await connect(t, admin.identity);
  });
  after(async () => {
    a.close();
    await t.close();
  });

  const invite = async (fields: Record<string, unknown> = {}) =>
    String(
      (await a.request('invite.create', { role: 'member', expiresIn: 3600, maxUses: 1, ...fields })).token,
    );

  it('prints a one-time admin invite on a fresh data dir that makes its redeemer admin', async () => {
    const link = t.server.adminInvite ?? '';
    assert.ok(link.includes('/#invite='), `expected an invite link, got ${link}`);
    const token = link.split('#invite=')[1]!;
    const first = generateIdentity();
    const c = await connect(t, first, { invite: token, name: 'owner' });
    assert.deepEqual(c.welcome.user.roles, ['admin']);
    c.close();
    await assert.rejects(
      connect(t, generateIdentity(), { invite: token, name: 'late' }),
      (e) => codeOf(e) === 'AUTH_FAILED',
    );
  });

  it('redeems once: the role is granted, the name kept, and a second person is refused', async () => {
    const token = await invite();
    const bob = generateIdentity();
    const c = await connect(t, bob, { invite: token, name: 'bob' });
    assert.deepEqual(c.welcome.user.roles, ['member']);
    assert.equal(c.welcome.user.name, 'bob');
    c.close();
    // Bob is a member now: he reconnects without the invite.
    (await connect(t, bob)).close();
    await assert.rejects(
      connect(t, generateIdentity(), { invite: token, name: 'x' }),
      (e) => codeOf(e) === 'AUTH_FAILED',
    );
    assert.ok(
      t.logs.some((l) => l.includes('USED_UP')),
      'the log says the invite was used up',
    );
  });

  it('counts uses up to maxUses', async () => {
    const token = await invite({ maxUses: 2 });
    (await connect(t, generateIdentity(), { invite: token, name: 'one' })).close();
    (await connect(t, generateIdentity(), { invite: token, name: 'two' })).close();
    await assert.rejects(
      connect(t, generateIdentity(), { invite: token, name: 'three' }),
      (e) => codeOf(e) === 'AUTH_FAILED',
    );
  });

  it('refuses an expired invite', async () => {
    const token = await invite({ expiresIn: 60 });
    now += 61_000;
    try {
      await assert.rejects(
        connect(t, generateIdentity(), { invite: token, name: 'late', now: () => now }),
        (e) => codeOf(e) === 'AUTH_FAILED',
      );
      assert.ok(t.logs.some((l) => l.includes('EXPIRED')));
    } finally {
      now = Date.now();
    }
  });

  it('refuses a revoked invite', async () => {
    const reply = await a.request('invite.create', { role: 'member', expiresIn: 3600, maxUses: 5 });
    await a.request('invite.revoke', { id: reply.id });
    await assert.rejects(
      connect(t, generateIdentity(), { invite: String(reply.token), name: 'x' }),
      (e) => codeOf(e) === 'AUTH_FAILED',
    );
    const list = (await a.request('invite.list')).invites as { id: string; revokedAt?: number }[];
    assert.ok(list.find((i) => i.id === reply.id)?.revokedAt, 'the list shows it revoked');
  });

  it('refuses a tampered token (each region of it)', async () => {
    const token = await invite({ maxUses: 100 });
    const bytes = fromBase64url(token);
    // version, server id, issuer key, invite id, expiry, role, signature
    for (const i of [0, 5, 30, 60, 70, 75, bytes.length - 1]) {
      const bad = bytes.slice();
      bad[i]! ^= 0x01;
      await assert.rejects(
        connect(t, generateIdentity(), { invite: toBase64url(bad), name: 'x' }),
        (e) => codeOf(e) === 'AUTH_FAILED',
        `byte ${i} flipped`,
      );
    }
  });

  it('refuses a banned key even with a fresh invite', async () => {
    const mallory = generateIdentity();
    const token1 = await invite();
    const c = await connect(t, mallory, { invite: token1, name: 'mallory' });
    await a.request('member.ban', { member: c.welcome.user.key, reason: 'spam' });
    await assert.rejects(
      connect(t, mallory, { invite: await invite(), name: 'm2' }),
      (e) => codeOf(e) === 'AUTH_FAILED',
    );
  });

  it('hands a newcomer the sealed bundle its inviter left, and nobody else', async () => {
    const bundle = toBase64url(new Uint8Array(64).fill(7));
    const token = await invite({ bundle });
    const c = await connect(t, generateIdentity(), { invite: token, name: 'newbie' });
    assert.equal((await c.request('invite.bundle')).bundle, bundle);
    c.close();
    assert.equal(
      (await a.request('invite.bundle')).bundle,
      null,
      'the admin joined by file, not by this invite',
    );
  });
});

describe('open mode', () => {
  it('admits anyone with a name as the default role, and nobody without one', async () => {
    const t = await startTestServer({ overrides: { open: true, defaultRole: 'guest' } });
    try {
      const c = await connect(t, generateIdentity(), { name: 'drifter' });
      assert.deepEqual(c.welcome.user.roles, ['guest']);
      c.close();
      await assert.rejects(connect(t, generateIdentity()), (e) => codeOf(e) === 'AUTH_FAILED');
    } finally {
      await t.close();
    }
  });
});
