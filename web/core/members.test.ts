import assert from 'node:assert/strict';
import { Members } from './members.ts';

const bob = { key: 'b'.repeat(44), name: 'Bob', roles: ['member'], online: true };
const carol = { key: 'c'.repeat(44), name: 'Carol', roles: ['member'], online: false };

describe('Members: former members keep their names', () => {
  it('remembers the name of a member removed by a push, and forgets it when they come back', () => {
    const m = new Members();
    m.reset([bob, carol]);
    m.remove(bob.key);
    assert.deepEqual(m.former.value, { [bob.key]: 'Bob' }, 'a removed member should keep a name');
    assert.equal(m.has(bob.key), false);
    m.presence({ type: 'presence', member: bob });
    assert.deepEqual(m.former.value, {}, 'a member who is back is not former');
  });

  it('remembers members missing from a later welcome, and restores only well-formed saved names', () => {
    const m = new Members();
    m.reset([bob, carol]);
    m.reset([carol]);
    assert.deepEqual(m.former.value, { [bob.key]: 'Bob' });
    const fresh = new Members();
    fresh.reset([carol]);
    fresh.restoreFormer({ [bob.key]: 'Bob', [carol.key]: 'Carol', x: 42 });
    assert.deepEqual(
      fresh.former.value,
      { [bob.key]: 'Bob' },
      'current members and non-strings are left out',
    );
    fresh.restoreFormer('junk');
    fresh.restoreFormer(null);
    assert.deepEqual(fresh.former.value, { [bob.key]: 'Bob' });
  });
});
