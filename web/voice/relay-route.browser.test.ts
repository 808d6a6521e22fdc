/**
 * The voice engine's relay route in Chromium: sessions joined on a LoopbackMesh
 * move their voice to a relay link. The relay here is a stand-in in the page
 * (`PageRelay`: it forwards each frame to every other listening member, as
 * relay/routes.ts does) because the real relay is a Node process; the e2e suite
 * runs the real one. Everything else is real: WebCodecs Opus, AES-GCM frames,
 * the jitter buffer, the loopback output.
 */
import { expect } from '@open-wc/testing';
import { toBase64url } from '../../crypto/bytes.ts';
import { FrameSealer } from '../../crypto/frame.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import type { FrameSecrets } from './relay/frame-keys.ts';
import { type Endpoint, Endpoints, observeFor, PageRelay, rises, statSum, waitFor } from './testing.ts';
import { strongestTone } from './tone.ts';
import { toneWav } from './wav.ts';

/** Every user's frame secret, as each member's KeyManager would derive it. */
const secretOf = new Map<string, Uint8Array>();
const secrets: FrameSecrets = { epoch: () => 0, secret: (userId) => secretOf.get(userId) };

function newUser(): string {
  const userId = toBase64url(generateIdentity().publicKey);
  secretOf.set(userId, crypto.getRandomValues(new Uint8Array(32)));
  return userId;
}

const endpoints = new Endpoints();
const toneBlob = (frequency: number) =>
  new Blob([toneWav({ frequency, durationMs: 4000, amplitude: 0.5 })], { type: 'audio/wav' });
const meshSent = (from: Endpoint, to: Endpoint) => () =>
  statSum(from.mesh.connectionTo(to.mesh), 'outbound-rtp', 'packetsSent', 'audio');

async function relayCall() {
  const a = endpoints.add('alice');
  const b = endpoints.add('bob');
  await endpoints.call(a, b);
  const relay = new PageRelay();
  const alice = newUser();
  const bob = newUser();
  const linkA = relay.join(alice);
  const linkB = relay.join(bob);
  await a.session.useRelay({ link: linkA, secrets, userId: alice });
  await b.session.useRelay({ link: linkB, secrets, userId: bob });
  return { a, b, relay, alice, bob, linkA, linkB };
}

const relayVoiceOf = (at: Endpoint, userId: string) =>
  at.session.participants.value.find((p) => p.userId === userId && p.via === 'relay');

type Suite = { timeout(ms: number): void };

describe('voice session on the relay route', function (this: Suite) {
  this.timeout(40_000);
  afterEach(() => endpoints.closeAll());

  it('sends sealed Opus frames through the relay, and the far side hears the right tone through the loopback output', async () => {
    const { a, b, relay, alice, linkA } = await relayCall();
    expect(a.session.route.value, "alice's route").to.equal('relay');
    await a.session.playFile(toneBlob(700), { mode: 'replace' });
    await waitFor(() => linkA.sent > 50, { what: 'alice to send over 50 relay frames' });
    const voice = await waitFor(() => relayVoiceOf(b, alice), {
      what: 'bob listing alice as heard through the relay',
    });
    await waitFor(
      () => {
        const probe = b.session.receivedAudio(voice.peerId);
        return probe && strongestTone(probe.samples(), 48_000, [440, 700, 1000]) === 700 ? true : undefined;
      },
      { what: 'bob receiving 700 Hz (alice’s tone) on the relay voice' },
    );
    await waitFor(() => b.session.speaking.value[voice.peerId] === true, {
      what: 'alice shown speaking at bob',
    });
    // The far-end audio leaves through the loopback connection (the AEC path), not the destination.
    const output = b.session.loopbackOutput;
    expect(output, "bob's loopback output").to.not.equal(undefined);
    await rises(
      async () => (await output!.loopbackStats()).packetsReceived,
      'packets through bob’s loopback connection',
      20,
    );
    // The relay carried only ciphertext: no 16-byte run of a frame equals alice's raw Opus would be
    // the e2e check; here, every forwarded frame opens only with alice's key.
    const wrong = new FrameSealer(
      crypto.getRandomValues(new Uint8Array(32)),
      generateIdentity().publicKey,
      7,
    );
    linkA.send(wrong.seal(new Uint8Array([1, 2, 3])));
    await waitFor(() => (b.session.relayStats()?.refused.UNKNOWN_KEY ?? 0) >= 1, {
      what: 'bob refusing a frame under a key nobody holds (UNKNOWN_KEY)',
    });
    expect(relay.forwarded.length, 'frames forwarded').to.be.greaterThan(50);
  });

  it('plays a relay voice straight from its Opus packets (its own loopback), and through the mixed loopback above 100 %', async () => {
    const { a, b, alice } = await relayCall();
    await a.session.playFile(toneBlob(700), { mode: 'replace' });
    const voice = await waitFor(() => relayVoiceOf(b, alice), { what: 'alice heard through the relay' });
    const mixed = () => b.session.loopbackOutput?.track;
    const direct = await waitFor(
      () => {
        const track = b.session.earTrack(voice.peerId);
        return track && track !== mixed() ? track : undefined;
      },
      { what: 'bob hearing alice from a direct track, not the mixed loopback' },
    );
    const context = new AudioContext();
    const toneOf = (track: MediaStreamTrack) => {
      const analyser = context.createAnalyser();
      analyser.fftSize = 4096;
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      return () => {
        analyser.getFloatTimeDomainData(samples);
        return strongestTone(samples, context.sampleRate, [440, 700, 1000]);
      };
    };
    try {
      const heardDirect = toneOf(direct);
      await waitFor(() => (heardDirect() === 700 ? true : undefined), {
        what: 'alice’s 700 Hz on the direct track bob’s ear gets',
      });
      // The route indicator's buffer is then WebRTC's jitter buffer delay, not the page's target.
      const pageTarget = () => b.session.relayStats()?.senders[voice.peerId]?.targetMs;
      const shown = await waitFor(
        () => {
          const ms = b.session.relayPeerStats(voice.peerId)?.bufferMs;
          return ms !== undefined && ms !== pageTarget() ? ms : undefined;
        },
        { what: 'the direct voice’s buffer read from its receiver’s stats', timeoutMs: 6000 },
      );
      expect(shown, 'a jitter buffer delay in ms').to.be.within(0, 500);
      b.session.setVolume(alice, 2);
      await waitFor(() => (b.session.earTrack(voice.peerId) === mixed() ? true : undefined), {
        what: 'at 200 % alice plays through the mixed loopback (a media element stops at 100 %)',
      });
      const heardMixed = toneOf(mixed()!);
      await waitFor(() => (heardMixed() === 700 ? true : undefined), {
        what: 'alice’s 700 Hz through the mixed loopback at 200 %',
      });
      expect(b.session.relayPeerStats(voice.peerId)?.bufferMs, 'decoded: the page buffer’s target').to.equal(
        pageTarget(),
      );
    } finally {
      await context.close();
    }
  });

  it('stops sending on the mesh while on the relay, and goes back to it', async () => {
    const { a, b, linkA, alice } = await relayCall();
    await observeFor(300);
    const before = await meshSent(a, b)();
    await observeFor(1000);
    expect(
      (await meshSent(a, b)()) - before,
      'mesh packets alice sent bob in 1 s on the relay',
    ).to.be.lessThan(3);
    await a.session.useRelay(null);
    await b.session.useRelay(null);
    expect(a.session.route.value, 'route after going back').to.equal('mesh');
    await rises(meshSent(a, b), 'alice’s mesh packets after going back', 20);
    const sent = linkA.sent;
    await observeFor(500);
    expect(linkA.sent, 'relay frames after going back').to.equal(sent);
    expect(relayVoiceOf(b, alice), 'no relay voice listed after going back').to.equal(undefined);
  });

  it('mute, deafen and per-user volume hold on the relay', async () => {
    const { a, b, relay, alice, bob, linkA } = await relayCall();
    await a.session.playFile(toneBlob(700), { mode: 'replace' });
    const voice = await waitFor(() => relayVoiceOf(b, alice), { what: 'alice heard through the relay' });
    await waitFor(() => (b.session.playedAudio(voice.peerId)?.rms() ?? 0) > 0.05, {
      what: 'alice played at bob',
    });
    b.session.setVolume(alice, 0);
    await waitFor(() => (b.session.playedAudio(voice.peerId)?.rms() ?? 1) < 0.001, {
      what: 'alice silent at bob at volume 0',
    });
    b.session.setVolume(alice, 1);
    a.session.setMuted(true);
    await observeFor(200);
    const muted = linkA.sent;
    await observeFor(600);
    expect(linkA.sent - muted, 'relay frames alice sent while muted').to.equal(0);
    a.session.setMuted(false);
    await waitFor(() => linkA.sent > muted + 10, { what: 'frames again once unmuted' });
    b.session.setDeafened(true);
    const toBob = () => relay.forwarded.filter((f) => f.to === bob).length;
    const heard = toBob();
    await observeFor(500);
    expect(toBob() - heard, 'frames forwarded to a deafened bob').to.equal(0);
  });
});
