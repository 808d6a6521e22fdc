import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { ChannelTree } from './channels.ts';

describe('ChannelTree', () => {
  it('creates nested channels in order and replicates to a read-only client doc', () => {
    const tree = new ChannelTree();
    const client = new Y.Doc();
    tree.onUpdate((u) => Y.applyUpdate(client, u));
    const general = tree.create({ name: 'general', kind: 'text' }, 0);
    const cat = tree.create({ name: 'games', kind: 'text' }, 0);
    const voice = tree.create(
      { name: 'lobby', kind: 'voice', parent: cat.id, settings: { bitrate: 32000 } },
      0,
    );
    assert.deepEqual(
      tree
        .list()
        .filter((c) => c.parent === null)
        .map((c) => c.name),
      ['general', 'games'],
    );
    assert.equal(tree.get(voice.id)?.parent, cat.id);
    assert.equal(tree.get(voice.id)?.bitrate, 32000);
    const replicated = client.getMap<Y.Map<unknown>>('channels');
    assert.equal(replicated.size, 3);
    assert.equal(replicated.get(general.id)?.get('name'), 'general');
  });

  it('survives a restart through its encoded state', () => {
    const tree = new ChannelTree();
    const c = tree.create({ name: 'a', kind: 'text', settings: { topic: 't' } }, 0);
    const again = new ChannelTree(tree.encodeState());
    assert.equal(again.get(c.id)?.topic, 't');
  });

  it('moves within and across parents, refusing cycles', () => {
    const tree = new ChannelTree();
    const a = tree.create({ name: 'a', kind: 'text' }, 0);
    const b = tree.create({ name: 'b', kind: 'text' }, 0);
    const c = tree.create({ name: 'c', kind: 'text' }, 0);
    tree.move(c.id, null, 0);
    assert.deepEqual(
      tree.list().map((x) => x.name),
      ['c', 'a', 'b'],
    );
    const child = tree.create({ name: 'child', kind: 'voice', parent: a.id }, 0);
    assert.throws(() => tree.move(a.id, child.id, 0), { code: 'CONFLICT' });
    tree.move(child.id, b.id, 0);
    assert.equal(tree.get(child.id)?.parent, b.id);
  });

  it('deletes a subtree and reports NOT_FOUND for unknown ids', () => {
    const tree = new ChannelTree();
    const a = tree.create({ name: 'a', kind: 'text' }, 0);
    const kid = tree.create({ name: 'k', kind: 'voice', parent: a.id }, 0);
    assert.deepEqual(tree.delete(a.id).sort(), [a.id, kid.id].sort());
    assert.equal(tree.size, 0);
    assert.throws(() => tree.update('nope', { topic: 'x' }), { code: 'NOT_FOUND' });
    assert.throws(() => tree.create({ name: 'x', kind: 'text', parent: 'nope' }, 0), { code: 'NOT_FOUND' });
  });

  it('limits nesting depth', () => {
    const tree = new ChannelTree();
    const l1 = tree.create({ name: '1', kind: 'text' }, 0);
    const l2 = tree.create({ name: '2', kind: 'text', parent: l1.id }, 0);
    const l3 = tree.create({ name: '3', kind: 'text', parent: l2.id }, 0);
    assert.throws(() => tree.create({ name: '4', kind: 'text', parent: l3.id }, 0), { code: 'CONFLICT' });
  });

  it('sweeps idle, unoccupied ephemeral channels only', () => {
    const tree = new ChannelTree();
    const temp = tree.create({ name: 'temp', kind: 'voice', settings: { ephemeral: 60 } }, 0);
    const busy = tree.create({ name: 'busy', kind: 'voice', settings: { ephemeral: 60 } }, 0);
    const keep = tree.create({ name: 'keep', kind: 'voice' }, 0);
    assert.deepEqual(
      tree.sweepEphemeral(30_000, () => false),
      [],
    );
    assert.deepEqual(
      tree.sweepEphemeral(61_000, (id) => id === busy.id),
      [temp.id],
    );
    assert.ok(tree.get(busy.id) && tree.get(keep.id));
  });
});
