/** The message window (which slice of history is in the DOM) and grouping. Pure: runs in Node. */
import { equal, ok } from '../../test/helpers/assert.ts';
import type { ChatMessage } from '../core/model.ts';
import {
  continues,
  extendDown,
  extendUp,
  FOLLOWING,
  GROUP_MS,
  INITIAL_WINDOW,
  MAX_WINDOW,
  type MessageWindow,
  STEP,
  windowRange,
} from './message-window.ts';

function history(n: number): ChatMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `m${i}`,
    author: i % 3 === 0 ? 'a' : 'b',
    at: i * 1000,
    text: `${i}`,
    editedAt: undefined,
    deleted: false,
    replyTo: undefined,
    reactions: {},
    attachments: [],
    mentions: [],
    pending: false,
  }));
}

describe('message window', () => {
  it('follows the newest messages', () => {
    const all = history(10_000);
    const { start, end } = windowRange(all, FOLLOWING);
    equal(end, 10_000, 'end');
    equal(end - start, INITIAL_WINDOW, 'size');
    equal(windowRange(history(5), FOLLOWING).start, 0, 'short history start');
  });

  it('grows upward by STEP, never past MAX_WINDOW, anchored by id', () => {
    const all = history(10_000);
    let w = FOLLOWING;
    for (let i = 0; i < 20; i++) {
      w = extendUp(all, { ...w, follow: false });
      const { start, end } = windowRange(all, w);
      ok(end - start <= MAX_WINDOW, `window of ${end - start} exceeds ${MAX_WINDOW}`);
    }
    const { start } = windowRange(all, w);
    equal(start, 10_000 - INITIAL_WINDOW - 20 * STEP, 'start after 20 steps up');
    const prepended = [...history(100).map((m) => ({ ...m, id: `old${m.id}` })), ...all];
    equal(
      windowRange(prepended, w).start,
      start + 100,
      'prepending older history keeps the window on its messages',
    );
  });

  it('grows downward and follows again at the end', () => {
    const all = history(1000);
    let w: MessageWindow = { first: 'm100', size: MAX_WINDOW, follow: false };
    w = extendDown(all, w);
    const r = windowRange(all, w);
    equal(r.end - r.start, MAX_WINDOW, 'size stays at the cap');
    equal(r.start, 100 + STEP, 'top trimmed');
    while (!w.follow) w = extendDown(all, w);
    equal(windowRange(all, w).end, 1000, 'reaches the end');
  });

  it('an unknown anchor falls back to the newest', () => {
    const all = history(300);
    equal(windowRange(all, { first: 'gone', size: 50, follow: false }).end, 300, 'end');
  });

  it('groups one author within GROUP_MS, not across replies or deletions', () => {
    const [a, b] = history(2).map((m) => ({ ...m, author: 'x' }));
    ok(continues(a, b!), 'same author, one second apart');
    equal(continues(a, { ...b!, at: a!.at + GROUP_MS }), false, 'too far apart');
    equal(continues(a, { ...b!, author: 'y' }), false, 'other author');
    equal(continues(a, { ...b!, replyTo: 'm0' }), false, 'a reply starts a group');
    equal(continues({ ...a!, deleted: true }, b!), false, 'after a deleted message');
    equal(continues(undefined, b!), false, 'first message');
  });
});
