import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArrivalJitter } from './arrival-jitter.ts';

describe('relay arrival jitter (RFC 3550 estimate)', () => {
  it('is null until two frames in a row, and 0 for frames exactly 20 ms apart', () => {
    const j = new ArrivalJitter();
    assert.equal(j.ms, null, 'no estimate before any frame');
    j.arrived(0, 1000);
    assert.equal(j.ms, null, 'no estimate from one frame');
    for (let i = 1; i < 50; i++) j.arrived(i, 1000 + i * 20);
    assert.equal(j.ms, 0, 'a steady 20 ms cadence has no jitter');
  });

  it('converges to the mean deviation of arrivals that alternate ±5 ms', () => {
    const j = new ArrivalJitter();
    for (let i = 0; i < 400; i++) j.arrived(i, 1000 + i * 20 + (i % 2 === 0 ? 5 : -5));
    const ms = j.ms ?? -1;
    assert.ok(
      Math.abs(ms - 10) < 0.5,
      `each transit difference is 10 ms, so the estimate nears 10, got ${ms}`,
    );
  });

  it('counts a lost frame as its own gap, not as jitter, and skips a reordered one', () => {
    const j = new ArrivalJitter();
    for (let i = 0; i < 10; i++) j.arrived(i, i * 20);
    j.arrived(11, 220); // frame 10 lost: 40 ms for two counters is on time
    j.arrived(10, 225); // arrived after 11: skipped
    assert.equal(j.ms, 0, `loss and reordering are not jitter, got ${j.ms}`);
  });

  it('starts over after a pause instead of counting the silence', () => {
    const j = new ArrivalJitter();
    for (let i = 0; i < 10; i++) j.arrived(i, i * 20);
    j.arrived(10, 180 + 5_000); // five seconds of push-to-talk released, same counter run
    j.arrived(11, 180 + 5_020);
    assert.equal(j.ms, 0, `a pause is not jitter, got ${j.ms}`);
  });
});
