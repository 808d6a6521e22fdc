/** Roles, channels, signaling isolation, moderation and bad input against a real server. */
import assert from 'node:assert/strict';
import type { WebSocket } from 'ws';
import { generateIdentity } from '../crypto/identity.ts';
import type { ProtocolError } from '../protocol/errors.ts';
import { connect, member, nextMessage, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import { eventually } from '../web/core/testing.ts';
import type { SignalClient } from '../web/net/signal-client.ts';

const admin = member(['admin'], 'admin');
const mod = member(['moderator'], 'mod');
const bob = member(['member'], 'bob');
const carol = member(['member'], 'carol');
const dave = member(['guest'], 'dave');

const codeOf = (e: unknown) => (e as ProtocolError).code;

describe('signal hub', () => {
  let t: TestServer;
  const clients: SignalClient[] = [];
  const open = async (m: typeof admin) => {
    const c = await connect(t, m.identity);
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestServer({
      authorizedKeys: [admin, mod, bob, carol, dave].map((m) => m.line).join(''),
      // Every client here comes from 127.0.0.1: more than the default budget of 20 in a burst.
      overrides: { authAttemptsPerIp: { perSecond: 50, burst: 100 } },
    });
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  describe('roles', () => {
    it('lets an admin create a channel and refuses a member (NOT_ALLOWED)', async () => {
      const a = await open(admin);
      const b = await open(bob);
      const update = nextMessage(b, 'channels');
      const reply = await a.request('channel.create', { name: 'dev', kind: 'text' });
      assert.match(String(reply.channel), /^[a-z2-7]{10}$/);
      await update; // the member receives the channel tree update
      await assert.rejects(
        b.request('channel.create', { name: 'x', kind: 'text' }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
      await assert.rejects(
        b.request('channel.delete', { channel: String(reply.channel) }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
    });

    it('enforces kick, ban, mute, move and invite permissions', async () => {
      const d = await open(dave);
      await assert.rejects(d.request('member.kick', { member: bob.key }), (e) => codeOf(e) === 'NOT_ALLOWED');
      await assert.rejects(d.request('member.ban', { member: bob.key }), (e) => codeOf(e) === 'NOT_ALLOWED');
      await assert.rejects(
        d.request('member.mute', { member: bob.key, muted: true }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
      await assert.rejects(
        d.request('invite.create', { role: 'guest', expiresIn: 3600, maxUses: 1 }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
      const m = await open(mod);
      // A moderator may not act on an admin (priority).
      await assert.rejects(
        m.request('member.mute', { member: admin.key, muted: true }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
      await m.request('member.mute', { member: dave.key, muted: true });
      await m.request('member.mute', { member: dave.key, muted: false });
      // A member may invite guests and members, but not admins.
      const b = await open(bob);
      await b.request('invite.create', { role: 'guest', expiresIn: 3600, maxUses: 1 });
      await b.request('invite.create', { role: 'member', expiresIn: 3600, maxUses: 1 });
      await assert.rejects(
        b.request('invite.create', { role: 'admin', expiresIn: 3600, maxUses: 1 }),
        (e) => codeOf(e) === 'NOT_ALLOWED',
      );
    });
  });

  describe('signaling', () => {
    it('forwards a publish verbatim to subscribers of the same room and topic only', async () => {
      const a = await open(bob);
      const same = await open(carol);
      const otherTopic = await open(dave);
      const lobby = await open(admin);
      const room = t.server.hub.channels.list()[0]!.id;
      a.subscribe(['t1'], room);
      same.subscribe(['t1'], room);
      otherTopic.subscribe(['t2'], room);
      lobby.subscribe(['t1']); // the server lobby is another room
      await same.request('member.list'); // a round trip: subscriptions are in place
      await otherTopic.request('member.list');
      await lobby.request('member.list');
      const got = nextMessage(same, 'publish');
      const stray: unknown[] = [];
      otherTopic.on('publish', (m) => stray.push(m));
      lobby.on('publish', (m) => stray.push(m));
      a.on('publish', (m) => stray.push(m));
      a.publish('t1', { sdp: 'opaque', n: 1 }, room);
      const m = await got;
      assert.deepEqual(m.data, { sdp: 'opaque', n: 1 });
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(stray, [], 'nobody outside the room/topic (nor the sender) received it');
    });

    it('keeps DMs to their two members and refuses unknown rooms', async () => {
      const b = await open(bob);
      const d = await open(dave);
      const [lo, hi] = [bob.key, carol.key].sort();
      b.subscribe(['x'], `dm:${lo}:${hi}`);
      await b.request('member.list'); // subscription accepted (no error before the reply)
      const err = nextMessage(d, 'error');
      d.subscribe(['x'], `dm:${lo}:${hi}`);
      assert.equal((await err).code, 'NOT_ALLOWED');
      const err2 = nextMessage(d, 'error');
      d.subscribe(['x'], 'nosuchchannel');
      assert.equal((await err2).code, 'NOT_FOUND');
    });
  });

  describe('voice and moderation', () => {
    it('joins voice, reports presence, and lets a moderator move and kick', async () => {
      const voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!;
      const other = (await open(admin)).request('channel.create', { name: 'AFK', kind: 'voice' });
      const afk = String((await other).channel);
      // Carol joins by invite, so she is a database member whom a kick removes.
      const a = await open(admin);
      const invite = await a.request('invite.create', { role: 'member', expiresIn: 3600, maxUses: 1 });
      const erin = generateIdentity();
      const c = await connect(t, erin, { invite: String(invite.token), name: 'erin' });
      clients.push(c);
      const erinKey = c.welcome.user.key;
      const watcher = await open(mod);
      const presence = nextMessage(watcher, 'presence', (m) => {
        const p = m.member as { key: string; voice: { channel: string }[] } | undefined;
        return p?.key === erinKey && p.voice.some((v) => v.channel === voice.id);
      });
      const joined = await c.request('voice.join', { channel: voice.id });
      assert.equal(joined.channel, voice.id);
      await presence;
      const moved = nextMessage(c, 'voice.moved');
      await watcher.request('member.move', { member: erinKey, channel: afk });
      assert.equal((await moved).channel, afk);
      const closed = nextMessage(c, 'close');
      await watcher.request('member.kick', { member: erinKey, reason: 'test' });
      assert.equal((await closed).code, 4440);
      await assert.rejects(
        connect(t, erin),
        (e) => codeOf(e) === 'AUTH_FAILED',
        'a kicked key needs a new invite',
      );
      const audit = t.server.hub.store.listAudit(50).map((a) => a.action);
      assert.ok(audit.includes('member.kick') && audit.includes('member.move'));
    });
  });

  describe('one device in voice per identity', () => {
    it('ends the voice of my other session when I join from a second device', async () => {
      const voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!;
      const phone = await open(carol);
      const desktop = await open(carol);
      const watcher = await open(bob);
      await phone.request('voice.join', { channel: voice.id });
      const sessionsOf = () => [...(t.server.hub.byUser.get(phone.welcome.user.key) ?? [])];
      const phoneSession = sessionsOf().find((s) => s.voice)!.id;
      const ended = nextMessage(phone, 'voice.ended');
      const presence = nextMessage(watcher, 'presence', (m) => {
        const p = m.member as { key: string; voice: { session: string }[] } | undefined;
        return (
          p?.key === phone.welcome.user.key && p.voice.length === 1 && p.voice[0]!.session !== phoneSession
        );
      });
      await desktop.request('voice.join', { channel: voice.id });
      const message = await ended;
      assert.equal(message.channel, voice.id, 'voice.ended names the channel the phone was in');
      assert.equal(message.reason, 'elsewhere', 'and says why');
      await presence;
      const inVoice = () => sessionsOf().filter((s) => s.voice).length;
      assert.equal(inVoice(), 1, 'only the session that joined last is in voice');
      await assert.doesNotReject(phone.request('voice.leave', {}), 'leaving after the end is harmless');
      assert.equal(inVoice(), 1, 'the phone leaving does not end the desktop’s call');
      for (const c of [phone, desktop, watcher]) c.close(); // the per-address cap counts open sockets
    });

    it('resumes its own call after a reconnect, but not over a call joined from elsewhere meanwhile', async () => {
      const voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!;
      const inVoice = (key: string) =>
        [...(t.server.hub.byUser.get(key) ?? [])].filter((s) => s.voice).map((s) => s.voice!.call);
      // The laptop's old socket is not timed out yet when its new one resumes the call.
      const before = await open(carol);
      const key = before.welcome.user.key;
      await before.request('voice.join', { channel: voice.id, call: 'laptop-call' });
      const after = await open(carol);
      await after.request('voice.join', { channel: voice.id, call: 'laptop-call', resume: true });
      assert.deepEqual(inVoice(key), ['laptop-call'], 'the resumed call is in voice once');
      // Meanwhile the phone joined; the laptop coming back does not take voice from it.
      const phone = await open(carol);
      await phone.request('voice.join', { channel: voice.id, call: 'phone-call' });
      const back = await open(carol);
      const ended = nextMessage(back, 'voice.ended');
      await assert.rejects(
        back.request('voice.join', { channel: voice.id, call: 'laptop-call', resume: true }),
        (e) => codeOf(e) === 'CONFLICT',
        'the resume is refused',
      );
      assert.equal((await ended).reason, 'elsewhere', 'and the laptop is told why its call is over');
      assert.deepEqual(inVoice(key), ['phone-call'], 'the phone keeps its call');
      for (const c of [before, after, phone, back]) c.close();
    });
  });

  describe('bad input', () => {
    it('answers malformed frames with BAD_MESSAGE and keeps the connection', async () => {
      const b = await open(bob);
      for (const frame of [
        '{oops',
        '[]',
        '{"type":"nope"}',
        '{"type":"subscribe","topics":"x"}',
        '{"type":"channel.create","ref":1,"name":5,"kind":"text"}',
      ]) {
        const err = nextMessage(b, 'error');
        (b as unknown as { socket: WebSocket }).socket.send(frame);
        assert.equal((await err).code, 'BAD_MESSAGE', `frame ${frame}`);
      }
      const err = nextMessage(b, 'error');
      (b as unknown as { socket: WebSocket }).socket.send(Buffer.from([1, 2, 3]));
      assert.equal((await err).code, 'BAD_MESSAGE', 'binary frame');
      assert.ok(await b.request('member.list'), 'the connection still works');
    });

    it('closes with 1009 on a frame over the size limit, without disturbing others', async () => {
      const b = await open(bob);
      const other = await open(dave);
      const closed = nextMessage(b, 'close');
      (b as unknown as { socket: WebSocket }).socket.send('x'.repeat(70 * 1024));
      assert.equal((await closed).code, 1009);
      assert.ok(await other.request('member.list'), 'another client is unaffected');
    });

    it('rate-limits a flood with RATE_LIMITED and serves others meanwhile', async () => {
      const d = await open(dave); // guest: 20/s, burst 40
      const other = await open(bob);
      const errors: string[] = [];
      d.on('error', (m) => errors.push(String(m.code)));
      for (let i = 0; i < 200; i++) d.send({ type: 'ping' });
      assert.ok(await other.request('member.list'));
      await d.request('member.list').catch(() => undefined);
      await eventually(() =>
        assert.ok(
          errors.filter((c) => c === 'RATE_LIMITED').length >= 100,
          `≥ 100 RATE_LIMITED errors for the flood, got ${errors.length} errors`,
        ),
      );
    });

    it('drops a half-open socket by heartbeat', async () => {
      const t2 = await startTestServer({ authorizedKeys: bob.line, overrides: { heartbeatMs: 100 } });
      try {
        const b = await connect(t2, bob.identity);
        assert.equal(t2.server.hub.sessions.size, 1);
        // Stop reading: pings go unanswered, as with a peer whose network vanished.
        (b as unknown as { socket: { _socket: { pause(): void } } }).socket._socket.pause();
        const deadline = Date.now() + 3000;
        while (t2.server.hub.sessions.size > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        assert.equal(t2.server.hub.sessions.size, 0, 'the server dropped the dead socket within 3 s');
      } finally {
        await t2.close();
      }
    });
  });
});

describe('membership epoch', () => {
  it('rises on kick, ban and leave, and is announced with member.removed', async () => {
    const a = member(['admin'], 'a');
    const x = member(['member'], 'x');
    const y = member(['member'], 'y');
    const t = await startTestServer({ authorizedKeys: a.line });
    try {
      const admin = await connect(t, a.identity);
      assert.equal(admin.welcome.epoch, 0);
      const inv = async () =>
        String((await admin.request('invite.create', { role: 'member', expiresIn: 600, maxUses: 1 })).token);
      const cx = await connect(t, x.identity, { invite: await inv(), name: 'x' });
      const cy = await connect(t, y.identity, { invite: await inv(), name: 'y' });
      const removed = nextMessage(admin, 'member.removed', (m) => m.key === x.key);
      await admin.request('member.kick', { member: x.key });
      assert.equal((await removed).epoch, 1);
      const left = nextMessage(admin, 'member.removed', (m) => m.key === y.key);
      await cy.request('server.leave');
      assert.deepEqual([(await left).reason, (await left).epoch], ['leave', 2]);
      await assert.rejects(connect(t, y.identity), (e) => codeOf(e) === 'AUTH_FAILED', 'left for good');
      cx.close();
      admin.close();
      const again = await connect(t, a.identity);
      assert.equal(again.welcome.epoch, 2, 'the epoch survives in the store');
      again.close();
    } finally {
      await t.close();
    }
  });
});
