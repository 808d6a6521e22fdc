/** The Goertzel tone detector, against synthesized signals (seeded noise), and the WAV writer's tones. */
import assert from 'node:assert/strict';
import { seededRandom } from '../../test/helpers/random.ts';
import { hasTone, strongestTone, toneAmplitude, toneRatio } from './tone.ts';
import { readWav, toneWav } from './wav.ts';

const RATE = 48_000;

/** Deterministic noise in −1…1. */
function noise(seed: number, count: number, amplitude: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: count }, () => amplitude * (random() * 2 - 1));
}

function sine(frequency: number, amplitude: number, count: number, rate = RATE, phase = 0.3): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate + phase);
  return out;
}

const add = (...blocks: Float32Array[]): Float32Array =>
  blocks.reduce((sum, block) => sum.map((x, i) => x + (block[i] ?? 0)));

describe('tone detector (Goertzel)', () => {
  it('measures the amplitude of a tone, on or off a DFT bin', () => {
    for (const frequency of [440, 441.7, 1000, 3150.5]) {
      const amplitude = toneAmplitude(sine(frequency, 0.4, 2048), RATE, frequency);
      assert.ok(
        Math.abs(amplitude - 0.4) < 0.01,
        `${frequency} Hz at 0.4 should read 0.4, read ${amplitude}`,
      );
    }
  });

  it('finds a tone in noise and not at other frequencies', () => {
    const block = add(sine(440, 0.3, 4096), noise(1, 4096, 0.05));
    assert.ok(hasTone(block, RATE, 440), `440 Hz should be found (ratio ${toneRatio(block, RATE, 440)})`);
    for (const other of [330, 550, 880, 1000])
      assert.ok(
        !hasTone(block, RATE, other),
        `${other} Hz should not be found (ratio ${toneRatio(block, RATE, other)})`,
      );
    assert.ok(toneRatio(block, RATE, 440) > 0.9, 'the tone holds nearly all the energy');
  });

  it('tells two speakers apart by their tones', () => {
    const a = add(sine(440, 0.3, 4096), noise(2, 4096, 0.02));
    const b = add(sine(660, 0.3, 4096), noise(3, 4096, 0.02));
    assert.equal(strongestTone(a, RATE, [440, 660, 880]), 440, 'speaker A is 440 Hz');
    assert.equal(strongestTone(b, RATE, [440, 660, 880]), 660, 'speaker B is 660 Hz');
    const both = add(sine(440, 0.3, 4096), sine(880, 0.3, 4096));
    const r440 = toneRatio(both, RATE, 440);
    const r880 = toneRatio(both, RATE, 880);
    assert.ok(Math.abs(r440 - 0.5) < 0.05 && Math.abs(r880 - 0.5) < 0.05, `a 50/50 mix: ${r440}, ${r880}`);
  });

  it('calls silence and faint noise no tone', () => {
    assert.equal(toneRatio(new Float32Array(2048), RATE, 440), 0, 'silence has no energy share');
    assert.ok(!hasTone(new Float32Array(2048), RATE, 440), 'silence has no tone');
    assert.ok(!hasTone(sine(440, 0.0005, 2048), RATE, 440), 'a tone under minAmplitude counts as silence');
    assert.ok(!hasTone(noise(4, 2048, 0.3), RATE, 440), 'white noise is not a tone');
    assert.equal(
      strongestTone(new Float32Array(512), RATE, [440, 660]),
      undefined,
      'no strongest tone in silence',
    );
  });

  it('refuses bad input', () => {
    assert.throws(() => toneAmplitude(new Float32Array(8), 0, 440), RangeError, 'sampleRate 0');
    assert.throws(() => toneAmplitude(new Float32Array(8), RATE, 0), RangeError, 'frequency 0');
    assert.throws(
      () => toneAmplitude(new Float32Array(8), RATE, RATE / 2),
      RangeError,
      'frequency at Nyquist',
    );
    assert.throws(() => toneAmplitude(new Float32Array(8), RATE, Number.NaN), RangeError, 'frequency NaN');
    for (const bad of [null, undefined, 42, 'samples'])
      assert.throws(
        () => toneAmplitude(bad as unknown as Float32Array, RATE, 440),
        TypeError,
        `samples ${String(bad)}`,
      );
    assert.equal(toneAmplitude([0.5], RATE, 440), 0, 'a one-sample block has no measurable tone');
  });

  it('finds the tone of a WAV file the writer made', () => {
    const { samples, sampleRate } = readWav(
      toneWav({ frequency: 523.25, durationMs: 200, sampleRate: 44_100 }),
    );
    const block = samples.subarray(2000, 6096);
    assert.equal(sampleRate, 44_100, 'the file keeps its sample rate');
    assert.ok(hasTone(block, sampleRate, 523.25), 'C5 is found in the file');
    assert.equal(strongestTone(block, sampleRate, [440, 523.25, 659.25]), 523.25, 'C5 is the strongest');
  });
});
