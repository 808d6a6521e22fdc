/**
 * The relay jitter buffer under simulated networks: seeded random delay, reordering,
 * loss and duplication (reproduce a failure with SEED=<n>), talk-spurt pauses,
 * resyncs and its memory bound.
 */
import assert from 'node:assert/strict';
import { seededRandom } from '../../../test/helpers/random.ts';
import { JitterBuffer, type JitterBufferOptions, type Slot } from './jitter-buffer.ts';

const BASE_SEED = Number(process.env.SEED ?? 20261202);

const random = seededRandom;

const payloadOf = (counter: number) => Uint8Array.of(0x78, counter & 0xff, (counter >> 8) & 0xff);

interface Network {
  /** Max extra delay, ticks (uniform). */
  jitter: number;
  loss: number;
  duplicate: number;
}

interface Run {
  slots: Slot[];
  jb: JitterBuffer;
  dropped: Set<number>;
  duplicated: number;
  maxSize: number;
}

/** Sends `frames` counters from `first`, one per tick, through the network; pulls one slot per tick. */
function simulate(seed: number, frames: number, net: Network, options?: JitterBufferOptions, first = 0): Run {
  const rand = random(seed);
  const jb = new JitterBuffer(options);
  const arrivals = new Map<number, number[]>();
  const dropped = new Set<number>();
  let duplicated = 0;
  const at = (tick: number, counter: number) => {
    const list = arrivals.get(tick) ?? [];
    list.push(counter);
    arrivals.set(tick, list);
  };
  for (let i = 0; i < frames; i++) {
    const counter = first + i;
    if (rand() < net.loss) {
      dropped.add(counter);
      continue;
    }
    at(i + Math.floor(rand() * (net.jitter + 1)), counter);
    if (rand() < net.duplicate) {
      duplicated++;
      at(i + Math.floor(rand() * (net.jitter + 3)), counter);
    }
  }
  const slots: Slot[] = [];
  let maxSize = 0;
  for (let tick = 0; tick < frames + net.jitter + 40; tick++) {
    for (const counter of arrivals.get(tick) ?? []) jb.push(counter, payloadOf(counter));
    maxSize = Math.max(maxSize, jb.depth);
    slots.push(jb.pull());
  }
  return { slots, jb, dropped, duplicated, maxSize };
}

const played = (slots: Slot[]) => slots.flatMap((s) => (s.kind === 'frame' ? [s.counter] : []));

describe('relay jitter buffer', () => {
  it('plays a clean stream in order after a 40 ms start-up delay, with no concealment', () => {
    const { slots, jb } = simulate(1, 200, { jitter: 0, loss: 0, duplicate: 0 });
    const firstFrame = slots.findIndex((s) => s.kind === 'frame');
    assert.equal(firstFrame, 1, 'the first frame plays on the second tick (2 frames = 40 ms buffered)');
    assert.deepEqual(
      played(slots),
      Array.from({ length: 200 }, (_, i) => i),
      'every frame, in order',
    );
    const stats = jb.stats();
    assert.equal(
      stats.concealed,
      4,
      'only the 4 ticks after the last frame, before the stream counts as paused',
    );
    assert.equal(stats.lost, 0, 'nothing lost');
    assert.equal(stats.late, 0, 'nothing late');
  });

  it('under seeded jitter, loss and duplication: in order, each counter once, payloads intact, counts add up', () => {
    for (let run = 0; run < 40; run++) {
      const seed = BASE_SEED + run;
      const net = { jitter: run % 6, loss: 0.05 + (run % 3) * 0.05, duplicate: 0.1 };
      const { slots, jb, dropped, duplicated, maxSize } = simulate(seed, 500, net);
      const counters = played(slots);
      for (let i = 1; i < counters.length; i++)
        assert.ok(counters[i]! > counters[i - 1]!, `seed ${seed}: played out of order at ${i}`);
      for (const s of slots)
        if (s.kind === 'frame')
          assert.deepEqual(s.payload, payloadOf(s.counter), `seed ${seed}: payload of ${s.counter}`);
      for (const c of counters) assert.ok(!dropped.has(c), `seed ${seed}: dropped frame ${c} was played`);
      const given = new Set(
        slots.flatMap((s) => (s.kind === 'conceal' && s.counter !== undefined ? [s.counter] : [])),
      );
      const first = counters[0] ?? 0;
      const last = counters[counters.length - 1] ?? 0;
      const stats = jb.stats();
      const playedSet = new Set(counters);
      let neither = 0;
      for (let c = first; c <= last; c++) {
        assert.ok(
          !(playedSet.has(c) && given.has(c)),
          `seed ${seed}: counter ${c} both played and concealed`,
        );
        if (!playedSet.has(c) && !given.has(c)) neither++;
      }
      assert.ok(
        neither <= stats.skipped,
        `seed ${seed}: ${neither} counters neither played nor concealed, ${stats.skipped} skipped`,
      );
      assert.ok(
        stats.duplicates <= duplicated,
        `seed ${seed}: ${stats.duplicates} duplicates counted, ${duplicated} sent`,
      );
      assert.ok(
        stats.duplicates + stats.late >= duplicated - dropped.size,
        `seed ${seed}: every extra copy is a duplicate or late`,
      );
      assert.ok(
        stats.lost >= [...dropped].filter((c) => c > first && c < last).length,
        `seed ${seed}: losses reported`,
      );
      assert.ok(maxSize <= jb.capacity, `seed ${seed}: depth ${maxSize} within capacity ${jb.capacity}`);
      assert.ok(stats.targetMs <= jb.maxTarget * 20, `seed ${seed}: target within bound`);
    }
  });

  it('grows the target on late frames, then shrinks it after a calm stretch', () => {
    const jb = new JitterBuffer({ shrinkAfter: 50 });
    // Prime with 3 frames, play a little, then frame 10 arrives 4 ticks late.
    let counter = 0;
    const tick = (skip?: number) => {
      if (counter !== skip) jb.push(counter, payloadOf(counter));
      counter++;
      return jb.pull();
    };
    for (let i = 0; i < 10; i++) tick();
    const before = jb.stats().targetMs;
    for (let i = 0; i < 5; i++) tick(10);
    assert.equal(jb.push(10, payloadOf(10)), 'late', 'frame 10 after its slot is late');
    const grown = jb.stats().targetMs;
    assert.ok(grown > before, `target grew from ${before} ms, is ${grown} ms`);
    for (let i = 0; i < 400; i++) tick();
    assert.equal(jb.stats().targetMs, jb.minTarget * 20, 'back to the minimum after calm');
    assert.equal(jb.stats().late, 1, 'one late frame');
    assert.ok(
      jb.stats().bufferedMs <= (jb.minTarget + 2) * 20,
      `buffer drained to ${jb.stats().bufferedMs} ms`,
    );
  });

  it('holds (conceals without skipping) to reach a grown target', () => {
    const jb = new JitterBuffer({ initialTarget: 3 });
    for (let c = 0; c < 3; c++) jb.push(c, payloadOf(c));
    jb.pull();
    jb.pull(); // frames 0, 1 played
    jb.push(0, payloadOf(0)); // a duplicate of a played frame
    assert.equal(jb.stats().duplicates, 1, 'a replayed, already played frame is a duplicate');
    jb.push(4, payloadOf(4)); // frame 3 missing; depth 3 (2..4)
    assert.equal(jb.pull().kind, 'frame', 'frame 2 plays');
    const slot = jb.pull();
    assert.deepEqual(slot, { kind: 'conceal', counter: undefined }, 'depth 2 < target 3: hold for frame 3');
    jb.push(3, payloadOf(3));
    const after = jb.pull();
    assert.ok(
      after.kind === 'frame' && after.counter === 3,
      'the held-for frame plays instead of being lost',
    );
    assert.equal(jb.stats().lost, 0, 'no loss');
  });

  it('waits for a late frame when nothing is buffered (a hold, not a loss), then brings the delay back down', () => {
    const jb = new JitterBuffer({ shrinkAfter: 50 });
    const slots: Slot[] = [];
    let counter = 0;
    const send = (n: number) => {
      for (let i = 0; i < n; i++, counter++) jb.push(counter, payloadOf(counter));
    };
    for (let i = 0; i < 10; i++) {
      send(1);
      slots.push(jb.pull());
    }
    // The sender's frames 10–12 are held up on the way (a stalled page, a busy link) and then come at once.
    slots.push(jb.pull());
    assert.deepEqual(
      slots.slice(-1),
      [{ kind: 'frame', counter: 9, payload: payloadOf(9) }],
      'frame 9 plays',
    );
    const held = [jb.pull(), jb.pull()];
    assert.deepEqual(
      held,
      [
        { kind: 'conceal', counter: undefined },
        { kind: 'conceal', counter: undefined },
      ],
      'nothing buffered: two holds for frame 10, not a give-up',
    );
    send(3);
    const after = jb.pull();
    assert.ok(after.kind === 'frame' && after.counter === 10, 'frame 10 plays when it comes');
    assert.equal(jb.stats().late, 0, 'nothing late');
    assert.equal(jb.stats().lost, 0, 'nothing lost');
    assert.equal(jb.stats().targetMs, 80, 'the target grew by the two ticks waited (40 → 80 ms)');
    slots.push(...held, after);
    for (let i = 0; i < 600; i++) {
      send(1);
      slots.push(jb.pull());
    }
    assert.equal(jb.stats().targetMs, 40, 'the target shrinks back after calm');
    assert.ok(jb.stats().skipped >= 1, 'the excess delay was skipped away');
    assert.ok(jb.depth <= 2, `the buffer is back to the target (depth ${jb.depth})`);
    assert.deepEqual(
      played(slots),
      Array.from({ length: counter }, (_, i) => i).filter((c) => played(slots).includes(c)),
      'in order, each once',
    );
    assert.ok(
      played(slots).includes(11) && played(slots).includes(12),
      'the frames that came in a burst play too',
    );
  });

  it('treats a pause (mute) as silence, not loss, and primes again on the next talk spurt', () => {
    const jb = new JitterBuffer();
    const slots: Slot[] = [];
    for (let c = 0; c < 20; c++) {
      jb.push(c, payloadOf(c));
      slots.push(jb.pull());
    }
    for (let i = 0; i < 50; i++) slots.push(jb.pull()); // the sender is muted; counters keep counting
    assert.equal(slots[slots.length - 1]!.kind, 'idle', 'idle while paused');
    for (let c = 70; c < 90; c++) {
      jb.push(c, payloadOf(c));
      slots.push(jb.pull());
    }
    const stats = jb.stats();
    assert.equal(stats.lost, 0, 'a pause loses nothing');
    assert.ok(played(slots).includes(70), 'the new spurt plays from its first frame');
    assert.ok(
      stats.concealed <= 4 + 3,
      `only the trailing ticks before pausing are concealed (${stats.concealed})`,
    );
  });

  it('resyncs on a jump beyond its capacity and never holds more than capacity frames', () => {
    const jb = new JitterBuffer({ capacity: 20 });
    for (let c = 0; c < 5; c++) jb.push(c, payloadOf(c));
    jb.pull();
    assert.equal(jb.push(1000, payloadOf(1000)), 'resync', 'a sender restart is a resync');
    for (let c = 1001; c < 1100; c++) jb.push(c, payloadOf(c));
    assert.ok(jb.depth <= 20, `depth ${jb.depth} ≤ 20`);
    assert.equal(jb.stats().resyncs >= 1, true, 'resync counted');
    const slot = jb.pull();
    assert.ok(slot.kind === 'frame' && slot.counter >= 1000, 'plays from the new stream');
  });

  it('refuses bad options and counters', () => {
    assert.throws(() => new JitterBuffer({ minTarget: 0 }), RangeError, 'minTarget 0');
    assert.throws(() => new JitterBuffer({ initialTarget: 20 }), RangeError, 'initial above max');
    assert.throws(() => new JitterBuffer().push(-1, payloadOf(0)), RangeError, 'negative counter');
    assert.throws(() => new JitterBuffer().push(1.5, payloadOf(0)), RangeError, 'fractional counter');
  });
});
