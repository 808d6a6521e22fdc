/**
 * The server's long-term key pair, made on first start and kept in
 * `<dataDir>/server.key` (base64url secret, mode 0600). Its public key is the server
 * id that clients sign into their auth answers and pin from invite links.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromBase64url, toBase64url } from '../crypto/bytes.ts';
import {
  fingerprint,
  generateIdentity,
  type IdentityKeyPair,
  identityFromSecretKey,
  userIdOf,
} from '../crypto/identity.ts';

export interface ServerIdentity extends IdentityKeyPair {
  /** base64url compressed public key. */
  readonly id: string;
  readonly fingerprint: string;
}

export async function loadServerIdentity(
  dataDir: string,
): Promise<{ identity: ServerIdentity; created: boolean }> {
  const path = join(dataDir, 'server.key');
  let pair: IdentityKeyPair;
  let created = false;
  try {
    pair = identityFromSecretKey(fromBase64url((await readFile(path, 'utf8')).trim()));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read the server key ${path}: ${(error as Error).message}`);
    }
    pair = generateIdentity();
    await writeFile(path, `${toBase64url(pair.secretKey)}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
  }
  return {
    identity: { ...pair, id: userIdOf(pair.publicKey), fingerprint: fingerprint(pair.publicKey) },
    created,
  };
}
