import { equal, ok } from '../../test/helpers/assert.ts';
import { ReconnectPolicy } from './reconnect.ts';

describe('ReconnectPolicy', () => {
  it('backs off exponentially up to the cap, with jitter within [0, ceiling]', () => {
    const p = new ReconnectPolicy({ baseMs: 100, maxMs: 1000, random: () => 1 });
    const delays = Array.from({ length: 6 }, () => p.next(1006, 0));
    equal(JSON.stringify(delays), JSON.stringify([100, 200, 400, 800, 1000, 1000]));
    const q = new ReconnectPolicy({ baseMs: 100, random: () => 0.5 });
    equal(q.next(1006, 0), 50);
  });

  it('resets after a stable connection', () => {
    const p = new ReconnectPolicy({ baseMs: 100, stableMs: 1000, random: () => 1 });
    p.next(1006, 0);
    p.next(1006, 0);
    equal(p.next(1006, 5000), 100);
  });

  it('does not retry after kick, ban or auth failure, but does after shutdown or rate limit', () => {
    const p = new ReconnectPolicy({ random: () => 0 });
    equal(p.next(4440, 0), null);
    equal(p.next(4441, 0), null);
    equal(p.next(4401, 0), null);
    ok((p.next(4001, 0) ?? -1) >= 0);
    ok((p.next(4429, 0) ?? 0) >= 5000, 'rate limited waits at least 5 s');
  });
});
