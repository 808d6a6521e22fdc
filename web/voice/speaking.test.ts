/** Level arithmetic and the speaking detector's threshold and hold. */
import assert from 'node:assert/strict';
import { levelFromRms, rms, toDb } from './level.ts';
import { SpeakingDetector } from './speaking.ts';

describe('level', () => {
  it('computes RMS and maps dBFS linearly onto 0–1', () => {
    assert.equal(rms([]), 0, 'empty block');
    assert.equal(rms([0.5, -0.5, 0.5, -0.5]), 0.5, 'square wave');
    assert.ok(Math.abs(toDb(0.1) + 20) < 1e-9, '0.1 is -20 dBFS');
    assert.equal(levelFromRms(0), 0, 'silence');
    assert.equal(levelFromRms(0.0005), 0, 'under -60 dBFS');
    assert.equal(levelFromRms(1), 1, '0 dBFS');
    assert.equal(levelFromRms(4), 1, 'clipped above 0 dBFS');
    assert.ok(Math.abs(levelFromRms(0.001 * Math.sqrt(1000)) - 0.5) < 1e-9, '-30 dBFS is half way');
  });
});

describe('speaking detector', () => {
  it('turns on at the threshold and off after the hold', () => {
    const detector = new SpeakingDetector({ threshold: 0.3, holdMs: 300 });
    assert.equal(detector.update(0.1, 0), false, 'quiet: off');
    assert.equal(detector.update(0.3, 20), true, 'at the threshold: on');
    assert.equal(detector.update(0.05, 200), true, 'a pause shorter than the hold: still on');
    assert.equal(detector.update(0.05, 320), true, 'exactly the hold: still on');
    assert.equal(detector.update(0.05, 321), false, 'past the hold: off');
    assert.equal(detector.speaking, false, 'speaking reflects the last update');
    assert.equal(detector.update(0.9, 400), true, 'loud again: on at once');
    detector.reset();
    assert.equal(detector.speaking, false, 'reset clears');
  });

  it('with no hold follows each block, and can be reconfigured', () => {
    const detector = new SpeakingDetector({ threshold: 0.5, holdMs: 0 });
    assert.deepEqual(
      [0.6, 0.4, 0.7, 0.1].map((level, i) => detector.update(level, i * 20)),
      [true, false, true, false],
      'block by block',
    );
    detector.configure({ threshold: 0.05, holdMs: 0 });
    assert.equal(detector.update(0.1, 100), true, 'the new threshold applies');
  });

  it('refuses bad options', () => {
    for (const options of [
      { threshold: -0.1, holdMs: 0 },
      { threshold: Number.NaN, holdMs: 0 },
      { threshold: 0.3, holdMs: -1 },
      { threshold: 0.3, holdMs: Number.POSITIVE_INFINITY },
    ])
      assert.throws(() => new SpeakingDetector(options), RangeError, JSON.stringify(options));
  });
});
