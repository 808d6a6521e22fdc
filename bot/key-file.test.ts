/** Key files: the app's backup text round-trips; a wrong passphrase, a foreign file and an existing path are refused. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupToText, exportBackup } from '../crypto/backup.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { readKeyFile, writeKeyFile } from './key-file.ts';

/** Cheap scrypt for tests only (the default costs about a second). */
const FAST = { logN: 10, r: 8, p: 1 };

describe('key files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tincan-key-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a private backup text that opens to the same identity', async () => {
    const identity = generateIdentity();
    const path = join(dir, 'bot.key');
    await writeKeyFile(path, identity, 'correct horse', FAST);
    assert.equal((await stat(path)).mode & 0o777, 0o600, 'mode 0600');
    assert.match(await readFile(path, 'utf8'), /^tincan-backup-v1:/, 'the app’s backup text');
    const read = await readKeyFile(path, 'correct horse');
    assert.deepEqual(read.publicKey, identity.publicKey, 'the same public key');
    assert.deepEqual(read.secretKey, identity.secretKey, 'the same secret key');
    await assert.rejects(
      writeKeyFile(path, generateIdentity(), 'x', FAST),
      { code: 'BAD_KEY_FILE' },
      'never over an existing key',
    );
  });

  it('reads a backup exported as the app does', async () => {
    const identity = generateIdentity();
    const path = join(dir, 'exported.txt');
    await writeFile(path, `  ${backupToText(await exportBackup(identity, 'pass', FAST))}\n\n`);
    assert.deepEqual(
      (await readKeyFile(path, 'pass')).publicKey,
      identity.publicKey,
      'whitespace around is fine',
    );
  });

  it('refuses a wrong passphrase, an empty one, a foreign file and a missing one with BAD_KEY_FILE', async () => {
    const path = join(dir, 'refuse.key');
    await writeKeyFile(path, generateIdentity(), 'right', FAST);
    await assert.rejects(readKeyFile(path, 'wrong'), /passphrase does not open it/, 'a wrong passphrase');
    await assert.rejects(readKeyFile(path, ''), { code: 'BAD_KEY_FILE' }, 'an empty passphrase');
    const foreign = join(dir, 'foreign.key');
    await writeFile(foreign, '-----BEGIN PRIVATE KEY-----\n');
    await assert.rejects(readKeyFile(foreign, 'right'), /not a tincan backup/, 'a PEM file');
    await assert.rejects(readKeyFile(join(dir, 'none'), 'right'), { code: 'BAD_KEY_FILE' }, 'no file');
  });
});
