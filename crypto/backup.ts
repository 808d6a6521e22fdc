/**
 * Passphrase-protected identity backups: the only form in which a secret key
 * leaves a device.
 *
 *   backup = 0x01 ‖ kdf id (0x01 = scrypt) ‖ logN (u8) ‖ r (u8) ‖ p (u8) ‖ salt (16)
 *            ‖ public key (33) ‖ sealed secret key (nonce 24 ‖ ct 32 ‖ tag 16)   — 126 bytes
 *   text   = "tincan-backup-v1:" ‖ base64url(backup)
 *
 * The key is scrypt (RFC 7914 §6) of the NFKC-normalised passphrase, N = 2^logN;
 * it seals the secret key with XChaCha20-Poly1305 (aead.ts) under an AAD that binds
 * the header and the public key, so no parameter or key can be swapped. The public
 * key is in clear so an app can say whose backup a file is before asking for the
 * passphrase. Import refuses cost parameters outside fixed bounds, so a hostile
 * file cannot make us allocate gigabytes or spin for minutes.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { NONCE_LENGTH, open, seal, TAG_LENGTH } from './aead.ts';
import { abytes, astring, concat, equalBytes, fromBase64url, randomBytes, toBase64url } from './bytes.ts';
import { CryptoError } from './errors.ts';
import {
  assertPublicKey,
  type IdentityKeyPair,
  identityFromSecretKey,
  PUBLIC_KEY_LENGTH,
  SECRET_KEY_LENGTH,
} from './identity.ts';
import { encodeStatement } from './statement.ts';

export const BACKUP_VERSION = 1;
export const BACKUP_TEXT_PREFIX = 'tincan-backup-v1:';
const KDF_SCRYPT = 1;
const SALT_LENGTH = 16;
const HEADER_LENGTH = 5 + SALT_LENGTH;
const AAD_CONTEXT = 'tincan/backup/v1';
export const BACKUP_LENGTH =
  HEADER_LENGTH + PUBLIC_KEY_LENGTH + NONCE_LENGTH + SECRET_KEY_LENGTH + TAG_LENGTH;

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

/** Production cost: N = 2^17, r = 8, p = 1 (128 MiB, about a second in a browser). */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 };
/** Memory bound, 128·r·N bytes: 256 MiB, twice the default. */
const MAX_MEMORY = 2 ** 28;
/** Work bound, N·r·p: eight times the default. */
const MAX_WORK = 2 ** 23;

/** Throws `code` unless the parameters are within the bounds import accepts. */
function checkParams({ logN, r, p }: ScryptParams, code: 'BAD_INPUT' | 'BAD_FORMAT'): void {
  const within = (v: number, max: number) => Number.isSafeInteger(v) && v >= 1 && v <= max;
  if (!within(logN, 20) || !within(r, 32) || !within(p, 16))
    throw new CryptoError(code, `scrypt parameters out of range: logN ${logN}, r ${r}, p ${p}`);
  const n = 2 ** logN;
  if (128 * r * n > MAX_MEMORY) throw new CryptoError(code, `scrypt would need ${128 * r * n} bytes`);
  if (n * r * p > MAX_WORK) throw new CryptoError(code, `scrypt work N·r·p = ${n * r * p} is too high`);
}

function assertPassphrase(passphrase: unknown): asserts passphrase is string {
  astring(passphrase, 'passphrase', 1024);
  if (passphrase.length === 0) throw new CryptoError('BAD_INPUT', 'passphrase must not be empty');
}

function deriveBackupKey(passphrase: string, salt: Uint8Array, { logN, r, p }: ScryptParams) {
  // NFKC, so the same passphrase typed on another keyboard or OS gives the same key.
  return scryptAsync(passphrase.normalize('NFKC'), salt, {
    N: 2 ** logN,
    r,
    p,
    dkLen: 32,
    maxmem: 2 * MAX_MEMORY,
  });
}

function aad(header: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return encodeStatement(AAD_CONTEXT, [header, publicKey]);
}

/**
 * Seals `identity`'s secret key under `passphrase`. `params` lowers the cost for
 * tests only; it must stay within the bounds import accepts.
 */
export async function exportBackup(
  identity: IdentityKeyPair,
  passphrase: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<Uint8Array> {
  abytes(identity?.secretKey, SECRET_KEY_LENGTH, 'identity.secretKey');
  const { secretKey, publicKey } = identityFromSecretKey(identity.secretKey);
  abytes(identity.publicKey, PUBLIC_KEY_LENGTH, 'identity.publicKey');
  if (!equalBytes(publicKey, identity.publicKey))
    throw new CryptoError('BAD_INPUT', 'identity.publicKey does not match identity.secretKey');
  assertPassphrase(passphrase);
  checkParams(params, 'BAD_INPUT');
  const salt = randomBytes(SALT_LENGTH);
  const header = concat(new Uint8Array([BACKUP_VERSION, KDF_SCRYPT, params.logN, params.r, params.p]), salt);
  const key = await deriveBackupKey(passphrase, salt, params);
  try {
    return concat(header, publicKey, seal(key, secretKey, aad(header, publicKey)));
  } finally {
    key.fill(0);
  }
}

/** Reads the public key and cost of a backup without the passphrase. Throws `BAD_VERSION`/`BAD_FORMAT`. */
export function parseBackup(backup: Uint8Array): { publicKey: Uint8Array; params: ScryptParams } {
  abytes(backup, undefined, 'backup');
  if (backup.length < 1) throw new CryptoError('BAD_FORMAT', 'empty backup');
  if (backup[0] !== BACKUP_VERSION)
    throw new CryptoError('BAD_VERSION', `backup version ${backup[0]} is not ${BACKUP_VERSION}`);
  if (backup.length !== BACKUP_LENGTH)
    throw new CryptoError('BAD_FORMAT', `backup must be ${BACKUP_LENGTH} bytes, got ${backup.length}`);
  if (backup[1] !== KDF_SCRYPT) throw new CryptoError('BAD_FORMAT', `unknown backup kdf ${backup[1]}`);
  const params = { logN: backup[2]!, r: backup[3]!, p: backup[4]! };
  checkParams(params, 'BAD_FORMAT');
  const publicKey = backup.slice(HEADER_LENGTH, HEADER_LENGTH + PUBLIC_KEY_LENGTH);
  try {
    assertPublicKey(publicKey);
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', 'backup public key is not a P-256 point', { cause });
  }
  return { publicKey, params };
}

/**
 * Recovers the identity from a backup. A wrong passphrase (or any tampering) is
 * `DECRYPT_FAILED`; a well-sealed secret that does not match its public key is `BAD_FORMAT`.
 */
export async function importBackup(backup: Uint8Array, passphrase: string): Promise<IdentityKeyPair> {
  const { publicKey, params } = parseBackup(backup);
  assertPassphrase(passphrase);
  const header = backup.slice(0, HEADER_LENGTH);
  const key = await deriveBackupKey(passphrase, header.subarray(5), params);
  let secretKey: Uint8Array;
  try {
    secretKey = open(key, backup.subarray(HEADER_LENGTH + PUBLIC_KEY_LENGTH), aad(header, publicKey));
  } finally {
    key.fill(0);
  }
  let identity: IdentityKeyPair;
  try {
    identity = identityFromSecretKey(secretKey);
  } catch (cause) {
    throw new CryptoError('BAD_FORMAT', 'backup holds an invalid secret key', { cause });
  }
  if (!equalBytes(identity.publicKey, publicKey))
    throw new CryptoError('BAD_FORMAT', 'backup secret key does not match its public key');
  return identity;
}

/** The text form: `tincan-backup-v1:` ‖ base64url. */
export function backupToText(backup: Uint8Array): string {
  parseBackup(backup);
  return BACKUP_TEXT_PREFIX + toBase64url(backup);
}

/** Parses the text form (surrounding whitespace allowed). Throws `BAD_FORMAT`/`BAD_VERSION`. */
export function backupFromText(text: string): Uint8Array {
  astring(text, 'text', 4096);
  const trimmed = text.trim();
  if (!trimmed.startsWith(BACKUP_TEXT_PREFIX)) throw new CryptoError('BAD_FORMAT', 'not a tincan backup');
  const backup = fromBase64url(trimmed.slice(BACKUP_TEXT_PREFIX.length));
  parseBackup(backup);
  return backup;
}
