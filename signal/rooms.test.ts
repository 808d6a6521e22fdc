import assert from 'node:assert/strict';
import { Rooms } from './rooms.ts';

describe('Rooms', () => {
  it('delivers within a room and topic only', () => {
    const r = new Rooms<string>();
    r.subscribe('a', 'r1', ['t'], 10);
    r.subscribe('b', 'r1', ['t'], 10);
    r.subscribe('c', 'r2', ['t'], 10);
    assert.deepEqual([...(r.subscribers('r1', 't') ?? [])].sort(), ['a', 'b']);
    assert.deepEqual([...(r.subscribers('r2', 't') ?? [])], ['c']);
    assert.equal(r.subscribers('r1', 'other'), undefined);
    assert.equal(r.roomCount, 2);
  });

  it('enforces the per-subscriber topic limit without partial subscription', () => {
    const r = new Rooms<string>();
    assert.equal(r.subscribe('a', 'r', ['1', '2'], 2), true);
    assert.equal(r.subscribe('a', 'r', ['2'], 2), true, 'an existing topic costs nothing');
    assert.equal(r.subscribe('a', 'r', ['3', '4'], 2), false);
    assert.equal(r.isSubscribed('a', 'r', '3'), false);
  });

  it('cleans up on unsubscribe, leaveRoom and leaveAll', () => {
    const r = new Rooms<string>();
    r.subscribe('a', 'r1', ['x', 'y'], 10);
    r.subscribe('a', 'r2', ['x'], 10);
    r.unsubscribe('a', 'r1', ['x']);
    assert.equal(r.isSubscribed('a', 'r1', 'x'), false);
    r.leaveRoom('a', 'r1');
    assert.equal(r.isSubscribed('a', 'r1', 'y'), false);
    assert.equal(r.isSubscribed('a', 'r2', 'x'), true);
    r.leaveAll('a');
    assert.equal(r.topicCount, 0);
  });
});
