/** The WAV writer (PCM16 mono) and reader: header fields, sample values, fades, wrong input. */
import assert from 'node:assert/strict';
import { encodeWav, readWav, toneSamples, toneWav } from './wav.ts';

const text = (bytes: Uint8Array, offset: number) =>
  String.fromCharCode(...bytes.subarray(offset, offset + 4));

describe('wav', () => {
  it('writes a canonical 44-byte PCM16 mono header', () => {
    const bytes = toneWav({ frequency: 1000, durationMs: 100, sampleRate: 48_000 });
    const view = new DataView(bytes.buffer);
    assert.equal(bytes.length, 44 + 4800 * 2, '100 ms at 48 kHz is 4800 samples of 2 bytes');
    assert.equal(text(bytes, 0), 'RIFF', 'RIFF tag');
    assert.equal(view.getUint32(4, true), bytes.length - 8, 'RIFF size');
    assert.equal(text(bytes, 8), 'WAVE', 'WAVE tag');
    assert.equal(text(bytes, 12), 'fmt ', 'fmt chunk');
    assert.deepEqual(
      [view.getUint32(16, true), view.getUint16(20, true), view.getUint16(22, true)],
      [16, 1, 1],
      'fmt size 16, PCM, mono',
    );
    assert.deepEqual(
      [
        view.getUint32(24, true),
        view.getUint32(28, true),
        view.getUint16(32, true),
        view.getUint16(34, true),
      ],
      [48_000, 96_000, 2, 16],
      'rate, byte rate, block align, bits',
    );
    assert.equal(text(bytes, 36), 'data', 'data chunk');
    assert.equal(view.getUint32(40, true), 9600, 'data size');
  });

  it('encodes samples as little-endian int16, clipped', () => {
    const bytes = encodeWav([0, 1, -1, 0.5, -0.5, 2, -2], 8000);
    const view = new DataView(bytes.buffer, 44);
    const values = Array.from({ length: 7 }, (_, i) => view.getInt16(i * 2, true));
    assert.deepEqual(values, [0, 32767, -32768, 16384, -16384, 32767, -32768], 'int16 values');
  });

  it('round-trips through readWav', () => {
    const samples = toneSamples({ frequency: 440, durationMs: 50, sampleRate: 16_000, amplitude: 0.8 });
    const read = readWav(encodeWav(samples, 16_000));
    assert.equal(read.sampleRate, 16_000, 'rate');
    assert.equal(read.channels, 1, 'mono');
    assert.equal(read.samples.length, samples.length, 'length');
    const worst = read.samples.reduce((max, x, i) => Math.max(max, Math.abs(x - (samples[i] as number))), 0);
    assert.ok(worst < 1 / 16_000, `quantization error stays under one int16 step (was ${worst})`);
  });

  it('fades in and out and peaks at the amplitude', () => {
    const samples = toneSamples({
      frequency: 250,
      durationMs: 200,
      sampleRate: 48_000,
      amplitude: 0.5,
      fadeMs: 10,
    });
    assert.equal(samples[0], 0, 'starts at zero');
    assert.ok(Math.abs(samples[samples.length - 1] as number) < 1e-3, 'ends at zero');
    const peak = samples.reduce((max, x) => Math.max(max, Math.abs(x)), 0);
    assert.ok(Math.abs(peak - 0.5) < 1e-3, `peak 0.5 (was ${peak})`);
    const early = samples.subarray(0, 96).reduce((max, x) => Math.max(max, Math.abs(x)), 0);
    assert.ok(early < 0.06, `the first 2 ms are under the fade (peak ${early})`);
  });

  it('refuses bad arguments and files it cannot read', () => {
    const bad: [string, () => unknown][] = [
      ['frequency 0', () => toneWav({ frequency: 0, durationMs: 10 })],
      ['frequency past Nyquist', () => toneWav({ frequency: 30_000, durationMs: 10 })],
      ['duration 0', () => toneWav({ frequency: 440, durationMs: 0 })],
      ['amplitude 2', () => toneWav({ frequency: 440, durationMs: 10, amplitude: 2 })],
      ['fractional rate', () => encodeWav([0], 8000.5)],
      ['rate too low', () => encodeWav([0], 100)],
    ];
    for (const [what, run] of bad) assert.throws(run, RangeError, what);
    assert.throws(() => readWav(new Uint8Array(10)), TypeError, 'too short');
    assert.throws(() => readWav(new TextEncoder().encode('RIFF....WAVEdata')), TypeError, 'no fmt');
    const float = toneWav({ frequency: 440, durationMs: 5 });
    new DataView(float.buffer).setUint16(20, 3, true); // IEEE float
    assert.throws(() => readWav(float), TypeError, 'float format');
    const truncated = toneWav({ frequency: 440, durationMs: 5 }).subarray(0, 60);
    assert.throws(() => readWav(truncated), TypeError, 'data chunk past the end');
  });
});
