import { equal, ok, throwsCode } from '../test/helpers/assert.ts';
import { NOT_BYTES } from '../test/helpers/tamper.ts';
import { ReplayGuard } from './replay-guard.ts';

const id = (n: number) => Uint8Array.of(n >> 8, n & 0xff);

describe('ReplayGuard', () => {
  it('refuses an id it has seen, and forgets the oldest beyond its capacity', () => {
    const g = new ReplayGuard(3);
    g.check(id(1));
    g.add(id(1));
    throwsCode(() => g.check(id(1)), 'REPLAY');
    g.add(id(1)); // adding twice keeps one entry
    equal(g.size, 1);
    g.add(id(2));
    g.add(id(3));
    g.add(id(4));
    equal(g.size, 3);
    ok(!g.has(id(1)), 'the oldest id fell out');
    for (const n of [2, 3, 4]) throwsCode(() => g.check(id(n)), 'REPLAY');
  });

  it('rejects bad ids and capacities with labelled BAD_INPUT', () => {
    const g = new ReplayGuard();
    for (const bad of NOT_BYTES) {
      ok(throwsCode(() => g.add(bad as Uint8Array), 'BAD_INPUT').message.includes('id'));
      throwsCode(() => g.check(bad as Uint8Array), 'BAD_INPUT');
    }
    for (const capacity of [0, -1, 1.5, 2 ** 25]) throwsCode(() => new ReplayGuard(capacity), 'BAD_INPUT');
  });
});
