/**
 * CaptureLevels in Chromium: levels of a real track's captured chunks, read by a
 * MediaStreamTrackProcessor. A Web Audio oscillator stands in for the mic (it is a
 * real MediaStreamTrack), switched between a tone and silence.
 */
import { expect } from '@open-wc/testing';
import { CaptureLevels } from './capture-levels.ts';
import { waitFor } from './testing.ts';

describe('CaptureLevels', () => {
  let context: AudioContext;
  let gain: GainNode;
  let track: MediaStreamTrack;

  beforeEach(async () => {
    context = new AudioContext();
    await context.resume();
    const oscillator = context.createOscillator();
    gain = context.createGain();
    gain.gain.value = 0;
    const destination = context.createMediaStreamDestination();
    oscillator.connect(gain).connect(destination);
    oscillator.start();
    const [audio] = destination.stream.getAudioTracks();
    if (!audio) throw new Error('the destination should have an audio track');
    track = audio;
  });

  afterEach(async () => {
    track.stop();
    await context.close();
  });

  it('reports each chunk’s level: 0 in silence, high with a tone, and stops on stop()', async () => {
    expect(CaptureLevels.supported(), 'Chromium has MediaStreamTrackProcessor').to.equal(true);
    const levels: number[] = [];
    const capture = new CaptureLevels(track, (level) => levels.push(level));
    await waitFor(() => levels.length >= 5, { what: 'five chunks of silence' });
    expect(Math.max(...levels), 'silence reads level 0').to.equal(0);
    gain.gain.value = 0.5; // about -9 dBFS RMS: level 0.85
    await waitFor(() => (levels.at(-1) ?? 0) > 0.7, { what: 'a chunk of the tone at a level over 0.7' });
    expect(track.readyState, 'the caller’s track is left running').to.equal('live');
    capture.stop();
    const count = levels.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(levels.length - count, 'no chunk after stop() (but one in flight)').to.be.at.most(1);
    expect(track.readyState, 'stop() ends only its own clone').to.equal('live');
  });

  it('ends by itself, once, when a chunk cannot be handled, so the caller falls back', async () => {
    let calls = 0;
    let ended = 0;
    new CaptureLevels(
      track,
      () => {
        calls++;
        throw new Error('a level the caller could not take');
      },
      () => ended++,
    );
    await waitFor(() => ended > 0, { what: 'onEnd after the failed chunk' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls, 'no chunk after the failure').to.equal(1);
    expect(ended, 'onEnd once').to.equal(1);
    expect(track.readyState, 'the caller’s track is left running').to.equal('live');
  });

  it('reads a disabled track’s clone at full level (the gate of the senders is not its business)', async () => {
    gain.gain.value = 0.5;
    track.enabled = false;
    const levels: number[] = [];
    const capture = new CaptureLevels(track, (level) => levels.push(level));
    await waitFor(() => (levels.at(-1) ?? 0) > 0.7, {
      what: 'the tone’s level though the original is disabled',
    });
    capture.stop();
  });
});
