/**
 * The voice engine in Chromium with fake devices: two or three sessions in one
 * page, each on a LoopbackMesh of real RTCPeerConnection pairs (host candidates,
 * DTLS-SRTP, Opus). Packet counts come from getStats(); played levels from
 * AnalyserNodes on the playback graph.
 */
import { expect } from '@open-wc/testing';
import type { Mesh } from '../net/mesh.ts';
import {
  type Endpoint,
  Endpoints,
  inboundCodecs,
  LoopbackMesh,
  meanRms,
  observeFor,
  rises,
  settled,
  statSum,
  waitFor,
} from './testing.ts';
import type { VoiceMesh } from './voice-mesh.ts';
import type { VoiceSessionOptions } from './voice-session.ts';
import { toneWav } from './wav.ts';

/** Compile-time check: the real mesh is a VoiceMesh as it is, with no adapter. */
type MeshFits = Mesh extends VoiceMesh ? true : false;
const meshFits: MeshFits = true;

const endpoints = new Endpoints();
const endpoint = (name: string, options?: VoiceSessionOptions): Endpoint => endpoints.add(name, options);
const call = (...list: Endpoint[]): Promise<void> => endpoints.call(...list);

const received = (to: Endpoint, from: Endpoint) => () =>
  statSum(to.mesh.connectionTo(from.mesh), 'inbound-rtp', 'packetsReceived', 'audio');
const sent = (from: Endpoint, to: Endpoint) => () =>
  statSum(from.mesh.connectionTo(to.mesh), 'outbound-rtp', 'packetsSent', 'audio');

/** Proves no audio packet leaves `from` for `to` over a window (after the counter settles). */
async function sendsNothing(from: Endpoint, to: Endpoint, what: string): Promise<void> {
  const before = await settled(sent(from, to), `${from.name}'s packetsSent (${what})`);
  await observeFor(1000);
  const after = await sent(from, to)();
  expect(after - before, `${what}: packets ${from.name} sent ${to.name} in 1 s`).to.equal(0);
}

const toneBlob = (frequency: number) =>
  new Blob([toneWav({ frequency, durationMs: 2000, amplitude: 0.5 })], { type: 'audio/wav' });

/** The peer id under which `to` knows `from`. */
const idOf = (from: Endpoint) => from.mesh.peerId;

/** mocha's suite context (the shared globals do not declare it). */
type Suite = { timeout(ms: number): void };

describe('voice session', function (this: Suite) {
  // Several connections and capture restarts per test: more than the default 10 s.
  this.timeout(40_000);

  afterEach(() => endpoints.closeAll());

  it('fits the real mesh without an adapter (type-checked)', () => {
    expect(meshFits).to.equal(true);
  });

  it('each peer receives the other’s voice as Opus, and plays it', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    expect(a.session.joined.value, 'alice joined').to.equal(true);
    expect(a.session.transmitting.value, 'open mic transmits').to.equal(true);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      await rises(received(to, from), `${to.name}'s inbound audio packets from ${from.name}`, 20);
      const codecs = await inboundCodecs(to.mesh.connectionTo(from.mesh), 'audio');
      expect(codecs, `${to.name}'s inbound audio codec`).to.include('audio/opus');
      await waitFor(() => to.session.participants.value.some((p) => p.peerId === idOf(from)), {
        what: `${to.name} listing ${from.name} as a participant`,
      });
      // The fake mic beeps (full scale, ~every 0.5 s): the beep shows up in what is played.
      await waitFor(() => (to.session.playedAudio(idOf(from))?.rms() ?? 0) > 0.05, {
        what: `${to.name} playing ${from.name}'s beeps (played RMS > 0.05)`,
      });
      await waitFor(() => to.session.speaking.value[idOf(from)] === true, {
        what: `${to.name} showing ${from.name} as speaking`,
      });
    }
    await waitFor(() => a.session.level.value > 0.5, { what: 'alice’s own level meter above 0.5 on a beep' });
    await waitFor(() => a.session.localSpeaking.value, { what: 'alice’s own speaking indicator' });
  });

  it('sends no packets while muted, and again once unmuted', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await rises(sent(a, b), 'alice’s outbound packets', 20);
    a.session.setMuted(true);
    expect(a.session.transmitting.value, 'muted: not transmitting').to.equal(false);
    await waitFor(
      () =>
        a.mesh
          .connectionTo(b.mesh)
          .getSenders()
          .every((s) => s.track === null),
      {
        what: 'alice’s senders to carry no track while muted',
      },
    );
    await sendsNothing(a, b, 'muted');
    a.session.setMuted(false);
    await rises(sent(a, b), 'alice’s outbound packets after unmute', 20);
    await rises(received(b, a), 'bob’s inbound packets after alice unmutes', 20);
  });

  it('push-to-talk sends only while the key is held', async () => {
    const a = endpoint('alice', { inputMode: 'push-to-talk' });
    const b = endpoint('bob');
    await call(a, b);
    expect(a.session.transmitting.value, 'key up: not transmitting').to.equal(false);
    await sendsNothing(a, b, 'push-to-talk released');
    a.session.pressed(true);
    expect(a.session.transmitting.value, 'key down: transmitting').to.equal(true);
    await rises(received(b, a), 'bob’s inbound packets while alice holds the key', 20);
    a.session.pressed(false);
    await sendsNothing(a, b, 'push-to-talk released again');
  });

  it('voice activity opens on speech and stays shut below the threshold', async () => {
    const a = endpoint('alice', { inputMode: 'voice-activity', speaking: { threshold: 1.5 } });
    const b = endpoint('bob');
    await call(a, b);
    // Threshold above any level (max 1): the gate never opens. Silence still flows, so
    // the first word is not held back while bob's side restarts (transmit.ts).
    await rises(received(b, a), 'bob’s inbound packets (silence) under the threshold', 5);
    expect(a.session.transmitting.value, 'no speech: not heard').to.equal(false);
    const heard = await meanRms(() => b.session.playedAudio(a.mesh.peerId)?.rms() ?? -1);
    expect(heard, 'bob plays silence from alice').to.be.below(1e-4);
    a.session.configureSpeaking({ threshold: 0.3, holdMs: 300 });
    await waitFor(() => a.session.transmitting.value, {
      what: 'the fake mic’s beeps to open the voice gate',
    });
    await rises(received(b, a), 'bob’s inbound packets once alice’s gate opens', 5);
    await waitFor(() => (b.session.playedAudio(a.mesh.peerId)?.rms() ?? -1) > 1e-3, {
      what: 'bob to play alice’s beeps (RMS > 1e-3) once her gate opens',
    });
  });

  it('deafen silences playback (and stops transmitting), then restores it', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await a.session.playFile(toneBlob(440), { mode: 'replace', loop: true });
    const master = () => b.session.playedAudio()?.rms() ?? -1;
    const arriving = () => b.session.receivedAudio(idOf(a))?.rms() ?? -1;
    await waitFor(() => master() > 0.05, { what: 'bob’s output to carry alice’s tone (RMS > 0.05)' });
    b.session.setDeafened(true);
    expect(b.session.transmitting.value, 'deafened bob does not transmit').to.equal(false);
    await waitFor(() => master() < 1e-4, { what: 'bob’s output RMS under 1e-4 while deafened' });
    expect(arriving(), 'the tone still arrives while deafened (only playback stops)').to.be.greaterThan(0.05);
    b.session.setDeafened(false);
    await waitFor(() => master() > 0.05, { what: 'bob’s output back above 0.05 after undeafen' });
  });

  it('per-user volume scales the played level; local mute silences one user', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await a.session.playFile(toneBlob(440), { mode: 'replace', loop: true });
    const played = () => b.session.playedAudio(idOf(a))?.rms() ?? 0;
    await waitFor(() => played() > 0.05, { what: 'bob playing alice’s tone' });
    b.session.setVolume(a.mesh.userId, 0.5);
    const half = await meanRms(played);
    b.session.setVolume(a.mesh.userId, 2);
    const double = await meanRms(played);
    expect(b.session.volumes.value[a.mesh.userId], 'volume by user id').to.equal(2);
    expect(double / half, `200% vs 50% RMS ratio (${double} / ${half}), expected about 4`).to.be.within(3, 5);
    b.session.setLocalMute(a.mesh.userId, true);
    await waitFor(() => played() < 1e-4, { what: 'alice locally muted at bob (played RMS < 1e-4)' });
    expect(() => b.session.setVolume(a.mesh.userId, 2.5), 'volume over 200%').to.throw(/BAD_ARGUMENT/);
  });

  it('a member the server muted is not played, whatever their client sends, and is again once unmuted', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const played = () => b.session.playedAudio(a.mesh.peerId)?.rms() ?? -1;
    await waitFor(() => played() > 1e-3, { what: 'bob playing alice’s beeps' });
    // Alice's client keeps sending (a client that ignores its mute); bob's side holds it.
    b.session.setServerMuted([a.mesh.userId]);
    await waitFor(() => played() < 1e-4, { what: 'alice silent at bob while the server mutes her' });
    await rises(received(b, a), 'alice’s packets still arriving (only playback is held)', 5);
    b.session.setServerMuted([]);
    await waitFor(() => played() > 1e-3, { what: 'alice played again once unmuted' });
    expect(b.session.localMutes.value[a.mesh.userId], 'bob’s own mute choice untouched').to.equal(undefined);
  });

  it('leave ends the mic track and removes the voice from the peer', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await waitFor(() => b.session.participants.value.length === 1, { what: 'bob hearing alice' });
    const mic = a.session.inputTrack;
    expect(mic?.readyState, 'the mic is live while joined').to.equal('live');
    await a.session.leave();
    expect(mic?.readyState, 'the mic track ends on leave (device released)').to.equal('ended');
    expect(a.session.joined.value, 'joined is false').to.equal(false);
    expect(a.session.inputTrack, 'no input track').to.equal(null);
    expect(a.session.stats.polling, 'stats polling stopped').to.equal(false);
    const senders = a.mesh.connectionTo(b.mesh).getSenders();
    expect(
      senders.filter((s) => s.track !== null).length,
      'alice’s connection carries no track after leave',
    ).to.equal(0);
    await waitFor(() => b.session.participants.value.length === 0, {
      what: 'bob to drop alice once her track is removed',
    });
  });

  it('a peer who joins later hears everyone and is heard', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const c = endpoint('carol');
    await c.session.join(c.mesh); // joins the channel first, peers arrive afterwards (as with a real mesh)
    await LoopbackMesh.link(a.mesh, c.mesh);
    await LoopbackMesh.link(b.mesh, c.mesh);
    for (const [from, to] of [
      [a, c],
      [b, c],
      [c, a],
      [c, b],
    ] as const)
      await rises(received(to, from), `${to.name}'s inbound audio packets from ${from.name}`, 20);
    await waitFor(() => c.session.participants.value.length === 2, { what: 'carol hearing alice and bob' });
    c.mesh.unlink(a.mesh);
    await waitFor(() => c.session.participants.value.length === 1, {
      what: 'carol dropping alice when she leaves',
    });
  });
});
