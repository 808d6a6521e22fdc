/**
 * The relay voice pipeline end to end in one Chromium page: a 440 Hz oscillator
 * track → RelayEncoder (WebCodecs Opus) → FrameSealer → a simulated network (seeded
 * delay 0–30 ms, so reordering, plus loss, duplicates and tampered copies) →
 * RelayVoice.receive → FrameReceiver → jitter buffer → AudioDecoder → loopback
 * RTCPeerConnection → <audio>. The output is read from the loopback receiver's
 * remote track (the very track the element plays) and checked by tone.
 */
import { expect } from '@open-wc/testing';
import { randomBytes } from '../../../crypto/bytes.ts';
import { FrameReceiver } from '../../../crypto/frame.ts';
import { generateIdentity } from '../../../crypto/identity.ts';
import { seededRandom } from '../../../test/helpers/random.ts';
import { AnalyserProbe } from '../analyser-probe.ts';
import { observeFor, waitFor } from '../testing.ts';
import { hasTone, toneAmplitude, toneRatio } from '../tone.ts';
import type { JitterBufferOptions } from './jitter-buffer.ts';
import { RelayVoice, type RelayVoiceStats } from './relay-voice.ts';

const TONE_HZ = 440;
const KEY_ID = 5;

type Suite = { timeout(ms: number): void };

const random = seededRandom;

interface Impairment {
  loss: number;
  duplicate: number;
  /** Every n-th frame is also sent with one ciphertext byte flipped. */
  tamperEvery: number;
  maxDelayMs: number;
}

const CLEAN: Impairment = { loss: 0, duplicate: 0, tamperEvery: 0, maxDelayMs: 0 };

/** A tone source: oscillator → gain (the "mouth": 0 or 0.5) → a MediaStream track. */
class ToneSource {
  readonly context = new AudioContext();
  readonly gain = this.context.createGain();
  readonly oscillator = this.context.createOscillator();
  readonly destination = this.context.createMediaStreamDestination();
  constructor(on = true) {
    this.oscillator.frequency.value = TONE_HZ;
    this.gain.gain.value = on ? 0.5 : 0;
    this.destination.channelCount = 1;
    this.oscillator.connect(this.gain).connect(this.destination);
    this.oscillator.start();
  }
  get track(): MediaStreamTrack {
    return this.destination.stream.getAudioTracks()[0] as MediaStreamTrack;
  }
  set(on: boolean): void {
    this.gain.gain.setValueAtTime(on ? 0.5 : 0, this.context.currentTime);
  }
  close(): void {
    this.track.stop();
    void this.context.close();
  }
}

interface Call {
  source: ToneSource;
  alice: RelayVoice;
  bob: RelayVoice;
  probe: AnalyserProbe;
  probeContext: AudioContext;
  net: { sent: number; dropped: number; duplicated: number; tampered: number };
  /** Send time (performance.now) and size of the latest frames. */
  sendLog: { at: number; size: number }[];
}

const calls: Call[] = [];

/** Alice sends the tone to Bob through the impaired "network". */
async function call(
  impairment: Impairment,
  seed = 1,
  fftSize = 2048,
  jitter: JitterBufferOptions = {},
): Promise<Call> {
  const identity = generateIdentity();
  const secret = randomBytes(32);
  const rand = random(seed);
  const net = { sent: 0, dropped: 0, duplicated: 0, tampered: 0 };
  const sendLog: { at: number; size: number }[] = [];
  const receiver = new FrameReceiver();
  receiver.add(KEY_ID, secret, identity.publicKey);
  // Bob only listens; his sealer is never used.
  const bob = new RelayVoice({
    send: () => undefined,
    sealer: { secret: randomBytes(32), senderPublicKey: generateIdentity().publicKey, keyId: 1 },
    receiver,
    jitter,
  });
  const deliver = (frame: Uint8Array) => {
    const delay = Math.floor(rand() * (impairment.maxDelayMs + 1));
    if (delay === 0) bob.receive(frame, 'alice');
    else setTimeout(() => bob.receive(frame, 'alice'), delay);
  };
  const alice = new RelayVoice({
    send: (frame) => {
      net.sent++;
      sendLog.push({ at: performance.now(), size: frame.length });
      if (sendLog.length > 200) sendLog.shift();
      if (impairment.tamperEvery > 0 && net.sent % impairment.tamperEvery === 0) {
        const forged = frame.slice();
        forged[forged.length - 5]! ^= 0x01;
        net.tampered++;
        // Ahead of the original: after it, the replay window would refuse the copy before the tag is checked.
        bob.receive(forged, 'alice');
      }
      if (rand() < impairment.loss) {
        net.dropped++;
        return;
      }
      deliver(frame);
      if (rand() < impairment.duplicate) {
        net.duplicated++;
        deliver(frame.slice());
      }
    },
    sealer: { secret, senderPublicKey: identity.publicKey, keyId: KEY_ID },
  });
  const source = new ToneSource();
  await bob.open();
  await alice.start(source.track);
  const output = bob.playback?.track;
  if (!output) throw new Error('bob has no output track');
  const probeContext = new AudioContext();
  const probe = new AnalyserProbe(probeContext, fftSize);
  probeContext.createMediaStreamSource(new MediaStream([output])).connect(probe.node);
  const made = { source, alice, bob, probe, probeContext, net, sendLog };
  calls.push(made);
  return made;
}

const hearsTone = (c: Call) => hasTone(c.probe.samples(), c.probe.sampleRate, TONE_HZ);
const toneLevel = (c: Call) => toneAmplitude(c.probe.samples(), c.probe.sampleRate, TONE_HZ);
const stats = (c: Call): RelayVoiceStats => c.bob.stats.value;
const show = (c: Call) =>
  `ratio ${toneRatio(c.probe.samples(), c.probe.sampleRate, TONE_HZ).toFixed(3)}, stats ${JSON.stringify(stats(c))}`;

describe('relay voice pipeline', function (this: Suite) {
  this.timeout(30_000);

  afterEach(() => {
    for (const c of calls.splice(0)) {
      c.alice.stop();
      c.bob.stop();
      c.source.close();
      void c.probeContext.close();
    }
  });

  it('carries a tone through loss, reordering, duplicates and forged frames, and conceals the losses', async () => {
    const c = await call({ loss: 0.05, duplicate: 0.05, tamperEvery: 25, maxDelayMs: 30 }, 7);
    await waitFor(() => hearsTone(c), {
      what: `the 440 Hz tone at Bob's output (${show(c)})`,
      timeoutMs: 5000,
    });
    await waitFor(() => c.net.sent >= 150, { what: '3 s of frames sent' });
    await observeFor(300); // let the delayed frames land and the stats publish
    const s = stats(c);
    const sender = s.senders.alice;
    expect(sender, 'a stream for alice').to.not.equal(undefined);
    expect(s.refused.DECRYPT_FAILED, 'every forged frame refused by the tag').to.equal(c.net.tampered);
    expect(c.net.tampered, 'forgeries were sent').to.be.greaterThan(4);
    expect(s.duplicates, 'every duplicate dropped (replay window or jitter buffer)').to.be.at.least(
      c.net.duplicated - 2,
    );
    expect(s.lost, `losses reported (${c.net.dropped} dropped)`).to.be.greaterThan(0);
    expect(s.concealed, 'each loss concealed').to.be.at.least(s.lost);
    expect(s.framesReceived, 'nothing but real frames reach the buffers').to.be.at.most(c.net.sent);
    // A one-shot read can land on a concealed slot; the tone must be back within a moment.
    await waitFor(() => hearsTone(c), { what: `the tone still playing (${show(c)})`, timeoutMs: 2000 });
    console.log(
      `relay voice, impaired: sent ${c.net.sent}, dropped ${c.net.dropped}, dup ${c.net.duplicated}, forged ${c.net.tampered}; ` +
        `received ${s.framesReceived}, lost ${s.lost}, late ${s.late}, concealed ${s.concealed}, ` +
        `refused ${JSON.stringify(s.refused)}, target ${sender?.targetMs} ms, buffered ${sender?.bufferedMs} ms`,
    );
  });

  it('plays through the loopback RTCPeerConnection into an <audio> element, never straight to the speakers', async () => {
    const c = await call(CLEAN);
    const output = c.bob.playback;
    if (!output) throw new Error('no output');
    await waitFor(() => hearsTone(c), { what: `the tone (${show(c)})` });
    const receiverTracks = output.receiveConnection.getReceivers().map((r) => r.track);
    expect(receiverTracks, "the output track is the loopback receiver's").to.include(output.track);
    const played = (output.element.srcObject as MediaStream | null)?.getAudioTracks() ?? [];
    expect(played[0], 'the <audio> element plays that remote track').to.equal(output.track);
    expect(output.element.paused, 'the element plays').to.equal(false);
    expect(output.element.muted, 'the element is not muted').to.equal(false);
    const before = await output.loopbackStats();
    await observeFor(500);
    const after = await output.loopbackStats();
    const packets = after.packetsReceived - before.packetsReceived;
    console.log(`loopback inbound-rtp: ${packets} packets in 0.5 s (50 = 10 ms packets, 25 = 20 ms)`);
    expect(packets, 'loopback inbound-rtp packets rise').to.be.greaterThan(15);
    expect(after.totalAudioEnergy, 'the loopback receiver hears energy').to.be.greaterThan(
      before.totalAudioEnergy,
    );
    expect(output.sendConnection.connectionState, 'loopback connected').to.equal('connected');
  });

  it('sends nothing while muted, and a mute is a pause (no loss), not a loss', async () => {
    const c = await call(CLEAN);
    await waitFor(() => hearsTone(c), { what: `the tone (${show(c)})` });
    c.alice.setMuted(true);
    await observeFor(200);
    const sentAtMute = c.net.sent;
    await observeFor(600);
    expect(c.net.sent, 'no frames while muted').to.equal(sentAtMute);
    await waitFor(() => toneLevel(c) < 0.005, { what: `silence at Bob's output (${show(c)})` });
    const lostBefore = stats(c).lost;
    c.alice.setMuted(false);
    await waitFor(() => hearsTone(c), { what: `the tone again after unmute (${show(c)})` });
    await observeFor(300);
    expect(stats(c).lost, 'the muted stretch was not counted as loss').to.equal(lostBefore);
  });

  it('applies per-sender volume 0–2 and deafen', async () => {
    const c = await call(CLEAN);
    await waitFor(() => hearsTone(c), { what: `the tone (${show(c)})` });
    await observeFor(300);
    const unity = toneLevel(c);
    c.bob.setVolume('alice', 2);
    await waitFor(() => toneLevel(c) > unity * 1.5, {
      what: `a louder tone at volume 2 (unity ${unity}, now ${toneLevel(c)})`,
    });
    c.bob.setVolume('alice', 0);
    await waitFor(() => toneLevel(c) < 0.005, { what: `silence at volume 0 (${toneLevel(c)})` });
    c.bob.setVolume('alice', 1);
    await waitFor(() => hearsTone(c), { what: 'the tone back at volume 1' });
    c.bob.setDeafened(true);
    await waitFor(() => toneLevel(c) < 0.005, { what: `silence while deafened (${toneLevel(c)})` });
    expect(c.bob.deafened.value, 'deafened state').to.equal(true);
    c.bob.setDeafened(false);
    await waitFor(() => hearsTone(c), { what: 'the tone after undeafen' });
    expect(() => c.bob.setVolume('alice', 2.5), 'volume above 2').to.throw(/BAD_ARGUMENT/);
  });

  it('encodes the fake microphone at 50 frames/s of 20 ms, each sealed packet small', async () => {
    const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    const sizes: number[] = [];
    const identity = generateIdentity();
    const voice = new RelayVoice({
      send: (frame) => sizes.push(frame.length),
      sealer: { secret: randomBytes(32), senderPublicKey: identity.publicKey, keyId: 9 },
    });
    try {
      await voice.start(mic.getAudioTracks()[0]);
      await observeFor(200);
      const start = sizes.length;
      await observeFor(1000);
      const rate = sizes.length - start;
      expect(rate, `about 50 frames in 1 s, got ${rate}`).to.be.within(40, 60);
      const largest = Math.max(...sizes);
      expect(largest, `32 kbit/s Opus + 20 bytes of sealing stays small (largest ${largest} B)`).to.be.below(
        200,
      );
    } finally {
      voice.stop();
      for (const track of mic.getTracks()) track.stop();
    }
  });

  it('refuses garbage, a wrong key and replays without throwing, and counts them', async () => {
    const c = await call(CLEAN);
    await waitFor(() => stats(c).framesReceived > 10, { what: 'frames at Bob' });
    c.bob.receive(new Uint8Array(0), 'mallory');
    c.bob.receive(Uint8Array.of(0x20, 1, 2, 3), 'mallory');
    c.bob.receive(
      Uint8Array.from({ length: 40 }, (_, i) => (i === 0 ? 0x11 : i === 1 ? 99 : i)),
      'mallory',
    );
    await observeFor(300);
    const refused = stats(c).refused;
    expect(refused.BAD_FORMAT, 'an empty frame').to.be.at.least(1);
    expect(refused.BAD_VERSION, 'another version').to.equal(1);
    expect(refused.UNKNOWN_KEY, 'a key id nobody gave us').to.equal(1);
    expect(stats(c).senders.mallory, 'no stream made for refused frames').to.equal(undefined);
  });

  for (const [label, jitter] of [
    ['default jitter buffer (start 40 ms, min 40 ms)', {}],
    ['a 20 ms jitter buffer (initialTarget = minTarget = 1)', { initialTarget: 1, minTarget: 1 }],
  ] as const)
    it(`measures tone onset latency with ${label}, source gain → loopback output (logged, not asserted)`, async () => {
      const c = await call(CLEAN, 1, 256, jitter);
      await waitFor(() => stats(c).framesReceived > 20, { what: 'frames at Bob' });
      c.source.set(false);
      // A second probe on Bob's master bus, before the loopback connection, splits the figure.
      const output = c.bob.playback;
      if (!output) throw new Error('no output');
      const bus = new AnalyserProbe(output.context, 256);
      output.input.connect(bus.node);
      const total: number[] = [];
      const beforeLoopback: number[] = [];
      const encoded: number[] = [];
      for (let round = 0; round < 6; round++) {
        c.source.set(false);
        await waitFor(() => c.probe.rms() < 0.003, {
          what: `silence before onset ${round} (${c.probe.rms()})`,
        });
        await observeFor(300);
        const t0 = performance.now();
        c.source.set(true);
        let atBus: number | undefined;
        await waitFor(
          () => {
            if (atBus === undefined && bus.rms() > 0.05) atBus = performance.now() - t0;
            return c.probe.rms() > 0.05;
          },
          { what: `onset ${round} at the output`, intervalMs: 1, timeoutMs: 3000 },
        );
        total.push(performance.now() - t0);
        beforeLoopback.push(atBus ?? Number.NaN);
        // Silence codes to a few bytes, the tone to ~100: the first big frame after the onset left the encoder.
        const firstLoud = c.sendLog.find((e) => e.at > t0 && e.size > 40);
        encoded.push(firstLoud ? firstLoud.at - t0 : Number.NaN);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
      const s = stats(c).senders.alice;
      console.log(
        `relay voice latency, clean network, ${label}: source gain → loopback output ${total.map((x) => x.toFixed(0)).join(', ')} ms ` +
          `(median ${median(total).toFixed(0)}); source gain → master bus before the loopback ` +
          `${beforeLoopback.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(beforeLoopback).toFixed(0)}); ` +
          `source gain → first tone frame sealed and sent ${encoded.map((x) => x.toFixed(0)).join(', ')} ms (median ${median(encoded).toFixed(0)}); ` +
          `jitter target ${s?.targetMs} ms, buffered ${s?.bufferedMs} ms, late ${s?.late}, stalled ${s?.stalledFrames}, underruns ${s?.underruns}, output base latency ${output.context.baseLatency * 1000} ms`,
      );
      expect(total.length, 'six onsets measured').to.equal(6);
    });
});
