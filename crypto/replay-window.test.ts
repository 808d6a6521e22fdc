import { equal, throwsCode } from '../test/helpers/assert.ts';
import { ReplayWindow } from './replay-window.ts';

describe('ReplayWindow', () => {
  it('accepts loss and reordering within the window, once each', () => {
    const w = new ReplayWindow(128);
    for (const c of [0, 2, 1, 5, 4, 130, 3, 100, 129]) {
      w.check(c);
      w.accept(c);
    }
    equal(w.highest, 130);
    for (const c of [130, 129, 100, 5, 4, 3]) throwsCode(() => w.check(c), 'REPLAY', `counter ${c}`);
    w.accept(6); // 130 − 6 = 124 < 128: still inside
    throwsCode(() => w.check(2), 'TOO_OLD', 'counter 2 is 128 below 130');
    throwsCode(() => w.check(0), 'TOO_OLD');
  });

  it('forgets bits the window slides past, and jumps far ahead cleanly', () => {
    const w = new ReplayWindow(32);
    for (let c = 0; c < 32; c++) w.accept(c);
    w.accept(40);
    for (let c = 32; c < 40; c++) w.check(c); // never seen, still inside
    throwsCode(() => w.check(8), 'TOO_OLD');
    w.accept(1_000_000);
    throwsCode(() => w.check(40), 'TOO_OLD');
    w.check(999_999);
    throwsCode(() => w.check(1_000_000), 'REPLAY');
  });

  it('changes nothing on check, so a forged counter never moves the window', () => {
    const w = new ReplayWindow(32);
    w.accept(10);
    w.check(5000);
    equal(w.highest, 10);
    w.accept(9);
  });

  it('rejects window sizes that are not multiples of 32 with BAD_INPUT', () => {
    for (const size of [0, 16, 33, 100, 1.5, -32, Number.NaN]) {
      throwsCode(() => new ReplayWindow(size), 'BAD_INPUT', `size ${size}`);
    }
    throwsCode(() => new ReplayWindow('128' as unknown as number), 'BAD_INPUT');
  });
});
