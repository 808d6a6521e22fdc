/** FrameClock on real timers: ticks 20 ms apart with no drift, catch-up after a busy loop, a restart after a stall. */
import assert from 'node:assert/strict';
import { BotError } from './errors.ts';
import { FrameClock } from './frame-clock.ts';

/** Runs a clock for `count` ticks; returns when each ran (performance.now) and its stats. */
function runTicks(clock: FrameClock, count: number, onTick: (n: number) => void = () => {}) {
  return new Promise<number[]>((resolve) => {
    const at: number[] = [];
    clock.start((n) => {
      at.push(performance.now());
      onTick(n);
      if (at.length === count) {
        clock.stop();
        resolve(at);
      }
    });
  });
}

describe('FrameClock', () => {
  it('ticks every 20 ms by absolute time: 50 ticks end 980 ms after the first', async () => {
    const clock = new FrameClock();
    const at = await runTicks(clock, 50);
    // Lateness of tick i against its due time: a busy machine may delay a few, but none add up.
    const late = at.map((t, i) => t - at[0]! - i * 20);
    assert.ok(
      late.every((l) => l >= -1.5),
      `no tick is early: ${late.map((l) => l.toFixed(1))}`,
    );
    const settled = Math.min(...late.slice(40));
    assert.ok(
      settled < 5,
      `no drift: one of the last ten ticks is within 5 ms of its time (${settled.toFixed(1)})`,
    );
    const delayed = late.filter((l) => l > 10).length;
    assert.ok(delayed <= 5, `at most a few ticks over 10 ms late (${delayed})`);
    assert.equal(clock.running, false, 'stopped');
    assert.equal(clock.stats().skipped, 0, 'nothing skipped');
  });

  it('runs ticks that fell due while the loop was busy at once, and keeps the schedule', async () => {
    const clock = new FrameClock();
    const at = await runTicks(clock, 30, (n) => {
      if (n !== 5) return;
      const until = performance.now() + 70; // a busy event loop: three ticks fall due meanwhile
      while (performance.now() < until) {
        // spin
      }
    });
    // Tick 5 ran at 100 ms and held the loop to 170: ticks 6–8 (due at 120, 140, 160) run at once, 9 on time.
    const burst = at[8]! - at[6]!;
    assert.ok(burst < 8, `ticks 6–8 run back to back to catch up (${burst.toFixed(1)} ms)`);
    const ninth = at[9]! - at[0]!;
    assert.ok(Math.abs(ninth - 180) < 15, `tick 9 is back on schedule at 180 ms (${ninth.toFixed(1)})`);
    const span = at[29]! - at[0]!;
    assert.ok(Math.abs(span - 580) < 20, `the schedule did not move: tick 29 at 580 ms (${span.toFixed(1)})`);
    assert.ok(clock.stats().maxLateMs >= 45, 'the late ticks were seen as late');
  });

  it('restarts the schedule after a stall longer than the catch-up, counting what it skipped', async () => {
    let offset = 0;
    const clock = new FrameClock({ now: () => performance.now() + offset, maxCatchUp: 5 });
    const ticks: number[] = [];
    await runTicks(clock, 10, (n) => {
      ticks.push(n);
      if (n === 3) offset += 1000; // the process was stopped for a second
    });
    assert.deepEqual(ticks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'tick numbers stay consecutive');
    const { skipped } = clock.stats();
    assert.ok(skipped >= 45 && skipped <= 51, `about 50 ticks skipped, not bursted (${skipped})`);
  });

  it('refuses bad options and a second start, and stops when a tick throws', async () => {
    assert.throws(() => new FrameClock({ periodMs: 0 }), { code: 'BAD_ARGUMENT' }, 'a zero period');
    assert.throws(() => new FrameClock({ maxCatchUp: -1 }), BotError, 'a negative catch-up');
    const clock = new FrameClock();
    assert.throws(
      () =>
        clock.start(() => {
          throw new Error('boom');
        }),
      /boom/,
      'the first tick runs at start, and its error comes out',
    );
    assert.equal(clock.running, false, 'a tick that throws stops the clock');
    clock.start(() => {});
    assert.throws(() => clock.start(() => {}), { code: 'BAD_ARGUMENT' }, 'one run at a time');
    clock.stop();
  });
});
