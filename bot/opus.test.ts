/** Opus through opusscript: a tone survives encode → decode; packets look like the browser's (20 ms mono); bad input is refused with its code. */
import assert from 'node:assert/strict';
import { hasTone, toneAmplitude } from '../web/voice/tone.ts';
import { toneSamples } from '../web/voice/wav.ts';
import { toPcm16 } from './audio-file.ts';
import { FRAME_SAMPLES, OpusDecoder, OpusEncoder } from './opus.ts';

describe('Opus', () => {
  it('encodes 20 ms mono frames a decoder turns back into the tone', () => {
    const encoder = new OpusEncoder({ bitrate: 32_000 });
    const decoder = new OpusDecoder();
    const pcm = toPcm16(toneSamples({ frequency: 523, durationMs: 1000, amplitude: 0.5, fadeMs: 0 }));
    const out = new Float32Array(pcm.length);
    let bytes = 0;
    for (let i = 0; i < 50; i++) {
      const packet = encoder.encode(pcm.subarray(i * FRAME_SAMPLES, (i + 1) * FRAME_SAMPLES));
      bytes += packet.length;
      // RFC 6716 §3.1: the TOC's s bit (0x04) is 0 for mono, and code 0 (one frame) in the low bits.
      assert.equal(packet[0]! & 0x07, 0, 'one mono frame per packet');
      const decoded = decoder.decode(packet);
      assert.equal(decoded.length, FRAME_SAMPLES, 'each packet decodes to 960 samples');
      decoded.forEach((s, j) => {
        out[i * FRAME_SAMPLES + j] = s / 0x8000;
      });
    }
    const { frames, meanMs } = encoder.stats();
    console.log(
      `# Opus encode ${meanMs.toFixed(3)} ms/frame, ${(bytes / 50).toFixed(1)} bytes/packet at 32 kbit/s`,
    );
    assert.equal(frames, 50, 'every frame counted');
    assert.ok(bytes / 50 > 60 && bytes / 50 < 100, 'about 80 bytes a packet at 32 kbit/s');
    const tail = out.subarray(10 * FRAME_SAMPLES);
    assert.ok(hasTone(tail, 48_000, 523, { minRatio: 0.95 }), 'the decoded audio is the tone');
    assert.ok(Math.abs(toneAmplitude(tail, 48_000, 523) - 0.5) < 0.05, 'at its level');
    encoder.close();
    decoder.close();
  });

  it('refuses frames of the wrong size, bad packets and use after close', () => {
    const encoder = new OpusEncoder();
    const decoder = new OpusDecoder();
    assert.throws(
      () => encoder.encode(new Int16Array(480)),
      { code: 'BAD_ARGUMENT' },
      '10 ms is not a frame',
    );
    assert.throws(
      () => encoder.encode(new Float32Array(960) as unknown as Int16Array),
      { code: 'BAD_ARGUMENT' },
      'floats are not PCM16',
    );
    assert.throws(
      () => new OpusEncoder({ bitrate: 1_000 }),
      { code: 'BAD_ARGUMENT' },
      'a bitrate below 6 kbit/s',
    );
    assert.throws(() => decoder.decode(new Uint8Array(0)), { code: 'BAD_ARGUMENT' }, 'an empty packet');
    assert.throws(
      () => decoder.decode(new Uint8Array(1276)),
      { code: 'BAD_ARGUMENT' },
      'a packet over 1275 bytes',
    );
    assert.throws(
      () => decoder.decode(new Uint8Array([0x03])),
      { code: 'CODEC' },
      'code 3 without its count byte',
    );
    encoder.close();
    decoder.close();
    encoder.close(); // twice is fine
    assert.throws(() => encoder.encode(new Int16Array(960)), { code: 'CODEC' }, 'a closed encoder');
    assert.throws(() => decoder.decode(new Uint8Array([0x0b, 1])), { code: 'CODEC' }, 'a closed decoder');
  });
});
