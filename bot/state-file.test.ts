/** StateFile: settings survive a reopen, the file is private and whole, entries stay in memory, a foreign file is refused. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateFile } from './state-file.ts';

describe('StateFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tincan-state-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps settings across a reopen, in a file only its owner reads', async () => {
    const path = join(dir, 'nested', 'bot.state.json');
    const first = await StateFile.open(path);
    assert.equal(await first.getSetting('keys'), undefined, 'a missing file is an empty state');
    const keys = { epoch: 3, mine: ['AQID'] };
    await first.putSetting('keys', keys);
    keys.epoch = 99; // the caller's object is not held by reference
    assert.deepEqual(await first.getSetting('keys'), { epoch: 3, mine: ['AQID'] }, 'stored as it was put');
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'mode 0600: it holds secret keys');
    const again = await StateFile.open(path);
    assert.deepEqual(
      await again.getSetting('keys'),
      { epoch: 3, mine: ['AQID'] },
      'read back after a reopen',
    );
    const text = await readFile(path, 'utf8');
    assert.match(text, /"format":"tincan-bot-state\/v1"/, 'the file names its format');
  });

  it('writes one change after another, the last one winning', async () => {
    const path = join(dir, 'serial.json');
    const s = await StateFile.open(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.putSetting('n', i)));
    assert.equal(await (await StateFile.open(path)).getSetting('n'), 19, 'the last write is on disk');
  });

  it('keeps log entries in memory only', async () => {
    const path = join(dir, 'entries.json');
    const s = await StateFile.open(path);
    await s.putEntries('general', [{ seq: 1, kind: 'update', id: null, author: 'a', at: 1, blob: 'AA' }]);
    await s.setCursor('general', { oldest: 1, newest: 1, hasOlder: false });
    assert.equal((await s.entries('general')).length, 1, 'held while running');
    await s.flush();
    const again = await StateFile.open(path);
    assert.deepEqual(await again.entries('general'), [], 'fetched again after a restart');
    assert.equal(await again.cursor('general'), undefined, 'no cursor either');
  });

  it('refuses a file that is not its own with BAD_STATE_FILE', async () => {
    for (const [name, text] of [
      ['junk', 'not json'],
      ['other', '{"settings":{}}'],
      ['array', '{"format":"tincan-bot-state/v1","settings":[]}'],
    ]) {
      const path = join(dir, `${name}.json`);
      await writeFile(path, text!);
      await assert.rejects(StateFile.open(path), { code: 'BAD_STATE_FILE' }, `${name} is refused`);
    }
  });
});
