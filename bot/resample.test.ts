/** The resampler and the WAV track reader: tones keep their pitch and level across rates; what lies above the new Nyquist frequency is removed, not folded back. */
import assert from 'node:assert/strict';
import { toneAmplitude, toneRatio } from '../web/voice/tone.ts';
import { toneSamples, toneWav } from '../web/voice/wav.ts';
import { frameOf, toPcm16, wavTrack } from './audio-file.ts';
import { BotError } from './errors.ts';
import { resample } from './resample.ts';

/** The middle of a signal (resampling edges see zeros beyond the ends). */
const middle = (x: Float32Array) => x.subarray(Math.floor(x.length / 4), Math.floor((3 * x.length) / 4));

describe('resample', () => {
  for (const [from, frequency] of [
    [44_100, 523],
    [8_000, 440],
    [22_050, 3_000],
    [96_000, 1_000],
  ] as const) {
    it(`${from} Hz → 48 kHz keeps a ${frequency} Hz tone's pitch and level`, () => {
      const input = toneSamples({ frequency, durationMs: 500, sampleRate: from, amplitude: 0.5 });
      const out = resample(input, from, 48_000);
      assert.equal(out.length, Math.round((input.length * 48_000) / from), 'length scales with the rate');
      const amplitude = toneAmplitude(middle(out), 48_000, frequency);
      assert.ok(Math.abs(amplitude - 0.5) < 0.01, `amplitude 0.5 (got ${amplitude.toFixed(4)})`);
      assert.ok(toneRatio(middle(out), 48_000, frequency) > 0.99, 'nothing else in the signal');
    });
  }

  it('96 kHz → 48 kHz removes a 30 kHz tone instead of folding it to 18 kHz', () => {
    const low = toneSamples({ frequency: 1_000, durationMs: 500, sampleRate: 96_000, amplitude: 0.3 });
    const high = toneSamples({ frequency: 30_000, durationMs: 500, sampleRate: 96_000, amplitude: 0.3 });
    const mixed = low.map((x, i) => x + high[i]!);
    const out = middle(resample(mixed, 96_000, 48_000));
    const kept = toneAmplitude(out, 48_000, 1_000);
    const alias = toneAmplitude(out, 48_000, 18_000);
    assert.ok(Math.abs(kept - 0.3) < 0.01, `the 1 kHz tone stays (${kept.toFixed(4)})`);
    assert.ok(alias < 0.3 * 10 ** (-60 / 20), `the 18 kHz alias is below -60 dB (${alias.toExponential(2)})`);
  });

  it('copies at equal rates and refuses bad input', () => {
    const x = new Float32Array([0.1, 0.2, 0.3]);
    const y = resample(x, 48_000, 48_000);
    assert.deepEqual([...y], [...x], 'the same samples');
    assert.notEqual(y, x, 'a copy');
    assert.throws(() => resample(x, 0, 48_000), BotError, 'a zero rate');
    assert.throws(() => resample(x, 44_100.5, 48_000), { code: 'BAD_ARGUMENT' }, 'a fractional rate');
    assert.throws(
      () => resample([0.1] as unknown as Float32Array, 8_000, 48_000),
      { code: 'BAD_ARGUMENT' },
      'a plain array',
    );
  });
});

describe('wavTrack', () => {
  it('reads a 16 kHz WAV as 48 kHz mono 16-bit frames, the last padded with silence', () => {
    const track = wavTrack(toneWav({ frequency: 440, durationMs: 1010, sampleRate: 16_000 }), 'a');
    assert.equal(track.sourceRate, 16_000, 'the source rate');
    assert.equal(track.pcm.length, 48_480, '1.01 s at 48 kHz');
    assert.equal(track.frames, 51, '50 full frames and a part');
    const last = frameOf(track, 50);
    assert.equal(last.length, 960, 'a full frame');
    assert.ok(
      last.subarray(480).every((s) => s === 0),
      'padded with silence',
    );
    assert.ok(
      frameOf(track, 99).every((s) => s === 0),
      'past the end is silence',
    );
  });

  it('refuses what is not PCM 16-bit WAV with BAD_AUDIO', () => {
    assert.throws(() => wavTrack(new Uint8Array(44), 'zeros'), { code: 'BAD_AUDIO' }, 'no RIFF header');
    const float = toneWav({ frequency: 440, durationMs: 10 });
    new DataView(float.buffer).setUint16(20, 3, true); // IEEE float
    assert.throws(() => wavTrack(float, 'float'), { code: 'BAD_AUDIO' }, 'a float WAV');
  });

  it('clips and rounds floats into 16 bits', () => {
    assert.deepEqual(
      [...toPcm16(new Float32Array([-2, -1, -0.5, 0, 0.5, 1, 2]))],
      [-32768, -32768, -16384, 0, 16384, 32767, 32767],
      'full scale both ways, clipped beyond',
    );
  });
});
