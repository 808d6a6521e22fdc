/**
 * A bot's identity on disk, in the one form tincan lets a secret key leave a device:
 * the passphrase-protected backup text (crypto/backup.ts, `tincan-backup-v1:…`), the
 * same text the web app exports under Settings. So a bot can run as an identity made
 * in a browser, and a key made here (`writeKeyFile`) can be imported into the app.
 * The file is written with mode 0600 and never over an existing one.
 */
import { readFile, writeFile } from 'node:fs/promises';
import {
  backupFromText,
  backupToText,
  DEFAULT_SCRYPT,
  exportBackup,
  importBackup,
  type ScryptParams,
} from '../crypto/backup.ts';
import { CryptoError } from '../crypto/errors.ts';
import type { IdentityKeyPair } from '../crypto/identity.ts';
import { BotError } from './errors.ts';

/** Opens a key file. `BAD_KEY_FILE` when it is not a backup or the passphrase does not open it. */
export async function readKeyFile(path: string, passphrase: string): Promise<IdentityKeyPair> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new BotError('BAD_KEY_FILE', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await importBackup(backupFromText(text), passphrase);
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    const why =
      error.code === 'DECRYPT_FAILED'
        ? 'the passphrase does not open it'
        : error.code === 'BAD_INPUT'
          ? error.message
          : 'it is not a tincan backup';
    throw new BotError('BAD_KEY_FILE', `${path}: ${why}`, { cause: error });
  }
}

/** Writes `identity` to a new key file sealed with `passphrase` (`params` lowers scrypt's cost for tests only). */
export async function writeKeyFile(
  path: string,
  identity: IdentityKeyPair,
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<void> {
  let text: string;
  try {
    text = backupToText(await exportBackup(identity, passphrase, params));
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    throw new BotError('BAD_ARGUMENT', error.message, { cause: error });
  }
  try {
    await writeFile(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    throw new BotError('BAD_KEY_FILE', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
