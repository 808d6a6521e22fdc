import assert from 'node:assert/strict';
import { findMentions } from './mentions.ts';

describe('findMentions', () => {
  const members = [
    { key: 'k'.repeat(44), name: 'Bob' },
    { key: 'm'.repeat(44), name: 'Bob Smith' },
    { key: 'a'.repeat(44), name: 'alice' },
  ];
  it('resolves names (longest first, case-insensitive) and raw user ids, each once', () => {
    assert.deepEqual(findMentions('hi @bob smith and @ALICE, @Bob!', members), [
      'm'.repeat(44),
      'a'.repeat(44),
      'k'.repeat(44),
    ]);
    assert.deepEqual(findMentions(`@${'a'.repeat(44)} @alice`, members), ['a'.repeat(44)]);
  });
  it('ignores e-mail addresses, unknown names and names running on', () => {
    assert.deepEqual(findMentions('mail bob@alice.org, @carol, @alicex', members), []);
  });
});
