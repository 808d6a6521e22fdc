/**
 * The voice engine's other media in Chromium with fake devices: audio files played
 * into the channel (checked by tone at the receiver), screen and camera tiles,
 * route and quality from getStats, the Opus bitrate cap, processing and device
 * changes, and the typed errors.
 */
import { expect } from '@open-wc/testing';
import { VoiceError } from './errors.ts';
import { type Endpoint, Endpoints, inboundCodecs, rises, statSum, waitFor } from './testing.ts';
import { hasTone, toneRatio } from './tone.ts';
import { VoiceSession, type VoiceSessionOptions } from './voice-session.ts';
import { toneWav } from './wav.ts';

const endpoints = new Endpoints();
const endpoint = (name: string, options?: VoiceSessionOptions): Endpoint => endpoints.add(name, options);
const call = (...list: Endpoint[]): Promise<void> => endpoints.call(...list);

const toneBlob = (frequency: number, durationMs = 2000) =>
  new Blob([toneWav({ frequency, durationMs, amplitude: 0.5 })], { type: 'audio/wav' });

/** Whether `to` hears `frequency` from `from` in its latest received block. */
function hears(to: Endpoint, from: Endpoint, frequency: number): boolean {
  const probe = to.session.receivedAudio(from.mesh.peerId);
  return probe !== undefined && hasTone(probe.samples(), probe.sampleRate, frequency);
}

/** The received block's share of energy at `frequency`, for failure messages. */
function ratio(to: Endpoint, from: Endpoint, frequency: number): string {
  const probe = to.session.receivedAudio(from.mesh.peerId);
  return probe ? toneRatio(probe.samples(), probe.sampleRate, frequency).toFixed(3) : 'no probe';
}

async function rejection(run: () => Promise<unknown>): Promise<VoiceError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof VoiceError) return error;
    throw new Error(`expected a VoiceError, got ${String(error)}`);
  }
  throw new Error('expected a rejection, got none');
}

/** mocha's suite context (the shared globals do not declare it). */
type Suite = { timeout(ms: number): void };

describe('voice session media', function (this: Suite) {
  // Several connections and capture restarts per test: more than the default 10 s.
  this.timeout(40_000);

  afterEach(() => endpoints.closeAll());

  it('plays a file instead of the mic: the receiver hears its tone; pause, resume, stop', async () => {
    const a = endpoint('alice', { inputMode: 'push-to-talk' });
    const b = endpoint('bob');
    await call(a, b);
    expect(a.session.transmitting.value, 'key up, no file: silent').to.equal(false);
    await a.session.playFile(toneBlob(660), { mode: 'replace', loop: true, volume: 1 });
    expect(a.session.file.value.state, 'file playing').to.equal('playing');
    expect(a.session.transmitting.value, 'a playing file transmits even with the key up').to.equal(true);
    await waitFor(() => hears(b, a, 660), {
      what: `bob hearing alice's 660 Hz file (ratio ${ratio(b, a, 660)})`,
    });
    a.session.pauseFile();
    expect(a.session.file.value.state, 'paused').to.equal('paused');
    expect(a.session.transmitting.value, 'paused file, key up: silent').to.equal(false);
    const position = a.session.filePosition();
    await waitFor(() => (b.session.receivedAudio(a.mesh.peerId)?.rms() ?? 1) < 0.005, {
      what: 'the tone to stop arriving while paused',
    });
    expect(a.session.filePosition(), 'the position holds while paused').to.equal(position);
    a.session.resumeFile();
    await waitFor(() => hears(b, a, 660), { what: 'the tone back after resume' });
    a.session.stopFile();
    expect(a.session.file.value.state, 'stopped').to.equal('idle');
    expect(a.session.transmitting.value, 'stopped file, key up: silent').to.equal(false);
  });

  it('mixes a file with the mic', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await a.session.playFile(toneBlob(523.25), { mode: 'mix', loop: true, volume: 0.8 });
    expect(a.session.file.value, 'file status').to.include({ state: 'playing', volume: 0.8, loop: true });
    await waitFor(() => hears(b, a, 523.25), {
      what: `bob hearing the file under alice's mic (${ratio(b, a, 523.25)})`,
    });
    // The mic's fake beeps are mixed in too: some blocks are mostly beep.
    await waitFor(
      () => {
        const probe = b.session.receivedAudio(a.mesh.peerId);
        return (
          probe !== undefined &&
          toneRatio(probe.samples(), probe.sampleRate, 523.25) < 0.5 &&
          probe.rms() > 0.2
        );
      },
      { what: 'a block where the mic’s beep, not the file, dominates' },
    );
  });

  it('refuses a blob that is not audio, and a file without a call', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    const notJoined = await rejection(() => a.session.playFile(toneBlob(440)));
    expect(notJoined.code, 'playFile before join').to.equal('NOT_JOINED');
    await call(a, b);
    const bad = await rejection(() => a.session.playFile(new Blob([new Uint8Array([1, 2, 3, 4, 5])])));
    expect(bad.code, 'junk bytes').to.equal('BAD_AUDIO_FILE');
    expect(a.session.file.value.state, 'nothing plays').to.equal('idle');
  });

  it('shares the screen as a video tile at the peer, and removes it when sharing stops', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const stream = await a.session.startScreenShare();
    expect(a.session.screen.value, 'own screen preview').to.equal(stream);
    const tile = await waitFor(() => b.session.tiles.value.find((t) => t.peerId === a.mesh.peerId), {
      what: 'a tile from alice at bob',
    });
    expect(tile.kind, 'labelled as a screen').to.equal('screen');
    expect(tile.userId, 'with alice’s user id').to.equal(a.mesh.userId);
    expect(tile.track.kind, 'a video track').to.equal('video');
    const pc = b.mesh.connectionTo(a.mesh);
    await waitFor(async () => (await statSum(pc, 'inbound-rtp', 'framesDecoded', 'video')) > 5, {
      what: 'bob decoding alice’s screen frames',
    });
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = tile.stream;
    await video.play();
    await waitFor(() => video.videoWidth > 0, { what: 'the tile’s stream to play in a <video>' });
    video.srcObject = null;
    await a.session.stopScreenShare();
    expect(stream.getVideoTracks()[0]?.readyState, 'the capture ended').to.equal('ended');
    expect(a.session.screen.value, 'no preview').to.equal(null);
    await waitFor(() => b.session.tiles.value.length === 0, { what: 'bob’s tile gone after alice stops' });
  });

  it('shares a camera as a camera tile; the capture ending stops the share', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const stream = await a.session.startCamera({ width: 320, height: 240 });
    const tile = await waitFor(() => b.session.tiles.value[0], { what: 'a camera tile at bob' });
    expect(tile.kind, 'labelled as a camera').to.equal('camera');
    await a.session.leave();
    expect(stream.getVideoTracks()[0]?.readyState, 'leave ends the camera').to.equal('ended');
    await waitFor(() => b.session.tiles.value.length === 0, {
      what: 'bob’s camera tile gone after alice leaves',
    });
  });

  it('reports route direct, rtt, jitter and loss while observed; stops polling when not', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob', { inputMode: 'open-mic', statsIntervalMs: 200 });
    await call(a, b);
    expect(b.session.stats.polling, 'no observer: no polling').to.equal(false);
    const seen: number[] = [];
    const off = b.session.stats.subscribe(() => seen.push(performance.now()));
    expect(b.session.stats.polling, 'observed: polling').to.equal(true);
    const stats = await waitFor(
      () => {
        const s = b.session.stats.value[a.mesh.peerId];
        return s && s.packetsReceived > 20 && s.rttMs !== null && s.jitterMs !== null && s.loss !== null && s;
      },
      { what: 'bob’s stats for alice with rtt, jitter and loss' },
    );
    expect(stats.route, 'loopback host candidates: direct').to.equal('direct');
    expect(stats.localCandidateType, 'host candidate').to.equal('host');
    expect(stats.codec, 'audio codec').to.equal('audio/opus');
    expect(stats.rttMs, 'rtt in ms on loopback').to.be.within(0, 50);
    expect(stats.loss, 'no loss on loopback').to.be.within(0, 0.05);
    expect(stats.jitterMs, 'jitter in ms').to.be.within(0, 50);
    await waitFor(() => seen.length >= 3, { what: 'three polls at 200 ms' });
    off();
    expect(b.session.stats.polling, 'last observer gone: polling stops').to.equal(false);
    b.session.stats.subscribe(() => undefined);
    expect(b.session.stats.polling, 'observed again').to.equal(true);
    await b.session.leave();
    expect(b.session.stats.polling, 'leave stops polling').to.equal(false);
    expect(b.session.stats.value, 'and clears the figures').to.deep.equal({});
  });

  it('caps the Opus bitrate from the channel setting', async () => {
    const a = endpoint('alice', { inputMode: 'open-mic', maxBitrate: 16_000 });
    const b = endpoint('bob');
    await call(a, b);
    const pc = a.mesh.connectionTo(b.mesh);
    const encodings = () =>
      pc
        .getSenders()
        .find((s) => s.track?.kind === 'audio')
        ?.getParameters().encodings;
    await waitFor(() => encodings()?.[0]?.maxBitrate === 16_000, {
      what: 'maxBitrate 16000 on alice’s sender',
    });
    await waitFor(
      async () => {
        const target = await statSum(pc, 'outbound-rtp', 'targetBitrate', 'audio');
        return target > 0 && target <= 16_000;
      },
      { what: 'the encoder’s targetBitrate at most 16 kbit/s' },
    );
    await a.session.setMaxBitrate(64_000);
    expect(encodings()?.[0]?.maxBitrate, 'raised to 64000').to.equal(64_000);
    expect(a.session.maxBitrate.value, 'the setting').to.equal(64_000);
    const bad = await rejection(() => a.session.setMaxBitrate(1000));
    expect(bad.code, 'under Opus’s minimum').to.equal('BAD_ARGUMENT');
  });

  it('switches processing and input device at runtime, keeping the call', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const first = a.session.inputTrack;
    expect(first?.getSettings().echoCancellation, 'echo cancellation on by default').to.equal(true);
    expect(first?.getSettings().noiseSuppression, 'noise suppression on by default').to.equal(true);
    expect(first?.getSettings().autoGainControl, 'auto gain on by default').to.equal(true);
    await a.session.setProcessing({ echoCancellation: false, autoGainControl: false });
    const second = a.session.inputTrack;
    expect(second?.getSettings().echoCancellation, 'echo cancellation now off').to.equal(false);
    expect(second?.getSettings().autoGainControl, 'auto gain now off').to.equal(false);
    expect(second?.getSettings().noiseSuppression, 'noise suppression untouched').to.equal(true);
    if (second !== first) expect(first?.readyState, 'the replaced capture is released').to.equal('ended');
    expect(a.session.processing.value, 'the setting').to.deep.equal({
      echoCancellation: false,
      noiseSuppression: true,
      autoGainControl: false,
    });
    const sender = a.mesh
      .connectionTo(b.mesh)
      .getSenders()
      .find((s) => s.track?.kind === 'audio');
    // The sender carries a clone of the capture (its enabled flag is the mic's gate).
    expect(sender?.track?.readyState, 'the sender’s track is live').to.equal('live');
    expect(sender?.track?.getSettings(), 'the sender carries the new capture').to.deep.include({
      echoCancellation: false,
      autoGainControl: false,
      deviceId: second?.getSettings().deviceId,
    });
    await rises(
      () => statSum(b.mesh.connectionTo(a.mesh), 'inbound-rtp', 'packetsReceived', 'audio'),
      'bob’s packets after the switch',
      20,
    );

    const inputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
    const other = inputs.find(
      (d) => d.deviceId !== 'default' && d.deviceId !== second?.getSettings().deviceId,
    );
    if (!other) throw new Error(`the fake devices should offer a second input (have ${inputs.length})`);
    await a.session.setInputDevice(other.deviceId);
    expect(a.session.inputTrack?.getSettings().deviceId, 'captured from the chosen device').to.equal(
      other.deviceId,
    );
    expect(a.session.inputDevice.value, 'the setting').to.equal(other.deviceId);
    const missing = await rejection(() => a.session.setInputDevice('no-such-device'));
    expect(missing.code, 'an unknown input').to.equal('NO_DEVICE');
    expect(a.session.inputDevice.value, 'the old device stays').to.equal(other.deviceId);
    expect(a.session.inputTrack?.readyState, 'and keeps capturing').to.equal('live');
  });

  it('chooses the output device, and refuses an unknown one', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    const outputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput');
    const other = outputs.find((d) => d.deviceId !== 'default');
    if (!other) throw new Error(`the fake devices should offer a second output (have ${outputs.length})`);
    await a.session.setOutputDevice(other.deviceId);
    expect(a.session.outputDevice.value, 'the setting').to.equal(other.deviceId);
    const missing = await rejection(() => a.session.setOutputDevice('no-such-output'));
    expect(missing.code, 'an unknown output').to.equal('NO_DEVICE');
    expect(a.session.outputDevice.value, 'the old output stays').to.equal(other.deviceId);
  });

  it('gives typed errors: NO_DEVICE, ALREADY_JOINED, NOT_JOINED, ABORTED', async () => {
    const a = endpoint('alice', { inputMode: 'open-mic', inputDeviceId: 'no-such-mic' });
    const noMic = await rejection(() => a.session.join(a.mesh));
    expect(noMic.code, 'join with an unknown input').to.equal('NO_DEVICE');
    expect(a.session.joined.value, 'not joined after a failed join').to.equal(false);
    const b = endpoint('bob');
    await b.session.join(b.mesh);
    const twice = await rejection(() => b.session.join(b.mesh));
    expect(twice.code, 'join twice').to.equal('ALREADY_JOINED');
    await b.session.leave();
    const screen = await rejection(() => b.session.startScreenShare());
    expect(screen.code, 'share without a call').to.equal('NOT_JOINED');
    const c = endpoint('carol');
    const joining = c.session.join(c.mesh);
    await c.session.leave();
    const aborted = await rejection(() => joining);
    expect(aborted.code, 'leave during join').to.equal('ABORTED');
    expect(c.session.joined.value, 'not joined').to.equal(false);
    expect(() => new VoiceSession({ maxBitrate: 1 }), 'bitrate under 6 kbit/s').to.throw(/BAD_ARGUMENT/);
  });

  it('receives Opus from a peer that shares a screen at the same time', async () => {
    const a = endpoint('alice');
    const b = endpoint('bob');
    await call(a, b);
    await a.session.startScreenShare();
    await waitFor(() => b.session.tiles.value.length === 1, { what: 'the screen tile' });
    const pc = b.mesh.connectionTo(a.mesh);
    await rises(() => statSum(pc, 'inbound-rtp', 'packetsReceived', 'audio'), 'audio beside the screen', 20);
    expect(await inboundCodecs(pc, 'audio'), 'voice still Opus').to.include('audio/opus');
    expect(b.session.participants.value.length, 'the screen is not taken for a voice').to.equal(1);
  });
});
