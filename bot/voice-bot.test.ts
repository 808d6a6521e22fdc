/**
 * Voice bots against a real signal server, its in-process relay and SQLite: bot A
 * plays a generated WAV (a 523 Hz tone at 44.1 kHz) into a voice channel, bot B
 * listens through the relay and decodes a 523 Hz tone from every frame; what the
 * relay forwarded never holds any 16 bytes of A's Opus packets; an identity off the
 * allowlist is refused, as is a member at a locked channel; a server-muted member
 * gets a listen-only ticket and the relay forwards none of its frames (until the
 * mute is lifted and a fresh ticket lets it speak); a new key epoch moves A to a new
 * key id that B follows; a bot restarted with its state file is heard again, one
 * that forgot its keys is told so at join.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { fromBase64url, randomBytes } from '../crypto/bytes.ts';
import { generateIdentity, publicKeyOf } from '../crypto/identity.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { parseRelayTicket } from '../protocol/relay.ts';
import { member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import type { ServerSession } from '../web/core/server-view.ts';
import { eventually, fastPolicy, session } from '../web/core/testing.ts';
import { hasTone, strongestTone, toneAmplitude } from '../web/voice/tone.ts';
import { toneSamples, toneWav } from '../web/voice/wav.ts';
import { frameOf, toPcm16, wavTrack } from './audio-file.ts';
import { BotError } from './errors.ts';
import { MusicPlayer } from './music-player.ts';
import { FRAME_SAMPLES, OPUS_SAMPLE_RATE } from './opus.ts';
import { StateFile } from './state-file.ts';
import { type HeardFrame, VoiceBot, type VoiceBotOptions } from './voice-bot.ts';

const TONE_HZ = 523;
const OTHER_TONES = [262, 330, 392, 440, 494, 587, 659, 784, 1046];
const CANARY_RUN = 16;

/** Everything B heard, by sender. */
interface Heard {
  pcm: Int16Array[];
  frames: HeardFrame[];
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Every `n`-byte run of `bytes`, as hex. */
function runsOf(bytes: Uint8Array, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= bytes.length; i++) out.push(hex(bytes.subarray(i, i + n)));
  return out;
}

/** Frames of a 48 kHz tone, 960 samples each. */
function toneFrames(frequency: number, count: number): Int16Array[] {
  const pcm = toPcm16(toneSamples({ frequency, durationMs: count * 20, amplitude: 0.5 }));
  const track = {
    name: 't',
    pcm,
    sourceRate: 48_000,
    sourceChannels: 1,
    durationMs: count * 20,
    frames: count,
  };
  return Array.from({ length: count }, (_, i) => frameOf(track, i));
}

function floats(frames: Int16Array[]): Float32Array {
  const out = new Float32Array(frames.length * FRAME_SAMPLES);
  frames.forEach((f, i) => {
    for (let j = 0; j < f.length; j++) out[i * FRAME_SAMPLES + j] = f[j]! / 0x8000;
  });
  return out;
}

describe('VoiceBot through the relay', () => {
  const alice = member(['member'], 'alice-bot');
  const bob = member(['member'], 'bob-bot');
  const carol = member(['member'], 'carol');
  const dave = member(['member'], 'dave-bot');
  const eve = member(['member'], 'eve');
  const admin = member(['admin'], 'admin');
  let t: TestServer;
  let voice: string;
  let stateDir: string;
  let moderator: ServerSession;
  let a: VoiceBot;
  let b: VoiceBot;
  /** Every binary message B's relay sockets received: what the relay forwarded to B. */
  const forwarded: Buffer[] = [];
  const heard = new Map<string, Heard>();
  const bots: VoiceBot[] = [];

  const joinBot = async (
    who: { identity: VoiceBotOptions['identity'] },
    extra: Partial<VoiceBotOptions> = {},
  ) => {
    const bot = await VoiceBot.join({
      serverUrl: t.server.url,
      identity: who.identity,
      channel: voice,
      policy: fastPolicy(),
      ...extra,
    });
    bots.push(bot);
    return bot;
  };
  const heardFrom = (userId: string): Heard => {
    let h = heard.get(userId);
    if (!h) heard.set(userId, (h = { pcm: [], frames: [] }));
    return h;
  };
  /** Waits until the relay has B's LISTEN: it forwards to B (`true`) or not. */
  const relayHearsB = (listening: boolean) =>
    eventually(() => {
      const me = publicKeyOf(b.session.meId);
      const at = t.server.relay!.routes.members(voice).filter((m) => Buffer.from(m.user).equals(me));
      assert.ok(
        at.length > 0 && at.every((m) => m.listening === listening),
        `the relay has B listening: ${listening}`,
      );
    });
  /** Waits until B holds `userId`'s frame secret and the relay has them in one channel. */
  const ready = async (bot: VoiceBot, userId: string) => {
    await eventually(() => assert.ok(b.session.keys.frameSecret(voice, userId), 'B holds the key'), 5000);
    await eventually(() => {
      assert.ok([...b.relay.peers.value.values()].includes(userId), 'B sees the sender at the relay');
      assert.ok([...bot.relay.peers.value.values()].includes(b.session.meId), 'the sender sees B');
    });
  };

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'tincan-bot-'));
    t = await startTestServer({
      authorizedKeys: [alice, bob, carol, dave, eve, admin].map((m) => m.line).join(''),
    });
    voice = t.server.hub.channels.list().find((c) => c.kind === 'voice')!.id;
    moderator = await session(t, admin.identity);
    b = await joinBot(bob, {
      socket: (url) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        if (new URL(url).pathname === '/relay')
          ws.on('message', (data: ArrayBuffer | Buffer) => forwarded.push(Buffer.from(new Uint8Array(data))));
        return ws;
      },
    });
    b.onAudio((userId, pcm, frame) => {
      const h = heardFrom(userId);
      h.pcm.push(pcm);
      h.frames.push(frame);
    });
    a = await joinBot(alice);
  });
  after(async () => {
    for (const bot of bots) await bot.leave();
    moderator.close();
    await t.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('plays a 523 Hz WAV that B decodes as 523 Hz, every frame, and the relay never sees the Opus', async () => {
    await ready(a, alice.key);
    const packets: Uint8Array[] = [];
    const sealed: Uint8Array[] = [];
    a.onSent((packet, frame) => {
      packets.push(packet.slice());
      sealed.push(frame.slice());
    });
    // 2 s at 44.1 kHz: the player resamples it to 48 kHz, 100 frames of 20 ms.
    const track = wavTrack(toneWav({ frequency: TONE_HZ, durationMs: 2000, sampleRate: 44_100 }), 'tone');
    assert.equal(track.frames, 100, 'two seconds are 100 frames of 20 ms');
    const player = new MusicPlayer(a);
    const started = performance.now();
    assert.equal(await player.play(track), 'ended', 'the track plays to its end');
    const elapsed = performance.now() - started;
    const clock = player.clockStats();
    const h = heardFrom(alice.key);
    await eventually(() => assert.equal(h.frames.length, 100, 'B decoded all 100 frames'), 5000);
    const stats = a.stats();
    console.log(
      `# 100 frames in ${elapsed.toFixed(0)} ms; clock late at most ${clock.maxLateMs.toFixed(2)} ms, ` +
        `${clock.skipped} ticks skipped by stalls; ` +
        `Opus encode ${stats.encodeMeanMs.toFixed(3)} ms/frame; ` +
        `${(stats.bytesSent / stats.framesSent).toFixed(1)} bytes/sealed frame, ` +
        `${(packets.reduce((n, p) => n + p.length, 0) / packets.length).toFixed(1)} bytes/packet`,
    );
    assert.equal(stats.framesSent, 100, 'A handed 100 frames to the relay');
    assert.equal(stats.dropped, 0, 'none dropped on a quiet loopback');
    // Paced by absolute time: 2 s, plus only what stalls of the event loop (if any) restarted the schedule by.
    assert.ok(
      elapsed > 1950 && elapsed < 2000 + clock.skipped * 20 + 150,
      `100 frames take 2 s (took ${elapsed.toFixed(0)} ms, ${clock.skipped} ticks skipped by stalls)`,
    );
    assert.deepEqual(
      h.frames.map((f) => f.counter),
      Array.from({ length: 100 }, (_, i) => i),
      'counters run 0…99 under one key id, nothing lost',
    );
    assert.ok(
      h.frames.every((f) => f.keyId === a.keyId && f.lost === 0),
      'every frame is under A’s key id, none missing',
    );
    assert.ok(
      h.pcm.every((p) => p.length === FRAME_SAMPLES),
      'each decodes to 960 samples',
    );

    // What B heard, past the encoder's first frames and the file's 5 ms fades.
    const audio = floats(h.pcm.slice(5, 95));
    assert.equal(
      strongestTone(audio, OPUS_SAMPLE_RATE, [TONE_HZ, ...OTHER_TONES]),
      TONE_HZ,
      'the dominant frequency is 523 Hz',
    );
    assert.ok(hasTone(audio, OPUS_SAMPLE_RATE, TONE_HZ, { minRatio: 0.9 }), 'a clean 523 Hz tone');
    const amplitude = toneAmplitude(audio, OPUS_SAMPLE_RATE, TONE_HZ);
    assert.ok(Math.abs(amplitude - 0.5) < 0.05, `at the file's level, 0.5 (got ${amplitude.toFixed(3)})`);
    for (let i = 5; i < 95; i += 10) {
      const block = floats(h.pcm.slice(i, i + 5));
      assert.ok(hasTone(block, OPUS_SAMPLE_RATE, TONE_HZ), `frames ${i}–${i + 4} hold the tone too`);
    }

    // The canary: no 16-byte run of any Opus packet A encoded is in what the relay forwarded.
    const wire = Buffer.concat(forwarded);
    for (const frame of sealed)
      assert.ok(
        wire.includes(Buffer.from(frame)),
        'the capture holds each sealed frame as sent (it saw the traffic)',
      );
    const onWire = new Set(runsOf(wire, CANARY_RUN));
    let checked = 0;
    for (const packet of packets) {
      assert.ok(packet.length >= CANARY_RUN, 'packets are long enough to search');
      for (const run of runsOf(packet, CANARY_RUN)) {
        checked++;
        assert.ok(!onWire.has(run), `plaintext Opus bytes ${run} reached the relay's output`);
      }
    }
    assert.ok(checked > 5000, `thousands of runs were searched (${checked})`);
    const control = new Set(runsOf(Buffer.concat(packets), CANARY_RUN));
    assert.ok(
      runsOf(packets[50]!, CANARY_RUN).every((r) => control.has(r)),
      'the search finds runs where they are',
    );
  });

  it('refuses an identity off the allowlist, and a member at a locked channel, with typed errors', async () => {
    await assert.rejects(
      joinBot({ identity: generateIdentity() }),
      (e) => e instanceof ProtocolError && e.code === 'AUTH_FAILED',
      'a stranger is refused at the door: AUTH_FAILED',
    );
    const vip = await moderator.createChannel('vip', 'voice');
    await moderator.updateChannel(vip, { locked: true });
    await eventually(() =>
      assert.ok(
        b.session.channels.value.some((c) => c.id === vip),
        'B sees vip',
      ),
    );
    await assert.rejects(
      b.session.conn.request('relay.ticket', { channel: vip }),
      (e) => e instanceof ProtocolError && e.code === 'NOT_ALLOWED',
      'no ticket for a locked channel: NOT_ALLOWED',
    );
    await assert.rejects(
      joinBot(carol, { channel: 'vip' }),
      (e) => e instanceof ProtocolError && e.code === 'NOT_ALLOWED',
      'nor a seat in it',
    );
    await assert.rejects(
      joinBot(carol, { channel: 'no-such-channel' }),
      (e) => e instanceof BotError && e.code === 'NOT_FOUND',
      'an unknown channel name is NOT_FOUND',
    );
    await assert.rejects(
      VoiceBot.join({ channel: voice }),
      (e) => e instanceof BotError && e.code === 'BAD_ARGUMENT',
      'no session and no identity is BAD_ARGUMENT',
    );
  });

  it('gives a server-muted member a listen-only ticket; the relay forwards none of its frames', async () => {
    await moderator.mute(carol.key, true);
    const c = await joinBot(carol);
    const reply = await c.session.conn.request('relay.ticket', { channel: voice });
    const ticket = parseRelayTicket(fromBase64url(String(reply.ticket)));
    assert.ok(ticket.ok && ticket.ticket.canSpeak === false, 'the ticket says: may not speak');
    assert.equal(c.canSpeak.value, false, 'the bot knows it may not speak');
    await ready(c, carol.key);

    const frames = toneFrames(TONE_HZ, 10);
    for (const f of frames) assert.equal(c.send(f), false, 'the bot does not send while muted');
    assert.equal(c.stats().gated, 10, 'counted as gated, nothing sealed');

    // A client that ignores its mute: sealed-looking frames straight onto the relay socket.
    const refusedBefore = t.server.relay!.rejectionCount('NOT_ALLOWED', 'listen-only');
    const forced = Array.from({ length: 10 }, () => randomBytes(90));
    for (const f of forced) assert.equal(c.relay.send(f), true, 'the client puts them on the wire');
    await eventually(() =>
      assert.equal(
        t.server.relay!.rejectionCount('NOT_ALLOWED', 'listen-only') - refusedBefore,
        10,
        'the relay refused each as listen-only',
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    const wire = Buffer.concat(forwarded);
    assert.ok(
      forced.every((f) => !wire.includes(Buffer.from(f))),
      'none of them reached B',
    );
    assert.equal(heardFrom(carol.key).frames.length, 0, 'B heard nothing from the muted member');

    // The mute is lifted: a fresh ticket lets the bot speak, and B hears it.
    await moderator.mute(carol.key, false);
    await eventually(() => assert.equal(c.canSpeak.value, true, 'the bot may speak again'), 5000);
    await eventually(() =>
      assert.ok([...b.relay.peers.value.values()].includes(carol.key), 'C is back at the relay'),
    );
    for (const f of toneFrames(TONE_HZ, 10)) assert.equal(c.send(f), true, 'frames go out now');
    await eventually(() => assert.equal(heardFrom(carol.key).frames.length, 10, 'B hears all 10'));
    await c.leave();
  });

  it('mutes (nothing sealed, the member list shows it) and deafens (the relay stops forwarding)', async () => {
    await ready(a, alice.key);
    const h = heardFrom(alice.key);
    const gatedBefore = a.stats().gated;
    a.mute();
    assert.equal(a.transmitting, false, 'a muted bot does not transmit');
    for (const f of toneFrames(TONE_HZ, 5)) assert.equal(a.send(f), false, 'muted: not sent');
    assert.equal(a.stats().gated - gatedBefore, 5, 'counted as gated');
    await eventually(() =>
      assert.equal(b.session.members$.get(alice.key)?.voice[0]?.muted, true, 'B’s member list shows A muted'),
    );
    a.mute(false);
    b.deafen();
    await relayHearsB(false);
    const had = h.frames.length;
    for (const f of toneFrames(TONE_HZ, 5)) assert.equal(a.send(f), true, 'unmuted: sent');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.frames.length, had, 'deafened B gets nothing');
    b.deafen(false);
    await relayHearsB(true);
    for (const f of toneFrames(TONE_HZ, 5)) a.send(f);
    await eventually(() => assert.equal(h.frames.length, had + 5, 'B hears again'));
    assert.equal(h.frames[had]!.lost, 5, 'the 5 frames B did not get show as lost on the next one');
  });

  it('moves to a new key id at a new key epoch, and B follows', async () => {
    await ready(a, alice.key);
    const before = a.keyId;
    const epoch = a.session.keys.epoch;
    const gone = await session(t, eve.identity);
    await moderator.kick(eve.key);
    gone.close();
    await eventually(() => assert.equal(a.session.keys.epoch, epoch + 1, 'A sees the new epoch'));
    await eventually(() => assert.notEqual(a.keyId, before, 'A seals under a new key id'), 5000);
    await eventually(
      () => assert.ok(b.session.keys.frameSecret(voice, alice.key, epoch + 1), 'B got A’s new key'),
      5000,
    );
    const h = heardFrom(alice.key);
    const had = h.frames.length;
    for (const f of toneFrames(TONE_HZ, 10)) a.send(f);
    await eventually(() => assert.equal(h.frames.length, had + 10, 'B hears the 10 frames'));
    assert.ok(
      h.frames.slice(had).every((f) => f.keyId === a.keyId),
      'under the new key id',
    );
  });

  it('is heard again after a restart, with its state file or without it', async () => {
    const state = join(stateDir, 'dave.state.json');
    const send = async (bot: VoiceBot, what: string) => {
      const h = heardFrom(dave.key);
      const had = h.frames.length;
      for (const f of toneFrames(TONE_HZ, 10)) bot.send(f);
      await eventually(() => assert.equal(h.frames.length - had, 10, `B hears all 10 of ${what}`));
      return h.frames.slice(had);
    };
    const first = await joinBot(dave, { cache: await StateFile.open(state) });
    await ready(first, dave.key);
    await send(first, 'the first run');
    await first.leave();

    const second = await joinBot(dave, { cache: await StateFile.open(state) });
    assert.notEqual(second.keyId, first.keyId, 'a fresh key id: the same key never reuses a nonce');
    await ready(second, dave.key);
    const heard2 = await send(second, 'the restarted bot');
    assert.ok(
      heard2.every((f) => f.keyId === second.keyId),
      'under its new key id',
    );
    await second.leave();

    // A fresh memory (no state file): the log hands the bot its own earlier chain, and it starts
    // a chain of its own beside it (web/core/key-manager.ts: one chain per device); members take both.
    const third = await joinBot(dave);
    await ready(third, dave.key);
    const heard3 = await send(third, 'a bot that lost its state file');
    assert.ok(
      heard3.every((f) => f.keyId === third.keyId),
      'under its own new key id',
    );
    await third.leave();
  });

  it('leaves when its identity joins voice from elsewhere (one device in voice per identity)', async () => {
    const first = await joinBot(dave);
    await ready(first, dave.key);
    const second = await joinBot(dave);
    await eventually(() => assert.equal(first.transmitting, false, 'the first instance left its call'));
    await eventually(() =>
      assert.equal(b.session.members$.get(dave.key)?.voice.length, 1, 'B sees dave in voice once'),
    );
    await ready(second, dave.key);
    const h = heardFrom(dave.key);
    const had = h.frames.length;
    for (const f of toneFrames(TONE_HZ, 10)) second.send(f);
    await eventually(() => assert.equal(h.frames.length, had + 10, 'B hears the instance that joined last'));
    assert.ok(
      h.frames.slice(had).every((f) => f.keyId === second.keyId),
      'under its key id',
    );
    await second.leave();
  });
});
